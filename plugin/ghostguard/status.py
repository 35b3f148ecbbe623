"""`python -m ghostguard status -c config.json`: the guard's state at a glance, per pair, read
from the bot's database (and, with `--logfile`, the events of its log): ghosts by how they were
detected, what is watched or suspected now, lost creates and replacements pending, the pairs
being reconciled or locked, the trades it adopted, and (from the log) replacements, late fills,
adoptions and blocks by reason. `--json` prints the same for scripts.

Read-only: it opens the database with a connection of its own, changes nothing, and needs no
running bot (it can run beside one). `summarize` is pure; the reads are at the edges.
"""

from __future__ import annotations

import argparse
import json
import re
import sys
from collections import Counter
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from sqlalchemy import create_engine, inspect, text

from ghostguard import events, keys
from ghostguard.booking import ADOPTED_TAG
from ghostguard.records import Intent, OrderRecord, PairLockRecord, PendingReplacement, Phase
from ghostguard.store import GhostGuardState


STATE_TABLE = GhostGuardState.__tablename__  # the guard's own table, named in one place
_EVENT = re.compile(r"\b([A-Z_]{6,}) ((?:\w+=(?:\"[^\"]*\"|\S+) ?)+)")
_FIELD = re.compile(r"(\w+)=(\"[^\"]*\"|\S+)")
COUNTED_EVENTS = (
    events.GHOST_ORDER_REPLACED, events.REPLACEMENT_BLOCKED, events.GHOST_LATE_FILL,
    events.LATE_FILL_ADOPTED, events.LATE_FILL_REDUCED, events.DUPLICATE_CANCELLED,
    events.CIRCUIT_BREAKER_TRIGGERED,
)


def parse_event_lines(lines: Iterable[str]) -> list[tuple[str, dict[str, str]]]:
    """The guard's events (`NAME key=value ...`) in log lines, other lines skipped."""
    found = []
    for line in lines:
        match = _EVENT.search(line)
        if match is None or match.group(1) not in COUNTED_EVENTS:
            continue
        fields = {k: v.strip('"') for k, v in _FIELD.findall(match.group(2))}
        found.append((match.group(1), fields))
    return found


_CODE = re.compile(r"(?:^|[,;])\s*([a-z][a-z_]+)(?=\(|,|;|$)")


def reason_codes(reason: str) -> list[str]:
    """`duplicate_working_order(ids=1),exposure_exceeds_target(...)` -> the codes (a verdict
    joins its denials with commas; a code's detail is in parentheses)."""
    return _CODE.findall(reason)


def summarize(
    records: Iterable[Any],
    adopted: Iterable[tuple[str, bool]],
    locks: Iterable[tuple[str, str, str]],
    logged: Iterable[tuple[str, dict[str, str]]] = (),
) -> dict[str, dict[str, Any]]:
    """Per pair: the guard's records, its adopted trades ((pair, open)), the pair locks it set
    ((pair, until, reason)) and the events of its log."""
    pairs: dict[str, dict[str, Any]] = {}

    def of(pair: str) -> dict[str, Any]:
        return pairs.setdefault(pair, {
            "ghosts": Counter(), "watched": 0, "suspected": 0, "lost_creates": 0,
            "replacements_pending": 0, "reconciling": None, "locks": [],
            "adopted_trades": 0, "adopted_open": 0, "logged": Counter(), "blocks": Counter(),
        })

    for record in records:
        if isinstance(record, OrderRecord):
            entry = of(record.pair)
            if record.detected:
                entry["ghosts"][record.detected] += 1
            entry["watched"] += record.phase == Phase.WATCHING
            entry["suspected"] += record.phase == Phase.SUSPECTED
        elif isinstance(record, Intent):
            of(record.pair)["lost_creates"] += 1 + len(record.older)
        elif isinstance(record, PendingReplacement):
            of(record.pair)["replacements_pending"] += 1
        elif isinstance(record, PairLockRecord):
            of(record.pair)["reconciling"] = record.reason
    for pair, is_open in adopted:
        of(pair)["adopted_trades"] += 1
        of(pair)["adopted_open"] += bool(is_open)
    for pair, until, reason in locks:
        of(pair)["locks"].append({"until": until, "reason": reason})
    for name, fields in logged:
        pair = fields.get("pair")
        if not pair:
            continue
        of(pair)["logged"][name] += 1
        if name == events.REPLACEMENT_BLOCKED:
            for code in reason_codes(fields.get("reason", "")):
                of(pair)["blocks"][code] += 1
    return {pair: pairs[pair] for pair in sorted(pairs)}


def render(summary: dict[str, dict[str, Any]], source: str, with_log: bool) -> str:
    lines = [f"GhostGuard status ({source})"]
    if not summary:
        lines.append("  nothing recorded: no ghost, no lock, no adopted trade")
    for pair, s in summary.items():
        ghosts = sum(s["ghosts"].values())
        how = ", ".join(f"{k} {v}" for k, v in s["ghosts"].most_common())
        lines.append(pair)
        lines.append(f"  ghosts remembered: {ghosts}{f' ({how})' if how else ''}; "
                     f"watched now {s['watched']}, suspected {s['suspected']}")
        lines.append(f"  pending: {s['replacements_pending']} replacement(s), "
                     f"{s['lost_creates']} lost create(s) to look up")
        if s["reconciling"]:
            lines.append(f"  reconciling: {s['reconciling']}")
        for lock in s["locks"]:
            lines.append(f"  LOCKED until {lock['until']}: {lock['reason']}")
        if s["adopted_trades"]:
            lines.append(f"  adopted trades: {s['adopted_trades']} ({s['adopted_open']} open)")
        if with_log:
            logged = s["logged"]
            blocks = ", ".join(f"{k} {v}" for k, v in s["blocks"].most_common())
            lines.append(
                f"  in the log: {logged[events.GHOST_ORDER_REPLACED]} replaced, "
                f"{logged[events.REPLACEMENT_BLOCKED]} blocked{f' ({blocks})' if blocks else ''}"
                f", {logged[events.GHOST_LATE_FILL]} late fill(s), "
                f"{logged[events.LATE_FILL_ADOPTED]} adopted, "
                f"{logged[events.DUPLICATE_CANCELLED]} duplicate(s) cancelled"
            )
    return "\n".join(lines)


# --- the reads ----------------------------------------------------------------------------


def db_url_of(configs: list[dict[str, Any]]) -> str:
    """The database Freqtrade would use with these config files (later files win)."""
    merged: dict[str, Any] = {}
    for config in configs:
        merged.update(config)
    if merged.get("db_url"):
        return str(merged["db_url"])
    dry = merged.get("dry_run", True)
    return "sqlite:///tradesv3.dryrun.sqlite" if dry else "sqlite:///tradesv3.sqlite"


def read_database(db_url: str) -> tuple[list[Any], list[tuple[str, bool]], list[tuple]]:
    engine = create_engine(db_url)
    try:
        tables = set(inspect(engine).get_table_names())
        records: list[Any] = []
        adopted: list[tuple[str, bool]] = []
        locks: list[tuple[str, str, str]] = []
        with engine.connect() as connection:
            if STATE_TABLE in tables:
                for key, value in connection.execute(
                    text(f"SELECT key, value FROM {STATE_TABLE}")  # noqa: S608 - a constant
                ):
                    try:
                        records.append(keys.decode(key, json.loads(value)))
                    except (ValueError, TypeError, KeyError):
                        continue
            if "trades" in tables:
                adopted = [(str(p), bool(o)) for p, o in connection.execute(
                    text("SELECT pair, is_open FROM trades WHERE enter_tag = :tag"),
                    {"tag": ADOPTED_TAG},
                )]
            if "pairlocks" in tables:
                locks = [(str(p), str(u), str(r)) for p, u, r in connection.execute(text(
                    "SELECT pair, lock_end_time, reason FROM pairlocks "
                    "WHERE active = 1 AND reason LIKE 'GhostGuard%'"
                ))]
        return [r for r in records if r is not None], adopted, locks
    finally:
        engine.dispose()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m ghostguard status", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("-c", "--config", action="append", default=[],
                        help="the bot's config file(s), as given to freqtrade")
    parser.add_argument("--db-url", help="the bot's database (default: from the config)")
    parser.add_argument("--logfile", help="the bot's log file: adds the events it holds")
    parser.add_argument("--json", action="store_true", help="print JSON")
    args = parser.parse_args(argv)
    try:
        configs = [json.loads(Path(c).read_text()) for c in args.config]
    except (OSError, ValueError) as error:
        print(f"ghostguard status: cannot read the config: {error}", file=sys.stderr)
        return 2
    db_url = args.db_url or db_url_of(configs)
    try:
        records, adopted, locks = read_database(db_url)
    except Exception as error:  # noqa: BLE001 - a clear line, not a traceback
        print(f"ghostguard status: cannot read {db_url}: {error}", file=sys.stderr)
        return 2
    logged: list[tuple[str, dict[str, str]]] = []
    if args.logfile:
        try:
            with open(args.logfile, errors="replace") as log:
                logged = parse_event_lines(log)
        except OSError as error:
            print(f"ghostguard status: cannot read the log: {error}", file=sys.stderr)
            return 2
    summary = summarize(records, adopted, locks, logged)
    if args.json:
        print(json.dumps({"database": db_url, "pairs": summary}, indent=2, default=dict))
    else:
        print(render(summary, db_url, bool(args.logfile)))
    return 0


__all__ = [
    "db_url_of", "main", "parse_event_lines", "read_database", "reason_codes", "render",
    "summarize",
]
