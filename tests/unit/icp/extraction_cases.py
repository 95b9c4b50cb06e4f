"""Requests as sales teams write them, and the ICP each should give: one table for every
extractor (the rules extractor directly, and the OpenAI-compatible adapter against a fake
model answering with the rules). Single messages give an update; conversations are applied
turn by turn (``IcpDocument.apply``) and give the final document."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from lad_domain.icp.model import HeadcountRange, IcpDocument

MAX = 10_000_000


def icp(*, headcounts: Sequence[tuple[int, int]] = (), **lists: Sequence[str]) -> IcpDocument:
    """A document from plain lists (sorted as a document keeps them)."""
    values: dict[str, Any] = {name: tuple(sorted(set(v))) for name, v in lists.items()}
    return IcpDocument(**values, headcounts=tuple(HeadcountRange(*r) for r in headcounts),
                       source="rules")


@dataclass(frozen=True)
class Case:
    message: str
    expected: IcpDocument
    replace: frozenset[str] = frozenset()
    remove: Mapping[str, tuple[str, ...]] = field(default_factory=dict)

    def __str__(self) -> str:
        return self.message[:60]


@dataclass(frozen=True)
class Conversation:
    name: str
    turns: tuple[str, ...]
    expected: IcpDocument

    def __str__(self) -> str:
        return self.name


CASES = (
    Case("We sell to VPs of Sales at B2B SaaS companies with 50-200 employees in Germany "
         "and Austria",
         icp(titles=["VP of Sales"], seniorities=["vp"], headcounts=[(50, 200)],
             person_locations=["Austria", "Germany"], industries=["SaaS"], keywords=["B2B"])),
    Case("Looking for CTOs and Heads of Engineering at fintech startups in the U.S.",
         icp(titles=["CTO", "Head of Engineering"], seniorities=["c_suite", "head"],
             headcounts=[(1, 50)], person_locations=["United States"],
             industries=["Fintech"])),
    Case("Our ideal buyer is the CFO of a mid-market manufacturing company in the Midwest, "
         "ideally Ohio or Michigan",
         icp(titles=["CFO"], seniorities=["c_suite"], headcounts=[(201, 1000)],
             person_locations=["Michigan", "Ohio"], industries=["Manufacturing"])),
    Case("Target marketing directors at e-commerce brands between 20 and 100 employees "
         "based in the UK",
         icp(titles=["Director of Marketing"], seniorities=["director"],
             headcounts=[(20, 100)], person_locations=["United Kingdom"],
             industries=["E-commerce"])),
    Case("founders of AI startups in the Bay Area",
         icp(titles=["Founder"], seniorities=["founder"], headcounts=[(1, 50)],
             person_locations=["San Francisco Bay Area"], keywords=["AI"])),
    Case("C-level executives at enterprise insurance companies headquartered in New York",
         icp(seniorities=["c_suite"], headcounts=[(1001, MAX)],
             organization_locations=["New York"], industries=["Insurance"])),
    Case("We want engineering managers and senior engineers at companies using Kubernetes, "
         "100 to 500 employees, anywhere in Europe",
         icp(titles=["Engineer", "Engineering Manager"], seniorities=["manager", "senior"],
             headcounts=[(100, 500)], person_locations=["Europe"], keywords=["Kubernetes"])),
    Case("Account executives and SDRs at cybersecurity vendors in Israel",
         icp(titles=["Account Executive", "Sales Development Representative"],
             seniorities=["entry"], person_locations=["Israel"],
             industries=["Cybersecurity"])),
    Case("Heads of Marketing at healthcare companies with more than 1000 employees in Canada",
         icp(titles=["Head of Marketing"], seniorities=["head"], headcounts=[(1001, MAX)],
             person_locations=["Canada"], industries=["Healthcare"])),
    Case("small businesses in Texas and Florida, owners only",
         icp(seniorities=["owner"], headcounts=[(1, 200)],
             person_locations=["Florida", "Texas"]),
         replace=frozenset({"person_locations", "seniorities"})),
    Case("VP Marketing or CMO at DTC brands on Shopify",
         icp(titles=["CMO", "VP of Marketing"], seniorities=["c_suite", "vp"],
             industries=["E-commerce"], keywords=["Shopify"])),
    Case("Directors of IT at hospitals in California with at least 500 employees",
         icp(titles=["Director of IT"], seniorities=["director"], headcounts=[(500, MAX)],
             person_locations=["California"], industries=["Healthcare"])),
    Case("logistics companies in the DACH region, 200-1000 employees, Heads of Operations",
         icp(titles=["Head of Operations"], seniorities=["head"], headcounts=[(200, 1000)],
             person_locations=["Austria", "Germany", "Switzerland"],
             industries=["Logistics"])),
    Case("Nordics real estate firms under 50 employees; reach the managing directors",
         icp(titles=["Managing Director"], seniorities=["director"], headcounts=[(1, 49)],
             person_locations=["Denmark", "Finland", "Iceland", "Norway", "Sweden"],
             industries=["Real Estate"])),
    Case("CROs and VPs of Revenue Operations at Series B SaaS, 50-250 employees, US only",
         icp(titles=["CRO", "VP of Revenue Operations"], seniorities=["c_suite", "vp"],
             headcounts=[(50, 250)], person_locations=["United States"],
             industries=["SaaS"]),
         replace=frozenset({"industries", "person_locations", "seniorities", "titles"})),
    Case("companies like acme.com and globex.io that use Salesforce",
         icp(domains=["acme.com", "globex.io"], keywords=["Salesforce"])),
    Case('HR managers at companies that mention "employee engagement" in Australia',
         icp(titles=["HR Manager"], seniorities=["manager"], person_locations=["Australia"],
             keywords=["employee engagement"])),
    Case("interns and entry-level analysts in London",
         icp(seniorities=["entry", "intern"], person_locations=["London"])),
    Case("We help biotech and pharma companies: Chief Data Officers and Heads of Data, "
         "10k+ employees",
         icp(titles=["Chief Data Officer", "Head of Data"], seniorities=["c_suite", "head"],
             headcounts=[(10000, MAX)], industries=["Biotech", "Pharmaceuticals"])),
    Case("procurement directors at automotive manufacturers in Germany, France and Italy",
         icp(titles=["Director of Procurement"], seniorities=["director"],
             person_locations=["France", "Germany", "Italy"],
             industries=["Automotive", "Manufacturing"])),
    Case("CISOs at banks with 1,000 to 5,000 employees in Singapore and Hong Kong",
         icp(titles=["CISO"], seniorities=["c_suite"], headcounts=[(1000, 5000)],
             person_locations=["Hong Kong", "Singapore"], industries=["Banking"])),
    Case("Customer success managers at HR tech startups in Berlin",
         icp(titles=["Customer Success Manager"], seniorities=["manager"],
             headcounts=[(1, 50)], person_locations=["Berlin"], industries=["HR Tech"])),
    Case("People based in Spain at companies headquartered in the US",
         icp(person_locations=["Spain"], organization_locations=["United States"])),
    Case("VPs of Engineering based in India at companies HQ'd in the UK or Ireland",
         icp(titles=["VP of Engineering"], seniorities=["vp"], person_locations=["India"],
             organization_locations=["Ireland", "United Kingdom"])),
    Case("Marketing agencies with fewer than 20 people in Amsterdam or Rotterdam",
         icp(headcounts=[(1, 19)], person_locations=["Amsterdam", "Rotterdam"],
             industries=["Marketing & Advertising"])),
    Case("We sell observability tooling to DevOps leads and platform engineers at companies "
         "running on AWS",
         icp(titles=["Engineer"], keywords=["AWS", "DevOps", "Observability"])),
    Case("construction companies in the Benelux with up to 200 employees",
         icp(headcounts=[(1, 200)], person_locations=["Belgium", "Luxembourg",
                                                       "Netherlands"],
             industries=["Construction"])),
    Case("Chief Technology Officers at edtech companies in LATAM",
         icp(titles=["CTO"], seniorities=["c_suite"], person_locations=["Latin America"],
             industries=["Edtech"])),
    Case("startups and SMBs in Paris",
         icp(headcounts=[(1, 200)], person_locations=["Paris"])),
    Case("mid-market and enterprise telecom operators in EMEA, directors and VPs",
         icp(seniorities=["director", "vp"], headcounts=[(201, 1000), (1001, MAX)],
             person_locations=["EMEA"], industries=["Telecommunications"])),
    Case("Talent acquisition managers and recruiters at staffing agencies in Toronto",
         icp(titles=["Recruiter", "Talent Acquisition Manager"], seniorities=["manager"],
             person_locations=["Toronto"], industries=["Staffing & Recruiting"])),
    Case("Co-founders of crypto companies in Dubai and Singapore",
         icp(titles=["Co-Founder"], seniorities=["founder"],
             person_locations=["Dubai", "Singapore"], industries=["Crypto"])),
    Case("Sales directors and account managers at medical device makers in Massachusetts, "
         "500-2000 employees",
         icp(titles=["Account Manager", "Director of Sales"],
             seniorities=["director", "manager"], headcounts=[(500, 2000)],
             person_locations=["Massachusetts"], industries=["Medical Devices"])),
    Case("I need product managers at gaming studios in Japan and South Korea",
         icp(titles=["Product Manager"], seniorities=["manager"],
             person_locations=["Japan", "South Korea"], industries=["Gaming"])),
    Case("Heads of Growth at martech companies using HubSpot, 11-50 employees, remote-first",
         icp(titles=["Head of Growth"], seniorities=["head"], headcounts=[(11, 50)],
             industries=["Martech"], keywords=["HubSpot", "Remote"])),
    Case("Partners at law firms in Chicago",
         icp(seniorities=["partner"], person_locations=["Chicago"], industries=["Legal"])),
    Case("energy and utilities companies in Norway with over 5000 employees, CFOs and COOs",
         icp(titles=["CFO", "COO"], seniorities=["c_suite"], headcounts=[(5001, MAX)],
             person_locations=["Norway"], industries=["Energy"])),
    Case("Business development reps at logistics software vendors in Poland",
         icp(titles=["Business Development Representative"], seniorities=["entry"],
             person_locations=["Poland"], industries=["Logistics", "Software"])),
    Case("Non-profits in Washington DC: executive directors",
         icp(titles=["Executive Director"], seniorities=["c_suite"],
             person_locations=["Washington, D.C."], industries=["Non-profit"])),
    Case("Actually make it Germany instead of France",
         icp(person_locations=["Germany"]),
         replace=frozenset({"person_locations"}),
         remove={"organization_locations": ("France",), "person_locations": ("France",)}),
    Case("Remove the CTOs and add founders",
         icp(titles=["Founder"], seniorities=["founder"]),
         remove={"titles": ("CTO",)}),
    Case("We no longer target healthcare",
         icp(), remove={"industries": ("Healthcare",)}),
    Case("not Spain but Portugal",
         icp(person_locations=["Portugal"]),
         replace=frozenset({"person_locations"}),
         remove={"organization_locations": ("Spain",), "person_locations": ("Spain",)}),
    Case("Forget the interns.",
         icp(), remove={"seniorities": ("intern",)}),
    Case("Change the industry to fintech",
         icp(industries=["Fintech"]), replace=frozenset({"industries"})),
    Case("Also add Spain and Italy",
         icp(person_locations=["Italy", "Spain"])),
    Case("Anywhere in Europe except France and Italy",
         icp(person_locations=["Europe"]),
         remove={"organization_locations": ("France", "Italy"),
                 "person_locations": ("France", "Italy")}),
    Case("no more than 500 employees please",
         icp(headcounts=[(1, 500)])),
)

CONVERSATIONS = (
    Conversation("a location corrected",
                 ("VPs of Sales at SaaS companies in France, 50-200 employees",
                  "Actually make it Germany instead of France"),
                 icp(titles=["VP of Sales"], seniorities=["vp"], headcounts=[(50, 200)],
                     person_locations=["Germany"], industries=["SaaS"])),
    Conversation("a size said later replaces the first",
                 ("CTOs at fintech companies in the UK", "make it 200-1000 employees",
                  "and also in Ireland"),
                 icp(titles=["CTO"], seniorities=["c_suite"], headcounts=[(200, 1000)],
                     person_locations=["Ireland", "United Kingdom"],
                     industries=["Fintech"])),
    Conversation("a title dropped, another added",
                 ("CTOs and VPs of Engineering at startups in Berlin",
                  "Remove the CTOs and add engineering managers"),
                 icp(titles=["Engineering Manager", "VP of Engineering"],
                     seniorities=["c_suite", "manager", "vp"], headcounts=[(1, 50)],
                     person_locations=["Berlin"])),
    Conversation("titles replaced with only",
                 ("Heads of Marketing and CMOs at e-commerce companies",
                  "Only Heads of Growth", "in Canada"),
                 icp(titles=["Head of Growth"], seniorities=["head"],
                     person_locations=["Canada"], industries=["E-commerce"])),
    Conversation("a company location corrected where it was said",
                 ("Directors of Sales at companies headquartered in Sweden",
                  "Sorry, not Sweden but Denmark"),
                 icp(titles=["Director of Sales"], seniorities=["director"],
                     organization_locations=["Denmark"])),
    Conversation("an industry forgotten, a keyword added",
                 ("Founders of healthcare and insurance startups",
                  "forget insurance", 'they should mention "patient engagement"'),
                 icp(titles=["Founder"], seniorities=["founder"], headcounts=[(1, 50)],
                     industries=["Healthcare"], keywords=["patient engagement"])),
    Conversation("a domain list, then one removed",
                 ("Companies like stripe.com, adyen.com and mollie.com",
                  "drop adyen.com"),
                 icp(domains=["mollie.com", "stripe.com"])),
)
