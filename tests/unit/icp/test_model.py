"""The ICP document: how turns accumulate into it, how a typed one is checked (every error
named), and how it becomes Apollo's search parameters."""

from __future__ import annotations

import pytest

from lad_domain.icp.model import (
    HeadcountRange,
    IcpDocument,
    IcpUpdate,
    headcounts,
    normalise_keyword,
    search_params,
)
from lad_domain.shared.errors import ValidationFailed
from tests.fakes.icp import update


def _fields(failed: pytest.ExceptionInfo[ValidationFailed]) -> list[str]:
    return [e.field for e in failed.value.errors]


def test_lists_accumulate_across_updates_sorted_and_without_duplicates() -> None:
    icp = IcpDocument()
    icp = icp.apply(update(titles=["VP Sales", "CTO"], industries=["fintech"]))
    icp = icp.apply(update(titles=["CTO", "Head of Growth"], person_locations=["Germany"]))
    assert icp.titles == ("CTO", "Head of Growth", "VP Sales")
    assert icp.industries == ("fintech",)
    assert icp.person_locations == ("Germany",)
    assert icp.source == "gpt-4o-mini"


def test_a_later_company_size_replaces_the_earlier_one() -> None:
    icp = IcpDocument().apply(update(headcounts=[(50, 200)]))
    icp = icp.apply(update(titles=["CTO"]))
    assert icp.headcounts == (HeadcountRange(50, 200),), "a turn without a size keeps it"
    icp = icp.apply(update(headcounts=[(500, 1000), (1, 10), (500, 1000)]))
    assert icp.headcounts == (HeadcountRange(1, 10), HeadcountRange(500, 1000))


def test_replace_corrects_a_field_and_remove_drops_values() -> None:
    icp = IcpDocument().apply(update(person_locations=["France", "Germany"],
                                     titles=["CTO", "CFO", "VP Sales"]))
    icp = icp.apply(update(person_locations=["Spain", "Italy", "Spain"],
                           replace=["person_locations"], remove={"titles": ["CFO"]}))
    assert icp.person_locations == ("Italy", "Spain"), "a correction is sorted too"
    assert icp.titles == ("CTO", "VP Sales")
    icp = icp.apply(update(person_locations=["Spain"], replace=["person_locations"]))
    assert icp.person_locations == ("Spain",)
    assert icp.titles == ("CTO", "VP Sales")
    emptied = icp.apply(update(replace=["titles"]))
    assert emptied.titles == () and emptied.person_locations == ("Spain",)


def test_include_similar_titles_changes_only_when_replaced() -> None:
    icp = IcpDocument().apply(update(titles=["CTO"]))
    assert icp.include_similar_titles is True
    strict = IcpDocument(include_similar_titles=False)
    icp = icp.apply(IcpUpdate(document=strict, replace=frozenset({"include_similar_titles"})))
    assert icp.include_similar_titles is False
    assert icp.apply(update(titles=["CEO"])).include_similar_titles is False


def test_missing_asks_for_company_size_until_one_is_given() -> None:
    icp = IcpDocument().apply(update(titles=["CTO"], person_locations=["Germany"],
                                     industries=["fintech"]))
    assert icp.missing() == ["the company size (for example 50-200 employees)"]
    assert icp.apply(update(headcounts=[(50, 200)])).missing() == []
    assert len(IcpDocument().missing()) == 4


def test_from_json_normalises_and_round_trips() -> None:
    icp = IcpDocument.from_json({
        "titles": ["  VP   Sales ", "CTO", "CTO"], "seniorities": ["VP", "director"],
        "headcounts": [{"min": 201, "max": 500}, "50,200", [1, 10]],
        "domains": ["Acme.COM"], "include_similar_titles": False})
    assert icp.titles == ("CTO", "VP Sales")
    assert icp.seniorities == ("director", "vp")
    assert icp.headcounts == (HeadcountRange(1, 10), HeadcountRange(50, 200),
                              HeadcountRange(201, 500))
    assert icp.domains == ("acme.com",)
    assert icp.source == "user" and icp.include_similar_titles is False
    assert IcpDocument.from_json(icp.to_json()) == icp


def test_a_contradictory_range_names_its_place() -> None:
    with pytest.raises(ValidationFailed) as failed:
        IcpDocument.from_json({"headcounts": [{"min": 10, "max": 50},
                                              {"min": 500, "max": 200}]})
    assert _fields(failed) == ["icp.headcounts[1]"]
    assert "500 is above the maximum 200" in failed.value.errors[0].message


def test_overlapping_ranges_contradict_each_other() -> None:
    with pytest.raises(ValidationFailed) as failed:
        IcpDocument.from_json({"headcounts": ["50,200", "100,500"]})
    assert _fields(failed) == ["icp.headcounts"]
    assert "50-200 and 100-500 overlap" in failed.value.errors[0].message
    # Touching ranges do not overlap.
    assert len(headcounts(["1,49", "50,200"])) == 2


def test_every_error_of_a_document_is_named_at_once() -> None:
    with pytest.raises(ValidationFailed) as failed:
        IcpDocument.from_json({"seniorities": ["vp", "wizard"], "titles": "CTO",
                               "headcounts": ["0,10"], "include_similar_titles": "yes",
                               "colour": ["blue"]})
    assert sorted(_fields(failed)) == ["icp.colour", "icp.headcounts[0]",
                                       "icp.include_similar_titles", "icp.seniorities",
                                       "icp.titles"]
    seniority = next(e for e in failed.value.errors if e.field == "icp.seniorities")
    assert "'wizard' is not a seniority" in seniority.message


@pytest.mark.parametrize(("document", "field"), [
    ("not an object", "icp"),
    ({"titles": ["x" * 101]}, "icp.titles[0]"),
    ({"keywords": ["ok", "  "]}, "icp.keywords[1]"),
    ({"industries": ["a\x00b"]}, "icp.industries[0]"),
    ({"titles": ["t"] * 51}, "icp.titles"),
    ({"headcounts": [{"min": 1, "max": 20_000_000}]}, "icp.headcounts[0]"),
    ({"headcounts": [{"min": True, "max": 5}]}, "icp.headcounts[0]"),
    ({"headcounts": "50,200"}, "icp.headcounts"),
    ({"headcounts": [{"min": "\u00b2", "max": 3}]}, "icp.headcounts[0]"),
    ({"headcounts": ["1," + "1" * 5000]}, "icp.headcounts[0]"),
    ({"keywords": [f"{i:02d}" + "k" * 90 for i in range(8)]}, "icp.keywords"),
])
def test_malformed_documents_name_the_field(document: object, field: str) -> None:
    with pytest.raises(ValidationFailed) as failed:
        IcpDocument.from_json(document)
    assert _fields(failed) == [field]


def test_search_params_speak_apollos_vocabulary() -> None:
    icp = IcpDocument.from_json({
        "titles": ["CTO", "VP Engineering"], "seniorities": ["vp"],
        "headcounts": ["51,200", "1,10"], "person_locations": ["Germany"],
        "organization_locations": ["Berlin"], "industries": ["fintech"],
        "keywords": ["payments", "api"], "domains": ["acme.com"]})
    assert search_params(icp) == {
        "person_titles": ["CTO", "VP Engineering"], "include_similar_titles": True,
        "person_seniorities": ["vp"], "person_locations": ["Germany"],
        "organization_locations": ["Berlin"],
        "organization_num_employees_ranges": ["1,10", "51,200"],
        "q_keywords": "fintech api payments",
        "q_organization_domains_list": ["acme.com"]}
    assert search_params(IcpDocument()) == {}
    assert search_params(IcpDocument(seniorities=("vp",))) == {"person_seniorities": ["vp"]}


def test_keywords_are_normalised_for_the_expansion_cache() -> None:
    assert normalise_keyword("  Fin   Tech ") == "fin tech"
    with pytest.raises(ValidationFailed) as failed:
        normalise_keyword("   ")
    assert _fields(failed) == ["keyword"]
