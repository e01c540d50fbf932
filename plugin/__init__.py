"""epidural-cds: the hook pipeline (hooks), storage, the command line and serving, around payer policies and rules."""
