"""The ICP assistant on the memory backend with a scripted model: a turn stores the exchange,
updates the ICP and bills the tokens, all of it or (when the model fails) none of it; who may
continue which conversation; keyword expansion through the cache."""

from __future__ import annotations

import uuid
from decimal import Decimal

import pytest

from lad_adapters.llm.rules import RulesExtractor
from lad_domain.billing.errors import InsufficientFunds
from lad_domain.icp.model import ConversationStatus, Role
from lad_domain.icp.ports import ModelError, ModelErrorKind, Usage
from lad_domain.shared.clock import FixedClock
from lad_domain.shared.errors import (
    Conflict,
    NotFound,
    PermissionDenied,
    Unavailable,
    ValidationFailed,
)
from lad_domain.shared.money import amount
from lad_domain.shared.pagination import PageRequest
from lad_entrypoints.container import Container
from tests.fakes.icp import (
    ScriptedExtractor,
    not_configured,
    refused,
    throttled,
    unavailable,
    update,
)
from tests.unit.enrichment.world import World

#: gpt-4o-mini's catalog prices, per token.
INPUT_PRICE, OUTPUT_PRICE = Decimal("0.00000015"), Decimal("0.0000006")
#: What a scripted turn costs: 1,200 tokens in, 150 out.
TURN_COST = 1200 * INPUT_PRICE + 150 * OUTPUT_PRICE


@pytest.fixture
def world(lad: Container, clock: FixedClock) -> World:
    return World.open(lad, clock)


def _messages(world: World, conversation_id: uuid.UUID
              ) -> list[tuple[Role, str, int, str | None]]:
    found = world.assistant.messages(world.owner, conversation_id,
                                     PageRequest(limit=50)).items
    return [(m.role, m.content, m.tokens_used, m.model) for m in found]


def _field(failed: pytest.ExceptionInfo[ValidationFailed]) -> str:
    [error] = failed.value.errors
    return error.field


# --- a turn -----------------------------------------------------------------------------------

def test_a_turn_stores_both_messages_and_updates_the_icp(world: World) -> None:
    world.extractor.script(update(titles=["CTO"], person_locations=["Germany"],
                                  industries=["fintech"]))
    conversation = world.assistant.start(world.member)
    turn = world.assistant.say(world.member, conversation.id, "CTOs of fintechs in Germany")
    assert _messages(world, conversation.id) == [
        (Role.USER, "CTOs of fintechs in Germany", 1200, "gpt-4o-mini"),
        (Role.ASSISTANT, turn.answer.content, 150, "gpt-4o-mini")]
    stored = world.assistant.get(world.member, conversation.id)
    assert (stored.icp.titles, stored.icp.person_locations, stored.icp.industries) == (
        ("CTO",), ("Germany",), ("fintech",))
    assert stored.title == "CTOs of fintechs in Germany"
    assert turn.changed == ("titles", "person_locations", "industries")
    assert turn.missing == ("the company size (for example 50-200 employees)",)
    assert "the company size" in turn.answer.content
    assert turn.answer.metadata["missing"] == list(turn.missing)
    assert world.tenant.events("icp.updated")[-1]["fields"] == list(turn.changed)


def test_the_next_turn_sees_the_history_and_the_icp_so_far(world: World) -> None:
    world.extractor.script(update(titles=["CTO"]), update(headcounts=[(50, 200)]))
    conversation = world.assistant.start(world.member)
    first = world.assistant.say(world.member, conversation.id, "CTOs")
    second = world.assistant.say(world.member, conversation.id, "at companies of 50-200")
    call = world.extractor.extract_calls[1]
    assert [(t.role, t.content) for t in call.history] == [
        ("user", "CTOs"), ("assistant", first.answer.content)]
    assert call.current.titles == ("CTO",)
    assert second.conversation.icp.titles == ("CTO",), "a turn adds to what came before"
    assert "company size" not in " ".join(second.missing)
    assert len(_messages(world, conversation.id)) == 4


def test_a_correction_replaces_the_location(world: World) -> None:
    world.extractor.script(update(person_locations=["France"], titles=["CTO"]),
                           update(person_locations=["Germany"], replace=["person_locations"]))
    conversation = world.assistant.start(world.member)
    world.assistant.say(world.member, conversation.id, "CTOs in France")
    turn = world.assistant.say(world.member, conversation.id, "sorry, I meant Germany")
    assert turn.conversation.icp.person_locations == ("Germany",)
    assert turn.conversation.icp.titles == ("CTO",)
    assert turn.changed == ("person_locations",)


def test_a_turn_that_finds_nothing_says_so(world: World) -> None:
    conversation = world.assistant.start(world.member)
    turn = world.assistant.say(world.member, conversation.id, "hello")
    assert turn.changed == ()
    assert turn.answer.content.startswith("I did not find anything new")
    assert world.tenant.events("icp.updated") == []


@pytest.mark.parametrize("content", ["", "   \n ", "x" * 100_000, None, "bell\x07"])
def test_a_message_that_cannot_be_read_stores_nothing(world: World, content: object) -> None:
    conversation = world.assistant.start(world.member)
    with pytest.raises(ValidationFailed) as failed:
        world.assistant.say(world.member, conversation.id, content)
    assert _field(failed) == "content"
    assert _messages(world, conversation.id) == []
    assert world.extractor.extract_calls == []
    assert world.tenant.usage() == []


# --- the model failing ------------------------------------------------------------------------

def test_a_refusal_names_the_message_and_stores_nothing(world: World) -> None:
    world.extractor.script(refused("I cannot help with that request"))
    conversation = world.assistant.start(world.member)
    with pytest.raises(ValidationFailed) as failed:
        world.assistant.say(world.member, conversation.id, "something dubious")
    assert _field(failed) == "content"
    assert "I cannot help with that request" in failed.value.errors[0].message
    assert _messages(world, conversation.id) == []
    assert world.tenant.usage() == []
    wallet = world.tenant.wallet()
    assert (wallet.current_balance, wallet.reserved_balance) == (Decimal(50), Decimal(0))
    ledger = world.tenant.ledger()
    assert (ledger["reservation"], ledger["release"]) == (1, 1), "held, then given back"
    assert world.assistant.get(world.member, conversation.id).icp.is_empty


@pytest.mark.parametrize(("error", "retry_after"), [(throttled(45), 45), (unavailable(), None)])
def test_a_model_that_is_down_is_unavailable(world: World, error: ModelError,
                                             retry_after: int | None) -> None:
    world.extractor.script(error)
    conversation = world.assistant.start(world.member)
    with pytest.raises(Unavailable) as failed:
        world.assistant.say(world.member, conversation.id, "CTOs in Germany")
    assert failed.value.retry_after == retry_after
    assert _messages(world, conversation.id) == []
    assert world.tenant.wallet().reserved_balance == 0
    assert world.tenant.usage() == []


def test_a_model_not_configured_names_the_setting(world: World) -> None:
    world.extractor.script(not_configured())
    conversation = world.assistant.start(world.member)
    with pytest.raises(Unavailable) as failed:
        world.assistant.say(world.member, conversation.id, "CTOs in Germany")
    assert "LAD_LLM_API_KEY" in str(failed.value)
    assert world.tenant.wallet().reserved_balance == 0


def test_any_failure_of_the_call_gives_the_hold_back(world: World) -> None:
    def broken() -> None:
        raise ConnectionResetError("the model's connection dropped")

    world.extractor.on_extract = broken
    conversation = world.assistant.start(world.member)
    with pytest.raises(ConnectionResetError):
        world.assistant.say(world.member, conversation.id, "CTOs in Germany")
    assert world.tenant.wallet().reserved_balance == 0
    assert _messages(world, conversation.id) == [] and world.tenant.usage() == []


def test_a_wallet_that_cannot_pay_is_refused_before_the_model_is_asked(
        lad: Container, clock: FixedClock) -> None:
    world = World.open(lad, clock, funds=None)
    conversation = world.assistant.start(world.member)
    with pytest.raises(InsufficientFunds):
        world.assistant.say(world.member, conversation.id, "CTOs in Germany")
    assert world.extractor.extract_calls == []
    assert _messages(world, conversation.id) == []


# --- billing ----------------------------------------------------------------------------------

def test_every_turn_posts_one_usage_event_priced_by_provider_and_model(world: World) -> None:
    world.extractor.script(update(titles=["CTO"]), update(person_locations=["Germany"]))
    conversation = world.assistant.start(world.member)
    turns = [world.assistant.say(world.member, conversation.id, text)
             for text in ("CTOs", "in Germany")]
    usage = world.tenant.usage()
    assert len(usage) == 2
    for line in usage:
        assert line.feature_key == "icp"
        assert sorted(line.items) == [
            ("llm_input_tokens", Decimal(1200), Decimal("0.00018")),
            ("llm_output_tokens", Decimal(150), Decimal("0.00009"))]
    event = world.tenant.usage_event(f"icp-turn:{turns[0].answer.id}")
    assert event is not None
    assert event.total_cost == TURN_COST == Decimal("0.00027")
    assert {(i.provider, i.model) for i in event.items} == {("openai", "gpt-4o-mini")}
    assert event.user_id == world.member.user_id
    wallet = world.tenant.wallet()
    assert wallet.current_balance == Decimal(50) - 2 * TURN_COST
    assert wallet.reserved_balance == 0


def test_the_hold_covers_the_worst_case_of_the_models_retries(world: World) -> None:
    """What is held before the call is what the extractor says its retries may use at
    most; given back in full when the answer is stored."""
    seen: list[Decimal] = []
    world.extractor.budget = Usage("openai", "gpt-4o-mini", 5000, 10_000)
    world.extractor.on_extract = lambda: seen.append(world.tenant.wallet().reserved_balance)
    conversation = world.assistant.start(world.member)
    world.assistant.say(world.member, conversation.id, "CTOs")
    estimate = amount(5000 * INPUT_PRICE) + amount(10_000 * OUTPUT_PRICE)
    assert seen == [estimate] == [Decimal("0.00675")]
    assert world.tenant.wallet().reserved_balance == 0


def test_a_model_not_configured_is_unavailable_before_the_wallet_is_asked(
        lad: Container, clock: FixedClock) -> None:
    """An empty wallet and no model: the answer names the missing setting (503), not the
    missing money (402)."""
    world = World.open(lad, clock, funds=None)
    world.extractor.budget = not_configured()
    conversation = world.assistant.start(world.member)
    with pytest.raises(Unavailable) as failed:
        world.assistant.say(world.member, conversation.id, "CTOs in Germany")
    assert "LAD_LLM_API_KEY" in str(failed.value)
    with pytest.raises(Unavailable):
        world.assistant.expand(world.member, "fintech")
    assert world.extractor.calls() == {"extract": 0, "expand": 0}


def test_the_tokens_a_failed_call_spent_are_billed(world: World) -> None:
    """Answers that were malformed until the model gave up are paid to the model: the
    tokens are billed, the hold given back, nothing of the turn stored."""
    spent = Usage("openai", "gpt-4o-mini", 4000, 3000)
    world.extractor.script(ModelError(ModelErrorKind.MALFORMED, "not JSON three times",
                                      usage=spent))
    conversation = world.assistant.start(world.member)
    with pytest.raises(Unavailable):
        world.assistant.say(world.member, conversation.id, "CTOs in Germany")
    [line] = world.tenant.usage()
    assert sorted((c, q) for c, q, _ in line.items) == [
        ("llm_input_tokens", Decimal(4000)), ("llm_output_tokens", Decimal(3000))]
    wallet = world.tenant.wallet()
    assert wallet.current_balance == Decimal(50) - 4000 * INPUT_PRICE - 3000 * OUTPUT_PRICE
    assert wallet.reserved_balance == 0
    assert _messages(world, conversation.id) == []


def test_a_turn_that_would_overfill_the_icp_is_refused_and_its_tokens_billed(
        world: World) -> None:
    conversation = world.assistant.start(world.member)
    world.assistant.set_icp(world.member, conversation.id,
                            {"titles": [f"Title {i}" for i in range(50)]})
    world.extractor.script(update(titles=["CTO", "VP of Sales"]))
    with pytest.raises(ValidationFailed) as failed:
        world.assistant.say(world.member, conversation.id, "and CTOs and VPs of Sales")
    assert _field(failed) == "content" and "titles" in failed.value.errors[0].message
    stored = world.assistant.get(world.member, conversation.id)
    assert len(stored.icp.titles) == 50, "the ICP stays as it was, readable"
    assert len(world.tenant.usage()) == 1 and world.tenant.wallet().reserved_balance == 0
    assert world.assistant.list(world.member, PageRequest()).items


def test_an_expansion_the_wallet_cannot_pay_is_refused_before_the_model_is_asked(
        lad: Container, clock: FixedClock) -> None:
    world = World.open(lad, clock, funds=None)
    with pytest.raises(InsufficientFunds):
        world.assistant.expand(world.member, "fintech")
    assert world.extractor.calls()["expand"] == 0
    assert world.assistant.expansion_stats(world.member).entries == 0


def test_the_offline_extractor_posts_a_free_event(world: World) -> None:
    world.assistant.extractor = ScriptedExtractor(provider="lad", model="rules").script(
        update(titles=["CTO"], source="rules"))
    conversation = world.assistant.start(world.member)
    world.assistant.say(world.member, conversation.id, "CTOs")
    [line] = world.tenant.usage()
    assert [(category, cost) for category, _, cost in sorted(line.items)] == [
        ("llm_input_tokens", Decimal(0)), ("llm_output_tokens", Decimal(0))]
    assert world.tenant.ledger()["reservation"] == 0, "nothing to hold for a free model"
    assert world.tenant.wallet().current_balance == Decimal(50)


def test_the_rules_extractor_builds_an_icp_for_free(world: World) -> None:
    world.assistant.extractor = RulesExtractor()
    conversation = world.assistant.start(world.member)
    turn = world.assistant.say(world.member, conversation.id,
                               "CTOs at fintech companies in Germany with 50-200 employees")
    icp = turn.conversation.icp
    assert (icp.titles, icp.person_locations, icp.industries, icp.source) == (
        ("CTO",), ("Germany",), ("Fintech",), "rules")
    assert turn.missing == ()
    assert {(m.model, m.tokens_used > 0) for m in (turn.question, turn.answer)} == {
        ("rules", True)}
    [line] = world.tenant.usage()
    assert {cost for _, _, cost in line.items} == {Decimal(0)}
    other = world.other_tenant()
    assert world.assistant.expand(world.member, "fintech").cached is False
    assert world.assistant.expand(other.owner, "fintech").cached is True


# --- whose conversation -----------------------------------------------------------------------

def test_another_tenants_conversation_is_not_found(world: World) -> None:
    conversation = world.assistant.start(world.member)
    other = world.other_tenant()
    for call in (lambda: world.assistant.get(other.owner, conversation.id),
                 lambda: world.assistant.say(other.owner, conversation.id, "CTOs"),
                 lambda: world.assistant.set_status(other.owner, conversation.id, "archived")):
        with pytest.raises(NotFound):
            call()
    assert world.extractor.extract_calls == []


def test_a_member_continues_only_their_own_conversations(world: World) -> None:
    conversation = world.assistant.start(world.member)
    colleague = world.tenant.ws.member()
    with pytest.raises(PermissionDenied):
        world.assistant.say(colleague, conversation.id, "CTOs")
    with pytest.raises(PermissionDenied):
        world.assistant.set_icp(colleague, conversation.id, {"titles": ["CTO"]})
    assert world.extractor.extract_calls == []
    world.extractor.script(update(titles=["CTO"]))
    turn = world.assistant.say(world.admin, conversation.id, "CTOs")
    assert turn.conversation.icp.titles == ("CTO",), "an admin may"
    assert world.assistant.get(colleague, conversation.id).icp.titles == ("CTO",), (
        "a colleague reads it")


def test_an_archived_conversation_is_not_continued(world: World) -> None:
    conversation = world.assistant.start(world.member)
    world.assistant.set_status(world.member, conversation.id, "archived")
    with pytest.raises(Conflict) as failed:
        world.assistant.say(world.member, conversation.id, "CTOs")
    assert "archived" in str(failed.value)
    assert world.extractor.extract_calls == []
    again = world.assistant.set_status(world.member, conversation.id, "active")
    assert again.status is ConversationStatus.ACTIVE
    world.assistant.say(world.member, conversation.id, "CTOs")
    assert len(_messages(world, conversation.id)) == 2


def test_a_typed_icp_replaces_the_document(world: World) -> None:
    conversation = world.assistant.start(world.member)
    typed = world.assistant.set_icp(world.member, conversation.id, {
        "titles": ["CTO"], "headcounts": ["50,200"]})
    assert typed.icp.source == "user"
    assert world.assistant.get(world.owner, conversation.id).icp == typed.icp
    with pytest.raises(ValidationFailed) as failed:
        world.assistant.set_icp(world.member, conversation.id, {"headcounts": ["200,50"]})
    assert _field(failed) == "icp.headcounts[0]"


def test_conversations_list_the_members_own(world: World) -> None:
    mine = world.assistant.start(world.member, title="Fintech CTOs")
    world.assistant.start(world.admin)
    listed = world.assistant.list(world.member, PageRequest(), mine=True).items
    assert [c.id for c in listed] == [mine.id]
    assert len(world.assistant.list(world.member, PageRequest()).items) == 2


# --- keyword expansion ------------------------------------------------------------------------

def test_an_expansion_is_asked_once_then_served_from_the_cache(world: World) -> None:
    world.extractor.expansions["fintech"] = ("payments", "neobank", "banking software")
    first = world.assistant.expand(world.member, " FinTech ", "industry")
    second = world.assistant.expand(world.member, "fintech", "industry")
    assert (first.keyword, first.context, first.cached) == ("fintech", "industry", False)
    assert second.cached and second.keywords == first.keywords == (
        "payments", "neobank", "banking software")
    assert world.extractor.expand_calls == [("fintech", "industry")]
    [line] = world.tenant.usage()
    assert sum(cost for _, _, cost in line.items) == TURN_COST, "only the miss is billed"
    stats = world.assistant.expansion_stats(world.member)
    assert (stats.entries, stats.hits, stats.misses) == (1, 1, 1)
    assert stats.hit_rate == 0.5


def test_offline_expansions_are_shared_by_every_tenant(world: World) -> None:
    world.assistant.extractor = rules = ScriptedExtractor(provider="lad", model="rules")
    world.assistant.expand(world.member, "saas")
    other = world.other_tenant()
    shared = world.assistant.expand(other.owner, "saas")
    assert shared.cached and rules.expand_calls == [("saas", "keyword")]


def test_a_models_expansion_belongs_to_the_tenant_that_paid(world: World) -> None:
    world.assistant.expand(world.member, "saas")
    other = world.other_tenant()
    theirs = world.assistant.expand(other.owner, "saas")
    assert not theirs.cached
    assert len(world.extractor.expand_calls) == 2
    assert len(other.usage()) == 1


def test_a_turn_suggests_related_keywords_and_survives_a_failed_expansion(
        world: World) -> None:
    world.extractor.expansions["payments"] = unavailable()
    world.extractor.script(update(keywords=["saas", "payments"]))
    conversation = world.assistant.start(world.member)
    turn = world.assistant.say(world.member, conversation.id, "SaaS and payments companies")
    assert turn.related == {"payments": (), "saas": ("saas software", "saas platform")}
    assert "Related to 'saas': saas software, saas platform." in turn.answer.content
    # The turn and the one expansion that answered: each a usage event of its own.
    assert len(world.tenant.usage()) == 2
    assert world.tenant.wallet().reserved_balance == 0


@pytest.mark.parametrize(("keyword", "context", "field"), [
    ("", "keyword", "keyword"), ("x" * 101, "keyword", "keyword"),
    ("saas", "colour", "context")])
def test_a_bad_expansion_request_is_named(world: World, keyword: str, context: str,
                                          field: str) -> None:
    with pytest.raises(ValidationFailed) as failed:
        world.assistant.expand(world.member, keyword, context)
    assert _field(failed) == field
    assert world.extractor.expand_calls == []
