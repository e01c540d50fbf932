"""The hook pipeline: a hook request's data gathered (prefetch or FHIR fetch), read, judged and turned into cards."""
