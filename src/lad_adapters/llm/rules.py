"""The offline ICP extractor (provider ``lad``, model ``rules``): rules over the words of
one message, no network and no key. The embedded default, and the tests' double.

What it reads (the words are in ``data/``, see ``vocabulary.py``):

- titles, in the form people search them: "VP of X", "Head of X", "Director of X",
  "X Manager"; the common C-level titles as acronyms ("chief technology officer" is
  "CTO"); the rest spelled out ("SDR" is "Sales Development Representative"). A title
  brings its seniority ("CTO": c_suite, "VP of Sales": vp, "Head of X": head);
- seniorities named outright ("C-level", "executives": c_suite; "directors", "senior",
  "entry-level", "interns", ...);
- company headcounts: "50-200 employees", "between 50 and 200 people", "more than 1000
  employees" (1001-), "at least 1000" / "1000+" (1000-), "under 50" (1-49), "up to 50"
  (1-50); and words: startups 1-50, small businesses / SMB 1-200, mid-market 201-1000,
  enterprise 1001-10,000,000. Ranges that overlap are joined into one;
- places: person locations, except after "headquartered", "HQ", "head office" (until the
  sentence ends, or a title or "based"/"located"/"people" comes): company locations.
  Groupings expand ("DACH": Germany, Austria, Switzerland);
- industries; keywords (known technologies, quoted phrases, and the capitalised word after
  "using"/"built on"/...); domains (a word like example.com).

Corrections. Values named after "remove", "drop", "forget", "exclude", "no longer",
"not", "don't", "instead of", "rather than", "except" (until the sentence ends, "but", or
\u2014 once a value is named \u2014 "target", "keep", "add", "instead"...) are removed, not added:
places from both location fields, titles without their seniority. A message with
"actually", "instead", "only", "rather", "change", "switch", "replace", "make it" or
"not X but Y", and without "also", "add", "too", "as well", replaces every list field it
names values for. In such a message a place with no cue goes to the company locations when
the document so far has only those.
"""

from __future__ import annotations

import json
import re
from collections.abc import Sequence
from typing import Any, Final

from lad_adapters.llm.vocabulary import (
    ADDITIVE,
    BOUNDARY,
    BUT,
    COMMA,
    HQ,
    INDUSTRY,
    KEYWORD,
    NEGATION,
    OF,
    PERSON,
    PLACE,
    QUOTE,
    REMOVE,
    REPLACE,
    SENIORITY,
    SIZE,
    STOP,
    TECH,
    TITLE,
    Effect,
    Token,
    Vocabulary,
    tokenize,
    vocabulary,
)
from lad_domain.icp.model import (
    HISTORY_TURNS,
    LIST_FIELDS,
    MAX_HEADCOUNT,
    MAX_ITEMS,
    HeadcountRange,
    IcpDocument,
    IcpUpdate,
)
from lad_domain.icp.ports import Expansion, Extraction, Turn, Usage

PROVIDER: Final = "lad"
MODEL: Final = "rules"

_N = r"(\d{1,3}(?:,\d{3})+|\d+(?:\.\d+)?\s?k?)"
_UNIT = r"[\s-]*(?:employees?|people|persons?|staff|ftes?|workers|person)\b"
#: Headcount phrases, most specific first: (pattern, how its numbers make a range).
_HEADCOUNTS: Final = tuple((re.compile(pattern, re.IGNORECASE), kind) for pattern, kind in (
    (rf"\bbetween\s+{_N}\s*(?:and|to|-|\u2013)\s*{_N}{_UNIT}", "range"),
    (rf"\b(?:headcount|company size|size)\s*(?:of|:|between)?\s*{_N}\s*(?:-|\u2013|to|and)\s*{_N}",
     "range"),
    (rf"\b(?:no more than|not more than|at most|up to|max(?:imum)?(?: of)?)\s+{_N}{_UNIT}",
     "upto"),
    (rf"(?:\b(?:under|below|fewer than|less than)\s+|<\s*){_N}{_UNIT}", "under"),
    (rf"(?:\b(?:at least|minimum(?: of)?)\s+|>=\s*){_N}{_UNIT}", "atleast"),
    (rf"(?:\b(?:more than|over|above|greater than|upwards of)\s+|>\s*){_N}{_UNIT}", "over"),
    (rf"\b{_N}\s*\+{_UNIT}", "atleast"),
    (rf"\b{_N}\s*(?:-|\u2013|\u2014|to)\s*{_N}{_UNIT}", "range"),
))
_DIGIT = re.compile(r"\d")
_DOMAIN = re.compile(r"(?:www\.)?((?:[a-z0-9](?:[a-z0-9-]*[a-z0-9])?\.)+"
                     r"(?:com|io|ai|co|net|org|de|uk|fr|app|dev|tech|eu|nl|se|ch|at|es|us|"
                     r"ca|au|in|jp|xyz|so|gg|me|ly|be|dk|no|fi|pl|ie|pt|cloud|info|biz))")
_COUNTED = re.compile(r"\w+|[^\w\s]")


def estimated_tokens(*texts: str) -> int:
    """Words and punctuation marks: a deterministic stand-in for a model's tokens."""
    return sum(len(_COUNTED.findall(text)) for text in texts)


#: The tokens of an update that says nothing, as ``estimated_tokens`` counts its JSON.
_EMPTY_ANSWER: Final = estimated_tokens(json.dumps(IcpUpdate(IcpDocument()).to_json(),
                                                   separators=(",", ":")))


def answer_tokens(update: IcpUpdate) -> int:
    """``estimated_tokens`` of the update's JSON, counted without writing it: each text
    adds its words and its quotes and comma, each range its two numbers and punctuation,
    each removed field its name."""
    document = update.document
    texts = [v for f in LIST_FIELDS for v in getattr(document, f)]
    texts += [v for values in update.remove.values() for v in values]
    texts += [*update.replace, *update.remove]
    return (_EMPTY_ANSWER + estimated_tokens(*texts) + 3 * len(texts)
            + 12 * len(document.headcounts))


def _number(text: str) -> int:
    text = text.replace(",", "").replace(" ", "").lower()
    if text.endswith("k"):
        return round(float(text[:-1]) * 1000)
    return round(float(text))


def headcount_ranges(message: str) -> list[HeadcountRange]:
    """The ranges the numbers of a message say (see the module docstring)."""
    if not _DIGIT.search(message):
        return []
    taken: list[tuple[int, int]] = []
    ranges = []
    for pattern, kind in _HEADCOUNTS:
        for match in pattern.finditer(message):
            if any(match.start() < end and start < match.end() for start, end in taken):
                continue
            taken.append(match.span())
            numbers = [_number(n) for n in match.groups()]
            low, high = {"range": (min(numbers), max(numbers)), "upto": (1, numbers[0]),
                         "under": (1, numbers[0] - 1), "atleast": (numbers[0], MAX_HEADCOUNT),
                         "over": (numbers[0] + 1, MAX_HEADCOUNT)}[kind]
            low, high = max(low, 1), min(high, MAX_HEADCOUNT)
            if low <= high:
                ranges.append(HeadcountRange(low, high))
    return ranges


def joined(ranges: Sequence[HeadcountRange]) -> tuple[HeadcountRange, ...]:
    """Sorted, overlapping ranges joined into one (a document's ranges must not overlap)."""
    out: list[HeadcountRange] = []
    for r in sorted(set(ranges)):
        if out and r.minimum <= out[-1].maximum:
            out[-1] = HeadcountRange(out[-1].minimum, max(out[-1].maximum, r.maximum))
        else:
            out.append(r)
    return tuple(out)


class _Reading:
    """One pass over a message's tokens: what it adds, removes, and whether it corrects."""

    def __init__(self) -> None:
        self.added: dict[str, set[str]] = {f: set() for f in LIST_FIELDS}
        self.removed: dict[str, set[str]] = {f: set() for f in LIST_FIELDS}
        #: Places added with no cue before them (their field may change, see below).
        self.uncued: set[str] = set()
        self.sizes: list[HeadcountRange] = []
        self.corrects = False
        self.adds = False
        self.removing = False
        self.negation = False
        self.span_values = 0
        self.company_places = False
        self.cued = False
        self.technology_next = False

    def value(self, field: str, value: str) -> None:
        if self.removing:
            self.removed[field].add(value)
            self.span_values += 1
        else:
            self.added[field].add(value)

    def end_span(self) -> None:
        self.removing = self.negation = False
        self.span_values = 0

    def start_span(self, *, negation: bool) -> None:
        self.removing, self.negation, self.span_values = True, negation, 0

    def apply(self, effect: Effect) -> None:
        kind = effect.kind
        if kind == TITLE:
            self.value("titles", effect.value)
            if effect.seniority and not self.removing:
                self.added["seniorities"].add(effect.seniority)
            self.company_places = self.cued = False
        elif kind == SENIORITY:
            self.value("seniorities", effect.value)
            self.company_places = self.cued = False
        elif kind == PLACE:
            for place in effect.values:
                if self.removing:
                    self.value("person_locations", place)
                    self.removed["organization_locations"].add(place)
                elif self.company_places:
                    self.value("organization_locations", place)
                else:
                    self.value("person_locations", place)
                    if not self.cued:
                        self.uncued.add(place)
        elif kind == INDUSTRY:
            self.value("industries", effect.value)
        elif kind == KEYWORD:
            self.value("keywords", effect.value)
        elif kind == SIZE and effect.size is not None and not self.removing:
            self.sizes.append(effect.size)
        elif kind == REMOVE:
            self.start_span(negation=effect.value == NEGATION)
        elif kind == REPLACE:
            self.corrects = True
            if effect.value == OF:
                self.start_span(negation=False)
            elif self.span_values:
                self.end_span()
        elif kind in (ADDITIVE, STOP):
            self.adds = self.adds or kind == ADDITIVE
            if self.span_values:
                self.end_span()
        elif kind == HQ:
            self.company_places = self.cued = True
        elif kind == PERSON:
            self.company_places, self.cued = False, True
        elif kind == BUT:
            if self.removing and self.negation and self.span_values:
                self.corrects = True
            self.end_span()
        elif kind == COMMA:
            if self.negation and not self.span_values:
                self.end_span()
        elif kind == BOUNDARY:
            self.end_span()
            self.company_places = self.cued = False
        elif kind == TECH:
            self.technology_next = True


class RulesExtractor:
    """Reads a message with rules (see the module docstring); deterministic, and fast
    (its tables are built once, on the first extractor made)."""

    def __init__(self) -> None:
        self._vocabulary: Vocabulary = vocabulary()

    @property
    def provider(self) -> str:
        return PROVIDER

    @property
    def model(self) -> str:
        return MODEL

    def extract(self, message: str, history: Sequence[Turn], current: IcpDocument
                ) -> Extraction:
        update = self.read(message, current)
        said = [turn.content for turn in history[-HISTORY_TURNS:]]
        return Extraction(update, Usage(PROVIDER, MODEL, estimated_tokens(message, *said),
                                        answer_tokens(update)))

    def worst_case(self, input_tokens: int) -> Usage:
        """One pass, and no answer longer than the longest document (free in any case)."""
        return Usage(PROVIDER, MODEL, input_tokens, 4000)

    def read(self, message: str, current: IcpDocument | None = None) -> IcpUpdate:
        reading = self._reading(tokenize(message))
        reading.sizes.extend(headcount_ranges(message))
        replace = reading.corrects and not reading.adds
        if (replace and reading.uncued and current is not None
                and current.organization_locations and not current.person_locations):
            reading.added["person_locations"] -= reading.uncued
            reading.added["organization_locations"] |= reading.uncued
        lists: dict[str, Any] = {f: tuple(sorted(reading.added[f]))[:MAX_ITEMS]
                                 for f in LIST_FIELDS}
        document = IcpDocument(**lists, headcounts=joined(reading.sizes)[:MAX_ITEMS],
                               source=MODEL)
        return IcpUpdate(
            document,
            frozenset(f for f in LIST_FIELDS if reading.added[f]) if replace else frozenset(),
            {f: tuple(sorted(v)) for f, v in reading.removed.items() if v})

    def _reading(self, tokens: list[Token]) -> _Reading:
        reading = _Reading()
        phrases, starts = self._vocabulary.phrases, self._vocabulary.starts
        keys = [t.key for t in tokens]
        i, count = 0, len(tokens)
        while i < count:
            token = tokens[i]
            if token.key == QUOTE:
                reading.value("keywords", token.text)
                i += 1
                continue
            matched = 0
            for size in range(min(starts.get(token.key, 0), count - i), 0, -1):
                entries = phrases.get(" ".join(keys[i:i + size]) if size > 1 else token.key)
                entry = next((e for e in entries or () if e.fits(tokens, i)), None)
                if entry is not None:
                    reading.technology_next = False  # a known word is not "using X"
                    for effect in entry.effects:
                        reading.apply(effect)
                    matched = size
                    break
            if matched:
                i += matched
                continue
            domain = _DOMAIN.fullmatch(token.key) if "." in token.key else None
            if domain is not None:
                reading.value("domains", domain.group(1))
            elif reading.technology_next and token.text[:1].isupper():
                reading.value("keywords", token.text)
            reading.technology_next = False
            i += 1
        return reading

    def expand(self, keyword: str, context: str) -> Expansion:
        """Related keywords from the synonyms table; a keyword not in it: its simple
        variants (singular or plural, hyphen or space). The context is not used."""
        key = " ".join(keyword.lower().split())
        synonyms = self._vocabulary.synonyms
        related = synonyms.get(key) or synonyms.get(_singular(key))
        found = set(related) if related else variants(key)
        found.discard(key)
        keywords = tuple(sorted(found))
        answer = json.dumps({"keywords": list(keywords)}, separators=(",", ":"))
        return Expansion(keywords, Usage(PROVIDER, MODEL, estimated_tokens(keyword, context),
                                         estimated_tokens(answer)))


def _singular(text: str) -> str:
    if text.endswith("ies") and len(text) > 4:
        return text[:-3] + "y"
    if text.endswith("s") and not text.endswith("ss") and len(text) > 3:
        return text[:-1]
    return text


def _plural(text: str) -> str:
    if text.endswith("y") and len(text) > 2 and text[-2] not in "aeiou":
        return text[:-1] + "ies"
    if text.endswith(("s", "x", "sh", "ch")):
        return text + "es"
    return text + "s"


def variants(keyword: str) -> set[str]:
    """A keyword's singular or plural, and its words joined by a hyphen or a space."""
    if not keyword:
        return set()
    number = {keyword, _singular(keyword) if _singular(keyword) != keyword
              else _plural(keyword)}
    out = set(number)
    for form in number:
        out.add(form.replace("-", " ") if "-" in form else form.replace(" ", "-"))
    return out
