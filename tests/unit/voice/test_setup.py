"""Voice setup on the memory backend: the catalog, agents, numbers, members' defaults and
grants; fields named in every refusal, other tenants' objects not found, and the chain a
call is held to (role, feature, grants)."""

from __future__ import annotations

import uuid
from typing import Any

import pytest

from lad_domain.shared.errors import NotFound, PermissionDenied, ValidationFailed
from lad_domain.shared.pagination import PageRequest
from lad_domain.shared.principal import Principal, PrincipalKind, Role
from lad_domain.voice.model import Capability, PhoneNumber
from lad_domain.voice.services.setup import VoiceSetupService
from lad_entrypoints.container import Container
from tests.unit.leads.workspace import OPERATOR, Workspace

PHONE = "+1 415 555 2671"
ROW = {"provider": "elevenlabs", "provider_voice_id": "21m00Tcm4TlvDq8ikWAM",
       "name": "Rachel", "gender": "female", "language": "en-US",
       "preview_url": "https://example.test/rachel.mp3"}
PAGE = PageRequest(limit=50)


@pytest.fixture
def voice(lad: Container) -> VoiceSetupService:
    return lad.voice_setup()


@pytest.fixture
def ws(lad: Container) -> Workspace:
    return Workspace.sign_up(lad)


def fields_of(error: pytest.ExceptionInfo[ValidationFailed]) -> set[str]:
    return {e.field for e in error.value.errors}


def agent(voice: VoiceSetupService, ws: Workspace, **fields: Any) -> int:
    created = voice.create_agent(ws.owner, {"name": "Ava", **fields})
    assert created.id is not None
    return created.id


def number(voice: VoiceSetupService, ws: Workspace, phone: str = PHONE) -> uuid.UUID:
    return voice.add_number(ws.owner, {"phone": phone, "provider": "twilio"}).id


def test_a_voice_names_every_bad_field(voice: VoiceSetupService, ws: Workspace) -> None:
    with pytest.raises(ValidationFailed) as error:
        voice.add_voice(ws.owner, {"provider": "Eleven Labs!", "name": "",
                                   "language": "english", "gender": "robot",
                                   "preview_url": "http://example.test/a.mp3"})
    assert fields_of(error) == {"provider", "provider_voice_id", "name", "language",
                                "gender", "preview_url"}


def test_a_tenant_voice_keeps_its_language_in_canonical_case(
        voice: VoiceSetupService, ws: Workspace) -> None:
    added = voice.add_voice(ws.owner, {**ROW, "language": "pt-br"})
    assert (added.language, added.tenant_id) == ("pt-BR", ws.tenant_id)


def test_the_catalog_reports_added_updated_and_unchanged(voice: VoiceSetupService) -> None:
    other = {**ROW, "provider": "openai", "provider_voice_id": "alloy", "name": "Alloy"}
    first = voice.load_catalog(OPERATOR, {"voices": [ROW, other]})
    again = voice.load_catalog(OPERATOR, {"voices": [{**ROW, "name": "Rachel 2"}, other]})
    assert (first.added, first.updated, first.unchanged) == (2, 0, 0)
    assert (again.added, again.updated, again.unchanged) == (0, 1, 1)


def test_a_bad_catalog_row_writes_nothing(voice: VoiceSetupService, ws: Workspace) -> None:
    bad = {**ROW, "provider_voice_id": "x", "language": "??"}
    with pytest.raises(ValidationFailed) as error:
        voice.load_catalog(OPERATOR, {"voices": [ROW, bad, ROW]})
    assert fields_of(error) == {"voices[1].language", "voices[2].provider_voice_id"}
    assert voice.list_voices(ws.owner, None, PAGE).items == []


def test_only_the_operator_loads_the_catalog(voice: VoiceSetupService, ws: Workspace) -> None:
    with pytest.raises(PermissionDenied):
        voice.load_catalog(ws.owner, {"voices": [ROW]})


def test_voices_are_the_catalog_and_the_tenants_own(voice: VoiceSetupService, ws: Workspace,
                                                    lad: Container) -> None:
    voice.load_catalog(OPERATOR, {"voices": [ROW]})
    mine = voice.add_voice(ws.owner, {**ROW, "provider": "cartesia", "name": "Mine"})
    theirs = voice.add_voice(Workspace.sign_up(lad, "Other").owner,
                             {**ROW, "provider": "cartesia", "name": "Theirs"})
    names = {v.name for v in voice.list_voices(ws.owner, None, PAGE).items}
    assert names == {"Rachel", "Mine"}
    assert [v.name for v in voice.list_voices(ws.owner, "cartesia", PAGE).items] == ["Mine"]
    with pytest.raises(NotFound):
        voice.get_voice(ws.owner, theirs.id)
    voice.remove_voice(ws.owner, mine.id)
    assert {v.name for v in voice.list_voices(ws.owner, None, PAGE).items} == {"Rachel"}


def test_a_tenant_cannot_change_a_catalog_voice(voice: VoiceSetupService, ws: Workspace
                                                ) -> None:
    voice.load_catalog(OPERATOR, {"voices": [ROW]})
    [rachel] = voice.list_voices(ws.owner, None, PAGE).items
    with pytest.raises(PermissionDenied):
        voice.update_voice(ws.owner, rachel.id, {"name": "Mine now"})


def test_agent_ids_are_whole_numbers_in_order(voice: VoiceSetupService, ws: Workspace) -> None:
    first, second = agent(voice, ws), agent(voice, ws, name="Bo")
    assert isinstance(first, int) and second == first + 1
    assert voice.get_agent(ws.owner, second).name == "Bo"


def test_an_agent_names_bad_fields(voice: VoiceSetupService, ws: Workspace) -> None:
    with pytest.raises(ValidationFailed) as error:
        voice.create_agent(ws.owner, {"language": "xx_YY", "config": {"recording": "yes"},
                                      "colour": "red"})
    assert fields_of(error) == {"name", "language", "config.recording", "colour"}


def test_an_agents_voice_must_be_visible_to_the_tenant(voice: VoiceSetupService,
                                                       ws: Workspace, lad: Container) -> None:
    theirs = voice.add_voice(Workspace.sign_up(lad, "Other").owner, ROW)
    for voice_id in (uuid.uuid4(), theirs.id):
        with pytest.raises(ValidationFailed) as error:
            voice.create_agent(ws.owner, {"name": "Ava", "voice_id": voice_id})
        assert fields_of(error) == {"voice_id"}


def test_an_agent_changes_only_what_is_given(voice: VoiceSetupService, ws: Workspace) -> None:
    agent_id = agent(voice, ws, system_prompt="Be brief.", config={"max_duration_seconds": 60})
    changed = voice.update_agent(ws.owner, agent_id, {"language": "fr-FR"})
    assert (changed.name, changed.language, changed.system_prompt) == ("Ava", "fr-FR",
                                                                       "Be brief.")
    assert changed.settings.max_duration_seconds == 60


def test_a_removed_agent_is_gone_and_its_numbers_answer_with_none(
        voice: VoiceSetupService, ws: Workspace) -> None:
    agent_id = agent(voice, ws)
    added = voice.add_number(ws.owner, {"phone": PHONE, "provider": "twilio",
                                        "agent_id": agent_id})
    voice.remove_agent(ws.owner, agent_id)
    with pytest.raises(NotFound):
        voice.get_agent(ws.owner, agent_id)
    assert voice.get_number(ws.owner, added.id).agent_id is None


def test_a_number_is_parsed_and_its_reason_named(voice: VoiceSetupService, ws: Workspace
                                                 ) -> None:
    added = voice.add_number(ws.owner, {"phone": PHONE, "provider": "Twilio",
                                        "capabilities": ["voice", "sms"]})
    assert added.phone == PhoneNumber("1", 4155552671) and added.provider == "twilio"
    assert added.capabilities == {Capability.VOICE, Capability.SMS}
    with pytest.raises(ValidationFailed) as error:
        voice.add_number(ws.owner, {"phone": "+1 000", "provider": "twilio",
                                    "capabilities": ["fax"]})
    assert fields_of(error) == {"phone", "capabilities"}


def test_a_numbers_agent_must_be_the_tenants(voice: VoiceSetupService, ws: Workspace,
                                            lad: Container) -> None:
    theirs = agent(voice, Workspace.sign_up(lad, "Other"))
    with pytest.raises(ValidationFailed) as error:
        voice.add_number(ws.owner, {"phone": PHONE, "provider": "twilio", "agent_id": theirs})
    assert fields_of(error) == {"agent_id"}


def test_another_tenants_number_is_not_found(voice: VoiceSetupService, ws: Workspace,
                                            lad: Container) -> None:
    theirs = number(voice, Workspace.sign_up(lad, "Other"))
    with pytest.raises(NotFound):
        voice.get_number(ws.owner, theirs)
    with pytest.raises(NotFound):
        voice.update_number(ws.owner, theirs, {"label": "mine"})


def test_a_viewer_reads_but_does_not_manage(voice: VoiceSetupService, ws: Workspace) -> None:
    viewer = ws.member(Role.VIEWER)
    assert voice.list_agents(viewer, PAGE).items == []
    with pytest.raises(PermissionDenied):
        voice.create_agent(viewer, {"name": "Ava"})


def test_a_member_without_a_grant_cannot_call(voice: VoiceSetupService, ws: Workspace) -> None:
    with pytest.raises(PermissionDenied, match="no grant"):
        voice.check_call(ws.member(), number(voice, ws), None)


def test_a_number_grant_lets_a_member_call_from_that_number_only(
        voice: VoiceSetupService, ws: Workspace) -> None:
    member = ws.member()
    granted, other = number(voice, ws), number(voice, ws, "+1 415 555 2672")
    voice.grant(ws.owner, member.user_id, number_id=granted)
    voice.check_call(member, granted, uuid.uuid4())
    with pytest.raises(PermissionDenied):
        voice.check_call(member, other, None)


def test_a_revoked_grant_covers_nothing(voice: VoiceSetupService, ws: Workspace) -> None:
    member, line = ws.member(), number(voice, ws)
    grant = voice.grant(ws.owner, member.user_id, number_id=line)
    assert voice.revoke(ws.owner, grant.id).is_active is False
    with pytest.raises(PermissionDenied):
        voice.check_call(member, line, None)


def test_admins_and_admin_keys_call_without_grants(voice: VoiceSetupService, ws: Workspace
                                                   ) -> None:
    line = number(voice, ws)
    voice.check_call(ws.member(Role.ADMIN), line, None)
    voice.check_call(_key(ws, Role.ADMIN), line, None)


def test_a_key_below_admin_cannot_call(voice: VoiceSetupService, ws: Workspace) -> None:
    with pytest.raises(PermissionDenied, match="API key"):
        voice.check_call(_key(ws, Role.MEMBER), number(voice, ws), None)


def test_without_the_voice_feature_nobody_calls(voice: VoiceSetupService, ws: Workspace,
                                               lad: Container) -> None:
    line = number(voice, ws)
    lad.team().set_feature(OPERATOR, "voice", False, tenant_id=ws.tenant_id)
    with pytest.raises(PermissionDenied, match="voice feature"):
        voice.check_call(ws.owner, line, None)


def test_a_grant_names_a_member_and_a_resource(voice: VoiceSetupService, ws: Workspace
                                              ) -> None:
    with pytest.raises(ValidationFailed) as error:
        voice.grant(ws.owner, ws.owner.user_id)
    assert fields_of(error) == {"number_id"}
    with pytest.raises(ValidationFailed) as error:
        voice.grant(ws.owner, uuid.uuid4(), number_id=number(voice, ws))
    assert fields_of(error) == {"user_id"}
    with pytest.raises(ValidationFailed) as error:
        voice.grant(ws.owner, ws.owner.user_id, number_id=uuid.uuid4())
    assert fields_of(error) == {"number_id"}


def test_a_member_sets_their_own_defaults_not_anothers(voice: VoiceSetupService,
                                                       ws: Workspace) -> None:
    member, other = ws.member(), ws.member()
    agent_id, line = agent(voice, ws), number(voice, ws)
    saved = voice.put_profile(member, member.user_id, {"default_agent_id": agent_id,
                                                       "default_number_id": line})
    assert (saved.default_agent_id, saved.default_number_id) == (agent_id, line)
    assert voice.get_profile(ws.owner, member.user_id).default_agent_id == agent_id
    with pytest.raises(PermissionDenied):
        voice.put_profile(member, other.user_id, {"default_agent_id": agent_id})
    assert voice.put_profile(ws.owner, other.user_id, {"default_agent_id": agent_id}
                             ).default_agent_id == agent_id


def test_a_default_agent_must_be_the_tenants(voice: VoiceSetupService, ws: Workspace,
                                            lad: Container) -> None:
    theirs = agent(voice, Workspace.sign_up(lad, "Other"))
    with pytest.raises(ValidationFailed) as error:
        voice.put_profile(ws.owner, ws.owner.user_id, {"default_agent_id": theirs})
    assert fields_of(error) == {"default_agent_id"}
    with pytest.raises(NotFound):
        voice.get_profile(ws.owner, uuid.uuid4())


def test_every_change_is_a_domain_event(voice: VoiceSetupService, ws: Workspace,
                                        lad: Container) -> None:
    agent_id = agent(voice, ws)
    voice.update_agent(ws.owner, agent_id, {"name": "Bea"})
    with lad.unit_of_work()(ws.tenant_id) as uow:
        changes = [(e.event_type, e.payload.get("change")) for e in uow.events.list(limit=100)
                   if e.aggregate_type == "voice"]
    assert sorted(changes) == [("voice.setup_changed", "created"),
                               ("voice.setup_changed", "updated")]


def _key(ws: Workspace, role: Role) -> Principal:
    return Principal(kind=PrincipalKind.API_KEY, tenant_id=ws.tenant_id, role=role,
                     api_key_id=uuid.uuid4())
