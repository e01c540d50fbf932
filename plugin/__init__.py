"""epidural-cds: payer policies, rules, cards, the FHIR client, the service app and the CLI."""
