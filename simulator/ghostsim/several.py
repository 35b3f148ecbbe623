"""Several bots on one exchange account (`make demo BOTS=3`, `python -m ghostsim.several`).

Three real `freqtrade trade` processes share one simulated Binance USD-M account (one server,
one API key): bots A and B trade BTC, bot C trades ETH (`--venue binance-spot`: A on BTC/USDT,
B on BTC/USDC, C on ETH/USDT; A and B share the account's BTC balance). A and B place the account's first two
entries (C starts after them): the first fills, the second -- the other BTC bot's -- is expired
by the exchange beside that position, and so is C's first; later entries fill. The runs go
twice: with the account registry (a PostgreSQL server started here, on a Unix socket in a
temporary directory, stopped at the end) and without it. The table counts, per mode, what a bot
did to another bot's orders and what each bot ended with. The last line is machine-readable:

    SEVERAL RESULT registry_cross_bot=<n> alone_cross_bot=<n> registry_trades=<n>/3 alone_trades=<n>/3
"""  # noqa: E501

from __future__ import annotations

import argparse
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ghostsim.engine import SimExchange
from ghostsim.ftrun import FreqtradeRun, db_rows
from ghostsim.server import serve


FROZEN = 1e9  # the price never moves: every fill is the schedule's
BOTS = {"bot-a": "BTC/USDT:USDT", "bot-b": "BTC/USDT:USDT", "bot-c": "ETH/USDT:USDT"}
# On spot, pairs of one base asset share its balance: A and B hold BTC through two quotes.
SPOT_BOTS = {"bot-a": "BTC/USDT", "bot-b": "BTC/USDC", "bot-c": "ETH/USDT"}
SPOT_USDC = 100_000.0  # what the account holds in USDC for bot B's stake (USDT: the wallet)


def bots_of(venue: str) -> dict[str, str]:
    return SPOT_BOTS if venue == "binance-spot" else BOTS


def shared_pairs(venue: str) -> list[str]:
    """The pairs two bots share a symbol through (futures: one pair; spot: one base)."""
    return ["BTC/USDT", "BTC/USDC"] if venue == "binance-spot" else ["BTC/USDT:USDT"]
SCHEDULE: list[dict[str, Any]] = [
    {"order": 1, "role": "entry", "after_s": 0.3, "do": "fill"},
    {"order": 2, "role": "entry", "after_s": 1.5, "do": "expire"},
    {"order": 3, "role": "entry", "after_s": 0.5, "do": "expire"},
    *({"order": n, "role": "entry", "after_s": 1.0, "do": "fill"} for n in range(4, 9)),
]


@dataclass
class Several:
    mode: str  # "registry" or "alone"
    sim: SimExchange
    runs: dict[str, FreqtradeRun]
    venue: str = "binance"

    def placed(self) -> list[dict[str, Any]]:
        return [e for e in self.sim.ledger if e["event"] == "new"]

    def owner(self, tags: dict[str, str]) -> dict[str, str]:
        """Order id -> the bot whose tag its client id carries."""
        return {
            str(e["order_id"]): bot_id
            for e in self.placed()
            for bot_id, tag in tags.items() if str(e.get("client_order_id", "")).startswith(tag)
        }


def trade_filled(run: FreqtradeRun) -> bool:
    return any(t["is_open"] and (t["amount"] or 0) > 0 for t in run.trades())


def _done(mode: str, runs: dict[str, FreqtradeRun]) -> bool:
    if mode == "registry":
        return all(trade_filled(r) for r in runs.values())
    btc = [runs["bot-a"], runs["bot-b"]]
    return trade_filled(runs["bot-c"]) and any(trade_filled(r) for r in btc) and any(
        r.events("SHARED_SYMBOL") for r in btc
    )


def run_several(
    mode: str, workdir: Path, registry_url: str = "", max_s: float = 150.0,
    venue: str = "binance",
) -> Several:
    bots = bots_of(venue)
    sim = SimExchange(list(dict.fromkeys(bots.values())), seed=11, venue=venue)
    if venue == "binance-spot":
        sim.face.ledger.totals["USDC"] = SPOT_USDC
    server = serve(sim, 0, schedule=SCHEDULE, signal_file=workdir / "signals.json", tls=True,
                   step_s=FROZEN)
    runs: dict[str, FreqtradeRun] = {}
    try:
        for bot_id, pair in bots.items():
            runs[bot_id] = FreqtradeRun(
                f"several-{mode}-{bot_id}", sim, server=server, sim_settings={"signal": "long"},
                extra_config={
                    "bot_name": bot_id,
                    "max_open_trades": 1,
                    "stake_currency": pair.split("/")[1].split(":")[0],
                    "exchange": {"pair_whitelist": [pair]},
                    "unfilledtimeout": {"entry": 300, "exit": 300, "exit_timeout_count": 0,
                                        "unit": "seconds"},
                    "ghost_guard": {"enabled": True, "bot_id": bot_id,
                                    "account_registry": registry_url,
                                    "replacement_cooldown_s": 0.0},
                },
                workdir=workdir / venue / mode / bot_id,
            )
        runs["bot-a"].start()
        runs["bot-b"].start()
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline and sum(e["event"] == "new" for e in sim.ledger) < 2:
            time.sleep(0.2)
        runs["bot-c"].start()
        deadline = time.monotonic() + max_s
        while time.monotonic() < deadline and not _done(mode, runs):
            if any(r.process is not None and r.process.poll() is not None for r in runs.values()):
                break
            time.sleep(1.0)
        time.sleep(5.0)  # anything that should not happen gets its chance
    finally:
        for run in runs.values():
            run.stop()
        server.stop()
    return Several(mode, sim, runs, venue)


def counts(result: Several, tags: dict[str, str]) -> dict[str, int]:
    """What the bots did to each other, and what they ended with."""
    owner = result.owner(tags)
    booked: dict[str, set[str]] = {}
    claimed = cancelled = 0
    for bot_id, run in result.runs.items():
        for row in db_rows(run.db_path, "SELECT order_id FROM orders"):
            order_id = str(row["order_id"])
            booked.setdefault(order_id, set()).add(bot_id)
            claimed += owner.get(order_id) != bot_id
        cancelled += sum(
            owner.get(e.get("order_id")) != bot_id for e in run.events("DUPLICATE_CANCELLED")
        )
    logs = {b: "\n".join(r.log_lines()) for b, r in result.runs.items()}
    return {
        "orders placed": len(result.placed()),
        "orders without the bot's tag": sum(str(e["order_id"]) not in owner
                                            for e in result.placed()),
        "ghosts detected": sum(len(r.events("GHOST_ORDER_DETECTED")) for r in result.runs.values()),
        "ghosts replaced": sum(len(r.events("GHOST_ORDER_REPLACED")) for r in result.runs.values()),
        "replacements blocked: shared symbol": sum(
            "shared_symbol" in e.line or "position_already_exists" in e.line
            for r in result.runs.values() for e in r.events("REPLACEMENT_BLOCKED")
        ),
        "another bot's fill taken as its share": sum(
            len(r.events("SHARED_SYMBOL")) for r in result.runs.values()
        ),
        "orders of another bot cancelled": cancelled,
        "orders of another bot in a bot's database": claimed,
        "orders in two databases": sum(len(b) > 1 for b in booked.values()),
        "creates refused -4116 (duplicate client id)": sum(
            log.count("ClientOrderId is duplicated") for log in logs.values()
        ),
        "pair locks by the guard": sum(log.count("GhostGuard locked") for log in logs.values()),
        "bots with their trade (of 3)": sum(trade_filled(r) for r in result.runs.values()),
    }


def bot_tags() -> dict[str, str]:
    from ghostguard import identity

    return {b: identity.own_prefix(identity.bot_tag(identity.bot_identity(b, {}, "")))
            for b in BOTS}  # the same bot ids on every venue


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m ghostsim.several")
    parser.add_argument("--seconds", type=float, default=150.0, help="upper bound of each run")
    parser.add_argument("--venue", choices=("binance", "binance-spot"), default="binance",
                        help="binance-spot: A on BTC/USDT, B on BTC/USDC (one base), C on ETH")
    args = parser.parse_args(argv)
    import pgserver  # a test dependency: PostgreSQL's binaries in a wheel

    tags = bot_tags()
    with tempfile.TemporaryDirectory(prefix="ghostguard-several-") as tmp:
        workdir = Path(tmp)
        server = pgserver.get_server(workdir / "pg", cleanup_mode="delete")
        try:
            url = server.get_uri().replace("postgresql://", "postgresql+psycopg://", 1)
            bots = ", ".join(f"{b[-1].upper()} on {p}" for b, p in bots_of(args.venue).items())
            print(f"three bots on one simulated {args.venue} account: {bots} ...", flush=True)
            with_registry = run_several("registry", workdir, url, args.seconds, args.venue)
            alone = run_several("alone", workdir, "", args.seconds, args.venue)
        finally:
            server.cleanup()
        on, off = counts(with_registry, tags), counts(alone, tags)
    width = max(len(k) for k in on)
    print(f"{'':{width}}  with registry  without")
    for key in on:
        print(f"{key:{width}}  {on[key]:>13}  {off[key]:>7}")
    cross = {
        m: c["orders of another bot cancelled"] + c["orders of another bot in a bot's database"]
        + c["orders in two databases"] + c["creates refused -4116 (duplicate client id)"]
        for m, c in (("registry", on), ("alone", off))
    }
    print(f"SEVERAL RESULT registry_cross_bot={cross['registry']} alone_cross_bot={cross['alone']}"
          f" registry_trades={on['bots with their trade (of 3)']}/3"
          f" alone_trades={off['bots with their trade (of 3)']}/3")
    return 0 if cross["registry"] == 0 and cross["alone"] == 0 else 1


if __name__ == "__main__":
    raise SystemExit(main())
