"""Voice use cases."""
