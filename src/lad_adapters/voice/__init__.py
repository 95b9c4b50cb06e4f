"""The call providers' adapters: Vapi and Retell over HTTP (and their webhooks)."""
