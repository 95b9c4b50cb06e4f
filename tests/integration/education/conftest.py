"""Education integration fixtures: the leads ones (a student is a lead's profile), on every
backend."""

from __future__ import annotations

from tests.integration.leads.conftest import client, lad, ws

__all__ = ["client", "lad", "ws"]
