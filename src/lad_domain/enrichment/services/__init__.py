"""Enrichment use cases."""
