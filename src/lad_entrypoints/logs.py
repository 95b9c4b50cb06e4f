"""The process's logs: one line a record, structured (structlog over the standard library's
``logging``, so that uvicorn's, SQLAlchemy's warnings and LAD's own ``lad.*`` loggers all
come out alike), JSON in production and readable in a terminal.

Every line carries the context bound with ``structlog.contextvars`` where it was written:
the request's id, tenant and principal inside an HTTP request, the job's ids in the worker.
Values of keys named like a secret, and bearer tokens, JWTs, API keys and URL passwords
found in any text, are masked before a line is written: defense in depth, LAD never logs
them knowingly.

``lad serve`` and ``lad worker`` call :func:`configure_logging` when they start; nothing is
configured at import, so embedding LAD (``lad.connect``) leaves the host's logging alone."""

from __future__ import annotations

import logging
import re
import sys
import traceback
from collections.abc import Mapping
from typing import Any, TextIO

import structlog
from structlog.types import EventDict, ExcInfo, Processor, WrappedLogger

from lad_entrypoints.settings import Settings

#: The logger of the one line each HTTP request writes when it is answered.
ACCESS_LOGGER = "lad.access"
REDACTED = "[redacted]"

#: Keys whose values are never written (a suffix ``_id`` names an id, not a secret).
_SECRET_KEY = re.compile(r"password|passwd|token|secret|authorization|api[_-]?key|apikey"
                         r"|cookie|credential", re.IGNORECASE)
#: Secrets as they may appear inside text: (pattern, replacement).
_SECRET_TEXT: tuple[tuple[re.Pattern[str], str], ...] = (
    # A JWT (three base64url parts, the first a JSON object's "{\"").
    (re.compile(r"\beyJ[A-Za-z0-9_-]{4,}\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]*"), REDACTED),
    # LAD's API keys: lad_<tenant>_<key id>_<secret>.
    (re.compile(r"\blad_[0-9a-f]{32}_[0-9a-f]{32}_[A-Za-z0-9_-]+"), "lad_" + REDACTED),
    (re.compile(r"\b(bearer|basic)(\s+)[A-Za-z0-9._~+/=-]+", re.IGNORECASE),
     rf"\1\2{REDACTED}"),
    # The password of a URL: scheme://user:password@host.
    (re.compile(r"\b([a-z][a-z0-9+.-]*://[^\s:/@]+:)[^\s@/]+@", re.IGNORECASE),
     rf"\1{REDACTED}@"),
    # key=value, key: value, "key": "value" where the key names a secret (a bearer
    # token's scheme is kept: its token was masked above).
    (re.compile(r"""(?i)\b([\w-]*(?:password|passwd|secret|token|api[_-]?key|apikey"""
                r"""|authorization|cookie)[\w-]*)(["']?\s*[=:]\s*["']?)"""
                r"""(?!\[redacted|(?:bearer|basic)\s)[^\s"'&,;]+"""), rf"\1\2{REDACTED}"),
)
#: Libraries whose debug lines would write SQL parameters, rows or wire bytes (and
#: alembic's plugin list, on every start): at most their warnings, whatever LAD_LOG_LEVEL
#: says (SQL echo is the engine's own switch).
_QUIET = ("sqlalchemy", "httpcore", "hpack", "multipart", "python_multipart", "asyncio",
          "watchfiles", "aiosqlite", "psycopg", "alembic.runtime.plugins")
#: What uvicorn's records carry besides their message: terminal colours.
_DROPPED = frozenset({"color_message"})


def redact_text(text: str) -> str:
    """``text`` with every secret the patterns know masked."""
    for pattern, replacement in _SECRET_TEXT:
        text = pattern.sub(replacement, text)
    return text


def _secret_key(key: object) -> bool:
    if not isinstance(key, str) or key.endswith(("_id", "_ids")):
        return False
    return _SECRET_KEY.search(key) is not None


def _redacted(value: Any) -> Any:
    if isinstance(value, str):
        return redact_text(value)
    if isinstance(value, bytes):
        return redact_text(value.decode("utf-8", "replace"))
    if isinstance(value, Mapping):
        return {k: REDACTED if _secret_key(k) and v is not None else _redacted(v)
                for k, v in value.items()}
    if isinstance(value, list | tuple | set | frozenset):
        return [_redacted(v) for v in value]
    return value


def redact(logger: WrappedLogger, method: str, event_dict: EventDict) -> EventDict:
    """A processor: values of keys named like a secret masked, secrets in text masked
    (including a formatted traceback)."""
    for key, value in list(event_dict.items()):
        if key == "exc_info":
            continue
        if _secret_key(key) and value is not None and not isinstance(value, bool | int):
            event_dict[key] = REDACTED
        else:
            event_dict[key] = _redacted(value)
    return event_dict


def _drop_terminal_extras(logger: WrappedLogger, method: str,
                          event_dict: EventDict) -> EventDict:
    for key in _DROPPED & event_dict.keys():
        del event_dict[key]
    return event_dict


_FIRST = ("timestamp", "level", "logger", "event")


def _leading_keys(logger: WrappedLogger, method: str, event_dict: EventDict) -> EventDict:
    """When, how severe, where and what first; the context after."""
    first = {key: event_dict.pop(key) for key in _FIRST if key in event_dict}
    return {**first, **event_dict}


def _redacted_traceback(sio: TextIO, exc_info: ExcInfo) -> None:
    """The console renderer's traceback, plain and with secrets masked."""
    sio.write("\n" + redact_text("".join(traceback.format_exception(*exc_info))).rstrip())


class LadHandler(logging.StreamHandler[TextIO]):
    """The root logger's handler that :func:`configure_logging` installs (and replaces
    when called again): on its stream, else on whatever ``sys.stderr`` is when a line is
    written (as the standard library's last-resort handler)."""

    def __init__(self, stream: TextIO | None = None) -> None:
        logging.Handler.__init__(self)
        self._fixed = stream

    @property
    def stream(self) -> TextIO:
        return self._fixed if self._fixed is not None else sys.stderr

    @stream.setter
    def stream(self, stream: TextIO | None) -> None:
        """What ``setStream`` assigns: a fixed stream (None: ``sys.stderr`` as it is then)."""
        self._fixed = stream


def resolved_format(settings: Settings, stream: TextIO) -> str:
    """``json`` or ``console``: ``auto`` is console on a terminal, else JSON."""
    if settings.log_format != "auto":
        return settings.log_format
    isatty = getattr(stream, "isatty", None)
    return "console" if isatty is not None and isatty() else "json"


def configure_logging(settings: Settings, *, stream: TextIO | None = None,
                      access_log: bool = True) -> None:
    """Route every log record of the process, structlog's and the standard library's, to
    one handler on ``stream`` (standard error) in ``LAD_LOG_FORMAT`` at ``LAD_LOG_LEVEL``.
    ``access_log`` False silences the per-request line. Calling it again replaces the
    previous configuration."""
    output = resolved_format(settings, stream if stream is not None else sys.stderr)
    level = logging.getLevelNamesMapping()[settings.log_level.upper()]
    shared: list[Processor] = [
        structlog.contextvars.merge_contextvars,
        structlog.stdlib.add_log_level,
        structlog.stdlib.add_logger_name,
        structlog.processors.TimeStamper(fmt="iso", utc=True),
    ]
    final: list[Processor] = [structlog.stdlib.ProcessorFormatter.remove_processors_meta,
                              _drop_terminal_extras]
    if output == "json":
        final += [structlog.processors.format_exc_info, redact, _leading_keys,
                  structlog.processors.JSONRenderer(default=str, sort_keys=False)]
    else:
        colors = output == "console" and settings.log_format == "auto"
        final += [redact, structlog.dev.ConsoleRenderer(
            colors=colors, exception_formatter=_redacted_traceback)]
    formatter = structlog.stdlib.ProcessorFormatter(
        foreign_pre_chain=[*shared, structlog.stdlib.ExtraAdder()],
        processors=final)
    structlog.configure(
        processors=[*shared, structlog.stdlib.PositionalArgumentsFormatter(),
                    structlog.processors.StackInfoRenderer(),
                    structlog.stdlib.ProcessorFormatter.wrap_for_formatter],
        logger_factory=structlog.stdlib.LoggerFactory(),
        wrapper_class=structlog.stdlib.BoundLogger,
        cache_logger_on_first_use=False,
    )
    handler = LadHandler(stream)
    handler.setFormatter(formatter)
    root = logging.getLogger()
    for previous in [h for h in root.handlers if isinstance(h, LadHandler)]:
        root.removeHandler(previous)
    root.addHandler(handler)
    root.setLevel(level)
    for name in _QUIET:
        logging.getLogger(name).setLevel(max(level, logging.WARNING))
    # uvicorn's own loggers write through ours; its access log is replaced by the request
    # line (lad.access).
    for name in ("uvicorn", "uvicorn.error", "uvicorn.access", "uvicorn.asgi"):
        named = logging.getLogger(name)
        named.handlers.clear()
        named.propagate = True
        named.setLevel(logging.NOTSET)
    logging.getLogger("uvicorn.access").setLevel(logging.WARNING)
    logging.getLogger(ACCESS_LOGGER).setLevel(logging.NOTSET if access_log else logging.WARNING)
    # Python's warnings (SQLAlchemy's among them) as log lines.
    logging.captureWarnings(True)


def uvicorn_log_config(*, access_log: bool) -> dict[str, Any]:
    """uvicorn's ``log_config`` for ``lad serve --workers N``: each server process it
    starts configures LAD's logging from the ``LAD_*`` environment, as it builds its app
    from it (:func:`handler_from_environment`)."""
    return {"version": 1, "disable_existing_loggers": False,
            "handlers": {"lad": {"()": f"{__name__}.handler_from_environment",
                                 "access_log": access_log}}}


def handler_from_environment(access_log: bool = True) -> logging.Handler:
    """For ``logging.config.dictConfig``: configure logging from the environment's
    settings; the handler answered is none (``configure_logging`` installed the real one
    on the root logger)."""
    configure_logging(Settings(), access_log=access_log)
    return logging.NullHandler()
