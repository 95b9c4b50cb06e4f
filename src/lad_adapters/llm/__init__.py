"""The ICP assistant's language models: the offline rules extractor, an OpenAI-compatible
chat model, and the extractor that says the model is not configured; ``configured_extractor``
picks one from the settings."""

from __future__ import annotations

from collections.abc import Sequence

from lad_adapters.llm.openai_compatible import OpenAICompatibleExtractor
from lad_adapters.llm.rules import RulesExtractor
from lad_domain.icp.model import IcpDocument
from lad_domain.icp.ports import (
    Expansion,
    Extraction,
    IcpExtractor,
    ModelError,
    ModelErrorKind,
    Turn,
    Usage,
)

__all__ = ["OpenAICompatibleExtractor", "RulesExtractor", "UnconfiguredExtractor",
           "configured_extractor"]

BASE_URL_SETTING = "LAD_LLM_BASE_URL"
API_KEY_SETTING = "LAD_LLM_API_KEY"
KIND_SETTING = "LAD_LLM_PROVIDER"
KINDS = ("rules", "openai")


class UnconfiguredExtractor:
    """Stands in for a model whose settings are missing: every call raises NOT_CONFIGURED
    naming them."""

    def __init__(self, *settings: str, provider: str = "openai", model: str = "") -> None:
        if not settings:
            raise ValueError("name the missing setting")
        self.settings = settings
        self.provider = provider
        self.model = model

    @property
    def message(self) -> str:
        return "the ICP assistant's model is not configured: set " + " and ".join(self.settings)

    def extract(self, message: str, history: Sequence[Turn], current: IcpDocument
                ) -> Extraction:
        raise ModelError(ModelErrorKind.NOT_CONFIGURED, self.message)

    def expand(self, keyword: str, context: str) -> Expansion:
        raise ModelError(ModelErrorKind.NOT_CONFIGURED, self.message)

    def worst_case(self, input_tokens: int) -> Usage:
        raise ModelError(ModelErrorKind.NOT_CONFIGURED, self.message)


def configured_extractor(kind: str, base_url: str | None, api_key: str | None,
                         model: str | None) -> IcpExtractor:
    """``rules``: the offline extractor; ``openai``: the chat model at ``base_url`` when the
    URL and the key are set; otherwise an extractor naming the missing settings."""
    if kind == "rules":
        return RulesExtractor()
    if kind != "openai":
        return UnconfiguredExtractor(f"{KIND_SETTING} (one of {', '.join(KINDS)})",
                                     provider=kind, model=model or "")
    missing = [name for name, value in ((BASE_URL_SETTING, base_url), (API_KEY_SETTING, api_key))
               if not value]
    if missing or not base_url or not api_key:
        return UnconfiguredExtractor(*missing, model=model or "")
    return OpenAICompatibleExtractor(base_url, api_key, model or "gpt-4o-mini")
