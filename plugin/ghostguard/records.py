"""The guard's state as typed records, one type per kind of state, each with its own codec.

Every record lives under one key in the guard's table (see `keys`, the only place that builds or
reads a key) as a JSON document. The codecs read what earlier releases wrote: a document without
a field gets the field's default, and an order document from before the explicit lifecycle
(flags `tripped`, `resolved`, `watch_until`) gets its phase from those flags.

No I/O here.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from enum import StrEnum
from typing import Any

from ghostguard.checks import Role


CLIENT_ID_PREFIX = "gg"  # every client order id the guard sends starts with it


class Phase(StrEnum):
    """Where an order the guard tracks is in its life (transitions: `lifecycle`)."""

    TRACKED = "tracked"  # answers normally
    NOT_FOUND = "not_found"  # 1..threshold-1 consecutive "order does not exist" answers
    SUSPECTED = "suspected"  # the circuit breaker tripped: cancel by id, verify fills, resolve
    WATCHING = "watching"  # gone (detected or resolved): re-checked for a late fill
    DONE = "done"  # nothing left to do; pruned once its trade is closed


@dataclass(frozen=True)
class Watch:
    """When a gone order is next re-checked, until when, and from when its fills count."""

    until: float
    next_check: float
    interval: float
    since: float | None  # the order's placement time (epoch seconds) for reading its fills
    # Which read the next check makes: "orders" (is it working again? one read of the pair's
    # open orders) or "trades" (did it fill? one read of the pair's trades). One check of a
    # pair is one request; the two alternate (`lifecycle.on_watch_checked`).
    read: str = "orders"


@dataclass(frozen=True)
class OrderRecord:
    """One order the guard placed or saw go missing."""

    order_id: str
    pair: str
    role: Role
    phase: Phase = Phase.TRACKED
    signal: str | None = None
    placed_at: float | None = None
    not_found: int = 0  # consecutive not-found answers (kept after resolution)
    tripped_at: float | None = None  # when the breaker tripped (it trips once per order)
    resolved: bool = False  # verified gone by the guard (cancel by id + fills), or row closed
    detected: str | None = None  # how it was detected (GHOST_ORDER_DETECTED logged once)
    verified_filled: float | None = None  # fills the exchange's trades showed
    watch: Watch | None = None
    sweep_due: bool = False  # the sweep after this replacement failed: run it again
    resolve_failures: int = 0  # loops a suspect's cancel or fills could not be read
    side: str | None = None  # "buy" / "sell": what its fills do to the position
    cancel_confirmed: bool = False  # resolved by a cancel the venue accepted: it was live

    @property
    def unconfirmed(self) -> bool:
        """The exchange has not confirmed this order's state (it answered "not found")."""
        return self.phase in (Phase.NOT_FOUND, Phase.SUSPECTED)

    @property
    def needs_loop_work(self) -> bool:
        """A loop has something to do for it (`lifecycle.plan_loop`): a sweep to run again, a
        suspect to resolve, a watch to re-check or end. The store indexes these, so a loop's
        work follows them, not the history of every order the guard placed."""
        return self.sweep_due or self.phase in (Phase.SUSPECTED, Phase.WATCHING)


@dataclass(frozen=True)
class PendingReplacement:
    """An order of a pair and role went away: the next order of that pair and role replaces
    it and is checked first. `detection` says how it went (see `lifecycle.RATIONED`)."""

    pair: str
    role: Role
    order_id: str | None
    detection: str
    at: float
    rejected_at_create: bool = False  # no order ever existed (post-only rejected, lost create)
    client_id: str | None = None  # a lost create's client order id
    breaker_tripped: bool = False
    verified_filled: float | None = None


@dataclass(frozen=True)
class Intent:
    """Written ahead of every live order: the client id it is sent with. Deleted once the
    exchange answered; left behind by a lost answer or a crash, to be looked up."""

    pair: str
    role: Role
    client_id: str
    digest: str | None
    amount: float
    at: float
    checked_at: float | None = None  # the last lookup that found nothing (looked up again)
    # Earlier creates of this pair and role whose answers were lost too, still to be looked
    # up after this one ((client id, written at), oldest first): a risk-reducing exit goes
    # out beside an unresolved lost create, with a client id of its own.
    older: tuple[tuple[str, float], ...] = ()


@dataclass(frozen=True)
class SignalCounter:
    """Ghost replacements approved for the current signal of a pair and role (check 5)."""

    pair: str
    role: Role
    signal: str
    approved: int = 0
    max_logged: bool = False


@dataclass(frozen=True)
class Cooldown:
    """When the last ghost replacement of a pair and role was approved (check 6)."""

    pair: str
    role: Role
    at: float


@dataclass(frozen=True)
class ClientIdSequence:
    """The next attempt number of an intent's client order ids."""

    digest: str
    next: int = 0
    at: float = 0.0


@dataclass(frozen=True)
class PairLockRecord:
    """A pair whose exchange position and database disagree, being reconciled (`reconcile`):
    until they agree, new entries of the pair are held back; a fill no trade owns is booked
    into Freqtrade's trades (or sent back, per `late_fill`). Only what reconciliation cannot
    explain after a few loops locks the pair in Freqtrade, for `lock_hours` at most
    (`locked_until`); a lock whose time ran out is not set again for the same disagreement
    (`expired`). `working_orders`: the disagreement includes a working order the database does
    not know, so it ends only once that order is gone too (not on positions alone). (The key
    and the name are those of earlier releases, which only locked.)"""

    pair: str
    reason: str
    next_check: float
    working_orders: bool = False
    since: float = 0.0  # when the disagreement was first seen
    attempts: int = 0  # reconciliation loops that could not explain it
    locked_until: float | None = None  # a Freqtrade lock is set until then
    expired: bool = False  # the lock ran out: the pair trades again, it is not locked again


Record = (
    OrderRecord
    | PendingReplacement
    | Intent
    | SignalCounter
    | Cooldown
    | ClientIdSequence
    | PairLockRecord
)


# --- codecs: record <-> JSON document (identity fields live in the key, not the document) ----


def _num(value: Any) -> float | None:
    try:
        return None if value is None else float(value)
    except (TypeError, ValueError):
        return None


def _legacy_phase(doc: dict[str, Any]) -> Phase:
    """The phase of an order document written before phases existed."""
    if doc.get("tripped") and not doc.get("resolved"):
        return Phase.SUSPECTED
    if doc.get("watch_until"):
        return Phase.WATCHING
    if doc.get("resolved"):
        return Phase.DONE
    if int(doc.get("not_found") or 0) > 0:
        return Phase.NOT_FOUND
    return Phase.TRACKED


def order_to_doc(record: OrderRecord) -> dict[str, Any]:
    doc = {k: v for k, v in asdict(record).items() if k not in ("order_id", "watch")}
    doc["phase"] = record.phase.value
    if record.watch is not None:
        # Flat fields, as earlier releases wrote them.
        doc.update(
            watch_until=record.watch.until,
            next_check=record.watch.next_check,
            interval=record.watch.interval,
            since=record.watch.since,
            watch_read=record.watch.read,
        )
    return {k: v for k, v in doc.items() if v is not None}


def order_from_doc(order_id: str, doc: dict[str, Any]) -> OrderRecord:
    watch = None
    if doc.get("watch_until") is not None:
        watch = Watch(
            until=float(doc["watch_until"]),
            next_check=float(doc.get("next_check") or 0.0),
            interval=float(doc.get("interval") or 0.0),
            since=_num(doc.get("since")),
            read="trades" if doc.get("watch_read") == "trades" else "orders",
        )
    phase = Phase(doc["phase"]) if doc.get("phase") in set(Phase) else _legacy_phase(doc)
    return OrderRecord(
        order_id=order_id,
        pair=str(doc.get("pair", "")),
        role="exit" if doc.get("role") == "exit" else "entry",
        phase=phase,
        signal=doc.get("signal"),
        placed_at=_num(doc.get("placed_at")),
        not_found=int(doc.get("not_found") or 0),
        tripped_at=_num(doc.get("tripped_at")) or (0.0 if doc.get("tripped") else None),
        resolved=bool(doc.get("resolved")),
        detected=doc.get("detected") or None,
        verified_filled=_num(doc.get("verified_filled")),
        watch=watch,
        sweep_due=bool(doc.get("sweep_due", False)),
        resolve_failures=int(doc.get("resolve_failures") or 0),
        side=doc.get("side") if doc.get("side") in ("buy", "sell") else None,
        cancel_confirmed=bool(doc.get("cancel_confirmed", False)),
    )


def plain_to_doc(record: Record, identity: tuple[str, ...]) -> dict[str, Any]:
    """Every other record: its fields minus the ones its key already holds."""
    return {k: v for k, v in asdict(record).items() if k not in identity and v is not None}


def _fields_of(cls: type, doc: dict[str, Any]) -> dict[str, Any]:
    names = cls.__dataclass_fields__  # type: ignore[attr-defined]
    return {k: v for k, v in doc.items() if k in names}


def plain_from_doc(cls: type, ids: dict[str, Any], doc: dict[str, Any]) -> Record:
    values = {**_fields_of(cls, doc), **ids}
    if cls is PendingReplacement:
        values.setdefault("order_id", None)
        values.setdefault("detection", "unknown")
        values["at"] = float(values.get("at") or 0.0)
    elif cls is Intent:
        values["client_id"] = str(values.get("client_id"))
        values.setdefault("digest", None)
        values["amount"] = float(values.get("amount") or 0.0)
        values["at"] = float(values.get("at") or 0.0)
        values["older"] = tuple((str(c), float(a)) for c, a in values.get("older") or ())
    elif cls is SignalCounter:
        values["signal"] = str(values.get("signal", ""))
        values["approved"] = int(values.get("approved") or 0)
    elif cls is Cooldown:
        values["at"] = float(values.get("at") or 0.0)
    elif cls is ClientIdSequence:
        values["next"] = int(values.get("next") or 0)
        values["at"] = float(values.get("at") or 0.0)
    elif cls is PairLockRecord:
        values["reason"] = str(values.get("reason", ""))
        values["next_check"] = float(values.get("next_check") or 0.0)
        values["working_orders"] = bool(values.get("working_orders", False))
        values["since"] = float(values.get("since") or 0.0)
        values["attempts"] = int(values.get("attempts") or 0)
        values["locked_until"] = _num(values.get("locked_until"))
        values["expired"] = bool(values.get("expired", False))
    return cls(**values)


__all__ = [
    "ClientIdSequence",
    "Cooldown",
    "Intent",
    "OrderRecord",
    "PairLockRecord",
    "PendingReplacement",
    "Phase",
    "Record",
    "SignalCounter",
    "Watch",
]
