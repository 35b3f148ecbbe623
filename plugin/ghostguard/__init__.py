"""GhostGuard: keeps a Freqtrade maker bot from doubling its position when it re-places
orders it believes are gone."""

from ghostguard.config import GuardConfig, GuardSettings, parse_guard_config
from ghostguard.guard import GhostGuard, GhostGuardBlocked
from ghostguard.mixin import GhostGuardMixin


__all__ = [
    "GhostGuard",
    "GhostGuardBlocked",
    "GhostGuardMixin",
    "GuardConfig",
    "GuardSettings",
    "parse_guard_config",
]
__version__ = "0.2.0"
