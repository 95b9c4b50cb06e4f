"""Billing: wallets, the immutable ledger, priced usage, reservations, entitlements, invoices."""
