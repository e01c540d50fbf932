"""Payer policies and coding conventions kept as data: shipped YAML files, a strict schema, and the loader."""
