"""Calling ``lad`` in this process, on a given container, as the CLI tests do."""

from __future__ import annotations

import json
from typing import Any

import pytest

from lad_entrypoints.cli.main import create_cli, run
from lad_entrypoints.container import Container

Capture = pytest.CaptureFixture[str]


def cli(container: Container, capsys: Capture, *args: str) -> tuple[int, str, str]:
    """The exit code, standard output and standard error of ``lad ARGS``."""
    code = run(create_cli(lambda: container), list(args))
    out, err = capsys.readouterr()
    return code, out, err


def lad_json(container: Container, capsys: Capture, *args: str) -> Any:
    """``lad ARGS --json``, which must succeed, read back."""
    code, out, err = cli(container, capsys, *args, "--json")
    assert code == 0, err
    return json.loads(out)
