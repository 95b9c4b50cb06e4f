"""Leads use cases, one module per aggregate or journey."""
