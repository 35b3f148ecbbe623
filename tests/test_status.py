"""`python -m ghostguard status`: the guard's state per pair from the bot's database (and its
log's events), as text and JSON, read beside a running bot on the simulator."""

from __future__ import annotations

import json
import logging
import subprocess
import sys
from pathlib import Path

from ghostguard import status
from ghostguard.records import Intent, OrderRecord, PairLockRecord, Phase
from tests.conftest import PAIR, orders_of
from tests.harness import run_loop


LOG = [
    "2026-12-05 08:00:00 - ghostguard - WARNING - GHOST_ORDER_DETECTED type=entry "
    "pair=BTC/USDT:USDT order_id=1 detection=rest_status reason=status=expired",
    "2026-12-05 08:00:01 - ghostguard - INFO - GHOST_ORDER_REPLACED type=entry "
    "pair=BTC/USDT:USDT order_id=2 attempt=1/3",
    '2026-12-05 08:00:02 - ghostguard - WARNING - REPLACEMENT_BLOCKED type=entry '
    'pair=BTC/USDT:USDT order_id=2 reason="open_order_exists(1 open); cooldown_active(3 s)"',
    "2026-12-05 08:00:03 - freqtrade.freqtradebot - INFO - Order 7 was created",
]


def test_summarize_counts_per_pair() -> None:
    records = [
        OrderRecord(order_id="1", pair=PAIR, role="entry", phase=Phase.WATCHING,
                    detected="rest_status"),
        OrderRecord(order_id="2", pair=PAIR, role="entry", phase=Phase.SUSPECTED,
                    detected="circuit_breaker"),
        OrderRecord(order_id="3", pair="ETH/USDT:USDT", role="exit"),
        Intent(pair=PAIR, role="entry", client_id="gg1", digest=None, amount=1.0, at=0.0),
        PairLockRecord(pair=PAIR, reason="late fill of 1: 0.02", next_check=0.0, since=0.0),
    ]
    logged = status.parse_event_lines(LOG)
    assert [name for name, _ in logged] == ["GHOST_ORDER_REPLACED", "REPLACEMENT_BLOCKED"]
    summary = status.summarize(records, [(PAIR, True)], [(PAIR, "2026-12-05 12:00", "G")],
                               logged)
    btc = summary[PAIR]
    assert btc["ghosts"] == {"rest_status": 1, "circuit_breaker": 1}
    assert (btc["watched"], btc["suspected"], btc["lost_creates"]) == (1, 1, 1)
    assert btc["reconciling"] == "late fill of 1: 0.02" and btc["adopted_open"] == 1
    assert btc["blocks"] == {"open_order_exists": 1, "cooldown_active": 1}
    assert summary["ETH/USDT:USDT"]["ghosts"] == {}
    text = status.render(summary, "sqlite://", with_log=True)
    assert "ghosts remembered: 2 (rest_status 1, circuit_breaker 1)" in text
    assert "1 replaced, 1 blocked (open_order_exists 1, cooldown_active 1)" in text


def test_the_db_url_comes_from_the_config_as_freqtrade_takes_it() -> None:
    assert status.db_url_of([{"dry_run": True}]) == "sqlite:///tradesv3.dryrun.sqlite"
    assert status.db_url_of([{"dry_run": False}]) == "sqlite:///tradesv3.sqlite"
    assert status.db_url_of([{"dry_run": False}, {"db_url": "sqlite:///x.db"}]) == (
        "sqlite:///x.db"
    )


def test_status_of_a_running_bot_after_a_ghost(bot_on_sim, tmp_path: Path) -> None:
    db = tmp_path / "bot.sqlite"
    log = tmp_path / "bot.log"
    handler = logging.FileHandler(log)
    logging.getLogger("ghostguard").addHandler(handler)
    try:
        with bot_on_sim(db_url=f"sqlite:///{db}") as (sim, bot):
            run_loop(bot)
            [first] = orders_of(sim)
            sim.expire_order(first.order_id)  # the exchange takes it away: a ghost
            run_loop(bot, 2)
            assert len(orders_of(sim)) == 2  # replaced once
            handler.flush()
            done = subprocess.run(
                [sys.executable, "-m", "ghostguard", "status", "--db-url", f"sqlite:///{db}",
                 "--logfile", str(log), "--json"],
                capture_output=True, text=True, timeout=120,
            )
            assert done.returncode == 0, done.stderr
            pair = json.loads(done.stdout)["pairs"][PAIR]
            assert pair["ghosts"] == {"rest_status": 1}
            assert pair["logged"]["GHOST_ORDER_REPLACED"] == 1
            text = subprocess.run(
                [sys.executable, "-m", "ghostguard", "status", "--db-url", f"sqlite:///{db}"],
                capture_output=True, text=True, timeout=120,
            ).stdout
            assert PAIR in text and "ghosts remembered: 1 (rest_status 1)" in text
    finally:
        logging.getLogger("ghostguard").removeHandler(handler)
        handler.close()


def test_a_missing_database_is_one_clear_line(tmp_path: Path) -> None:
    done = subprocess.run(
        [sys.executable, "-m", "ghostguard", "status", "-c", str(tmp_path / "nope.json")],
        capture_output=True, text=True, timeout=120,
    )
    assert done.returncode == 2 and "cannot read the config" in done.stderr
    assert "Traceback" not in done.stderr
