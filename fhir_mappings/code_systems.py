"""Code system URIs as FHIR R4 writes them, and the aliases real EHR data uses for the same systems."""

from __future__ import annotations

CPT = "http://www.ama-assn.org/go/cpt"
HCPCS = "https://www.cms.gov/Medicare/Coding/HCPCSReleaseCodeSets"
ICD_10_CM = "http://hl7.org/fhir/sid/icd-10-cm"
SNOMED_CT = "http://snomed.info/sct"
DICOM_DCM = "http://dicom.nema.org/resources/ontology/DCM"
SOURCE_OF_PAYMENT_TYPOLOGY = "urn:oid:2.16.840.1.113883.3.221.5"

# EHRs send OIDs and older URLs for the same systems; matching on any alias keeps their codes from being ignored.
_ALIASES: dict[str, frozenset[str]] = {
    CPT: frozenset({CPT, "urn:oid:2.16.840.1.113883.6.12", "http://www.ama-assn.org/go/cpt/"}),
    HCPCS: frozenset(
        {
            HCPCS,
            "http://www.cms.gov/Medicare/Coding/HCPCSReleaseCodeSets",
            "urn:oid:2.16.840.1.113883.6.285",
            "urn:oid:2.16.840.1.113883.6.14",
        }
    ),
    ICD_10_CM: frozenset({ICD_10_CM, "urn:oid:2.16.840.1.113883.6.90", "http://hl7.org/fhir/sid/icd-10-cm/"}),
    SNOMED_CT: frozenset({SNOMED_CT, "urn:oid:2.16.840.1.113883.6.96"}),
    DICOM_DCM: frozenset({DICOM_DCM, "urn:oid:1.2.840.10008.2.16.4"}),
    SOURCE_OF_PAYMENT_TYPOLOGY: frozenset({SOURCE_OF_PAYMENT_TYPOLOGY, "https://nahdo.org/sopt"}),
}


# Every alias → its canonical URI, so a coding's system is recognised with one lookup (codings are read by the
# thousand in a long history).
_CANONICAL: dict[str, str] = {alias: canonical for canonical, aliases in _ALIASES.items() for alias in aliases}
_PROCEDURE_SYSTEMS = frozenset({CPT, HCPCS})


def is_system(system: str | None, canonical: str) -> bool:
    if system is None:
        return False
    written = system.strip()
    return _CANONICAL.get(written, written) == canonical


def is_procedure_code_system(system: str | None) -> bool:
    """CPT and HCPCS share one code space for the codes we read (CPT is HCPCS Level I)."""
    return system is not None and _CANONICAL.get(system.strip()) in _PROCEDURE_SYSTEMS
