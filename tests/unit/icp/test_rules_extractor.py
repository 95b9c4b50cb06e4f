"""The offline rules extractor on the extraction table, and what it promises besides:
the same answer every time, sorted lists, usage in its own provider and model, and keyword
expansion from its synonyms table."""

from __future__ import annotations

import json

import pytest

from lad_adapters.llm.rules import RulesExtractor, estimated_tokens
from lad_adapters.llm.vocabulary import vocabulary
from lad_domain.icp.model import LIST_FIELDS, IcpDocument
from lad_domain.icp.ports import IcpExtractor, Turn
from tests.unit.icp.extraction_cases import CASES, CONVERSATIONS, Case, Conversation, icp

RULES = RulesExtractor()


@pytest.mark.parametrize("case", CASES, ids=str)
def test_a_request_gives_its_icp(case: Case) -> None:
    update = RULES.extract(case.message, [], IcpDocument()).update

    assert update.document == case.expected
    assert update.replace == case.replace
    assert dict(update.remove) == dict(case.remove)


@pytest.mark.parametrize("conversation", CONVERSATIONS, ids=str)
def test_a_conversation_builds_its_icp_turn_by_turn(conversation: Conversation) -> None:
    document, history = IcpDocument(), list[Turn]()
    for message in conversation.turns:
        document = document.apply(RULES.extract(message, history, document).update)
        history.append(Turn("user", message))

    assert document == conversation.expected


def test_it_is_an_icp_extractor_named_lad_rules() -> None:
    extractor: IcpExtractor = RULES
    assert (extractor.provider, extractor.model) == ("lad", "rules")


def test_the_same_message_gives_the_same_update() -> None:
    message = CASES[0].message
    answers = {repr(RulesExtractor().extract(message, [], IcpDocument())) for _ in range(3)}
    assert len(answers) == 1


def test_every_list_is_sorted_and_without_duplicates() -> None:
    update = RULES.extract("CTOs, ctos and CFOs in Sweden, Austria, sweden and Austria; "
                           "SaaS, fintech and SaaS", [], IcpDocument()).update
    for field in LIST_FIELDS:
        values = getattr(update.document, field)
        assert list(values) == sorted(set(values))
    assert update.document.titles == ("CFO", "CTO")
    assert update.document.person_locations == ("Austria", "Sweden")


def test_overlapping_sizes_are_joined_into_one_range() -> None:
    update = RULES.extract("startups and companies with 20-100 employees", [], IcpDocument())
    assert update.update.document == icp(headcounts=[(1, 100)])


def test_us_and_it_are_places_and_functions_only_in_capitals() -> None:
    update = RULES.extract("help us find it in the US: Heads of IT", [], IcpDocument()).update
    assert update.document == icp(titles=["Head of IT"], seniorities=["head"],
                                  person_locations=["United States"])


def test_usage_counts_the_words_of_the_message_and_history() -> None:
    alone = RULES.extract("CTOs in Berlin", [], IcpDocument()).usage
    with_history = RULES.extract("CTOs in Berlin", [Turn("user", "Hello there"),
                                                    Turn("assistant", "Hi!")],
                                 IcpDocument()).usage
    assert (alone.provider, alone.model, alone.input_tokens) == ("lad", "rules", 3)
    assert with_history.input_tokens == 3 + 2 + 2
    assert alone.output_tokens > 0


@pytest.mark.parametrize("case", CASES[:10], ids=str)
def test_output_tokens_are_about_the_tokens_of_the_answers_json(case: Case) -> None:
    extraction = RULES.extract(case.message, [], IcpDocument())
    written = json.dumps(extraction.update.to_json(), separators=(",", ":"))
    assert abs(extraction.usage.output_tokens - estimated_tokens(written)) <= 5


def test_a_known_keyword_expands_to_its_synonyms() -> None:
    expansion = RULES.expand("SaaS", "industry")
    assert expansion.keywords == ("b2b software", "cloud software", "software as a service",
                                  "subscription software")
    assert (expansion.usage.provider, expansion.usage.model) == ("lad", "rules")


def test_a_plural_finds_the_synonyms_of_its_singular() -> None:
    assert RULES.expand("CRMs", "keyword").keywords == RULES.expand("crm", "keyword").keywords
    assert "payment processing" in RULES.expand("Payments", "keyword").keywords


def test_an_unknown_keyword_expands_to_its_simple_variants_only() -> None:
    assert RULES.expand("widget", "keyword").keywords == ("widgets",)
    assert RULES.expand("point-of-sale systems", "keyword").keywords == (
        "point of sale system", "point of sale systems", "point-of-sale system")


def test_the_synonyms_table_has_at_least_thirty_keywords() -> None:
    known = [k for k in ("saas", "fintech", "healthcare", "crm", "devops")
             if RULES.expand(k, "keyword").keywords]
    assert len(known) == 5
    assert len(vocabulary().synonyms) >= 30


def test_the_document_it_gives_says_it_came_from_the_rules() -> None:
    current = IcpDocument(titles=("CFO",), source="user")
    assert current.apply(RULES.extract("CTOs", [], current).update).source == "rules"
