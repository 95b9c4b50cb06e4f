"""Bad input is refused where it is given, never at send time: templates with variables
that do not exist, steps out of order or misconfigured, another tenant's lead or mailbox,
steps edited outside draft, a campaign activated with nothing to send from; and the life
of a campaign (draft -> active <-> paused -> completed | archived) moves only forward."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from typing import Any

import pytest

from lad_domain.campaigns.model import (
    Campaign,
    CampaignSettings,
    CampaignStatus,
    EnrollmentStatus,
    Step,
    StepType,
)
from lad_domain.campaigns.services.engine import StepResult
from lad_domain.leads.model import LeadFilter
from lad_domain.shared.errors import Conflict, NotFound, PermissionDenied, ValidationFailed
from lad_domain.shared.pagination import PageRequest
from lad_domain.shared.principal import Role
from tests.unit.campaigns.world import FOLLOW_UP, HELLO, OPERATOR, World
from tests.unit.leads.workspace import Workspace

AT = datetime(2026, 3, 3, tzinfo=UTC)
AT_ID = uuid.UUID(int=1)


def refused(call: Any, *args: Any, **kwargs: Any) -> list[tuple[str, str]]:
    with pytest.raises(ValidationFailed) as raised:
        call(*args, **kwargs)
    return [(e.field, e.message) for e in raised.value.errors]


def test_a_template_with_an_unknown_variable_is_refused_when_saved(world: World) -> None:
    save = world.lad.outreach().save_template
    [(field, message)] = refused(save, world.owner, channel="email", key_="bad",
                                 subject="Hi", body="Dear {{ lead.nickname }}")
    assert field == "body" and "nickname" in message
    [(field, _)] = refused(save, world.owner, channel="email", key_="bad",
                           subject="{{ sender.phone }}", body="fine")
    assert field == "subject"
    [(field, _)] = refused(save, world.owner, channel="email", key_="bad",
                           subject="Hi", body="{% for x in %}")
    assert field == "body"
    assert refused(save, world.owner, channel="email", key_="bad", body="no subject")[0][0] \
        == "subject"
    assert refused(save, world.owner, channel="linkedin", key_="bad", subject="x",
                   body="y")[0][0] == "subject"


def test_a_step_naming_a_template_that_does_not_exist_is_refused(world: World) -> None:
    box = world.mailbox()
    errors = refused(world.lad.campaigns().create, world.owner, name="C",
                     settings={"email_account_ids": [str(box.id)]},
                     steps=[{"type": "email", "config": {"template_key": "nope"}}])
    assert errors == [("steps[1].config.template_key", "no email template 'nope'")]


BAD_STEPS: list[tuple[Any, str]] = [
    ([{"type": "email", "order": 2, "config": {"template_key": "hello"}}], "steps[1].order"),
    ([HELLO, {"type": "wait", "order": 3, "config": {"days": 1}}], "steps[2].order"),
    ([{"type": "fax"}], "steps[1].type"),
    ([{"type": "wait", "config": {"days": 0}}], "steps[1].config"),
    ([{"type": "wait", "config": {"days": 91}}], "steps[1].config"),
    ([{"type": "wait", "config": {"days": -1}}], "steps[1].config.days"),
    ([{"type": "wait", "config": {"weeks": 1}}], "steps[1].config.weeks"),
    ([{"type": "condition", "config": {"if": "clicked"}}], "steps[1].config.if"),
    ([{"type": "condition", "config": {"if": "replied", "then": "jump"}}],
     "steps[1].config.then"),
    ([{"type": "email", "config": {}}], "steps[1].config.template_key"),
    ([{"type": "email", "config": {"template_key": "hello", "new_thread": "yes"}}],
     "steps[1].config.new_thread"),
    ([{"type": "email", "config": {"template_key": "hello"}, "delay": 3}], "steps[1].delay"),
    (["email"], "steps[1]"),
    ({"type": "email"}, "steps"),
]


def test_steps_out_of_order_or_misconfigured_are_refused(world: World) -> None:
    world.templates()
    for steps, field in BAD_STEPS:
        errors = refused(world.lad.campaigns().create, world.owner, name="C", steps=steps)
        assert errors[0][0] == field, steps
    assert world.lad.campaigns().list(world.owner, None, PageRequest(limit=10)).items == []


def test_the_model_takes_steps_only_in_sequence() -> None:
    campaign = Campaign(id=AT_ID, name="C", status=CampaignStatus.DRAFT,
                        settings=CampaignSettings(), steps=[], created_at=AT, updated_at=AT)
    step = Step(id=AT_ID, order=2, type=StepType.EMAIL, config={"template_key": "hello"})
    with pytest.raises(ValidationFailed):
        campaign.replace_steps([step], AT)
    assert campaign.steps == []


def test_enrolling_another_tenants_lead_is_not_found_and_enrolls_nothing(
        world: World) -> None:
    world.templates()
    box = world.mailbox()
    campaign = world.campaign([HELLO], mailboxes=[box], activate=False)
    theirs = Workspace.sign_up(world.lad, "Other").lead(email="theirs@example.test")
    mine = world.lead()

    with pytest.raises(NotFound):
        world.lad.campaigns().enroll(world.owner, campaign.id, lead_ids=[mine.id, theirs.id])
    assert world.enrollments(campaign) == []
    other = World.open(world.lad, world.clock)
    other.templates()
    their_campaign = other.campaign([HELLO], activate=False)
    with pytest.raises(NotFound):
        world.lad.campaigns().enroll(world.owner, their_campaign.id, lead_ids=[mine.id])
    assert other.enrollments(their_campaign) == []


def test_a_lead_is_enrolled_once_per_campaign(world: World) -> None:
    world.templates()
    box = world.mailbox()
    leads = [world.lead(company="Acme") for _ in range(3)]
    campaign = world.campaign([HELLO], mailboxes=[box], leads=leads[:1], activate=False)
    enroll = world.lad.campaigns().enroll
    report = enroll(world.owner, campaign.id, lead_filter=LeadFilter(text="Acme"))
    assert (report.enrolled, report.already_enrolled) == (2, 1)
    again = enroll(world.owner, campaign.id, lead_ids=[lead.id for lead in leads])
    assert (again.enrolled, again.already_enrolled) == (0, 3)
    assert len(world.enrollments(campaign)) == 3
    assert refused(enroll, world.owner, campaign.id)[0][0] == "lead_ids"
    assert refused(enroll, world.owner, campaign.id, lead_ids=[])[0][0] == "lead_ids"


def test_steps_are_edited_only_in_draft(world: World) -> None:
    world.templates()
    box = world.mailbox()
    campaigns = world.lad.campaigns()
    campaign = world.campaign([HELLO], mailboxes=[box], leads=[world.lead()])
    for move in (None, campaigns.pause, campaigns.complete):
        if move is not None:
            move(world.owner, campaign.id)
        with pytest.raises(Conflict):
            campaigns.set_steps(world.owner, campaign.id, [HELLO, FOLLOW_UP])
    assert [s.order for s in campaigns.get(world.owner, campaign.id).steps] == [1]
    draft = world.campaign([HELLO], mailboxes=[box], activate=False)
    changed = campaigns.set_steps(world.owner, draft.id, [HELLO, FOLLOW_UP])
    assert [s.config["template_key"] for s in changed.steps] == ["hello", "follow-up"]


def test_activating_needs_senders_for_its_channels_and_a_step_that_sends(
        world: World) -> None:
    world.templates()
    campaigns = world.lad.campaigns()
    email_only = world.campaign([HELLO], activate=False)
    assert refused(campaigns.activate, world.owner, email_only.id)[0][0] == \
        "settings.email_account_ids"
    linkedin = world.campaign([{"type": "linkedin_invite"}], activate=False)
    assert refused(campaigns.activate, world.owner, linkedin.id)[0][0] == \
        "linkedin_account_ids"
    nothing = world.campaign([{"type": "wait", "config": {"days": 1}}], activate=False)
    assert refused(campaigns.activate, world.owner, nothing.id)[0][0] == "steps"
    ends_waiting = world.campaign([HELLO, {"type": "wait", "config": {"days": 1}}],
                                  mailboxes=[world.mailbox()], activate=False)
    assert refused(campaigns.activate, world.owner, ends_waiting.id)[0][0] == "steps[2]"
    for campaign in (email_only, linkedin, nothing, ends_waiting):
        assert campaigns.get(world.owner, campaign.id).status is CampaignStatus.DRAFT


def test_a_sender_or_setting_that_does_not_hold_is_refused(world: World) -> None:
    world.templates()
    other = World.open(world.lad, world.clock)
    theirs = other.mailbox("them@other.test")
    create = world.lad.campaigns().create
    with pytest.raises(NotFound):
        create(world.owner, name="C", settings={"email_account_ids": [str(theirs.id)]})
    for settings, field in [({"daily_cap": 0}, "settings.daily_cap"),
                            ({"timezone": "Mars/Olympus"}, "settings.timezone"),
                            ({"stop_on_reply": "yes"}, "settings.stop_on_reply"),
                            ({"speed": "fast"}, "settings.speed"),
                            ({"send_window": {"days": ["sun"], "start": "10:00",
                                              "end": "09:00"}}, "settings.send_window.end")]:
        assert refused(create, world.owner, name="C", settings=settings)[0][0] == field


def test_the_life_of_a_campaign_only_moves_forward(world: World) -> None:
    world.templates()
    box = world.mailbox()
    campaigns = world.lad.campaigns()
    draft = world.campaign([HELLO], mailboxes=[box], activate=False)
    for move in (campaigns.pause, campaigns.resume, campaigns.complete):
        with pytest.raises(Conflict):
            move(world.owner, draft.id)
    active = campaigns.activate(world.owner, draft.id)
    with pytest.raises(Conflict):
        campaigns.activate(world.owner, active.id)
    with pytest.raises(Conflict):
        campaigns.resume(world.owner, active.id)
    campaigns.archive(world.owner, active.id)
    archived = campaigns.archive(world.owner, active.id)  # archiving twice is a no-op
    assert archived.status is CampaignStatus.ARCHIVED
    with pytest.raises(Conflict):
        campaigns.enroll(world.owner, active.id, lead_ids=[world.lead().id])
    with pytest.raises(Conflict):
        campaigns.update(world.owner, active.id, name="New name")


def test_a_completed_campaign_sends_nothing_more(world: World) -> None:
    world.templates()
    box = world.mailbox()
    lead = world.lead()
    campaign = world.campaign([HELLO], mailboxes=[box], leads=[lead], activate=False)
    world.lad.campaigns().activate(world.owner, campaign.id)
    world.lad.campaigns().pause(world.owner, campaign.id)
    world.lad.campaigns().complete(world.owner, campaign.id)
    assert world.work() == {}
    assert world.email.sent == []
    ended = world.enrollment(campaign, lead)
    assert ended.next_run_at is None
    # Its open enrollments end with it: the statistics show no lead still under way.
    assert (ended.status, ended.stop_reason) == (EnrollmentStatus.STOPPED,
                                                  "campaign completed")


def test_who_may_run_campaigns(world: World) -> None:
    world.templates()
    viewer = world.ws.member(Role.VIEWER)
    member = world.ws.member(Role.MEMBER)
    with pytest.raises(PermissionDenied):
        world.lad.campaigns().create(viewer, name="C")
    created = world.lad.campaigns().create(member, name="C", steps=[HELLO])
    assert created.status is CampaignStatus.DRAFT
    world.lad.team().set_feature(OPERATOR, "campaigns", False, tenant_id=world.tenant_id)
    with pytest.raises(PermissionDenied):
        world.lad.campaigns().get(member, created.id)
    with pytest.raises(PermissionDenied):
        world.lad.campaign_reconciliation().decide(member, created.id, "sent")


def test_the_worker_with_nothing_due_does_nothing(world: World) -> None:
    assert world.work() == {}
    assert StepResult.SENT not in world.work()
