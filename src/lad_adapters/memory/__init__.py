"""In-memory adapters: real implementations of the ports, for fast tests and embedding."""
