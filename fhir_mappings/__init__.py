"""FHIR R4 resources → small frozen domain facts, and the code systems they carry (CPT, ICD-10-CM, SNOMED CT, DICOM).

The only package that reads FHIR paths. Knows nothing about HTTP, payers or rules.
"""
