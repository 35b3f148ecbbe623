"""The venues the simulator speaks: one matching engine, one REST dialect ("face") per venue.

Binance USD-M futures is the engine's own dialect (``SimExchange`` answers it directly). Every
other venue is a *face*: a small translator that parses the venue's requests (paths, JSON bodies,
its own signing), calls the engine's routes with ``SimExchange.handle(..., trusted=True)`` and
answers in the venue's shapes and error codes. Because a face goes through ``handle``, the fault
faults (``sim.fault_*``), request recording and the tests' request patches apply on every venue,
keyed by the engine's route (``/fapi/v1/order`` is "an order's status" on every venue).

A profile says how Freqtrade is pointed at the venue: its exchange name, trading mode, the ccxt
settings, and the ccxt URL overrides that send ccxt to a simulator server.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Protocol


if TYPE_CHECKING:
    from ghostsim.engine import SimExchange


Answer = tuple[int, Any]


class Face(Protocol):
    """A venue's REST dialect on top of the engine."""

    def handle_http(
        self, method: str, url: str, headers: Mapping[str, str], body: str | None
    ) -> Answer: ...


@dataclass(frozen=True)
class VenueProfile:
    """How Freqtrade and ccxt meet one simulated venue."""

    name: str  # the simulator's venue name (VENUE=...)
    exchange: str  # Freqtrade's exchange name (its venue class)
    trading_mode: str  # "futures" or "spot"
    margin_mode: str  # "isolated", or "" on spot
    symbols: tuple[str, ...]  # the pairs the simulator lists by default (ccxt symbols)
    ccxt_options: dict[str, Any] = field(default_factory=dict)
    # server base URL ("http(s)://127.0.0.1:PORT") -> the ccxt settings that send ccxt there
    # ("urls", and where the venue needs them "hostname" / "verify")
    server_config: Callable[[str], dict[str, Any]] | None = None
    face_module: str | None = None  # module holding ``Face(sim)``; None for the engine's own
    # Freqtrade's `order_time_in_force` on this venue: post-only where Freqtrade's venue class
    # takes it ("PO"); OKX's class refuses any time in force in the config ("GTC").
    time_in_force: str = "PO"

    def ccxt_config(self, server_url: str | None) -> dict[str, Any]:
        """ccxt settings (``exchange.ccxt_config``); pointed at ``server_url`` when given."""
        config: dict[str, Any] = {"enableRateLimit": False, **_deep_copy(self.ccxt_options)}
        if server_url is not None and self.server_config is not None:
            config.update(self.server_config(server_url))
        return config


def _deep_copy(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: _deep_copy(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_deep_copy(v) for v in value]
    return value


_PROFILES: dict[str, str] = {
    # venue name -> module with PROFILE
    "binance": "ghostsim.venues.binance_futures",
    "binance-spot": "ghostsim.venues.binance_spot",
    "bybit": "ghostsim.venues.bybit",
    "okx": "ghostsim.venues.okx",
}
VENUES: tuple[str, ...] = tuple(_PROFILES)


def profile(venue: str) -> VenueProfile:
    """The profile of a venue name; ValueError naming the known ones otherwise."""
    if venue not in _PROFILES:
        raise ValueError(f"unknown venue {venue!r}; the simulator speaks {', '.join(VENUES)}")
    module = importlib.import_module(_PROFILES[venue])
    found: VenueProfile = module.PROFILE
    return found


def make_face(venue: str, sim: SimExchange) -> Face | None:
    """The face answering ``venue``'s dialect for ``sim`` (None: the engine's own)."""
    prof = profile(venue)
    if prof.face_module is None:
        return None
    module = importlib.import_module(prof.face_module)
    face: Face = module.Face(sim)
    return face


__all__ = ["VENUES", "Answer", "Face", "VenueProfile", "make_face", "profile"]
