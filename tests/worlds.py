"""What every test world around one tenant shares (campaigns, calls, the ICP assistant and
enrichment): the tenant signed up with the features the world needs, its owner and id,
money put in its wallet and the wallet read back."""

from __future__ import annotations

import uuid

from lad_domain.billing.model import Wallet
from lad_domain.shared.principal import Principal
from lad_entrypoints.container import Container
from tests.unit.leads.workspace import Workspace

OPERATOR = Principal.operator()


def open_tenant(lad: Container, *features: str, name: str = "Acme") -> Workspace:
    """A new tenant, its owner signed up, with ``features`` turned on by the operator."""
    ws = Workspace.sign_up(lad, name)
    for feature in features:
        lad.team().set_feature(OPERATOR, feature, True, tenant_id=ws.tenant_id)
    return ws


def fund(lad: Container, tenant_id: uuid.UUID, amount: str) -> None:
    """A top-up of ``amount`` by the operator, under a key of its own."""
    lad.billing().top_up(OPERATOR, tenant_id, amount, idempotency_key_=f"fund-{uuid.uuid4()}")


class TenantWorld:
    """Mixed into a world (an attrs class) holding the container ``lad`` and its tenant's
    ``ws``."""

    __slots__ = ()
    lad: Container
    ws: Workspace

    @property
    def owner(self) -> Principal:
        return self.ws.owner

    @property
    def tenant_id(self) -> uuid.UUID:
        return self.ws.tenant_id

    def fund(self, amount: str) -> None:
        fund(self.lad, self.tenant_id, amount)

    def wallet(self) -> Wallet:
        wallet: Wallet = self.lad.billing().wallet(OPERATOR, tenant_id=self.tenant_id)
        return wallet
