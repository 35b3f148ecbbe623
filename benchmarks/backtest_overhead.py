"""`freqtrade backtesting` time with GhostGuardMixin against without, on the same data.

Markets come from the simulated exchange (routed in-process: no network); candles are generated
deterministically. Each strategy runs ROUNDS times, alternating; the ratio of the medians of one
run is printed (goal <= 1.02).
"""

from __future__ import annotations

import json
import logging
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd


ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from freqtrade.configuration import Configuration  # noqa: E402
from freqtrade.data.history import get_datahandler  # noqa: E402
from freqtrade.enums import CandleType  # noqa: E402
from freqtrade.optimize.backtesting import Backtesting  # noqa: E402

from ghostsim import SimExchange, route_ccxt_to  # noqa: E402
from tests.harness import build_config  # noqa: E402


PAIRS = ["BTC/USDT:USDT", "ETH/USDT:USDT"]
DAYS = 60
ROUNDS = 7


def _candles(seed: int, start: pd.Timestamp, periods: int, freq: str, base: float) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    close = base * np.exp(np.cumsum(rng.normal(0, 0.002, periods)))
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


def write_data(datadir: Path) -> str:
    datadir.mkdir(parents=True, exist_ok=True)
    handler = get_datahandler(datadir, "feather")
    end = pd.Timestamp.now(tz="UTC").floor("D")
    start = end - pd.Timedelta(days=DAYS)
    for seed, pair in enumerate(PAIRS):
        base = 50_000.0 if pair.startswith("BTC") else 3_000.0
        handler.ohlcv_store(
            pair, "5m", _candles(seed, start, DAYS * 288, "5min", base), CandleType.FUTURES
        )
        handler.ohlcv_store(
            pair, "1h", _candles(seed, start, DAYS * 24, "1h", base), CandleType.MARK
        )
        funding = pd.DataFrame(
            {
                "date": pd.date_range(start, periods=DAYS * 3, freq="8h", tz="UTC"),
                "funding_rate": 0.0001,
            }
        )
        handler.ohlcv_store(pair, "8h", funding, CandleType.FUNDING_RATE)
    return f"{start:%Y%m%d}-{end:%Y%m%d}"


def run_backtest(workdir: Path, sim: SimExchange, strategy: str, timerange: str) -> float:
    content = build_config(sim, strategy, ROOT / "benchmarks" / "strategies", dry_run=True)
    content["exchange"]["pair_whitelist"] = PAIRS
    content["max_open_trades"] = 2
    config_file = workdir / f"{strategy}.json"
    config_file.write_text(json.dumps(content))
    args: dict[str, Any] = {
        "config": [str(config_file)],
        "strategy": strategy,
        "strategy_path": str(ROOT / "benchmarks" / "strategies"),
        "user_data_dir": str(workdir / "user_data"),
        "datadir": str(workdir / "data"),
        "timerange": timerange,
        "timeframe": "5m",
        "export": "none",
        "cache": "none",
    }
    from freqtrade.enums import RunMode

    config = Configuration(args, RunMode.BACKTEST).get_config()
    started = time.perf_counter()
    Backtesting(config).start()
    return time.perf_counter() - started


def main() -> None:
    logging.disable(logging.WARNING)
    with tempfile.TemporaryDirectory(prefix="ghostguard-bench-") as tmp:
        workdir = Path(tmp)
        (workdir / "user_data").mkdir()
        timerange = write_data(workdir / "data")
        sim = SimExchange(symbols=PAIRS)
        times: dict[str, list[float]] = {"BenchPlain": [], "BenchGuarded": []}
        with route_ccxt_to(sim):
            run_backtest(workdir, sim, "BenchPlain", timerange)  # warm-up (imports, caches)
            for round_no in range(ROUNDS):
                # Alternate which strategy goes first (ABBA): a run can be slower just for
                # coming second (memory grown by the run before it).
                order = list(times) if round_no % 2 == 0 else list(reversed(times))
                for strategy in order:
                    times[strategy].append(run_backtest(workdir, sim, strategy, timerange))
    plain = statistics.median(times["BenchPlain"])
    guarded = statistics.median(times["BenchGuarded"])
    print(f"backtesting {DAYS} days of 5m candles, {len(PAIRS)} pairs, {ROUNDS} rounds each")
    print("plain   runs (s): " + ", ".join(f"{t:.3f}" for t in times["BenchPlain"]))
    print("guarded runs (s): " + ", ".join(f"{t:.3f}" for t in times["BenchGuarded"]))
    print(f"median plain {plain:.3f} s, guarded {guarded:.3f} s, ratio = {guarded / plain:.3f}")
    fastest_plain, fastest_guarded = min(times["BenchPlain"]), min(times["BenchGuarded"])
    print(
        f"fastest plain {fastest_plain:.3f} s, guarded {fastest_guarded:.3f} s, "
        f"ratio = {fastest_guarded / fastest_plain:.3f}"
    )


if __name__ == "__main__":
    main()
