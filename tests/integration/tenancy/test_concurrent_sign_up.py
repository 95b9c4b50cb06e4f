"""Sign-ups racing for the same generated slug all succeed, each with its own slug."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor

from lad_domain.shared.pagination import PageRequest
from lad_domain.shared.principal import Principal
from lad_entrypoints.container import Container


def test_concurrent_sign_ups_with_one_name_get_distinct_slugs(backend: str,
                                                              container: Container) -> None:
    def sign_up(n: int) -> None:
        container.tenancy().sign_up(tenant_name="Race Corp", email=f"u{n}@race.test",
                                    password="correct horse battery")

    with ThreadPoolExecutor(max_workers=8) as pool:
        list(pool.map(sign_up, range(8)))
    tenants = container.team().list_tenants(Principal.operator(), PageRequest()).items
    assert len({t.slug for t in tenants}) == 8
