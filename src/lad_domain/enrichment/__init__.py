"""Enrichment: people and company search and enrichment from Apollo, cached, every credit
accounted for; people become leads through the leads import path."""
