"""structlog set-up: one JSON object per line, secrets redacted before rendering.

``configure()`` is called once by every entry point (CLI command, worker). Library code only
calls ``get_logger(__name__)`` and logs key/value pairs (``event_uid=…``, ``alert_id=…``).
"""

from __future__ import annotations

import logging
import sys
from typing import Any

import structlog

SECRET_MARKERS = ("password", "secret", "token", "authorization", "sasl_plain")
REDACTED = "[redacted]"


def _redact(value: Any) -> Any:
    """``value`` with every secret-named key replaced, at any depth of dicts and lists."""
    if isinstance(value, dict):
        return {
            key: REDACTED
            if any(marker in str(key).lower() for marker in SECRET_MARKERS)
            else _redact(item)
            for key, item in value.items()
        }
    if isinstance(value, list | tuple):
        return [_redact(item) for item in value]
    return value


def redact_secrets(_: Any, __: str, event_dict: dict[str, Any]) -> dict[str, Any]:
    """Replace the value of any key that names a secret, also inside nested dicts and lists;
    runs on every log call."""
    return _redact(event_dict)


class _StderrLogger:
    """Writes each rendered line to whatever ``sys.stderr`` is at the time of the call.

    structlog's PrintLogger keeps the stream it was created with; a process whose stderr is
    swapped (pytest's capture, a daemonizing wrapper) would then write to a closed file.
    """

    def msg(self, message: str) -> None:
        print(message, file=sys.stderr, flush=True)

    log = debug = info = warn = warning = error = critical = exception = fatal = msg


def _stderr_logger(*_: Any) -> _StderrLogger:
    return _StderrLogger()


def configure(level: str = "INFO", fmt: str = "json") -> None:
    """Route structlog and stdlib logging to stderr in the chosen format."""
    renderer: Any = (
        structlog.processors.JSONRenderer()
        if fmt == "json"
        else structlog.dev.ConsoleRenderer(colors=sys.stderr.isatty())
    )
    level_no = logging.getLevelName(level)
    structlog.configure(
        processors=[
            structlog.contextvars.merge_contextvars,
            structlog.processors.add_log_level,
            structlog.processors.TimeStamper(fmt="iso", utc=True),
            redact_secrets,
            structlog.processors.format_exc_info,
            renderer,
        ],
        wrapper_class=structlog.make_filtering_bound_logger(level_no),
        logger_factory=_stderr_logger,
        cache_logger_on_first_use=True,
    )
    logging.basicConfig(level=max(level_no, logging.WARNING), stream=sys.stderr, force=True)
    quiet_client_libraries()


def quiet_client_libraries() -> None:
    """Silence the Kafka clients' own retry chatter; Confianza reports failures itself."""
    for name in ("kafka", "aiokafka"):
        logging.getLogger(name).setLevel(logging.CRITICAL)


def get_logger(name: str) -> structlog.typing.FilteringBoundLogger:
    """A logger bound to the module name."""
    return structlog.get_logger(logger_name=name)
