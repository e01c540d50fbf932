"""The `epidural-cds` command: its subcommands, the request files they read and the tables they print."""
