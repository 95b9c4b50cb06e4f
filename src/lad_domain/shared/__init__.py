"""The shared kernel: ids, clock, money, errors, events, principal, pagination, unit of work."""
