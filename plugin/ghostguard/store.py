"""The guard's own store: typed records in one table of Freqtrade's database, written through
the guard's own connection.

Attempt counters, cooldowns, breaker counts, suspected-gone orders, the watchlist and write-ahead
intents must survive a restart and outlive a deleted zero-fill trade (whose custom data
Freqtrade deletes), so they live in Freqtrade's database file, in the table `ghostguard_state`.
But the guard never commits Freqtrade's session: every write is a short transaction of its own,
on a connection of its own (an engine on the same database URL), so Freqtrade's pending changes
are committed when Freqtrade decides, never by the guard. An in-memory database (tests) gets an
in-memory store of its own: nothing of it would outlive the process anyway.

Records are cached in memory; `keys` maps them to rows.

A failing write (a locked database, a full disk) never raises into the bot: the record stays in
memory, the key is remembered as unwritten, and every later write (and every loop) tries to
write what is pending first. While anything is unwritten the store reports itself degraded, and
the gate blocks new replacements with `guard_error` (their counters would not survive a restart);
exits, first entries and the loop go on.
"""

from __future__ import annotations

import json
import logging
from datetime import UTC, datetime
from typing import Any, ClassVar, TypeVar

from freqtrade.persistence.base import ModelBase, SessionType
from sqlalchemy import Engine, String, Text, create_engine, delete, insert, select, update
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import Mapped, mapped_column
from sqlalchemy.pool import StaticPool

from ghostguard import keys
from ghostguard.records import OrderRecord, Record


logger = logging.getLogger("ghostguard")
R = TypeVar("R")
DELETE_CHUNK = 500  # keys per DELETE statement (SQLite's bound-parameter limit is 999 or more)


class GhostGuardState(ModelBase):
    """One JSON document per key (see `keys`)."""

    __tablename__ = "ghostguard_state"
    session: ClassVar[SessionType]

    key: Mapped[str] = mapped_column(String(255), primary_key=True)
    value: Mapped[str] = mapped_column(Text, nullable=False)
    updated_at: Mapped[datetime] = mapped_column(nullable=False)


_TABLE = GhostGuardState.__table__


def own_engine(freqtrade_engine: Engine) -> Engine:
    """An engine of the guard's own on Freqtrade's database (a separate in-memory one when
    Freqtrade's is in memory)."""
    url = freqtrade_engine.url
    if url.get_backend_name() == "sqlite" and url.database in (None, "", ":memory:"):
        return create_engine(
            "sqlite://", poolclass=StaticPool, connect_args={"check_same_thread": False}
        )
    connect_args = {"check_same_thread": False} if url.get_backend_name() == "sqlite" else {}
    return create_engine(url, connect_args=connect_args)


class GuardStore:
    """Write-through cache of the guard's records."""

    def __init__(self, engine: Engine | None = None) -> None:
        self._engine = engine
        self._cache: dict[str, Record] = {}
        # The records of each kind, by key (a loop reads a kind without scanning the others),
        # and the order records a loop has work for (`OrderRecord.needs_loop_work`).
        self._kinds: dict[type, dict[str, Record]] = {}
        self._active: dict[str, OrderRecord] = {}
        # Keys whose last change is not in the database yet (a failed write): key -> document
        # to write, or None to delete.
        self._unwritten: dict[str, dict[str, Any] | None] = {}
        self.last_error: str | None = None
        self.failed_writes = 0

    @property
    def degraded(self) -> bool:
        """True while a change could not be written (see the module's docstring)."""
        return bool(self._unwritten)

    def open(self, freqtrade_engine: Engine) -> None:
        """Connect beside Freqtrade's engine and load every record."""
        self._engine = own_engine(freqtrade_engine)
        self.load()

    def close(self) -> None:
        if self._engine is not None:
            self._engine.dispose()

    def load(self) -> None:
        assert self._engine is not None, "store not opened"
        _TABLE.create(self._engine, checkfirst=True)
        self._cache = {}
        self._kinds = {}
        self._active = {}
        with self._engine.connect() as connection:
            rows = connection.execute(select(_TABLE.c.key, _TABLE.c.value)).all()
        for key, value in rows:
            try:
                record = keys.decode(key, json.loads(value))
            except (ValueError, TypeError, KeyError):
                record = None
            if record is None:
                logger.warning("GhostGuard: unreadable state row %s ignored", key)
                continue
            self._cache[key] = record
            self._index(key, record)

    # --- reads (memory) -----------------------------------------------------------------

    def all(self, kind: type[R]) -> list[R]:
        return list(self._kinds.get(kind, {}).values())  # type: ignore[arg-type]

    def _get(self, key: str, kind: type[R]) -> R | None:
        record = self._cache.get(key)
        return record if isinstance(record, kind) else None

    def order(self, order_id: str) -> OrderRecord | None:
        return self._get(keys.order_key(order_id), OrderRecord)

    def of_pair_role(self, kind: type[R], pair: str, role: str) -> R | None:
        return self._get(keys.pair_role_key(kind, pair, role), kind)

    def of_digest(self, kind: type[R], digest: str) -> R | None:
        return self._get(keys.digest_key(digest), kind)

    def of_pair(self, kind: type[R], pair: str) -> R | None:
        return self._get(keys.lock_key(pair), kind)

    def has_any(self, *kinds: type) -> bool:
        return any(self._kinds.get(kind) for kind in kinds)

    def active_orders(self) -> list[OrderRecord]:
        """The order records a loop has work for, without scanning the others."""
        return list(self._active.values())

    def _index(self, key: str, record: Record | None) -> None:
        for records in self._kinds.values():
            records.pop(key, None)
        if record is not None:
            self._kinds.setdefault(type(record), {})[key] = record
        if isinstance(record, OrderRecord) and record.needs_loop_work:
            self._active[key] = record
        else:
            self._active.pop(key, None)

    # --- writes (memory and the guard's own transaction) ----------------------------------

    def put(self, record: Record) -> None:
        key, doc = keys.encode(record)
        self._cache[key] = record
        self._index(key, record)
        self._change(key, doc)

    def remove(self, record: Record) -> None:
        self.delete(keys.key_of(record))

    def delete(self, key: str) -> None:
        if self._cache.pop(key, None) is None:
            return
        self._index(key, None)
        self._change(key, None)

    def remove_many(self, records: list[Record]) -> int:
        """Remove records in one transaction (the prune); returns how many went."""
        gone = [key for key in map(keys.key_of, records) if self._cache.pop(key, None)]
        for key in gone:
            self._index(key, None)
        if gone:
            self._change_many(dict.fromkeys(gone))
        return len(gone)

    def flush(self) -> bool:
        """Write what earlier failures left unwritten; True when nothing is left."""
        if not self._unwritten:
            return True
        pending = dict(self._unwritten)
        try:
            self._write_many(pending)
        except SQLAlchemyError as error:
            self._failed(error)
            return False
        for key, doc in pending.items():
            if self._unwritten.get(key, ...) == doc:
                self._unwritten.pop(key, None)
        logger.warning(
            "GhostGuard: the guard's store writes again (%d pending changes written)",
            len(pending),
        )
        self.last_error = None
        return True

    def _change(self, key: str, doc: dict[str, Any] | None) -> None:
        self._change_many({key: doc})

    def _change_many(self, changes: dict[str, dict[str, Any] | None]) -> None:
        """Write changes (and whatever is still unwritten) in one transaction; on a failure
        keep them to write later."""
        for key in changes:
            self._unwritten.pop(key, None)
        pending = {**self._unwritten, **changes}
        try:
            self._write_many(pending)
        except SQLAlchemyError as error:
            self._unwritten = pending
            self._failed(error)
            return
        if self._unwritten:
            logger.warning(
                "GhostGuard: the guard's store writes again (%d pending changes written)",
                len(self._unwritten),
            )
        self._unwritten = {}
        self.last_error = None

    def _failed(self, error: SQLAlchemyError) -> None:
        self.failed_writes += 1
        text = f"{type(error).__name__}: {getattr(error, 'orig', None) or error}"
        text = text.splitlines()[0][:200]
        if self.last_error is None:
            logger.warning(
                "GhostGuard: the guard's store cannot write (%s): its state is kept in memory "
                "and written when the database takes it; new replacements are blocked "
                "(guard_error) until then, exits go on",
                text,
            )
        self.last_error = text

    def _write_many(self, changes: dict[str, dict[str, Any] | None]) -> None:
        assert self._engine is not None, "store not opened"
        now = datetime.now(UTC)
        gone = [key for key, doc in changes.items() if doc is None]
        with self._engine.begin() as connection:
            for start in range(0, len(gone), DELETE_CHUNK):  # one statement per chunk
                chunk = gone[start:start + DELETE_CHUNK]
                connection.execute(delete(_TABLE).where(_TABLE.c.key.in_(chunk)))
            for key, doc in changes.items():
                if doc is None:
                    continue
                values = {"value": json.dumps(doc, sort_keys=True, default=str), "updated_at": now}
                done = connection.execute(
                    update(_TABLE).where(_TABLE.c.key == key).values(**values)
                )
                if done.rowcount == 0:
                    connection.execute(insert(_TABLE).values(key=key, **values))
