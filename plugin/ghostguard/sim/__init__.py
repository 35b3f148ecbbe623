"""Deterministic simulated Binance USD-M futures exchange for in-process tests."""

from ghostguard.sim.engine import BinanceError, RequestRecord, SimExchange
from ghostguard.sim.faults import LostResponse
from ghostguard.sim.transport import install, route_ccxt_to, uninstall


__all__ = [
    "BinanceError",
    "LostResponse",
    "RequestRecord",
    "SimExchange",
    "install",
    "route_ccxt_to",
    "uninstall",
]
