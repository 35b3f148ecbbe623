"""Deterministic futures candles for offline `freqtrade backtesting` (as in
benchmarks/backtest_overhead.py): trading candles, mark candles and funding rates, written
with Freqtrade's own data handler.

The price swings (a slow wave plus noise), so that the foreign templates' RSI / TEMA / Bollinger
crossings fire: a backtest that trades nothing would prove nothing.

Funding rates are written in the layout of the running Freqtrade release, as it writes them itself:
2026.8+ stores `[date, funding_rate]` (`freqtrade.candle_columns`, the exchange keeps
`[timestamp, fundingRate]`); 2026.7 and older store OHLCV rows with the rate in `open` and zeros
elsewhere (`Exchange._fetch_funding_rate_history` keeps `[timestamp, fundingRate, 0, 0, 0, 0]`,
the data handlers store only `constants.DEFAULT_DATAFRAME_COLUMNS`).
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


def funding_rate_columns() -> list[str]:
    """The columns this Freqtrade release stores for CandleType.FUNDING_RATE."""
    try:
        from freqtrade.candle_columns import get_candle_columns  # 2026.8+
    except ImportError:  # 2026.7 and older: every candle type is stored as OHLCV
        from freqtrade.constants import DEFAULT_DATAFRAME_COLUMNS

        return list(DEFAULT_DATAFRAME_COLUMNS)
    return list(get_candle_columns(CandleType.FUNDING_RATE))


def funding_rates(dates: pd.DatetimeIndex, rate: float) -> pd.DataFrame:
    """Funding-rate rows in the running release's storage layout (see the module docstring)."""
    columns = funding_rate_columns()
    if "funding_rate" in columns:
        values: dict[str, object] = {"date": dates, "funding_rate": rate}
    else:  # legacy OHLCV layout: the rate in "open", zeros in the other columns
        values = {"date": dates, "open": rate, "high": 0.0, "low": 0.0, "close": 0.0,
                  "volume": 0.0}
    return pd.DataFrame(values).loc[:, columns]


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
        funding = funding_rates(
            pd.date_range(start, periods=days * 3, freq="8h", tz="UTC"), 0.0001
        )
        handler.ohlcv_store(pair, "8h", funding, CandleType.FUNDING_RATE)
    return f"{start:%Y%m%d}-{end:%Y%m%d}"


__all__ = ["funding_rate_columns", "funding_rates", "swinging_candles", "write_futures_data"]
