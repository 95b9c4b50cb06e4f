"""Reading back the process's log lines in tests: LAD's logging configured on a buffer (as
``lad serve`` and ``lad worker`` configure it on standard error), every line parsed, and
the logging of the test process as it was afterwards."""

from __future__ import annotations

import contextlib
import io
import json
import logging
from collections.abc import Iterator
from typing import Any, TextIO

import structlog

from lad_entrypoints.logs import configure_logging
from lad_entrypoints.settings import Settings


@contextlib.contextmanager
def configured(settings: Settings, stream: TextIO | None = None, *,
               access_log: bool = True) -> Iterator[None]:
    """LAD's logging on ``stream`` (standard error when None) for the block; the loggers'
    levels, handlers and structlog's configuration as they were after it."""
    with kept():
        configure_logging(settings, stream=stream, access_log=access_log)
        yield


@contextlib.contextmanager
def kept() -> Iterator[None]:
    """The test process's logging as it was before the block (where a command configures
    LAD's), after it."""
    loggers = [logging.getLogger(), *(logger for logger in
                                      logging.root.manager.loggerDict.values()
                                      if isinstance(logger, logging.Logger))]
    saved = [(logger, logger.level, logger.propagate, list(logger.handlers))
             for logger in loggers]
    try:
        yield
    finally:
        for logger, level, propagate, handlers in saved:
            logger.setLevel(level)
            logger.propagate = propagate
            logger.handlers[:] = handlers
        logging.captureWarnings(False)
        structlog.reset_defaults()
        structlog.contextvars.clear_contextvars()


@contextlib.contextmanager
def json_lines(settings: Settings, *, access_log: bool = True) -> Iterator[io.StringIO]:
    """The buffer LAD's JSON log lines are written on during the block."""
    buffer = io.StringIO()
    with configured(settings.model_copy(update={"log_format": "json"}), buffer,
                    access_log=access_log):
        yield buffer


def parsed(text: str) -> list[dict[str, Any]]:
    """Every line of ``text`` as the JSON object it must be."""
    return [json.loads(line) for line in text.splitlines() if line.strip()]


def requests(lines: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The request lines (one for each HTTP request answered)."""
    return [line for line in lines if line["logger"] == "lad.access"]
