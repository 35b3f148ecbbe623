"""Deterministic simulated Binance USD-M futures exchange for in-process tests."""

from ghostsim.engine import BinanceError, RequestRecord, SimExchange
from ghostsim.faults import LostResponse
from ghostsim.transport import install, route_ccxt_to, uninstall


__all__ = [
    "BinanceError",
    "LostResponse",
    "RequestRecord",
    "SimExchange",
    "install",
    "route_ccxt_to",
    "uninstall",
]
