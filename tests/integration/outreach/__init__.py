"""Outreach against real mail servers on loopback."""
