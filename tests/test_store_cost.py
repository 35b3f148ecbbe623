"""The guard's state costs what is open, not what happened (issue 20): the orders a loop has
work for are indexed, so a loop reads them without scanning the history of every order placed;
the prune removes what it forgets in one transaction. Counts, not times."""

from __future__ import annotations

from dataclasses import replace

import sqlalchemy as sa
from sqlalchemy import event

from ghostguard import keys
from ghostguard.lifecycle import new_watch
from ghostguard.records import ClientIdSequence, OrderRecord, Phase
from ghostguard.store import GuardStore


PAIR = "BTC/USDT:USDT"


def _store() -> tuple[GuardStore, list[str]]:
    """An in-memory store and what it sends: each SQL statement, and "COMMIT" per transaction."""
    engine = sa.create_engine("sqlite://")
    statements: list[str] = []
    event.listen(engine, "before_cursor_execute",
                 lambda conn, cursor, sql, *rest: statements.append(sql))
    event.listen(engine, "commit", lambda conn: statements.append("COMMIT"))
    store = GuardStore(engine)
    store.load()
    return store, statements


def _history(store: GuardStore, count: int) -> list[OrderRecord]:
    records = [OrderRecord(order_id=str(i), pair=PAIR, role="entry", phase=Phase.DONE)
               for i in range(count)]
    store._change_many(dict(map(keys.encode, records)))  # a long-running bot's history
    store.load()
    return records


def test_a_loop_reads_only_the_orders_it_has_work_for() -> None:
    store, _ = _store()
    _history(store, 10_000)
    assert store.active_orders() == []  # 10,000 done orders: nothing for a loop to read
    watched = OrderRecord(order_id="w", pair=PAIR, role="exit", phase=Phase.WATCHING,
                          watch=new_watch(0.0, 30.0, 0.0))
    suspect = OrderRecord(order_id="s", pair=PAIR, role="entry", phase=Phase.SUSPECTED)
    sweep = OrderRecord(order_id="x", pair=PAIR, role="entry", sweep_due=True)
    for record in (watched, suspect, sweep):
        store.put(record)
    assert {r.order_id for r in store.active_orders()} == {"w", "s", "x"}
    store.put(replace(watched, phase=Phase.DONE, watch=None))  # its watch ended
    store.remove(suspect)
    assert {r.order_id for r in store.active_orders()} == {"x"}
    store.load()  # and after a restart, from the database
    assert {r.order_id for r in store.active_orders()} == {"x"}


def test_removing_many_records_is_one_transaction() -> None:
    store, statements = _store()
    records = _history(store, 1_900)
    sequence = ClientIdSequence(digest="d", at=0.0)
    store.put(sequence)
    statements.clear()
    assert store.remove_many([*records, sequence]) == 1_901
    deletes = [s for s in statements if s.lstrip().upper().startswith("DELETE")]
    assert len(deletes) == 4  # 1,901 keys in chunks of 500: four statements
    assert statements.count("COMMIT") == 1  # in one transaction
    assert store.all(OrderRecord) == [] and store.all(ClientIdSequence) == []
    store.load()
    assert store.all(OrderRecord) == []
