"""Deterministic futures candles for offline `freqtrade backtesting` (as in
benchmarks/backtest_overhead.py): trading candles, mark candles and funding rates, written
with Freqtrade's own data handler.

The price swings (a slow wave plus noise), so that the foreign templates' RSI / TEMA / Bollinger
crossings fire: a backtest that trades nothing would prove nothing.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
from freqtrade.data.history import get_datahandler
from freqtrade.enums import CandleType


FIVE_MIN = pd.Timedelta(minutes=5)


def swinging_candles(
    seed: int, start: pd.Timestamp, periods: int, base: float, freq: pd.Timedelta = FIVE_MIN
) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    steps = np.arange(periods)
    wave = 0.04 * np.sin(2 * np.pi * steps / 120) + 0.02 * np.sin(2 * np.pi * steps / 37)
    close = base * np.exp(wave + np.cumsum(rng.normal(0, 0.002, periods)))
    open_ = np.concatenate([[base], close[:-1]])
    spread = np.abs(rng.normal(0, 0.001, periods)) * close
    return pd.DataFrame(
        {
            "date": pd.date_range(start, periods=periods, freq=freq, tz="UTC"),
            "open": open_,
            "high": np.maximum(open_, close) + spread,
            "low": np.minimum(open_, close) - spread,
            "close": close,
            "volume": rng.uniform(1, 100, periods),
        }
    )


def write_futures_data(
    datadir: Path, pairs: dict[str, float], end: pd.Timestamp, days: int
) -> str:
    """Write `days` of 5m futures candles (and 1h mark, 8h funding) per pair ending at `end`;
    returns the timerange covering them."""
    datadir.mkdir(parents=True, exist_ok=True)
    handler = get_datahandler(datadir, "feather")
    start = end - pd.Timedelta(days=days)
    for seed, (pair, base) in enumerate(pairs.items()):
        five = swinging_candles(seed, start, days * 288, base)
        handler.ohlcv_store(pair, "5m", five, CandleType.FUTURES)
        hourly = swinging_candles(seed, start, days * 24, base, pd.Timedelta(hours=1))
        handler.ohlcv_store(pair, "1h", hourly, CandleType.MARK)
        funding = pd.DataFrame(
            {
                "date": pd.date_range(start, periods=days * 3, freq="8h", tz="UTC"),
                "funding_rate": 0.0001,
            }
        )
        handler.ohlcv_store(pair, "8h", funding, CandleType.FUNDING_RATE)
    return f"{start:%Y%m%d}-{end:%Y%m%d}"


__all__ = ["swinging_candles", "write_futures_data"]
