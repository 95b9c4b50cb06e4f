"""The default pricing catalog shipped with LAD, and reading catalog documents from files."""

from __future__ import annotations

import json
from decimal import Decimal
from importlib import resources
from pathlib import Path

from lad_domain.shared.errors import ValidationFailed

DEFAULT_CATALOG = "pricing.json"


def default_catalog() -> object:
    """The catalog every new database starts with (global prices)."""
    text = resources.files(__package__).joinpath(DEFAULT_CATALOG).read_text(encoding="utf-8")
    return parse(text)


def read_catalog(path: Path) -> object:
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as error:
        raise ValidationFailed.single("file", f"cannot be read: {error.strerror}") from None
    return parse(text)


def parse(text: str) -> object:
    """JSON with every number read as a Decimal, so no price passes through a float."""
    try:
        document: object = json.loads(text, parse_float=Decimal)
    except json.JSONDecodeError as error:
        raise ValidationFailed.single("file", f"is not valid JSON: {error}") from None
    return document
