"""Denials come back: remittances (X12 835) and FHIR ExplanationOfBenefit / ClaimResponse read into the service
database, classified into the service's rule families, and matched to the cards issued for the same patient and date.

Modules: `lines` (a remittance line as stored), `x12_835` and `fhir_claims` (the readers), `importer` (a file read
whole, then stored), `classification` (codes → rule family, from classification.yaml), `tables` and `store` (the
database), `card_ledger` (which cards were issued for which patient and day), `matching` (a line beside its cards and
their feedback), `replay` (the rules run again on a FHIR record as of the date of service), `report` (the figures, as
typed rows for the terminal and the workspace), `cli` (`epidural-cds denials ...`), `errors`.

Exceptions::

    DenialsError
     ├── MalformedFile        a file that cannot be read whole: names the file and the segment or line
     └── ClassificationError  classification.yaml (or a replacement) is invalid
"""
