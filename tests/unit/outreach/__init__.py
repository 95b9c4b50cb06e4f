"""Outreach: the pure parts of its adapters."""
