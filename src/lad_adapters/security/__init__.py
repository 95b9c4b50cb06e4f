"""Security adapters: password hashing and access tokens."""
