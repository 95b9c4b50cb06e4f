"""What plugs into the domain's ports: SQL, in-memory, security and provider clients."""
