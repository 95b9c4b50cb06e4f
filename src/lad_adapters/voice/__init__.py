"""Call providers: Vapi and Retell over HTTP, and the local provider (a simulated call
service on loopback); each reads its own signed webhooks."""
