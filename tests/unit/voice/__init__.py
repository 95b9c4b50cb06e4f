"""Voice use cases on the in-memory adapters."""
