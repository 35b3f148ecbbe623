"""Run a real `freqtrade trade` process against a loopback simulator, bounded, and read the result.

`FreqtradeRun` starts the server (with its fault schedule and price driver), writes the config,
starts `python -m freqtrade trade` as a subprocess, waits until a condition holds (or a time
bound), stops it (SIGINT, then SIGKILL after a grace period: a stopped freqtrade can hang), stops
the server, and leaves the log, the bot's SQLite database and the sim's ledger to read.
"""

from __future__ import annotations

import json
import os
import re
import signal
import sqlite3
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ghostsim.engine import SimExchange
from ghostsim.ftconfig import freqtrade_config
from ghostsim.schedule import order_role
from ghostsim.server import SimServer, serve
from ghostsim.venues import profile


EVENT_NAMES = (
    "GHOST_ORDER_DETECTED", "REPLACEMENT_BLOCKED", "GHOST_ORDER_RECOVERY_APPROVED",
    "GHOST_ORDER_REPLACED", "REPLACEMENT_FAILED", "MAX_REPLACEMENT_ATTEMPTS_REACHED",
    "CIRCUIT_BREAKER_TRIGGERED", "GHOST_LATE_FILL", "DUPLICATE_CANCELLED",
    "LATE_FILL_ADOPTED", "LATE_FILL_REDUCED", "SHARED_SYMBOL",
)
_EVENT_RE = re.compile(r"\b(" + "|".join(EVENT_NAMES) + r")\b((?:\s+\w+=(?:\"[^\"]*\"|\S*))*)")
_FIELD_RE = re.compile(r"(\w+)=(\"[^\"]*\"|\S*)")
EPS = 1e-9


@dataclass(frozen=True)
class Event:
    """One GhostGuard log line: `NAME key=value ...`."""

    name: str
    fields: dict[str, str]
    line: str

    def get(self, key: str, default: str = "") -> str:
        return self.fields.get(key, default)


def parse_events(lines: Iterable[str]) -> list[Event]:
    events: list[Event] = []
    for line in lines:
        match = _EVENT_RE.search(line)
        if match is None:
            continue
        fields = {k: v.strip('"') for k, v in _FIELD_RE.findall(match.group(2))}
        events.append(Event(match.group(1), fields, line.rstrip("\n")))
    return events


# ---------------------------------------------------------------------- the sim's ledger


def bot_orders(sim: SimExchange, symbol_id: str | None = None) -> list[dict[str, Any]]:
    """'new' ledger entries of orders the bot placed (not the schedule's foreign orders)."""
    return [
        e for e in sim.ledger
        if e["event"] == "new" and not str(e.get("client_order_id", "")).startswith("foreign-")
        and (symbol_id is None or e["symbol"] == symbol_id)
    ]


def is_exit(sim: SimExchange, entry: Mapping[str, Any]) -> bool:
    """A ledger 'new' entry of an exit: reduce-only on futures, a SELL on spot (long only)."""
    return order_role(sim.venue, entry) == "exit"


def intended_size(sim: SimExchange, symbol_id: str) -> float:
    """One order's size: the largest entry order the bot placed for the symbol."""
    sizes = [e["qty"] for e in bot_orders(sim, symbol_id) if not is_exit(sim, e)]
    return max(sizes, default=0.0)


DUST = 0.01  # of one order's size: what an exit may leave behind (spot fees in the base asset)


def _above_flat(sim: SimExchange, symbol_id: str, limit: float) -> list[float]:
    """After every fill: the position above the dust the bot's last exit left (spot: a BUY
    pays its fee in the base asset and Freqtrade sells what is left, floored to the step, so
    each round trip leaves well under `DUST` of an order that the next entry's fill adds to;
    futures exits close to exactly zero, so there it is the position itself)."""
    out, flat, before = [], 0.0, 0.0
    for entry in sim.ledger:
        if entry["event"] != "fill" or entry["symbol"] != symbol_id:
            continue
        held = abs(entry["position"])
        if held < before and held <= DUST * limit:
            flat = held  # an exit's fill: flat, up to the dust it left
        before = held
        out.append(held - flat)
    return out


def largest_position(sim: SimExchange, symbol_id: str) -> float:
    """The largest position the bot built, measured as `double_position_episodes` does."""
    return max(_above_flat(sim, symbol_id, intended_size(sim, symbol_id)), default=0.0)


def double_position_episodes(sim: SimExchange, symbol_id: str) -> int:
    """How many times the position went above one order's size (each excursion counts once),
    measured from the dust the last exit left (`_above_flat`)."""
    limit = intended_size(sim, symbol_id)
    episodes, above = 0, False
    for held in _above_flat(sim, symbol_id, limit):
        now_above = held > limit + EPS
        if now_above and not above:
            episodes += 1
        above = now_above
    return episodes if limit > 0 else 0


def max_working_orders(sim: SimExchange, symbol_id: str, reduce_only: bool) -> int:
    """Largest number of simultaneously open orders of one role (foreign ones included):
    exits when `reduce_only` (on spot: the SELLs), entries otherwise."""
    open_ids: set[int] = set()
    best = 0
    for entry in sim.ledger:
        if entry["symbol"] != symbol_id:
            continue
        event = entry["event"]
        if event == "new" and is_exit(sim, entry) == reduce_only:
            open_ids.add(entry["order_id"])
        elif event in ("canceled", "expired", "reject") or (
            event == "fill" and entry.get("status") == "FILLED"
        ):
            open_ids.discard(entry["order_id"])
        best = max(best, len(open_ids))
    return best


# ---------------------------------------------------------------------- the bot's database


def db_rows(db_path: Path, query: str) -> list[sqlite3.Row]:
    if not db_path.exists():
        return []
    conn = sqlite3.connect(f"file:{db_path}?mode=ro", uri=True, timeout=5)
    conn.row_factory = sqlite3.Row
    try:
        return list(conn.execute(query))
    except sqlite3.OperationalError:
        return []
    finally:
        conn.close()


def orphan_orders(sim: SimExchange, db_path: Path) -> list[int]:
    """Open orders on the exchange that the bot's database does not know."""
    known = {str(r["order_id"]) for r in db_rows(db_path, "SELECT order_id FROM orders")}
    return [o.order_id for o in sim.open_orders() if str(o.order_id) not in known]


# ---------------------------------------------------------------------- the run


@dataclass
class FreqtradeRun:
    """One bounded `freqtrade trade` run against its own simulator and fault schedule."""

    name: str
    sim: SimExchange
    schedule: Iterable[Mapping[str, Any]] | str | Path | None = None
    guard: bool = True
    dry_run: bool = False
    sim_settings: dict[str, Any] = field(default_factory=dict)
    extra_config: dict[str, Any] = field(default_factory=dict)
    workdir: Path | None = None
    tls: bool = True
    step_s: float = 0.2
    # the strategy in ghostsim/strategies: None picks SimMakerStrategy, or SimSpotStrategy
    # (long only, `can_short = False`) on a spot venue
    strategy: str | None = None
    # A server already serving `sim` (several bots on one account): used, never stopped here.
    server: SimServer | None = None
    process: subprocess.Popen[bytes] | None = None
    started_at: float = 0.0
    ended_at: float = 0.0
    exit_code: int | None = None
    stop_how: str = ""
    owns_server: bool = True

    def __post_init__(self) -> None:
        if self.workdir is None:
            self.workdir = Path(tempfile.mkdtemp(prefix=f"ghostguard-{self.name}-"))
        self.workdir.mkdir(parents=True, exist_ok=True)

    @property
    def log_path(self) -> Path:
        return self.workdir / "freqtrade.log"  # type: ignore[operator]

    @property
    def db_path(self) -> Path:
        return self.workdir / "tradesv3.sqlite"  # type: ignore[operator]

    @property
    def signal_path(self) -> Path:
        return self.workdir / "signals.json"  # type: ignore[operator]

    # --- lifecycle ---------------------------------------------------------------------------

    def start(self) -> None:
        if self.server is None:
            self.server = serve(self.sim, 0, schedule=self.schedule or [],
                                signal_file=self.signal_path, tls=self.tls, step_s=self.step_s)
        else:
            self.owns_server = False
        config_path = self._write_config()
        user_dir = self.workdir / "user_data"  # type: ignore[operator]
        for sub in ("data", "logs", "strategies"):
            (user_dir / sub).mkdir(parents=True, exist_ok=True)
        cmd = [sys.executable, "-m", "freqtrade", "trade", "--config", str(config_path),
               "--logfile", str(self.log_path), "--db-url", f"sqlite:///{self.db_path}",
               "--userdir", str(user_dir)]
        if self.dry_run:
            cmd.append("--dry-run")
        # Freqtrade skips its log file when it sees PYTEST_VERSION (inherited from a test run).
        env = {k: v for k, v in os.environ.items() if not k.startswith("PYTEST_")}
        env["PYTHONWARNINGS"] = "ignore"
        self.started_at = time.monotonic()
        self.process = subprocess.Popen(  # noqa: S603 - our own interpreter
            cmd, cwd=self.workdir, env=env, stdout=subprocess.DEVNULL,
            stderr=(self.workdir / "stderr.txt").open("wb"),  # type: ignore[operator]
        )

    def _write_config(self) -> Path:
        settings = {"signal_file": str(self.signal_path), **self.sim_settings}
        assert self.server is not None
        strategy = self.strategy or default_strategy(self.sim.venue)
        config = freqtrade_config(self.sim, self.server.url, strategy=strategy,
                                  dry_run=self.dry_run,
                                  guard=self.guard, sim_settings=settings,
                                  extra=self.extra_config)
        path = self.workdir / "config.json"  # type: ignore[operator]
        path.write_text(json.dumps(config, indent=2))
        return path

    def wait(
        self,
        until: Callable[[FreqtradeRun], bool] | None,
        max_s: float,
        settle_s: float = 0.0,
        poll_s: float = 0.5,
    ) -> bool:
        """Wait until `until(self)` holds (then `settle_s` more) or `max_s` passed."""
        deadline = time.monotonic() + max_s
        met = False
        while time.monotonic() < deadline:
            if self.process is not None and self.process.poll() is not None:
                break
            if until is not None and until(self):
                met = True
                break
            time.sleep(poll_s)
        if met and settle_s > 0:
            time.sleep(settle_s)
        return met

    def stop(self, grace_s: float = 10.0) -> None:
        """SIGINT, then SIGKILL after `grace_s`; then the server. Safe to call twice."""
        proc = self.process
        if proc is not None and proc.poll() is None:
            proc.send_signal(signal.SIGINT)
            try:
                proc.wait(timeout=grace_s)
                self.stop_how = "sigint"
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait(timeout=10)
                self.stop_how = "sigkill"
        if proc is not None:
            self.exit_code = proc.returncode
        if self.server is not None and self.owns_server:
            self.server.stop()
        if not self.ended_at:
            self.ended_at = time.monotonic()

    def run(
        self,
        until: Callable[[FreqtradeRun], bool] | None,
        max_s: float,
        settle_s: float = 0.0,
    ) -> bool:
        self.start()
        try:
            return self.wait(until, max_s, settle_s)
        finally:
            self.stop()

    # --- what happened -----------------------------------------------------------------------

    def log_lines(self) -> list[str]:
        if not self.log_path.exists():
            return []
        return self.log_path.read_text(errors="replace").splitlines()

    def events(self, name: str | None = None) -> list[Event]:
        events = parse_events(self.log_lines())
        return [e for e in events if name is None or e.name == name]

    def trades(self) -> list[sqlite3.Row]:
        return db_rows(self.db_path, "SELECT * FROM trades ORDER BY id")

    def orders(self) -> list[sqlite3.Row]:
        return db_rows(self.db_path, "SELECT * FROM orders ORDER BY id")

    def orphans(self) -> list[int]:
        return orphan_orders(self.sim, self.db_path)

    def double_positions(self) -> int:
        return sum(double_position_episodes(self.sim, sid) for sid in self.sim.specs)

    def errors(self) -> list[str]:
        return [line for line in self.log_lines() if " - ERROR - " in line]


def default_strategy(venue: str) -> str:
    """The simulator's strategy for a venue: long only on spot (Freqtrade refuses a spot
    strategy that can short)."""
    return "SimSpotStrategy" if profile(venue).trading_mode == "spot" else "SimMakerStrategy"


def event_seen(name: str, contains: str = "") -> Callable[[FreqtradeRun], bool]:
    """A wait condition: a GhostGuard event (whose line contains `contains`) was logged."""
    return lambda run: any(contains in e.line for e in run.events(name))


__all__ = [
    "EVENT_NAMES", "Event", "FreqtradeRun", "bot_orders", "default_strategy",
    "double_position_episodes", "event_seen", "intended_size", "is_exit", "largest_position",
    "max_working_orders",
    "orphan_orders", "parse_events",
]
