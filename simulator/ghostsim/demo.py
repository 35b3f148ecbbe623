"""`python -m ghostsim.demo` (`make demo`): GhostGuard against a misbehaving exchange.

Starts two simulated exchanges on 127.0.0.1 with the same seed and fault schedule, runs the real
`freqtrade trade` (live mode, post-only maker strategy) against each for a bounded time -- one
with GhostGuard, one with `ghost_guard.enabled = false` -- in parallel, stops both, and prints
what happened side by side. `--venue` picks the venue (`make demo VENUE=bybit`): Binance USD-M
futures (the default), `binance-spot` (spot pairs, long only: `SimSpotStrategy`), `bybit` (v5
linear) or `okx` (v5 swap, GTC: Freqtrade's Okx class takes no post-only). The fault schedule is
the same everywhere; each venue's face words the faults its own way. The last line is
machine-readable:

    DEMO RESULT guard_on_double_positions=<n> guard_off_double_positions=<n> ghosts_detected=<n> replacements=<n> blocked=<n>
"""  # noqa: E501

from __future__ import annotations

import argparse
import threading
import time
from collections import Counter
from typing import Any

from ghostguard.status import main as guard_status
from ghostsim.engine import SimExchange
from ghostsim.ftrun import FreqtradeRun, intended_size, largest_position
from ghostsim.venues import VENUES, profile


SYMBOLS = ("BTC/USDT:USDT", "ETH/USDT:USDT", "SOL/USDT:USDT", "BNB/USDT:USDT")
START_PRICES = {"SOL/USDT:USDT": 150.0, "BNB/USDT:USDT": 600.0}
SEED = 7
VENUE_NAMES = {
    "binance": "Binance USD-M futures",
    "binance-spot": "Binance spot (long only)",
    "bybit": "Bybit v5 linear perpetuals",
    "okx": "OKX v5 USDT swaps (GTC, amounts in contracts)",
}
# How an "order not found" answer shows in Freqtrade's log: Binance's code in ccxt's message;
# Bybit (an empty order list) and OKX (51603) by ccxt's exception, once per answer.
NOT_FOUND_NEEDLES = {
    "binance": '"code": -2013', "binance-spot": '"code": -2013',
    "bybit": "ccxt.base.errors.OrderNotFound: ", "okx": "ccxt.base.errors.OrderNotFound: ",
}

# Order numbers count per pair; every kind of ghost the spec names appears at least once.
SCHEDULE: list[dict[str, Any]] = [
    # rest_status: the exchange expires a resting entry -> a true cancellation, replaced once.
    {"pair": "BTC/USDT:USDT", "order": 1, "after_s": 0.3, "do": "expire"},
    # create_rejected: the next order anywhere would take as post-only: rejected -5022 (spot
    # -2010; Bybit accepts it and cancels it; OKX: no post-only order, nothing happens).
    {"pair": "BTC/USDT:USDT", "order": 2, "do": "reject_create"},
    # replace_response: Freqtrade's timeout cancel of this exit finds it already expired.
    {"pair": "BTC/USDT:USDT", "order": 1, "role": "exit", "do": "hold"},
    {"pair": "BTC/USDT:USDT", "order": 1, "role": "exit", "do": "expire_on_cancel"},
    # stale status: the entry fills, its status answer says CANCELED with nothing filled.
    {"pair": "ETH/USDT:USDT", "order": 1, "do": "fill_stale"},
    # circuit_breaker: a filled entry answers -2013 "Order does not exist" 8 times.
    {"pair": "SOL/USDT:USDT", "order": 1, "on": "filled", "do": "not_found", "count": 8},
    # partial fill, then the exchange cancels the rest.
    {"pair": "BNB/USDT:USDT", "order": 1, "after_s": 0.3, "do": "partial_cancel"},
    # lost response: the next create is placed but its answer is lost (504).
    {"pair": "BNB/USDT:USDT", "order": 1, "role": "exit", "do": "lost_create"},
]
SIM_SETTINGS: dict[str, Any] = {"signal": "auto", "hold_s": 2}
EXTRA_CONFIG: dict[str, Any] = {
    "unfilledtimeout": {"entry": 8, "exit": 8, "exit_timeout_count": 0, "unit": "seconds"},
}
DETECTIONS = ("rest_status", "replace_response", "circuit_breaker", "create_rejected")


def venue_pair(symbol: str, venue: str) -> str:
    """The demo's pair as the venue lists it: a spot pair has no settle currency. (OKX lists
    SOL and BNB swaps with its face's contract value for other bases, 1 coin.)"""
    return symbol.split(":", 1)[0] if profile(venue).trading_mode == "spot" else symbol


def venue_schedule(venue: str) -> list[dict[str, Any]]:
    """SCHEDULE on the venue's pairs. The actions go through the engine, so the venue's face
    answers them in its own words; `reject_create` happens as the venue does it (Binance USD-M
    -5022, spot -2010, Bybit accepts the crossing post-only and cancels it; on OKX Freqtrade
    sends no post-only order, the rule fires with nothing to reject: ghostsim.schedule)."""
    return [{**rule, "pair": venue_pair(rule["pair"], venue)} if "pair" in rule else dict(rule)
            for rule in SCHEDULE]


def make_run(name: str, guard: bool, venue: str = "binance") -> FreqtradeRun:
    symbols = [venue_pair(s, venue) for s in SYMBOLS]
    sim = SimExchange(symbols, start_price=START_PRICES, seed=SEED, venue=venue)
    return FreqtradeRun(name, sim, schedule=venue_schedule(venue), guard=guard,
                        sim_settings=dict(SIM_SETTINGS), extra_config=dict(EXTRA_CONFIG))


def run_both(seconds: float, venue: str = "binance") -> tuple[FreqtradeRun, FreqtradeRun]:
    """Guard on and guard off at the same time (two cores), each bounded by `seconds`."""
    on, off = make_run("guard-on", True, venue), make_run("guard-off", False, venue)
    threads = [threading.Thread(target=r.run, args=(None, seconds)) for r in (on, off)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return on, off


# ---------------------------------------------------------------------- the summary


def _counts(run: FreqtradeRun) -> dict[str, Counter[str]]:
    detected: Counter[str] = Counter(e.get("detection") for e in run.events("GHOST_ORDER_DETECTED"))
    blocked: Counter[str] = Counter()
    for event in run.events("REPLACEMENT_BLOCKED"):
        blocked.update(reason_codes(event.get("reason")))
    other = Counter(e.name for e in run.events())
    return {"detected": detected, "blocked": blocked, "events": other}


def reason_codes(reason: str) -> list[str]:
    """'a(x=1,y=2),b' -> ['a', 'b']: the codes, without their parenthesised details."""
    codes, depth, current = [], 0, ""
    for char in reason + ",":
        if char == "(":
            depth += 1
        elif char == ")":
            depth -= 1
        elif char == "," and depth == 0:
            codes.append(current.strip())
            current = ""
        elif depth == 0:
            current += char
    return [c for c in codes if c]


def _position_cells(run: FreqtradeRun) -> dict[str, str]:
    cells = {}
    for spec in run.sim.specs.values():
        size = intended_size(run.sim, spec.id)
        # above the dust a spot exit leaves (ftrun.largest_position); futures: the position
        cells[spec.base] = f"{largest_position(run.sim, spec.id):g} / {size:g}"
    return cells


def summary_rows(on: FreqtradeRun, off: FreqtradeRun) -> list[tuple[str, str, str]]:
    c_on = _counts(on)
    rows: list[tuple[str, str, str]] = [("", "guard ON", "guard OFF")]
    for kind in DETECTIONS:
        rows.append((f"ghosts detected: {kind}", str(c_on["detected"][kind]), "-"))
    rows.append(("replacements approved", str(c_on["events"]["GHOST_ORDER_REPLACED"]), "-"))
    for reason, n in sorted(c_on["blocked"].items()):
        rows.append((f"blocked: {reason}", str(n), "-"))
    for name in ("CIRCUIT_BREAKER_TRIGGERED", "MAX_REPLACEMENT_ATTEMPTS_REACHED",
                 "GHOST_LATE_FILL", "DUPLICATE_CANCELLED", "REPLACEMENT_FAILED"):
        if c_on["events"][name]:
            rows.append((name, str(c_on["events"][name]), "-"))
    rows.append(("fills adopted into a trade (no trade owned them)",
                 str(c_on["events"]["LATE_FILL_ADOPTED"]), "-"))
    rows.append(("pairs locked by the guard", str(_log_count(on, "GhostGuard locked")), "-"))
    pos_on, pos_off = _position_cells(on), _position_cells(off)
    for base in pos_on:
        rows.append((f"largest {base} position / one order", pos_on[base], pos_off[base]))
    for label, needle in (
        ("Freqtrade: 'order not found' answers", NOT_FOUND_NEEDLES[on.sim.venue]),
        ("Freqtrade: zero-fill trades deleted", "fully cancelled. Removing Trade"),
    ):
        rows.append((label, str(_log_count(on, needle)), str(_log_count(off, needle))))
    rows.append(("double positions", str(on.double_positions()), str(off.double_positions())))
    rows.append(("orphan orders left (not in bot DB)", str(len(on.orphans())),
                 str(len(off.orphans()))))
    rows.append(("orders placed by the bot", str(_bot_order_count(on)),
                 str(_bot_order_count(off))))
    unit = on.sim.rate_usage()["unit"]
    rows.append((f"request {unit} used (the venue's own count)", str(on.sim.weight_used()),
                 str(off.sim.weight_used())))
    rows.append((f"most {unit} in one minute", str(on.sim.weight_per_minute_max()),
                 str(off.sim.weight_per_minute_max())))
    rows.append(("requests the venue refused over its budget", _refused(on), _refused(off)))
    rows.append(("freqtrade ERROR log lines", str(len(on.errors())), str(len(off.errors()))))
    rows.append(("freqtrade stopped by", on.stop_how, off.stop_how))
    return rows


def _refused(run: FreqtradeRun) -> str:
    return str(sum(run.sim.rate_usage()["refused"].values()))


def _log_count(run: FreqtradeRun, needle: str) -> int:
    return sum(1 for line in run.log_lines() if needle in line)


def _bot_order_count(run: FreqtradeRun) -> int:
    return sum(1 for e in run.sim.ledger if e["event"] == "new"
               and not str(e.get("client_order_id", "")).startswith("foreign-"))


def format_table(rows: list[tuple[str, str, str]]) -> str:
    widths = [max(len(r[i]) for r in rows) for i in range(3)]
    lines = []
    for i, row in enumerate(rows):
        lines.append(f"{row[0]:<{widths[0]}}  {row[1]:>{widths[1]}}  {row[2]:>{widths[2]}}")
        if i == 0:
            lines.append("-" * (sum(widths) + 4))
    return "\n".join(lines)


def result_line(on: FreqtradeRun, off: FreqtradeRun) -> str:
    return (
        f"DEMO RESULT guard_on_double_positions={on.double_positions()} "
        f"guard_off_double_positions={off.double_positions()} "
        f"ghosts_detected={len(on.events('GHOST_ORDER_DETECTED'))} "
        f"replacements={len(on.events('GHOST_ORDER_REPLACED'))} "
        f"blocked={len(on.events('REPLACEMENT_BLOCKED'))}"
    )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m ghostsim.demo")
    parser.add_argument("--seconds", type=float, default=75.0, help="length of each run")
    parser.add_argument("--venue", choices=VENUES, default="binance",
                        help="the simulated venue (default: Binance USD-M futures)")
    args = parser.parse_args(argv)
    print(f"GhostGuard demo: two real `freqtrade trade` processes (guard on / off) against "
          f"simulated {VENUE_NAMES[args.venue]} on 127.0.0.1, {args.seconds:g} s each, "
          f"in parallel.", flush=True)
    started = time.monotonic()
    on, off = run_both(args.seconds, args.venue)
    print(f"\nfault schedule: {len(SCHEDULE)} rules, fired on: "
          f"{len(on.server.schedule.fired) if on.server and on.server.schedule else 0} (guard on), "
          f"{len(off.server.schedule.fired) if off.server and off.server.schedule else 0} "
          f"(guard off); logs and databases: {on.workdir} {off.workdir}\n")
    skipped = sorted({f"{f.action} ({f.args['error']})" for f in (
        on.server.schedule.fired if on.server and on.server.schedule else []) if "error" in f.args})
    if skipped:
        print("faults that did not apply (guard on): " + "; ".join(skipped) + "\n")
    print(format_table(summary_rows(on, off)))
    print("\nthe guarded bot's state, as `python -m ghostguard status` reads it from its database "
          "and log:\n", flush=True)
    guard_status([f"--db-url=sqlite:///{on.db_path}", f"--logfile={on.log_path}"])
    print(f"\ntook {time.monotonic() - started:.0f} s")
    print(result_line(on, off), flush=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
