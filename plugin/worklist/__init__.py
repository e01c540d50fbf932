"""The pre-submission worklist: every performed injection in a date range with its open findings, and the bookings
ahead that break a limit, read and judged by the hooks' own readers and rules, one patient at a time."""
