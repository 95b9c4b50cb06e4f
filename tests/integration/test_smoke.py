from lad_domain.shared.pagination import PageRequest
from lad_entrypoints.container import Container


def test_sign_up_and_list_members(backend: str, container: Container) -> None:
    session = container.tenancy().sign_up(tenant_name="Acme", email="ada@acme.test",
                                           password="correct horse battery")
    owner = container.tenancy().principal_for(user_id=session.user_id,
                                              tenant_id=session.tenant_id)
    members = container.team().list_members(owner, PageRequest())
    assert [m.email for m in members.items] == ["ada@acme.test"]
