"""The operators' browser workspace at /workspace: the worklist, denials over time, card feedback, and a patient's
injection timeline. Served by the service's own process to a signed-in operator only; no PHI in any URL.

Modules: `links` (opaque, expiring timeline links, and the budget cards that carry them), `operators` (sign-in:
a local user with an argon2 hash, or OpenID Connect), `timeline` (a record as sessions, windows and dates to chart),
`pages` (the routes and templates), `cli` (`epidural-cds workspace hash-password`).
"""
