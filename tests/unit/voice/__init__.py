"""Voice: the pure parts of its adapters."""
