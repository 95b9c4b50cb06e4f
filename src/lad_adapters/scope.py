"""What every repository of every adapter shares: the unit of work's tenant scope."""

from __future__ import annotations

import uuid


class TenantScoped:
    """``tenant_id`` is the unit of work's tenant; None scopes it to global rows only."""

    def __init__(self, tenant_id: uuid.UUID | None) -> None:
        self._tenant_id = tenant_id

    @property
    def tenant_id(self) -> uuid.UUID:
        if self._tenant_id is None:
            raise RuntimeError("this repository needs a unit of work scoped to a tenant")
        return self._tenant_id
