"""Synthetic scenario patients, loaded into a real FHIR server, and hooks run against them as an EHR would."""
