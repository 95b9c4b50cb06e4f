"""The offline extractor's vocabulary: the words it knows (titles, seniorities, places,
industries, keywords, headcount words, and the cue words of corrections and locations),
read once from the JSON files in ``data/`` into one phrase table, and the tokenizer both
the table and the messages are read with.

A way of writing a phrase is matched word by word, case-insensitively, except its words
written with a capital in the data: those must be written so in the message ("US" the
country, not "us"; "IT" the function, not "it"; "React", not "react quickly"). ``{s}``,
``{es}`` and ``{ies}`` mark a plural ending: "cto{s}" is "cto" and "ctos".
"""

from __future__ import annotations

import functools
import itertools
import json
import re
from collections.abc import Iterator, Mapping
from importlib import resources
from typing import Any, Final, NamedTuple

import attrs

from lad_domain.icp.model import MAX_HEADCOUNT, SENIORITIES, HeadcountRange

# The kinds of what a phrase means.
TITLE: Final = "title"
SENIORITY: Final = "seniority"
PLACE: Final = "place"
INDUSTRY: Final = "industry"
KEYWORD: Final = "keyword"
SIZE: Final = "size"
#: Starts a span whose values are removed ("remove", "drop", "no longer", "not", ...).
REMOVE: Final = "remove"
#: Says this turn corrects the document ("actually", "instead", "only", ...).
REPLACE: Final = "replace"
#: Says this turn adds to the document ("also", "add", "too"): no field is replaced.
ADDITIVE: Final = "additive"
#: Ends a removal span once it has named a value ("target", "keep", "focus").
STOP: Final = "stop"
#: The places that follow are where companies are headquartered.
HQ: Final = "hq"
#: The places that follow are where people are.
PERSON: Final = "person"
#: "but": ends the span of a "not" ("not France but Germany" corrects).
BUT: Final = "but"
#: The end of a sentence: removal spans and location cues end.
BOUNDARY: Final = "boundary"
#: A comma: ends the span of a "not" that has named nothing yet ("not sure, maybe ...").
COMMA: Final = "comma"
#: The next capitalised unknown word is a technology ("using Snowflake").
TECH: Final = "tech"
#: Words that look like a cue but are not ("no more than 50 employees").
NOOP: Final = "noop"

#: The span a removal cue starts: NEGATION spans end at "but" with a correction.
NEGATION: Final = "not"
#: The removal span a replacement cue starts ("instead of France").
OF: Final = "of"

TOKEN = re.compile(
    r'"(?P<q1>[^"\n]{1,80})"|“(?P<q2>[^”\n]{1,80})”'
    r"|(?P<abbr>\b(?:[A-Za-z]\.){2,})"
    r"|(?P<word>[A-Za-z0-9$][A-Za-z0-9]*(?:[-'\u2019&+.][A-Za-z0-9]+)*\+?)"
    r"|(?P<punct>[.,;!?])")
QUOTE: Final = "\x00quote"
_PLURAL = re.compile(r"\{(s|es|ies)\}")
_SINGULAR = {"s": "", "es": "", "ies": "y"}


class Token(NamedTuple):
    key: str  # lower case, a possessive "'s" dropped; QUOTE for a quoted phrase
    text: str  # as written (the phrase inside the quotes for a quoted phrase)


def tokenize(text: str) -> list[Token]:
    tokens = []
    for match in TOKEN.finditer(text):
        group = match.lastgroup
        if group == "word" or group == "punct":
            written = match.group()
            if "\u2019" in written:
                written = written.replace("\u2019", "'")
            key = written.lower()
            if key.endswith("'s"):
                key = key[:-2]
            tokens.append(Token(key, written))
        elif group == "abbr":
            written = match.group().replace(".", "").upper()
            tokens.append(Token(written.lower(), written))
        else:
            tokens.append(Token(QUOTE, " ".join(match.group(group or 0).split())))
    return tokens


@attrs.frozen
class Effect:
    kind: str
    value: str = ""
    values: tuple[str, ...] = ()
    seniority: str | None = None
    size: HeadcountRange | None = None


@attrs.frozen
class Entry:
    """One way of writing a phrase: the words that must be written exactly (None: any
    case), and what the phrase means."""

    exact: tuple[str | None, ...] | None
    effects: tuple[Effect, ...]

    def fits(self, tokens: list[Token], start: int) -> bool:
        return self.exact is None or all(want is None or tokens[start + k].text == want
                   for k, want in enumerate(self.exact))


@attrs.frozen
class Vocabulary:
    phrases: Mapping[str, tuple[Entry, ...]]
    #: The first words of the phrases, with the most words a phrase starting so has (a
    #: word not among them starts none).
    starts: Mapping[str, int]
    synonyms: Mapping[str, tuple[str, ...]]


def spellings(written: str) -> Iterator[str]:
    """Each way ``written`` stands for: "cto{s}" is "cto" and "ctos"."""
    parts = _PLURAL.split(written)
    choices = [(part,) if n % 2 == 0 else (_SINGULAR[part], part)
               for n, part in enumerate(parts)]
    for chosen in itertools.product(*choices):
        yield "".join(chosen)


#: Cue words, by kind (the headcount words are in SIZE_WORDS).
CUES: Final[Mapping[str, tuple[str, ...]]] = {
    REMOVE: ("remove", "drop", "forget", "forget about", "exclude", "excluding", "except",
             "without", "minus", "skip", "no longer", "get rid of", "take out", "delete",
             "other than", "outside of", "leave out", "not including"),
    REPLACE: ("actually", "instead", "rather", "only", "change", "switch", "replace",
              "make it", "scratch that", "correction", "let's go with", "go with",
              "swap"),
    ADDITIVE: ("also", "add", "too", "as well", "plus", "in addition", "additionally",
               "and also", "include"),
    STOP: ("target", "targeting", "keep", "focus", "focus on", "want", "sell", "selling",
           "looking for", "then", "and add", "with"),
    HQ: ("headquartered", "headquarters", "hq", "hq'd", "hqs", "head office", "head offices",
         "head-quartered", "hq-ed"),
    PERSON: ("based", "located", "living", "who live", "who are", "people", "reps",
             "working", "work", "reside", "residing"),
    TECH: ("using", "use", "uses", "running", "runs", "run on", "built on", "powered by",
           "on top of", "that use", "who use"),
    NOOP: ("no more", "not more", "no less", "not less", "no fewer", "not fewer",
           "not only", "not just"),
}
NEGATIONS: Final = ("not", "don't", "dont", "do not", "never", "none of",
                    "doesn't", "does not", "isn't", "aren't")
SPAN_REPLACE: Final = ("instead of", "rather than", "in place of")
SIZE_WORDS: Final[Mapping[tuple[int, int], tuple[str, ...]]] = {
    (1, 50): ("startup{s}", "start-up{s}", "early-stage", "early stage", "seed-stage"),
    (1, 200): ("smb{s}", "small business{es}", "small compan{ies}", "small and medium",
               "small-to-medium", "small to medium", "sme{s}"),
    (201, 1000): ("mid-market", "midmarket", "mid market", "mid-size", "midsize",
                  "mid-sized", "medium-sized", "medium sized"),
    (1001, MAX_HEADCOUNT): ("enterprise{s}", "large enterprise{s}", "large compan{ies}",
                            "big compan{ies}", "fortune 500", "fortune 1000"),
}


def _data(name: str) -> Any:
    return json.loads(resources.files(__package__).joinpath("data", name)
                      .read_text(encoding="utf-8"))


class _Table:
    def __init__(self) -> None:
        self.phrases: dict[str, list[Entry]] = {}

    def add(self, written: str, *effects: Effect) -> None:
        for spelling in spellings(written):
            tokens = tokenize(spelling)
            if not tokens:
                continue
            key = " ".join(t.key for t in tokens)
            exact: tuple[str | None, ...] | None = tuple(
                t.text if t.text != t.text.lower() else None for t in tokens)
            if exact is not None and not any(exact):
                exact = None
            entries = self.phrases.setdefault(key, [])
            entry = Entry(exact, tuple(effects))
            if entry not in entries:
                entries.append(entry)


@functools.cache
def vocabulary() -> Vocabulary:
    """The phrase table (built on the first call, then shared: it never changes)."""
    table = _Table()
    titles = _data("titles.json")
    for pattern, spec in titles["function_titles"].items():
        for function, aliases in titles["functions"].items():
            effect = Effect(TITLE, pattern.format(f=function), seniority=spec["seniority"])
            for alias in aliases:
                for written in spec["aliases"]:
                    table.add(written.replace("{a}", alias), effect)
    for title, spec in titles["titles"].items():
        for written in spec["aliases"]:
            table.add(written, Effect(TITLE, title, seniority=spec["seniority"]))
    for seniority, words in titles["seniority_words"].items():
        if seniority not in SENIORITIES:
            raise ValueError(f"titles.json: {seniority!r} is not a seniority")
        for written in words:
            table.add(written, Effect(SENIORITY, seniority))
    places = _data("places.json")
    for place, aliases in places["places"].items():
        for written in aliases:
            table.add(written, Effect(PLACE, values=(place,)))
    for group, members in places["groups"].items():
        table.add(group.lower(), Effect(PLACE, values=tuple(members)))
    for industry, aliases in _data("industries.json")["industries"].items():
        for written in aliases:
            table.add(written, Effect(INDUSTRY, industry))
    keywords = _data("keywords.json")
    for keyword, aliases in keywords["keywords"].items():
        for written in aliases:
            table.add(written, Effect(KEYWORD, keyword))
    for (low, high), words in SIZE_WORDS.items():
        for written in words:
            table.add(written, Effect(SIZE, size=HeadcountRange(low, high)))
    for kind, words in CUES.items():
        for written in words:
            table.add(written, Effect(kind))
    for written in NEGATIONS:
        table.add(written, Effect(REMOVE, NEGATION))
    for written in SPAN_REPLACE:
        table.add(written, Effect(REPLACE, OF))
    table.add("but", Effect(BUT))
    table.add(",", Effect(COMMA))
    for mark in ".;!?":
        table.add(mark, Effect(BOUNDARY))
    phrases = {key: tuple(entries) for key, entries in table.phrases.items()}
    starts: dict[str, int] = {}
    for key in phrases:
        words = key.split(" ")
        starts[words[0]] = max(starts.get(words[0], 0), len(words))
    return Vocabulary(phrases, starts,
                      {key: tuple(values) for key, values in keywords["synonyms"].items()})
