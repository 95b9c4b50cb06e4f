"""Voice: providers, storage, the dialer, HTTP and CLI."""
