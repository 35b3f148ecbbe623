"""The one place that maps records to keys of the guard's table and back.

    ord:ORDER_ID        OrderRecord
    gone:PAIR:ROLE      PendingReplacement
    lost:PAIR:ROLE      Intent
    sig:PAIR:ROLE       SignalCounter
    cool:PAIR:ROLE      Cooldown
    cid:DIGEST          ClientIdSequence
    lock:PAIR           PairLockRecord

Pairs contain ':' (`BTC/USDT:USDT`), so a `PAIR:ROLE` key is split from the right. These are
the keys earlier releases wrote: their databases open unchanged.
"""

from __future__ import annotations

from typing import Any

from ghostguard.records import (
    ClientIdSequence,
    Cooldown,
    Intent,
    OrderRecord,
    PairLockRecord,
    PendingReplacement,
    Record,
    SignalCounter,
    order_from_doc,
    order_to_doc,
    plain_from_doc,
    plain_to_doc,
)


_PAIR_ROLE_KINDS: dict[str, type] = {
    "gone": PendingReplacement,
    "lost": Intent,
    "sig": SignalCounter,
    "cool": Cooldown,
}
PREFIX_OF: dict[type, str] = {
    OrderRecord: "ord",
    ClientIdSequence: "cid",
    PairLockRecord: "lock",
    **{cls: prefix for prefix, cls in _PAIR_ROLE_KINDS.items()},
}


def order_key(order_id: str) -> str:
    return f"ord:{order_id}"


def pair_role_key(cls: type, pair: str, role: str) -> str:
    return f"{PREFIX_OF[cls]}:{pair}:{role}"


def digest_key(digest: str) -> str:
    return f"cid:{digest}"


def lock_key(pair: str) -> str:
    return f"lock:{pair}"


def key_of(record: Record) -> str:
    if isinstance(record, OrderRecord):
        return order_key(record.order_id)
    if isinstance(record, ClientIdSequence):
        return digest_key(record.digest)
    if isinstance(record, PairLockRecord):
        return lock_key(record.pair)
    return pair_role_key(type(record), record.pair, record.role)


def encode(record: Record) -> tuple[str, dict[str, Any]]:
    """(key, document) of a record."""
    if isinstance(record, OrderRecord):
        return key_of(record), order_to_doc(record)
    if isinstance(record, ClientIdSequence):
        return key_of(record), plain_to_doc(record, ("digest",))
    if isinstance(record, PairLockRecord):
        return key_of(record), plain_to_doc(record, ("pair",))
    return key_of(record), plain_to_doc(record, ("pair", "role"))


def decode(key: str, doc: dict[str, Any]) -> Record | None:
    """The record under a key, or None for a key of no known kind."""
    prefix, _, rest = key.partition(":")
    if not rest:
        return None
    if prefix == "ord":
        return order_from_doc(rest, doc)
    if prefix == "cid":
        return plain_from_doc(ClientIdSequence, {"digest": rest}, doc)
    if prefix == "lock":
        return plain_from_doc(PairLockRecord, {"pair": rest}, doc)
    cls = _PAIR_ROLE_KINDS.get(prefix)
    if cls is None or ":" not in rest:
        return None
    pair, role = rest.rsplit(":", 1)
    if role not in ("entry", "exit"):
        return None
    return plain_from_doc(cls, {"pair": pair, "role": role}, doc)
