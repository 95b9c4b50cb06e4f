"""The ICP assistant's model: the ideal-customer-profile document a conversation builds up,
the update one turn makes to it, and the conversation, its messages, saved profiles and the
keyword-expansion cache.

The document is in the words of people search: job titles, seniorities, company headcount
ranges, person and company locations, industries, keywords and company domains. Every list
is kept sorted and without duplicates, so the same request always gives the same document.
"""

from __future__ import annotations

import enum
import itertools
import re
import uuid
from collections.abc import Iterable, Mapping, Sequence
from datetime import datetime
from typing import Any

import attrs

from lad_domain.shared.errors import FieldError, ValidationFailed

#: Apollo's seniorities, most senior first.
SENIORITIES = ("owner", "founder", "c_suite", "partner", "vp", "head", "director", "manager",
               "senior", "entry", "intern")
#: The list fields of a document, in the order they are shown.
LIST_FIELDS = ("titles", "seniorities", "person_locations", "organization_locations",
               "industries", "keywords", "domains")
FIELDS = (*LIST_FIELDS, "headcounts", "include_similar_titles")
MAX_ITEMS = 50
MAX_ITEM_LENGTH = 100
MAX_HEADCOUNT = 10_000_000
#: A whole number as a range may spell it: ASCII digits ("²" is a digit to str.isdigit),
#: few enough that int() reads them.
_DIGITS = re.compile(r"[0-9]{1,12}")
MAX_MESSAGE = 8000
#: Industries and keywords together, as Apollo's ``q_keywords`` carries them.
MAX_KEYWORD_TEXT = 500
#: The turns of history an extractor is shown (the document carries what came before).
HISTORY_TURNS = 12


@attrs.frozen(order=True)
class HeadcountRange:
    """Company size in employees, both ends included."""

    minimum: int
    maximum: int

    def apollo(self) -> str:
        """Apollo's "min,max" string."""
        return f"{self.minimum},{self.maximum}"

    def overlaps(self, other: HeadcountRange) -> bool:
        return self.minimum <= other.maximum and other.minimum <= self.maximum

    @classmethod
    def parse(cls, value: object, *, field: str = "headcounts") -> HeadcountRange:
        """From ``{"min": 50, "max": 200}``, ``[50, 200]`` or ``"50,200"``."""
        low: object
        high: object
        if isinstance(value, Mapping):
            low, high = value.get("min"), value.get("max")
        elif isinstance(value, str) and value.count(",") == 1:
            low, high = (part.strip() for part in value.split(","))
        elif isinstance(value, Sequence) and not isinstance(value, str) and len(value) == 2:
            low, high = value
        else:
            raise ValidationFailed.single(field, "must be a range: {\"min\": 50, \"max\": 200} "
                                          "or \"50,200\"")
        minimum, maximum = _count(low, field), _count(high, field)
        if minimum > maximum:
            raise ValidationFailed.single(
                field, f"contradicts itself: the minimum {minimum} is above the maximum "
                       f"{maximum}")
        return cls(minimum, maximum)


def _count(value: object, field: str) -> int:
    if isinstance(value, str) and _DIGITS.fullmatch(value.strip()):
        value = int(value.strip())
    if isinstance(value, bool) or not isinstance(value, int):
        raise ValidationFailed.single(field, "must give whole numbers of employees")
    if not 1 <= value <= MAX_HEADCOUNT:
        raise ValidationFailed.single(field, f"must be between 1 and {MAX_HEADCOUNT:,} "
                                             "employees")
    return value


def _sorted(values: Iterable[str]) -> tuple[str, ...]:
    return tuple(sorted(set(values)))


@attrs.frozen
class IcpDocument:
    """Who the tenant sells to. ``source`` says what extracted it (``rules`` for the
    offline extractor, else the model's name; ``user`` when typed)."""

    titles: tuple[str, ...] = ()
    seniorities: tuple[str, ...] = ()
    headcounts: tuple[HeadcountRange, ...] = ()
    person_locations: tuple[str, ...] = ()
    organization_locations: tuple[str, ...] = ()
    industries: tuple[str, ...] = ()
    keywords: tuple[str, ...] = ()
    domains: tuple[str, ...] = ()
    include_similar_titles: bool = True
    source: str = "rules"

    @property
    def is_empty(self) -> bool:
        return not any(getattr(self, f) for f in (*LIST_FIELDS, "headcounts"))

    def missing(self) -> list[str]:
        """What a search still needs, in the words the assistant asks for it."""
        needs = []
        if not self.titles and not self.seniorities:
            needs.append("the job titles or seniority of the people you want to reach")
        if not self.headcounts:
            needs.append("the company size (for example 50-200 employees)")
        if not self.person_locations and not self.organization_locations:
            needs.append("where they are (a country, region or city)")
        if not self.industries and not self.keywords and not self.domains:
            needs.append("the industry or what their companies do")
        return needs

    def limit_problem(self) -> FieldError | None:
        """What makes this document too big to keep or to search with, if anything."""
        for field in LIST_FIELDS:
            if len(getattr(self, field)) > MAX_ITEMS:
                return FieldError(field, f"must have at most {MAX_ITEMS} items")
        if len(self.headcounts) > MAX_ITEMS:
            return FieldError("headcounts", f"must have at most {MAX_ITEMS} ranges")
        words = len(" ".join((*self.industries, *self.keywords)))
        if words > MAX_KEYWORD_TEXT:
            return FieldError("keywords", f"industries and keywords together must be at most "
                              f"{MAX_KEYWORD_TEXT} characters (a search's keywords); these "
                              f"are {words}")
        return None

    def apply(self, update: IcpUpdate) -> IcpDocument:
        """This document after one turn: lists accumulate (new values join the old), a
        field the user corrected is replaced, removed values go, and a company size said
        later replaces the one said before."""
        changes: dict[str, Any] = {}
        for field in LIST_FIELDS:
            given: tuple[str, ...] = getattr(update.document, field)
            current: tuple[str, ...] = getattr(self, field)
            value = _sorted(given) if field in update.replace else _sorted((*current, *given))
            removed = update.remove.get(field, ())
            changes[field] = tuple(v for v in value if v not in removed)
        if update.document.headcounts or "headcounts" in update.replace:
            changes["headcounts"] = tuple(sorted(set(update.document.headcounts)))
        if "include_similar_titles" in update.replace:
            changes["include_similar_titles"] = update.document.include_similar_titles
        changes["source"] = update.document.source
        return attrs.evolve(self, **changes)

    def to_json(self) -> dict[str, Any]:
        document: dict[str, Any] = {f: list(getattr(self, f)) for f in LIST_FIELDS}
        document["headcounts"] = [{"min": r.minimum, "max": r.maximum}
                                  for r in self.headcounts]
        document["include_similar_titles"] = self.include_similar_titles
        document["source"] = self.source
        return document

    @classmethod
    def from_json(cls, document: object, *, field: str = "icp", source: str = "user"
                  ) -> IcpDocument:
        """A document as a caller typed it: every field checked, every error named
        (``icp.headcounts[1]``: a range whose minimum is above its maximum, ...)."""
        if not isinstance(document, Mapping):
            raise ValidationFailed.single(field, "must be an object")
        errors: list[FieldError] = []
        unknown = sorted(set(document) - {*FIELDS, "source"})
        if unknown:
            errors.append(FieldError(f"{field}.{unknown[0]}",
                                     "is not a field of an ICP; known: " + ", ".join(FIELDS)))
        values: dict[str, Any] = {}
        for name in LIST_FIELDS:
            try:
                values[name] = _texts(document.get(name, ()), f"{field}.{name}",
                                      lower=name in ("seniorities", "domains"))
            except ValidationFailed as failed:
                errors.extend(failed.errors)
        bad = [s for s in values.get("seniorities", ()) if s not in SENIORITIES]
        if bad:
            errors.append(FieldError(f"{field}.seniorities", f"{bad[0]!r} is not a seniority; "
                                     "known: " + ", ".join(SENIORITIES)))
        try:
            values["headcounts"] = headcounts(document.get("headcounts", ()),
                                              field=f"{field}.headcounts")
        except ValidationFailed as failed:
            errors.extend(failed.errors)
        similar = document.get("include_similar_titles", True)
        if not isinstance(similar, bool):
            errors.append(FieldError(f"{field}.include_similar_titles",
                                     "must be true or false"))
        if errors:
            raise ValidationFailed(errors)
        stated = document.get("source")
        built = cls(**values, include_similar_titles=bool(similar),
                    source=stated if isinstance(stated, str) and stated else source)
        too_big = built.limit_problem()
        if too_big is not None:
            raise ValidationFailed.single(f"{field}.{too_big.field}", too_big.message)
        return built


def headcounts(value: object, *, field: str = "headcounts") -> tuple[HeadcountRange, ...]:
    """Ranges, sorted; two that overlap contradict each other (which one is meant?)."""
    if value is None:
        return ()
    if isinstance(value, str) or not isinstance(value, Sequence):
        raise ValidationFailed.single(field, "must be a list of ranges")
    if len(value) > MAX_ITEMS:
        raise ValidationFailed.single(field, f"must have at most {MAX_ITEMS} ranges")
    ranges = sorted({HeadcountRange.parse(v, field=f"{field}[{i}]")
                     for i, v in enumerate(value)})
    for before, after in itertools.pairwise(ranges):
        if before.overlaps(after):
            raise ValidationFailed.single(
                field, f"the ranges {before.minimum}-{before.maximum} and {after.minimum}-"
                       f"{after.maximum} overlap: give ranges that do not contradict each "
                       "other")
    return tuple(ranges)


def _texts(value: object, field: str, *, lower: bool = False) -> tuple[str, ...]:
    if value is None:
        return ()
    if isinstance(value, str) or not isinstance(value, Sequence):
        raise ValidationFailed.single(field, "must be a list of strings")
    if len(value) > MAX_ITEMS:
        raise ValidationFailed.single(field, f"must have at most {MAX_ITEMS} items")
    out = []
    for i, item in enumerate(value):
        if not isinstance(item, str) or not item.strip():
            raise ValidationFailed.single(f"{field}[{i}]", "must be a non-empty string")
        text = " ".join(item.split())
        if len(text) > MAX_ITEM_LENGTH:
            raise ValidationFailed.single(f"{field}[{i}]",
                                          f"must be at most {MAX_ITEM_LENGTH} characters")
        if any(ord(c) < 32 for c in text):
            raise ValidationFailed.single(f"{field}[{i}]", "must not contain control "
                                                           "characters")
        out.append(text.lower() if lower else text)
    return _sorted(out)


@attrs.frozen
class IcpUpdate:
    """What one turn says: new values (``document``), the fields the user corrected
    (replaced rather than added to) and values to drop, by field."""

    document: IcpDocument
    replace: frozenset[str] = frozenset()
    remove: Mapping[str, tuple[str, ...]] = attrs.field(factory=dict)

    def to_json(self) -> dict[str, Any]:
        return {"document": self.document.to_json(), "replace": sorted(self.replace),
                "remove": {k: list(v) for k, v in sorted(self.remove.items())}}


def search_params(document: IcpDocument) -> dict[str, Any]:
    """The document in Apollo's people-search vocabulary. Industries and keywords go into
    ``q_keywords`` (Apollo has no free-text industry filter); empty filters are left out."""
    params: dict[str, Any] = {}
    if document.titles:
        params["person_titles"] = list(document.titles)
        params["include_similar_titles"] = document.include_similar_titles
    if document.seniorities:
        params["person_seniorities"] = list(document.seniorities)
    if document.person_locations:
        params["person_locations"] = list(document.person_locations)
    if document.organization_locations:
        params["organization_locations"] = list(document.organization_locations)
    if document.headcounts:
        params["organization_num_employees_ranges"] = [r.apollo() for r in document.headcounts]
    words = [*document.industries, *document.keywords]
    if words:
        params["q_keywords"] = " ".join(words)
    if document.domains:
        params["q_organization_domains_list"] = list(document.domains)
    return params


class ConversationStatus(enum.StrEnum):
    ACTIVE = "active"
    COMPLETED = "completed"
    ARCHIVED = "archived"


class Role(enum.StrEnum):
    USER = "user"
    ASSISTANT = "assistant"
    SYSTEM = "system"
    TOOL = "tool"


@attrs.define
class Conversation:
    id: uuid.UUID
    tenant_id: uuid.UUID
    user_id: uuid.UUID
    created_at: datetime
    updated_at: datetime
    status: ConversationStatus = ConversationStatus.ACTIVE
    title: str | None = None
    icp: IcpDocument = attrs.field(factory=IcpDocument)

    @property
    def search_params(self) -> dict[str, Any]:
        return search_params(self.icp)


@attrs.frozen
class Message:
    id: uuid.UUID
    conversation_id: uuid.UUID
    role: Role
    content: str
    created_at: datetime
    tokens_used: int = 0
    model: str | None = None
    metadata: Mapping[str, Any] = attrs.field(factory=dict)


@attrs.define
class IcpProfile:
    id: uuid.UUID
    tenant_id: uuid.UUID
    name: str
    icp: IcpDocument
    created_at: datetime
    updated_at: datetime
    user_id: uuid.UUID | None = None
    description: str | None = None
    source_conversation_id: uuid.UUID | None = None
    usage_count: int = 0
    last_used_at: datetime | None = None
    deleted_at: datetime | None = None

    @property
    def search_params(self) -> dict[str, Any]:
        return search_params(self.icp)

    def used(self, at: datetime) -> None:
        self.usage_count += 1
        self.last_used_at = at


@attrs.define
class KeywordExpansion:
    """A keyword's related terms in a context (``industry``, ``title``, ``keyword``); a
    row without a tenant is shared by every tenant."""

    id: uuid.UUID
    original_keyword: str
    context: str
    expanded: tuple[str, ...]
    created_at: datetime
    updated_at: datetime
    tenant_id: uuid.UUID | None = None
    model: str | None = None
    hit_count: int = 0
    last_used_at: datetime | None = None


@attrs.frozen
class ExpansionStats:
    """How well the cache serves: entries, lookups it answered, lookups that had to ask
    the model (each made an entry)."""

    entries: int
    hits: int
    misses: int

    @property
    def hit_rate(self) -> float:
        asked = self.hits + self.misses
        return self.hits / asked if asked else 0.0


def normalise_keyword(value: object, *, field: str = "keyword") -> str:
    if not isinstance(value, str) or not value.strip():
        raise ValidationFailed.single(field, "must be a non-empty string")
    text = " ".join(value.lower().split())
    if len(text) > MAX_ITEM_LENGTH:
        raise ValidationFailed.single(field, f"must be at most {MAX_ITEM_LENGTH} characters")
    return text
