"""An in-process stand-in for the ICP assistant's language model: a ScriptedExtractor answers
each ``extract`` with the next scripted update (or raises the next scripted ModelError),
each ``expand`` from a table, and records every call. Its provider, model and token counts
are the test's to set, so the usage events it causes are priced as the test expects."""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import Any

import attrs

from lad_domain.icp.model import HeadcountRange, IcpDocument, IcpUpdate
from lad_domain.icp.ports import (
    Expansion,
    Extraction,
    ModelError,
    ModelErrorKind,
    Turn,
    Usage,
)


def update(*, replace: Sequence[str] = (), remove: Mapping[str, Sequence[str]] | None = None,
           headcounts: Sequence[tuple[int, int]] = (), source: str = "gpt-4o-mini",
           **lists: Sequence[str]) -> IcpUpdate:
    """An update as a model would answer it: ``update(titles=["CTO"], replace=["titles"])``."""
    document = IcpDocument(headcounts=tuple(HeadcountRange(a, b) for a, b in headcounts),
                           source=source, **{k: tuple(v) for k, v in lists.items()})
    return IcpUpdate(document=document, replace=frozenset(replace),
                     remove={k: tuple(v) for k, v in (remove or {}).items()})


@attrs.frozen
class ExtractCall:
    message: str
    history: tuple[Turn, ...]
    current: IcpDocument


def refused(message: str = "I can't help with that") -> ModelError:
    return ModelError(ModelErrorKind.REFUSED, message)


def throttled(retry_after: int = 30) -> ModelError:
    return ModelError(ModelErrorKind.THROTTLED, "429 Too Many Requests",
                      retry_after=retry_after)


def unavailable() -> ModelError:
    return ModelError(ModelErrorKind.UNAVAILABLE, "502 Bad Gateway")


def not_configured() -> ModelError:
    return ModelError(ModelErrorKind.NOT_CONFIGURED,
                      "the ICP assistant's model is not configured: set LAD_LLM_API_KEY")


@attrs.define
class ScriptedExtractor:
    """The IcpExtractor port. ``answers``: what the next ``extract`` calls return (an update)
    or raise (a ModelError), in order; with none left it answers an empty update.
    ``expansions``: a keyword's related terms (or a ModelError); a keyword not in it
    expands to ``<keyword> software`` and ``<keyword> platform``."""

    provider: str = "openai"
    model: str = "gpt-4o-mini"
    input_tokens: int = 1200
    output_tokens: int = 150
    answers: list[IcpUpdate | ModelError] = attrs.field(factory=list)
    expansions: dict[str, tuple[str, ...] | ModelError] = attrs.field(factory=dict)
    extract_calls: list[ExtractCall] = attrs.field(factory=list)
    expand_calls: list[tuple[str, str]] = attrs.field(factory=list)
    #: Called as ``extract`` starts: a test sees what holds while the model is asked.
    on_extract: Callable[[], None] | None = None

    def script(self, *answers: IcpUpdate | ModelError) -> ScriptedExtractor:
        self.answers.extend(answers)
        return self

    @property
    def usage(self) -> Usage:
        return Usage(self.provider, self.model, self.input_tokens, self.output_tokens)

    def extract(self, message: str, history: Sequence[Turn], current: IcpDocument
                ) -> Extraction:
        self.extract_calls.append(ExtractCall(message, tuple(history), current))
        if self.on_extract is not None:
            self.on_extract()
        answer: IcpUpdate | ModelError = (self.answers.pop(0) if self.answers
                                          else update(source=self.model))
        if isinstance(answer, ModelError):
            raise answer
        return Extraction(answer, self.usage)

    def expand(self, keyword: str, context: str) -> Expansion:
        self.expand_calls.append((keyword, context))
        answer = self.expansions.get(keyword, (f"{keyword} software", f"{keyword} platform"))
        if isinstance(answer, ModelError):
            raise answer
        return Expansion(tuple(answer), self.usage)

    #: What ``worst_case`` answers (None: the usage of one call); a ModelError is raised.
    budget: Usage | ModelError | None = None

    def worst_case(self, input_tokens: int) -> Usage:
        if isinstance(self.budget, ModelError):
            raise self.budget
        return self.budget or self.usage

    def calls(self) -> dict[str, Any]:
        """How often each method was called."""
        return {"extract": len(self.extract_calls), "expand": len(self.expand_calls)}
