"""The `ghost_guard` config section: defaults, validation and per-pair resolution.

A wrong value stops the bot at start-up with a message that names the key and the allowed values.
"""

from __future__ import annotations

import difflib
import re
from dataclasses import dataclass, fields, replace
from typing import Any

from freqtrade.exceptions import ConfigurationError


CONFIG_SECTION = "ghost_guard"
POSITION_CHECK_MODES = ("single", "double")
# A venue with no proven adapter (ghostguard.adapters): refuse to start, or run venue-neutral.
UNPROVEN_VENUE_CHOICES = ("refuse", "venue_neutral")
# A fill no trade owns (a late fill, a lost create that filled): book it into Freqtrade's
# trades, send it back as a risk-reducing exit, or lock the pair and tell the user.
LATE_FILL_CHOICES = ("adopt", "reduce", "lock")
_BOT_ID = re.compile(r"^[A-Za-z0-9._-]{0,64}$")


@dataclass(frozen=True)
class GuardSettings:
    """Settings for one pair (the global ones, with that pair's overrides applied)."""

    enabled: bool = True
    auto_replace_cancelled_orders: bool = True
    max_replacements_per_signal: int = 3
    replacement_cooldown_s: float = 1.0
    circuit_breaker_threshold: int = 3
    position_check: str = "single"
    watchlist_minutes: float = 30.0
    notify: bool = False
    unproven_venue: str = "refuse"
    late_fill: str = "adopt"
    lock_hours: float = 4.0
    bot_id: str = ""  # the bot's tag in client ids is hashed from it (ghostguard.identity)
    account_registry: str = ""  # PostgreSQL URL shared by the account's bots (ghostguard.registry)


_SETTING_NAMES = tuple(f.name for f in fields(GuardSettings))
_ALLOWED = {
    "enabled": "true or false",
    "auto_replace_cancelled_orders": "true or false",
    "max_replacements_per_signal": "an integer >= 0",
    "replacement_cooldown_s": "a number >= 0",
    "circuit_breaker_threshold": "an integer >= 1",
    "position_check": "one of " + ", ".join(f'"{m}"' for m in POSITION_CHECK_MODES),
    "watchlist_minutes": "a number >= 0",
    "notify": "true or false",
    "unproven_venue": "one of " + ", ".join(f'"{m}"' for m in UNPROVEN_VENUE_CHOICES),
    "late_fill": "one of " + ", ".join(f'"{m}"' for m in LATE_FILL_CHOICES),
    "lock_hours": "a number > 0",
    "account_registry": "a PostgreSQL URL (\"postgresql+psycopg://user:password@host/db\") "
    "shared by every bot of the account, or \"\" for none (not per pair)",
    "bot_id": "\"\" (unset) or up to 64 letters, digits, '-', '_' or '.', the same on every "
    "restart and different for every bot of the account (not per pair)",
    "pairs": 'an object {"PAIR": {key: value, ...}}',
}


@dataclass(frozen=True)
class GuardConfig:
    """The whole validated section: global settings plus per-pair overrides."""

    default: GuardSettings
    pairs: dict[str, GuardSettings]

    def for_pair(self, pair: str) -> GuardSettings:
        return self.pairs.get(pair, self.default)


def _fail(path: str, value: Any) -> ConfigurationError:
    key = path.rsplit(".", 1)[-1]
    allowed = _ALLOWED.get(key, "one of " + ", ".join(_SETTING_NAMES + ("pairs",)))
    return ConfigurationError(
        f"Invalid GhostGuard config: '{path}' = {value!r}. Allowed: {allowed}."
    )


def _check_value(path: str, key: str, value: Any) -> Any:
    """Return the value converted to its setting type, or raise naming the key."""
    is_bool = isinstance(value, bool)
    if key in ("enabled", "auto_replace_cancelled_orders", "notify"):
        if not is_bool:
            raise _fail(path, value)
        return value
    if key in ("max_replacements_per_signal", "circuit_breaker_threshold"):
        minimum = 1 if key == "circuit_breaker_threshold" else 0
        if is_bool or not isinstance(value, int) or value < minimum:
            raise _fail(path, value)
        return value
    if key in ("replacement_cooldown_s", "watchlist_minutes"):
        if is_bool or not isinstance(value, int | float) or value != value or value < 0:
            raise _fail(path, value)
        return float(value)
    if key == "position_check":
        if value not in POSITION_CHECK_MODES:
            raise _fail(path, value)
        return value
    if key == "late_fill":
        if value not in LATE_FILL_CHOICES:
            raise _fail(path, value)
        return value
    if key == "lock_hours":
        if is_bool or not isinstance(value, int | float) or value != value or value <= 0:
            raise _fail(path, value)
        return float(value)
    if key == "account_registry":
        if not isinstance(value, str) or "pairs." in path or (
            value and not value.startswith(("postgresql://", "postgresql+psycopg://"))
        ):
            raise _fail(path, value)
        return value
    if key == "bot_id":
        if not isinstance(value, str) or not _BOT_ID.match(value) or "pairs." in path:
            raise _fail(path, value)
        return value
    if key == "unproven_venue":
        if value not in UNPROVEN_VENUE_CHOICES or "pairs." in path:
            raise _fail(path, value)  # a venue-wide choice: not per pair
        return value
    raise _fail(path, value)


def _apply(base: GuardSettings, raw: dict[str, Any], prefix: str) -> GuardSettings:
    changes: dict[str, Any] = {}
    for key, value in raw.items():
        if key not in _SETTING_NAMES:
            allowed = _SETTING_NAMES + ("pairs",) if prefix == CONFIG_SECTION else _SETTING_NAMES
            close = difflib.get_close_matches(str(key), allowed, n=1)
            hint = f" Did you mean '{close[0]}'?" if close else ""
            raise ConfigurationError(
                f"Invalid GhostGuard config: unknown key '{prefix}.{key}'.{hint} "
                f"Allowed keys: {', '.join(allowed)}."
            )
        changes[key] = _check_value(f"{prefix}.{key}", key, value)
    return replace(base, **changes)


def parse_guard_config(raw: Any, defaults: dict[str, Any] | None = None) -> GuardConfig:
    """Validate the `ghost_guard` section (strategy defaults first, then the config file)."""
    if raw is None:
        raw = {}
    if not isinstance(raw, dict):
        raise ConfigurationError(
            f"Invalid GhostGuard config: '{CONFIG_SECTION}' must be an object, got {raw!r}."
        )
    merged: dict[str, Any] = {**(defaults or {}), **raw}
    pairs_raw = merged.pop("pairs", {})
    default = _apply(GuardSettings(), merged, CONFIG_SECTION)
    if not isinstance(pairs_raw, dict):
        raise _fail(f"{CONFIG_SECTION}.pairs", pairs_raw)
    pairs: dict[str, GuardSettings] = {}
    for pair, overrides in pairs_raw.items():
        if not isinstance(overrides, dict):
            raise _fail(f"{CONFIG_SECTION}.pairs.{pair}", overrides)
        pairs[pair] = _apply(default, overrides, f"{CONFIG_SECTION}.pairs.{pair}")
    return GuardConfig(default=default, pairs=pairs)
