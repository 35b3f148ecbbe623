"""The account registry: the bots of one exchange account tell each other, through one
PostgreSQL database (`ghost_guard.account_registry`), what each of them holds and which orders
work for it, so that a replacement on a symbol several bots trade can be proven.

One row per (account, symbol, bot): the bot's booked position of the symbol (signed, base
units; on spot the symbol is the base asset, which pairs of one base share) and its working
order ids, with a heartbeat. A bot that stopped keeps its row, and so its share, until it comes
back or a person deletes the row: a position nobody reports is still on the account.

Replacement decisions of one account and symbol are serialized with a PostgreSQL advisory lock
(`serialized`), held from the checks until the bot published the order it sent, so two bots never
approve at the same moment. The lock is only tried for a bounded time and only for entries;
exits never wait for it.

Nothing here raises into the bot: an unreachable registry is a fact (`SharedFacts.error`), and
the guard falls back to what it can prove alone (`shared_symbol`).
"""

from __future__ import annotations

import hashlib
import json
import logging
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

from sqlalchemy import (
    Column,
    Engine,
    Float,
    MetaData,
    String,
    Table,
    Text,
    create_engine,
    select,
    text,
)
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.engine import make_url


logger = logging.getLogger("ghostguard")

_METADATA = MetaData()
TABLE = Table(
    "ghostguard_registry",
    _METADATA,
    Column("account", String(64), primary_key=True),
    Column("symbol", String(64), primary_key=True),
    Column("bot_tag", String(16), primary_key=True),
    Column("bot_name", String(128), nullable=False),
    Column("position", Float, nullable=False),
    Column("orders", Text, nullable=False),  # JSON list of working order ids
    Column("heartbeat", Float, nullable=False),
    Column("instance", String(32), nullable=False),  # the process that wrote the row
)

CREATE_KEY = 0x6767_7265_6700  # the advisory lock that serializes creating the table ("ggreg")
LOCK_WAIT_S = 2.0  # how long an entry replacement tries for the symbol's advisory lock
HEARTBEAT_S = 30.0  # an unchanged row is written again this often
CONNECT_TIMEOUT_S = 3
RETRY_AFTER_S = 30.0  # after a failure the registry is not asked again for this long


@dataclass(frozen=True)
class SharedFacts:
    """What the other bots of the account registered for a symbol."""

    position: float = 0.0
    orders: frozenset[str] = frozenset()
    bots: tuple[str, ...] = ()
    error: str | None = None


def account_key(exchange_id: str, trading_mode: str, api_key: str | None) -> str:
    """The account, as the bots of it agree on it without telling each other the key."""
    raw = f"{exchange_id}|{trading_mode}|{api_key or 'no-key'}"
    return hashlib.sha256(raw.encode()).hexdigest()[:32]


def symbol_key(pair: str, futures: bool) -> str:
    """Futures: the pair's market (one position per symbol). Spot: the base asset (pairs of one
    base share its balance)."""
    return pair if futures else pair.split("/", 1)[0]


def _lock_key(account: str, symbol: str) -> int:
    digest = hashlib.sha256(f"{account}|{symbol}".encode()).digest()
    return int.from_bytes(digest[:8], "big", signed=True)


def url_password(url: str) -> str | None:
    try:
        return make_url(url).password
    except Exception:  # noqa: BLE001 - a URL that does not parse fails at open, logged
        return None


def engine_for(url: str) -> Engine:
    if url.startswith("postgresql://"):
        url = "postgresql+psycopg://" + url[len("postgresql://"):]
    # Bounded: a registry that does not answer costs a loop at most a few seconds.
    return create_engine(
        url, pool_pre_ping=True, pool_size=2, max_overflow=2,
        connect_args={"connect_timeout": CONNECT_TIMEOUT_S,
                      "options": "-c statement_timeout=3000"},
    )


class AccountRegistry:
    def __init__(self, url: str, account: str, tag: str, name: str) -> None:
        self.url = url
        self.account = account
        self.tag = tag
        self.name = name
        self._engine: Engine | None = None
        self._published: dict[str, tuple[float, tuple[str, ...], float]] = {}
        self.last_error: str | None = None
        self._down_until = 0.0
        self.instance = uuid.uuid4().hex
        self.tag_shared_with: str | None = None  # another live process writes this bot's rows

    def open(self) -> None:
        """Create the table if needed; an unreachable registry is logged, not raised (the
        guard runs without it until it answers)."""
        try:
            self._engine = engine_for(self.url)
            with self._engine.begin() as connection:
                # `CREATE TABLE IF NOT EXISTS` is not safe against itself in PostgreSQL (two
                # bots starting together: one fails on pg_type_typname_nsp_index): serialized.
                connection.execute(text("SELECT pg_advisory_xact_lock(:k)"), {"k": CREATE_KEY})
                _METADATA.create_all(connection)
            self.last_error = None
        except Exception as error:  # noqa: BLE001 - never stops the bot
            self._failed("open", error)

    def _failed(self, what: str, error: BaseException) -> None:
        self._down_until = time.monotonic() + RETRY_AFTER_S
        text_ = f"{type(error).__name__}: {error}".splitlines()[0][:200]
        if text_ != self.last_error:
            logger.warning("GhostGuard: the account registry failed to %s (%s); replacements "
                           "on shared symbols fall back to what this bot can prove", what, text_)
        self.last_error = text_

    def _ready(self) -> Engine:
        if time.monotonic() < self._down_until:
            raise RuntimeError(f"unreachable a moment ago ({self.last_error})")
        if self._engine is None:
            self.open()
        if self._engine is None:
            raise RuntimeError(self.last_error or "registry not open")
        return self._engine

    def publish(self, symbol: str, position: float, orders: list[str], now: float) -> bool:
        """Write the bot's row of the symbol when it changed or its heartbeat is due."""
        ids = tuple(sorted(orders))
        last = self._published.get(symbol)
        if last is not None and last[0] == position and last[1] == ids and (
            now - last[2] < HEARTBEAT_S
        ):
            return True
        values = {
            "account": self.account, "symbol": symbol, "bot_tag": self.tag,
            "bot_name": self.name[:128], "position": position, "orders": json.dumps(ids),
            "heartbeat": now, "instance": self.instance,
        }
        statement = insert(TABLE).values(**values)
        statement = statement.on_conflict_do_update(
            index_elements=["account", "symbol", "bot_tag"],
            set_={k: statement.excluded[k] for k in ("bot_name", "position", "orders",
                                                      "heartbeat", "instance")},
        )
        try:
            with self._ready().begin() as connection:
                if last is not None:
                    self._check_alone(connection, symbol)
                connection.execute(statement)
        except Exception as error:  # noqa: BLE001 - tried again at the next loop
            self._failed("publish", error)
            self._published.pop(symbol, None)
            return False
        self._published[symbol] = (position, ids, now)
        self.last_error = None
        return True

    def _check_alone(self, connection: Any, symbol: str) -> None:
        """A row this process wrote, since written by another process: two live bots of the
        account share one tag (said once; each takes the other's orders for its own)."""
        writer = connection.execute(select(TABLE.c.instance, TABLE.c.bot_name).where(
            TABLE.c.account == self.account, TABLE.c.symbol == symbol,
            TABLE.c.bot_tag == self.tag,
        )).first()
        if writer is None or writer[0] == self.instance or self.tag_shared_with is not None:
            return
        self.tag_shared_with = str(writer[1])
        logger.warning(
            "GhostGuard: another running bot of this account (%s) uses this bot's tag %s (it "
            "wrote %s's share since this bot did): each takes the other's orders for its own. "
            "Give every bot of the account its own ghost_guard.bot_id.",
            writer[1], self.tag, symbol,
        )

    def facts(self, symbol: str) -> SharedFacts:
        """The other bots' rows of the symbol on this account."""
        query = select(TABLE).where(
            TABLE.c.account == self.account, TABLE.c.symbol == symbol, TABLE.c.bot_tag != self.tag
        )
        try:
            with self._ready().connect() as connection:
                rows = connection.execute(query).mappings().all()
        except Exception as error:  # noqa: BLE001
            self._failed("read", error)
            return SharedFacts(error=self.last_error)
        orders: set[str] = set()
        for row in rows:
            orders.update(str(o) for o in json.loads(row["orders"] or "[]"))
        return SharedFacts(
            position=sum(float(row["position"]) for row in rows),
            orders=frozenset(orders),
            bots=tuple(f"{row['bot_name']} ({row['bot_tag']})" for row in rows),
        )

    @contextmanager
    def serialized(self, symbol: str, wait_s: float = LOCK_WAIT_S) -> Iterator[bool]:
        """Hold the account and symbol's advisory lock (yields True), or yield False when
        another bot holds it longer than `wait_s` or the registry cannot be reached."""
        key = _lock_key(self.account, symbol)
        try:
            connection = self._ready().connect()
        except Exception as error:  # noqa: BLE001
            self._failed("lock", error)
            yield False
            return
        try:
            got = False
            deadline = time.monotonic() + wait_s
            while True:
                got = bool(connection.execute(
                    text("SELECT pg_try_advisory_lock(:k)"), {"k": key}
                ).scalar())
                connection.commit()
                if got or time.monotonic() >= deadline:
                    break
                time.sleep(0.05)
        except Exception as error:  # noqa: BLE001
            self._failed("lock", error)
            connection.close()
            yield False
            return
        try:
            yield got
        finally:
            try:
                if got:
                    connection.execute(text("SELECT pg_advisory_unlock(:k)"), {"k": key})
                    connection.commit()
            except Exception as error:  # noqa: BLE001 - the session's end releases it
                self._failed("unlock", error)
            finally:
                connection.close()

    def close(self) -> None:
        if self._engine is not None:
            self._engine.dispose()


def describe(facts: SharedFacts) -> str:
    return ", ".join(facts.bots) or "none"


__all__ = [
    "AccountRegistry",
    "SharedFacts",
    "account_key",
    "describe",
    "engine_for",
    "symbol_key",
]
