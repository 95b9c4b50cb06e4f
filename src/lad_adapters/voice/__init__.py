"""Voice call providers."""
