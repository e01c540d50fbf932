"""Code-system tables shipped with the package (CPT spinal injection codes, ICD-10-CM), each with its source."""
