"""The composition root and the drivers: HTTP API, CLI and worker."""
