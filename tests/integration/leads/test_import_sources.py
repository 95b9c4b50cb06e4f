"""The exports users bring import without a column map, on every backend: Apollo, HubSpot,
Salesforce, Pipedrive and LinkedIn Sales Navigator exporters (their real headers)."""

from __future__ import annotations

import csv
import io

from lad_domain.leads.model import Lead, LeadFilter
from lad_domain.leads.services.importing import ImportReport
from lad_domain.shared.pagination import PageRequest
from tests.unit.leads.workspace import Workspace


def _import(ws: Workspace, header: list[str], rows: list[dict[str, str]]) -> ImportReport:
    text = io.StringIO()
    writer = csv.DictWriter(text, header, restval="")
    writer.writeheader()
    writer.writerows(rows)
    return ws.lad.lead_import().import_leads(ws.owner, io.BytesIO(text.getvalue().encode()))


def _leads(ws: Workspace) -> dict[str | None, Lead]:
    found = ws.lad.leads().list_leads(ws.owner, LeadFilter(), PageRequest(limit=200)).items
    return {lead.email: lead for lead in found}


def _rejected(report: ImportReport) -> list[tuple[int, str]]:
    return [(r.row, r.field) for r in report.rejected]


APOLLO = ["First Name", "Last Name", "Title", "Company", "Company Name for Emails", "Email",
          "Email Status", "Seniority", "Departments", "Contact Owner", "Work Direct Phone",
          "Home Phone", "Mobile Phone", "Corporate Phone", "Other Phone", "Stage", "Lists",
          "Last Contacted", "Account Owner", "# Employees", "Industry", "Keywords",
          "Person Linkedin Url", "Website", "Company Linkedin Url", "City", "State", "Country",
          "Company Address", "Company City", "Company State", "Company Country",
          "Company Phone", "Technologies", "Apollo Contact Id", "Apollo Account Id"]


def test_an_apollo_export(ws: Workspace) -> None:
    report = _import(ws, APOLLO, [
        {"First Name": "Ada", "Last Name": "Lovelace", "Title": "CTO", "Company":
         "Engines, Inc.", "Company Name for Emails": "Engines", "Email": "ada@engines.example",
         "Email Status": "Verified", "Work Direct Phone": "+1 555", "Mobile Phone":
         "+44 20 7946 0958", "Stage": "Cold", "Person Linkedin Url":
         "http://www.linkedin.com/in/ada-lovelace", "City": "London", "State": "England",
         "Country": "United Kingdom", "Company City": "Leeds", "Apollo Contact Id": "c-1",
         "Apollo Account Id": "a-1"},
        {"First Name": "Grace", "Last Name": "Hopper", "Email": "grace@navy.example",
         "Corporate Phone": "+1 212 555 0100", "City": "New York", "State": "New York",
         "Country": "United States", "Stage": "Replied"},
        {"First Name": "Alan", "Email": "alan@bletchley.example", "Home Phone": "12"},
    ])
    ada, grace = _leads(ws)["ada@engines.example"], _leads(ws)["grace@navy.example"]
    assert (report.created, _rejected(report)) == (2, [(4, "phone")])
    assert (ada.phone, ada.company, ada.title, ada.stage) == (
        "+442079460958", "Engines, Inc.", "CTO", "new")
    assert ada.custom_fields == {
        "linkedin_url": "https://www.linkedin.com/in/ada-lovelace", "apollo_person_id": "c-1",
        "apollo_organization_id": "a-1", "location": "London, England, United Kingdom"}
    assert (grace.phone, grace.custom_fields["location"]) == ("+12125550100",
                                                              "New York, United States")
    assert {"Stage", "Company Name for Emails", "Company City"} <= set(report.ignored_columns)


HUBSPOT = ["Record ID", "First Name", "Last Name", "Email", "Phone Number",
           "Mobile Phone Number", "Company Name", "Job Title", "LinkedIn URL", "City",
           "State/Region", "Country/Region", "Contact owner", "Lead Status", "Lifecycle Stage",
           "Create Date"]


def test_a_hubspot_export(ws: Workspace) -> None:
    report = _import(ws, HUBSPOT, [
        {"Record ID": "101", "First Name": "Ada", "Email": "ada@x.example", "Phone Number":
         "+1 555", "Mobile Phone Number": "+44 20 7946 0958", "Company Name": "Engines",
         "Job Title": "CTO", "LinkedIn URL": "linkedin.com/in/ada", "City": "London",
         "Country/Region": "United Kingdom", "Lead Status": "New", "Lifecycle Stage": "Lead"},
        {"Record ID": "102", "First Name": "Alan", "Email": "alan@x.example", "Phone Number":
         "abc"},
        {"Record ID": "103", "First Name": "Cy", "Email": "cy@x.example", "LinkedIn URL":
         "https://example.com/in/cy"},
    ])
    ada = _leads(ws)["ada@x.example"]
    assert (report.created, _rejected(report)) == (1, [(3, "phone"), (4, "linkedin_url")])
    assert (ada.phone, ada.company, ada.title, ada.status) == (
        "+442079460958", "Engines", "CTO", "open")
    assert ada.custom_fields == {"linkedin_url": "https://linkedin.com/in/ada",
                                 "location": "London, United Kingdom"}


SALESFORCE = ["Salutation", "First Name", "Last Name", "Title", "Account Name",
              "Mailing Street", "Mailing City", "Mailing State/Province",
              "Mailing Zip/Postal Code", "Mailing Country", "Phone", "Mobile", "Home Phone",
              "Other Phone", "Email", "Contact Owner", "Lead Source"]


def test_a_salesforce_contacts_report(ws: Workspace) -> None:
    report = _import(ws, SALESFORCE, [
        {"First Name": "Ada", "Last Name": "Lovelace", "Title": "CTO", "Account Name":
         "Engines", "Mailing City": "London", "Mailing Country": "United Kingdom", "Phone":
         "+1 555", "Mobile": "+44 20 7946 0958", "Email": "ada@x.example", "Lead Source":
         "Web"},
        {"First Name": "Grace", "Email": "grace@x.example", "Other Phone": "+1 646 555 0143"},
        {"First Name": "Alan", "Email": "alan@x.example", "Phone": "12", "Home Phone": "34"},
    ])
    ada, grace = _leads(ws)["ada@x.example"], _leads(ws)["grace@x.example"]
    assert (report.created, _rejected(report)) == (2, [(4, "phone")])
    assert (ada.phone, ada.company, ada.title, ada.source) == (
        "+442079460958", "Engines", "CTO", "Web")
    assert ada.custom_fields == {"location": "London, United Kingdom"}
    assert grace.phone == "+16465550143"
    assert "'12'" in report.rejected[0].message and "'34'" in report.rejected[0].message


def test_a_salesforce_lead_report_keeps_its_status_out(ws: Workspace) -> None:
    report = _import(ws, ["First Name", "Last Name", "Company / Account", "Email", "Phone",
                          "Lead Status", "Lead Owner"],
                     [{"First Name": "Ada", "Company / Account": "Engines", "Email":
                       "ada@x.example", "Lead Status": "Open - Not Contacted"}])
    assert (report.created, _leads(ws)["ada@x.example"].company) == (1, "Engines")
    assert report.ignored_columns == ["Lead Status", "Lead Owner"]


PIPEDRIVE = ["Person - ID", "Person - Name", "Person - First name", "Person - Last name",
             "Person - Label", "Person - Organization", "Person - Email - Work",
             "Person - Email - Home", "Person - Phone - Work", "Person - Phone - Home",
             "Person - Phone - Mobile", "Person - Job title", "Person - Owner",
             "Organization - Name", "Organization - Address"]


def test_a_pipedrive_people_export(ws: Workspace) -> None:
    report = _import(ws, PIPEDRIVE, [
        {"Person - ID": "1", "Person - Name": "Ada Lovelace", "Person - First name": "Ada",
         "Person - Last name": "Lovelace", "Person - Organization": "Engines",
         "Person - Email - Work": "ada@x.example", "Person - Email - Home": "ada@home.example",
         "Person - Phone - Work": "+1 555", "Person - Phone - Mobile": "+44 20 7946 0958",
         "Person - Job title": "CTO", "Person - Owner": "Sam Seller",
         "Organization - Name": "Engines", "Organization - Address": "1 Main St, Leeds"},
        {"Person - ID": "2", "Person - Name": "Grace Brewster Hopper",
         "Person - Email - Work": "grace@x.example", "Person - Phone - Work": "+1 646 555 0143"},
        {"Person - ID": "3", "Person - Name": "Alan Turing", "Person - Phone - Home": "12"},
    ])
    ada, grace = _leads(ws)["ada@x.example"], _leads(ws)["grace@x.example"]
    assert (report.created, _rejected(report)) == (2, [(4, "phone")])
    assert (ada.first_name, ada.phone, ada.company, ada.title, ada.owner_id) == (
        "Ada", "+442079460958", "Engines", "CTO", None)
    assert (grace.first_name, grace.last_name, grace.phone) == (
        "Grace", "Brewster Hopper", "+16465550143")
    assert {"Person - Owner", "Person - Email - Home", "Organization - Name"} <= set(
        report.ignored_columns)


def test_a_sales_navigator_export(ws: Workspace) -> None:
    report = _import(ws, ["First Name", "Last Name", "Job Title", "Company Name",
                          "LinkedIn URL", "Sales Navigator URL", "Location", "Geography",
                          "Email", "Phone 1", "Phone 2"], [
        {"First Name": "Ada", "Last Name": "Lovelace", "Job Title": "CTO", "Company Name":
         "Engines", "LinkedIn URL": "https://www.linkedin.com/in/ada", "Sales Navigator URL":
         "https://www.linkedin.com/sales/lead/ACwAA1", "Location": "Greater London",
         "Geography": "EMEA", "Email": "ada@x.example", "Phone 1": "+1 555",
         "Phone 2": "+44 20 7946 0958"},
        {"First Name": "Alan", "Email": "alan@x.example", "Phone 1": "12"},
    ])
    ada = _leads(ws)["ada@x.example"]
    assert (report.created, _rejected(report)) == (1, [(3, "phone")])
    assert (ada.phone, ada.company, ada.title) == ("+442079460958", "Engines", "CTO")
    assert ada.custom_fields == {"linkedin_url": "https://www.linkedin.com/in/ada",
                                 "location": "Greater London"}


def test_a_phantombuster_sales_navigator_export(ws: Workspace) -> None:
    report = _import(ws, ["profileUrl", "fullName", "firstName", "lastName", "companyName",
                          "title", "location", "linkedInProfileUrl", "vmid"], [
        {"profileUrl": "https://www.linkedin.com/sales/lead/ACwAA1,NAME_SEARCH,x",
         "fullName": "Ada Lovelace", "firstName": "Ada", "lastName": "Lovelace",
         "companyName": "Engines", "title": "CTO", "location": "London",
         "linkedInProfileUrl": "https://www.linkedin.com/in/ada", "vmid": "ACwAA1"},
    ])
    lead = next(iter(_leads(ws).values()))
    assert (report.created, lead.first_name, lead.company) == (1, "Ada", "Engines")
    assert lead.custom_fields["linkedin_url"] == "https://www.linkedin.com/in/ada"
    assert report.ignored_columns == ["profileUrl", "vmid"]
