"""One greppable log line per event, `NAME key=value ...`, with secrets scrubbed."""

from __future__ import annotations

import logging
import re
from collections.abc import Callable
from typing import Any


logger = logging.getLogger("ghostguard")

GHOST_ORDER_DETECTED = "GHOST_ORDER_DETECTED"
REPLACEMENT_BLOCKED = "REPLACEMENT_BLOCKED"
GHOST_ORDER_RECOVERY_APPROVED = "GHOST_ORDER_RECOVERY_APPROVED"
GHOST_ORDER_REPLACED = "GHOST_ORDER_REPLACED"
REPLACEMENT_FAILED = "REPLACEMENT_FAILED"
MAX_REPLACEMENT_ATTEMPTS_REACHED = "MAX_REPLACEMENT_ATTEMPTS_REACHED"
CIRCUIT_BREAKER_TRIGGERED = "CIRCUIT_BREAKER_TRIGGERED"
GHOST_LATE_FILL = "GHOST_LATE_FILL"
DUPLICATE_CANCELLED = "DUPLICATE_CANCELLED"
# Reconciliation (a fill no trade owned): booked into Freqtrade's trades, or sent back.
LATE_FILL_ADOPTED = "LATE_FILL_ADOPTED"
LATE_FILL_REDUCED = "LATE_FILL_REDUCED"
SHARED_SYMBOL = "SHARED_SYMBOL"  # other bots' share of a symbol: nothing booked or locked

_INFO_EVENTS = {GHOST_ORDER_RECOVERY_APPROVED, GHOST_ORDER_REPLACED}

_URL_QUERY = re.compile(r"(https?://[^\s?\"']+)\?[^\s\"']*")
_SECRET_PARAMS = re.compile(
    r"(?i)\b(signature|apikey|api_key|secret|x-mbx-apikey|timestamp)=([^&\s,]+)"
)
_secrets: set[str] = set()


def register_secret(value: Any) -> None:
    """A value (API key, secret, password) that must never appear in a log line."""
    if isinstance(value, str) and len(value) >= 4:
        _secrets.add(value)


def scrub(text: str) -> str:
    """Remove signed query strings, credential parameters and registered secrets."""
    text = _URL_QUERY.sub(r"\1?<redacted>", text)
    text = _SECRET_PARAMS.sub(r"\1=<redacted>", text)
    for secret in _secrets:
        text = text.replace(secret, "<redacted>")
    return text


class ScrubFilter(logging.Filter):
    """Every record of the guard's logger leaves scrubbed: message, arguments and traceback
    (ccxt's error texts carry signed URLs)."""

    def filter(self, record: logging.LogRecord) -> bool:
        try:
            record.msg = scrub(record.getMessage())
            record.args = None
            if record.exc_info:
                text = logging.Formatter().formatException(record.exc_info)
                record.exc_text = scrub(text)
                record.exc_info = None
            elif record.exc_text:
                record.exc_text = scrub(record.exc_text)
        except Exception:  # noqa: BLE001 - a log line must never break the bot
            record.msg, record.args, record.exc_info = "GhostGuard: unloggable record", None, None
        return True


logger.addFilter(ScrubFilter())


def _format_value(value: Any) -> str:
    text = scrub(str(value)).replace("\n", " ")
    return f'"{text}"' if (" " in text or not text) else text


def format_event(name: str, **fields: Any) -> str:
    parts = [name] + [f"{k}={_format_value(v)}" for k, v in fields.items() if v is not None]
    return " ".join(parts)


# Who counts the events as they are logged (`summary.EventTally`): each guard adds its own.
_listeners: list[Callable[[str, dict[str, Any]], None]] = []


def listen(listener: Callable[[str, dict[str, Any]], None]) -> None:
    _listeners.append(listener)


def unlisten(listener: Callable[[str, dict[str, Any]], None]) -> None:
    if listener in _listeners:
        _listeners.remove(listener)


def log_event(name: str, **fields: Any) -> str:
    line = format_event(name, **fields)
    logger.log(logging.INFO if name in _INFO_EVENTS else logging.WARNING, line)
    for listener in list(_listeners):
        try:
            listener(name, fields)
        except Exception:  # noqa: BLE001 - counting must never break the bot
            pass
    return line
