"""Symbol specifications, price path and deterministic candles of the simulated exchange."""

from __future__ import annotations

import bisect
import random
from dataclasses import dataclass, field
from decimal import Decimal


INTERVAL_MS: dict[str, int] = {
    "1m": 60_000,
    "3m": 180_000,
    "5m": 300_000,
    "15m": 900_000,
    "30m": 1_800_000,
    "1h": 3_600_000,
    "2h": 7_200_000,
    "4h": 14_400_000,
    "6h": 21_600_000,
    "8h": 28_800_000,
    "12h": 43_200_000,
    "1d": 86_400_000,
    "3d": 259_200_000,
    "1w": 604_800_000,
}

DEFAULT_START_PRICES: dict[str, float] = {
    "BTCUSDT": 50000.0, "ETHUSDT": 3000.0, "BTCUSDC": 50000.0,  # spot: one base, two quotes
}


def decimals_of(step: float) -> int:
    """Number of decimals of a tick/step size (0.1 -> 1, 0.001 -> 3, 1 -> 0)."""
    exponent = Decimal(str(step)).normalize().as_tuple().exponent
    return max(0, -int(exponent))


def fmt(value: float, decimals: int) -> str:
    """Format a number the way Binance does: a fixed number of decimals, as a string."""
    return f"{value:.{decimals}f}"


def market_id(symbol: str) -> str:
    """'BTC/USDT:USDT' -> 'BTCUSDT'."""
    base, rest = symbol.split("/", 1)
    quote = rest.split(":", 1)[0]
    return f"{base}{quote}"


@dataclass(frozen=True)
class SymbolSpec:
    """Trading rules of one USD-M perpetual."""

    symbol: str  # ccxt symbol, e.g. BTC/USDT:USDT
    id: str  # exchange id, e.g. BTCUSDT
    base: str
    quote: str
    tick: float
    step: float
    min_qty: float
    min_notional: float

    @property
    def price_decimals(self) -> int:
        return decimals_of(self.tick)

    @property
    def qty_decimals(self) -> int:
        return decimals_of(self.step)

    def round_price(self, price: float) -> float:
        return round(round(price / self.tick) * self.tick, self.price_decimals)

    def fmt_price(self, price: float) -> str:
        return fmt(price, self.price_decimals)

    def fmt_qty(self, qty: float) -> str:
        return fmt(qty, self.qty_decimals)

    def is_price_on_tick(self, price: float) -> bool:
        return abs(price / self.tick - round(price / self.tick)) < 1e-6

    def is_qty_on_step(self, qty: float) -> bool:
        return abs(qty / self.step - round(qty / self.step)) < 1e-6


_DEFAULT_RULES: dict[str, tuple[float, float, float, float]] = {
    # id: (tick, step, min_qty, min_notional)
    "BTCUSDT": (0.1, 0.001, 0.001, 5.0),
    "ETHUSDT": (0.01, 0.001, 0.001, 5.0),
}


def make_spec(symbol: str, overrides: dict[str, tuple[float, float, float, float]]) -> SymbolSpec:
    """Build the spec of a ccxt symbol, with sensible defaults for unknown ones."""
    base, rest = symbol.split("/", 1)
    quote = rest.split(":", 1)[0]
    mid = market_id(symbol)
    tick, step, min_qty, min_notional = overrides.get(
        mid, _DEFAULT_RULES.get(mid, (0.01, 0.001, 0.001, 5.0))
    )
    return SymbolSpec(symbol, mid, base, quote, tick, step, min_qty, min_notional)


@dataclass
class PricePath:
    """Price events of one symbol (sim ms, price), plus a synthetic past before the start."""

    symbol_id: str
    start_ms: int
    start_price: float
    seed: int
    tick: float
    times: list[int] = field(default_factory=list)
    prices: list[float] = field(default_factory=list)

    def __post_init__(self) -> None:
        self.times.append(self.start_ms)
        self.prices.append(self.start_price)

    @property
    def current(self) -> float:
        return self.prices[-1]

    def set(self, now_ms: int, price: float) -> None:
        self.times.append(now_ms)
        self.prices.append(price)

    def price_at(self, t_ms: int) -> float:
        """Last known price at or before t_ms (start price before the start)."""
        idx = bisect.bisect_right(self.times, t_ms) - 1
        return self.prices[max(idx, 0)]

    def _synthetic_close(self, interval: str, open_ms: int) -> float:
        rnd = random.Random(f"{self.seed}|{self.symbol_id}|{interval}|{open_ms}")
        return self.start_price * (1.0 + 0.002 * (rnd.random() * 2.0 - 1.0))

    def _round(self, price: float) -> float:
        decimals = decimals_of(self.tick)
        return round(round(price / self.tick) * self.tick, decimals)

    def candle(self, interval: str, open_ms: int, now_ms: int) -> tuple[float, float, float, float]:
        """OHLC of the candle opening at open_ms. The current candle closes at the current price."""
        tf = INTERVAL_MS[interval]
        close_ms = open_ms + tf
        if close_ms <= self.start_ms:
            open_ = self._synthetic_close(interval, open_ms - tf)
            close = self._synthetic_close(interval, open_ms)
            rnd = random.Random(f"{self.seed}|{self.symbol_id}|{interval}|{open_ms}|hl")
            high = max(open_, close) * (1.0 + 0.0005 * rnd.random())
            low = min(open_, close) * (1.0 - 0.0005 * rnd.random())
            return self._round(open_), self._round(high), self._round(low), self._round(close)
        open_ = self.price_at(open_ms)
        end_ms = min(close_ms - 1, now_ms)
        lo = bisect.bisect_right(self.times, open_ms)
        hi = bisect.bisect_right(self.times, end_ms)
        window = [open_, *self.prices[lo:hi]]
        close = self.price_at(end_ms)
        return open_, max(window), min(window), close

    def volume(self, interval: str, open_ms: int) -> float:
        rnd = random.Random(f"{self.seed}|{self.symbol_id}|{interval}|{open_ms}|vol")
        return round(100.0 + 100.0 * rnd.random(), 3)


def candle_opens(interval: str, now_ms: int, params: dict[str, str]) -> list[int]:
    """Open times of the candles a /klines request asks for (Binance semantics)."""
    tf = INTERVAL_MS[interval]
    limit = min(int(params.get("limit", "500")), 1500)
    last_open = now_ms // tf * tf
    end = params.get("endTime")
    if end is not None:
        last_open = min(last_open, int(end) // tf * tf)
    start = params.get("startTime")
    if start is not None:
        first_open = -(-int(start) // tf) * tf
        opens = list(range(first_open, last_open + 1, tf))[:limit]
    else:
        opens = [last_open - i * tf for i in range(limit - 1, -1, -1)]
    return opens
