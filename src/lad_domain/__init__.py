"""LAD's domain: pure-Python aggregates, ports and use cases (standard library and attrs only)."""
