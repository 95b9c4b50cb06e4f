"""Which column fills which field: aliases in tiers, several phone and place columns, the
columns of another tool's export, a column map's choices, and LinkedIn addresses."""

from __future__ import annotations

import pytest

from lad_domain.leads.csv_format import column_map_of, map_header
from lad_domain.leads.row_check import linkedin_url
from lad_domain.shared.errors import ValidationFailed


def test_a_better_tier_wins_and_the_other_column_is_ignored() -> None:
    columns = map_header(["Company Name for Emails", "Email", "Company"])
    assert columns.mapped == (("Email", "email"), ("Company", "company"))
    assert columns.ignored == ("Company Name for Emails",)


@pytest.mark.parametrize("header", [["email", "E-mail"], ["Title", "Job Title", "email"],
                                    ["email", "Location", "Person Location"]])
def test_two_columns_of_one_tier_are_refused(header: list[str]) -> None:
    with pytest.raises(ValidationFailed, match="both mean"):
        map_header(header)


def test_phone_columns_are_tried_direct_mobile_corporate_other_home() -> None:
    columns = map_header(["Home Phone", "Other Phone", "Corporate Phone", "Mobile Phone",
                          "Work Direct Phone", "Phone"])
    assert columns.phones == (4, 5, 3, 2, 1, 0)


def test_a_pipedrive_person_column_fills_only_a_contact_field() -> None:
    columns = map_header(["Person - Name", "Person - Owner", "Person - Email - Work"])
    assert columns.mapped == (("Person - Name", "full_name"), ("Person - Email - Work", "email"))
    assert columns.ignored == ("Person - Owner",)


def test_stage_status_and_owner_of_another_tool_are_ignored() -> None:
    ours = map_header(["email", "Stage", "Status", "Owner"])
    theirs = map_header(["email", "Stage", "Status", "Owner", "Apollo Contact Id"])
    assert [field for _, field in ours.mapped] == ["email", "stage", "status", "owner"]
    assert theirs.ignored == ("Stage", "Status", "Owner")


def test_a_column_map_wins_over_the_aliases() -> None:
    columns = map_header(["Email", "Work Email", "Region", "Notes"],
                         {"work email": "email", "Region": "custom.Sales Region",
                          "Notes": None})
    assert columns.mapped == (("Work Email", "email"), ("Region", "custom.sales_region"))
    assert columns.ignored == ("Email", "Notes")


def test_a_column_map_names_every_bad_entry_at_once() -> None:
    with pytest.raises(ValidationFailed) as raised:
        map_header(["email", "Tier"], {"Nope": "email", "Tier": "tier", "email": "custom."})
    assert [e.field for e in raised.value.errors] == ["column_map"] * 3
    assert "'Nope' is not a column" in raised.value.errors[0].message


def test_column_map_entries_and_json_agree() -> None:
    assert column_map_of(["A=b=email", "Notes="]) == {"A=b": "email", "Notes": None}
    assert column_map_of(['{"A=b": "email", "Notes": null}']) == {"A=b": "email",
                                                                  "Notes": None}


@pytest.mark.parametrize(("cell", "url"), [
    ("http://www.linkedin.com/in/ada", "https://www.linkedin.com/in/ada"),
    ("HTTPS://WWW.LinkedIn.com/in/Ada?x=1", "https://www.linkedin.com/in/Ada?x=1"),
    ("uk.linkedin.com/in/ada", "https://uk.linkedin.com/in/ada"),
])
def test_a_linkedin_address_is_kept_on_https(cell: str, url: str) -> None:
    assert linkedin_url(cell) == url


@pytest.mark.parametrize("cell", [
    "https://evil.example/linkedin.com", "https://linkedin.com.evil.example/in/x",
    "https://user@linkedin.com/in/x", "https://linkedin.com:8080/in/x", "javascript:alert(1)",
    "ftp://linkedin.com/in/x", "https://www.linkedin.com/in/a b", "li/ada",
    "https://www.linkedin.com/in/" + "a" * 480,
])
def test_anything_else_is_not_a_linkedin_address(cell: str) -> None:
    with pytest.raises(ValueError):
        linkedin_url(cell)
