"""CDS Hooks 2.0 wire protocol: request and response models, discovery, feedback, JWT trust, errors.

Knows nothing about epidurals, payers or FHIR resource contents; the plugin package builds on it.
"""
