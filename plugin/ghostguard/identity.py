"""Which bot an order belongs to, from its client order id (pure).

Every client id the guard sends starts with `gg` and a tag of the bot: four lowercase
alphanumerics hashed from `ghost_guard.bot_id`, or, when that is not set, from Freqtrade's
`bot_name`, the strategy's name and the database URL (so that two bots of one account differ
unless they share all three). The rest of the id (`intents.Intents.client_id`) is the hash of
the signal and role, the role's letter and a sequence: at most 26 characters, alphanumeric,
within every venue's limit (OKX: 32).

- `own`: this bot's (the tag is its own): it may be claimed, swept, booked or cancelled.
- `guard_bot`: another bot's guard (`gg`, another tag): never touched, and not counted as this
  bot's working order; on a shared symbol, its position is why a position check cannot prove
  anything (`checks.shared_symbol`).
- `other`: anything else (a person, a bot without the guard, an id from before tags): never
  claimed, swept or cancelled, but, since it cannot be told from the bot's own order sent
  without an id, still a working order of the symbol for check 3.
"""

from __future__ import annotations

import hashlib
import re
from typing import Any, Literal

from ghostguard.records import CLIENT_ID_PREFIX


TAG_LENGTH = 4
_ALPHABET = "0123456789abcdefghijklmnopqrstuvwxyz"
# gg + tag + 12 hex (signal, role) + role letter + sequence
_GUARD_ID = re.compile(rf"^{CLIENT_ID_PREFIX}[0-9a-z]{{{TAG_LENGTH}}}[0-9a-f]{{12}}[ex][0-9]+$")

Owner = Literal["own", "guard_bot", "other"]


def bot_identity(bot_id: str, ft_config: dict[str, Any], strategy_name: str) -> str:
    """What the tag is hashed from: `bot_id` when set, else bot name, strategy and database."""
    if bot_id:
        return f"id|{bot_id}"
    return "|".join(
        str(part) for part in (
            ft_config.get("bot_name") or "freqtrade", strategy_name, ft_config.get("db_url", "")
        )
    )


def bot_tag(identity: str) -> str:
    number = int.from_bytes(hashlib.sha1(identity.encode()).digest()[:8], "big")
    tag = ""
    for _ in range(TAG_LENGTH):
        number, digit = divmod(number, len(_ALPHABET))
        tag += _ALPHABET[digit]
    return tag


def own_prefix(tag: str) -> str:
    return f"{CLIENT_ID_PREFIX}{tag}"


def owner(client_id: Any, prefix: str) -> Owner:
    text = str(client_id or "")
    if text.startswith(prefix) and _GUARD_ID.match(text):
        return "own"
    if _GUARD_ID.match(text):
        return "guard_bot"
    return "other"


__all__ = ["Owner", "bot_identity", "bot_tag", "own_prefix", "owner"]
