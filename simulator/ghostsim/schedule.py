"""A scriptable fault schedule for a running ``SimExchange``: faults fired by time or by order.

A schedule is a list of rules (JSON file or Python dicts). Each rule names a trigger and an action;
every other key is an argument of the action::

    [
      {"order": 2, "role": "entry", "after_s": 0.3, "do": "expire"},
      {"order": 3, "role": "entry", "on": "filled", "do": "stale", "status": "CANCELED"},
      {"order": 4, "role": "entry", "do": "fill_stale"},
      {"order": 5, "role": "entry", "do": "not_found", "seconds": 40},
      {"at_s": 20, "do": "lost_create"},
      {"at_s": 30, "do": "reject_create"}
    ]

Triggers:
- ``order`` N (1-based) with ``role`` ``entry`` (not reduce-only, the default), ``exit``
  (reduce-only; on spot, which has no reduce-only and trades long only: a SELL) or ``any``,
  optional ``pair``; ``on`` ``placed`` (default) or ``filled`` (its first fill);
  ``every: true`` instead of ``order`` fires for every matching order.
- ``at_s``: seconds after the schedule started (sim clock).
Either fires the action ``after_s`` seconds later (default 0: right after the request that
triggered it has been answered). ``expire``, ``cancel`` and ``partial_cancel`` hold the order from
the trigger on (the price path cannot fill it in between) unless the rule says ``"hold": false``;
any other rule can ask for that with ``"hold": true``.

Actions on the triggering order: ``hold`` (the price path never fills it), ``expire``, ``cancel``,
``fill`` (``fraction``), ``partial_cancel`` (``fraction``, default 0.5), ``stale`` (``status``:
GET answers it with nothing filled; ``fill: true`` fills it first), ``fill_stale`` (fill, then
stale), ``not_found`` (``count`` queries, or ``seconds``, or forever; ``on_cancel``),
``fill_during_cancel``, ``expire_on_cancel``, ``cancel_ack_then_fill`` (``fraction``),
``age`` (``seconds``), ``foreign_order`` (another
resting order of the same side and size that the bot does not know, ``offset_ticks`` away).
Global actions: ``lost_create`` (``count``: placed, answer lost), ``reject_create`` (``count``:
the next post-only creates would take liquidity, answered as the venue does: Binance USD-M
-5022, Binance spot -2010 "Order would immediately match and take." (LIMIT_MAKER; the spot face
translates the engine's -5022), Bybit accepts the order and cancels it at once
(``EC_PostOnlyWillTakeLiquidity``); on OKX Freqtrade sends GTC limits, never post-only, so
there is nothing to reject: the rule fires with an ``error``), ``fail`` (``method``, ``path``,
``count``, ``code``, ``http``), ``gateway_error`` (``count``, ``status``, ``method``,
``path``: served, then a gateway's HTML page), ``service_restart`` (Bybit's realtime forgets
closed orders; a no-op elsewhere), ``delay_visibility`` (``seconds``), ``signal`` (``value``,
optional ``pair``: written to the strategy's signal file).
Orders placed by the schedule itself (``foreign_order``) are never counted.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ghostsim.engine import MSG_POST_ONLY, SimExchange
from ghostsim.venues import profile


FOREIGN_PREFIX = "foreign-"
_TRIGGER_KEYS = {"order", "role", "pair", "on", "every", "at_s", "after_s", "do"}
ROLES = ("entry", "exit", "any")
SPOT_VENUES = ("binance-spot",)


def order_role(venue: str, entry: Mapping[str, Any]) -> str:
    """'exit' or 'entry' of a ledger 'new' entry: futures exits are reduce-only; spot has no
    reduce-only and the bot trades long only there, so a SELL is an exit."""
    if entry.get("reduce_only"):
        return "exit"
    return "exit" if venue in SPOT_VENUES and entry.get("side") == "SELL" else "entry"


@dataclass
class Rule:
    """One line of a fault schedule."""

    do: str
    order: int | None = None
    role: str = "entry"
    pair: str | None = None
    on: str = "placed"
    every: bool = False
    at_s: float | None = None
    after_s: float = 0.0
    args: dict[str, Any] = field(default_factory=dict)

    @classmethod
    def parse(cls, raw: Mapping[str, Any]) -> Rule:
        if "do" not in raw:
            raise ValueError(f"fault rule without 'do': {dict(raw)}")
        if raw["do"] not in ACTIONS:
            raise ValueError(f"unknown fault action {raw['do']!r}; known: {sorted(ACTIONS)}")
        rule = cls(
            do=str(raw["do"]),
            order=int(raw["order"]) if "order" in raw else None,
            role=str(raw.get("role", "entry")),
            pair=raw.get("pair"),
            on=str(raw.get("on", "placed")),
            every=bool(raw.get("every", False)),
            at_s=float(raw["at_s"]) if "at_s" in raw else None,
            after_s=float(raw.get("after_s", 0.0)),
            args={k: v for k, v in raw.items() if k not in _TRIGGER_KEYS},
        )
        rule.validate()
        return rule

    def validate(self) -> None:
        if self.role not in ROLES:
            raise ValueError(f"role must be one of {ROLES}, not {self.role!r}")
        if self.on not in ("placed", "filled"):
            raise ValueError(f"on must be 'placed' or 'filled', not {self.on!r}")
        triggers = (self.order is not None) + self.every + (self.at_s is not None)
        if triggers != 1:
            raise ValueError(f"a rule needs exactly one of order / every / at_s: {self}")
        if self.at_s is not None and self.do in ORDER_ACTIONS:
            raise ValueError(f"action {self.do!r} needs an order trigger")

    def applies_to(self, role: str, pair: str) -> bool:
        """An order trigger for orders of this role and pair."""
        return (
            self.at_s is None
            and self.role in ("any", role)
            and (self.pair is None or self.pair == pair)
        )

    def matches(self, role: str, pair: str, seq: int) -> bool:
        return self.applies_to(role, pair) and (self.every or self.order == seq)


@dataclass
class _Due:
    due_ms: int
    rule: Rule
    order_id: int | None


@dataclass
class FiredFault:
    """What the schedule did, for the report."""

    time: int
    action: str
    order_id: int | None
    args: dict[str, Any]


def load_rules(source: str | Path | Iterable[Mapping[str, Any]] | None) -> list[Rule]:
    """Rules from a JSON file path, a JSON string, or a list of dicts."""
    if source is None:
        return []
    is_json = isinstance(source, str) and source.lstrip().startswith("[")
    if isinstance(source, Path) or (isinstance(source, str) and not is_json):
        source = json.loads(Path(source).read_text())
    elif isinstance(source, str):
        source = json.loads(source)
    return [Rule.parse(raw) for raw in source]  # type: ignore[union-attr]


class FaultSchedule:
    """Watches the exchange's ledger and fires the rules' faults at the right moment."""

    def __init__(
        self,
        sim: SimExchange,
        rules: str | Path | Iterable[Mapping[str, Any]] | None = None,
        *,
        signal_file: str | Path | None = None,
    ) -> None:
        self.sim = sim
        self.rules = load_rules(rules)
        self.signal_file = Path(signal_file) if signal_file else None
        self.fired: list[FiredFault] = []
        self.start_ms = sim.now_ms
        self._roles: dict[int, str] = {}
        self._symbols: dict[int, str] = {}
        self._filled: set[int] = set()
        # reject_create on a venue that accepts a crossing post-only and cancels it: how many
        # of the next post-only creates to cancel so (ghostsim.venues: post_only_mode "expire")
        self._cross_next = 0
        self._firing = False  # an action of the schedule is running
        self._due: list[_Due] = [
            _Due(self.start_ms + int(r.at_s * 1000), r, None) for r in self.rules
            if r.at_s is not None
        ]
        self._lock = threading.RLock()
        sim.listeners.append(self._on_ledger)

    def detach(self) -> None:
        if self._on_ledger in self.sim.listeners:
            self.sim.listeners.remove(self._on_ledger)

    # ------------------------------------------------------------------ triggers

    def _on_ledger(self, entry: dict[str, Any]) -> None:
        if entry["event"] == "new" and not str(entry.get("client_order_id", "")).startswith(
            FOREIGN_PREFIX
        ):
            self._on_new(entry)
        elif entry["event"] == "fill" and entry["order_id"] in self._roles:
            if entry["order_id"] not in self._filled:
                self._filled.add(entry["order_id"])
                self._trigger(entry, "filled")
        elif entry["event"] in ("reject", "expired") and entry.get("order_id") in self._roles:
            self._uncount_if_refused(int(entry["order_id"]), entry["event"])

    def _uncount_if_refused(self, order_id: int, event: str) -> None:
        """An order the venue refused as it was created is no order of the schedule's: a
        post-only that would have taken (Binance USD-M: rejected -5022, spot -2010; Bybit and
        OKX: accepted and cancelled at once) because the price moved between the bot's book
        read and its create. Its rules go to the next order, so "order 1 fills" stays true."""
        if self._firing:
            return  # the schedule's own expire
        if event == "expired":
            order = self.sim._orders.get(order_id)
            if order is None or not (order.time_in_force == "GTX" and order.executed_qty == 0
                                     and order.update_time == order.time):
                return
        with self._lock:
            self._roles.pop(order_id, None)
            self._symbols.pop(order_id, None)
            self._due = [d for d in self._due if d.order_id != order_id]
        self.sim.held.discard(order_id)
        self.fired.append(FiredFault(self.sim.now_ms, "uncounted", order_id, {"why": event}))

    def _on_new(self, entry: dict[str, Any]) -> None:
        if self._cross_next > 0 and entry.get("tif") == "GTX":
            self._cross_next -= 1
            self._expire_as_crossing(int(entry["order_id"]))
            return  # like a rejected create elsewhere: not counted
        role = order_role(self.sim.venue, entry)
        with self._lock:
            self._roles[int(entry["order_id"])] = role
            self._symbols[int(entry["order_id"])] = self.sim.spec(entry["symbol"]).symbol
        self._trigger(entry, "placed")

    def _trigger(self, entry: dict[str, Any], on: str) -> None:
        order_id = int(entry["order_id"])
        role = self._roles[order_id]
        pair = self._symbols[order_id]
        with self._lock:
            for rule in self.rules:
                if rule.on != on or not rule.applies_to(role, pair):
                    continue
                seq = self._seq_of(order_id, None if rule.role == "any" else role, rule.pair)
                if rule.matches(role, pair, seq):
                    if rule.args.get("hold", rule.do in HOLDING_ACTIONS):
                        self.sim.hold_order(order_id)  # no fill by the price path meanwhile
                    due = self.sim.now_ms + int(rule.after_s * 1000)
                    self._due.append(_Due(due, rule, order_id))

    def _expire_as_crossing(self, order_id: int) -> None:
        """What the engine does to a crossing post-only on a venue that accepts and then
        cancels it (``post_only_mode == "expire"``): the create's own answer already reads
        EXPIRED, and the venue's face words it as its post-only cancel."""
        order = self.sim._orders.get(order_id)
        if order is not None and order.is_open:
            self.sim.hold_order(order_id)
            self.sim._set_closed(order, "EXPIRED")
            self.fired.append(FiredFault(self.sim.now_ms, "post_only_cancelled", order_id, {}))

    def _seq_of(self, order_id: int, role: str | None, pair: str | None) -> int:
        """1-based number of the order among the counted orders of that role (and pair)."""
        ids = [
            oid for oid, r in self._roles.items()
            if (role is None or r == role)
            and (pair is None or self._symbols[oid] == pair)
        ]
        return sorted(ids).index(order_id) + 1

    # ------------------------------------------------------------------ firing

    def run_due(self) -> int:
        """Fire every rule whose time has come; returns how many fired."""
        with self.sim._lock, self._lock:
            now = self.sim.now_ms
            ready = [d for d in self._due if d.due_ms <= now]
            self._due = [d for d in self._due if d.due_ms > now]
            for due in sorted(ready, key=lambda d: d.due_ms):
                self._fire(due)
            return len(ready)

    def pending(self) -> int:
        with self._lock:
            return len(self._due)

    def _fire(self, due: _Due) -> None:
        action = ACTIONS[due.rule.do]
        args = dict(due.rule.args)
        self._firing = True
        try:
            action(self, due.order_id, due.rule.args)
        except (KeyError, ValueError) as error:  # the order is gone (e.g. rejected): report it
            args["error"] = repr(error)
        finally:
            self._firing = False
        self.fired.append(FiredFault(self.sim.now_ms, due.rule.do, due.order_id, args))

    def write_signal(self, value: str, pair: str | None = None) -> None:
        if self.signal_file is None:
            return
        current: dict[str, Any] = {}
        if self.signal_file.exists():
            current = json.loads(self.signal_file.read_text() or "{}")
        current[pair or "default"] = value
        tmp = self.signal_file.with_suffix(".tmp")
        tmp.write_text(json.dumps(current))
        tmp.replace(self.signal_file)


# ---------------------------------------------------------------------- actions

Action = Callable[[FaultSchedule, "int | None", dict[str, Any]], None]


def _open(sched: FaultSchedule, order_id: int | None) -> Any:
    order = sched.sim._orders.get(int(order_id)) if order_id is not None else None
    return order if order is not None and order.is_open else None


def _hold(s: FaultSchedule, oid: int | None, a: dict[str, Any]) -> None:
    s.sim.hold_order(oid)  # type: ignore[arg-type]


def _close(status: str) -> Action:
    def close(s: FaultSchedule, oid: int | None, a: dict[str, Any]) -> None:
        s.sim.hold_order(oid)  # type: ignore[arg-type]
        if _open(s, oid) is not None:
            s.sim._close_order(oid, status)  # type: ignore[arg-type]
    return close


def _fill(s: FaultSchedule, oid: int | None, a: dict[str, Any]) -> None:
    order = _open(s, oid)
    if order is not None:
        s.sim.fill_order(oid, order.orig_qty * float(a.get("fraction", 1.0)))  # type: ignore[arg-type]


def _partial_cancel(s: FaultSchedule, oid: int | None, a: dict[str, Any]) -> None:
    order = _open(s, oid)
    if order is None:
        return
    s.sim.hold_order(order.order_id)
    qty = round(order.orig_qty * float(a.get("fraction", 0.5)), order.spec.qty_decimals)
    s.sim.fill_order(order.order_id, qty)
    s.sim.cancel_on_exchange(order.order_id)


def _stale(s: FaultSchedule, oid: int | None, a: dict[str, Any]) -> None:
    if a.get("fill"):
        _fill(s, oid, {})
    s.sim.fault_stale_status(oid, str(a.get("status", "CANCELED")))  # type: ignore[arg-type]


def _fill_stale(s: FaultSchedule, oid: int | None, a: dict[str, Any]) -> None:
    _stale(s, oid, {**a, "fill": True})


def _not_found(s: FaultSchedule, oid: int | None, a: dict[str, Any]) -> None:
    assert oid is not None
    count = a.get("count")
    s.sim.fault_not_found(oid, int(count) if count is not None else None,
                          on_cancel=bool(a.get("on_cancel", False)))
    if "seconds" in a:
        rule = Rule(do="clear_not_found", order=1)
        s._due.append(_Due(s.sim.now_ms + int(float(a["seconds"]) * 1000), rule, oid))


def _clear_not_found(s: FaultSchedule, oid: int | None, a: dict[str, Any]) -> None:
    s.sim.faults.not_found.pop(int(oid), None)  # type: ignore[arg-type]


def _age(s: FaultSchedule, oid: int | None, a: dict[str, Any]) -> None:
    s.sim.age_order(oid, float(a.get("seconds", 120)))  # type: ignore[arg-type]


def _foreign_order(s: FaultSchedule, oid: int | None, a: dict[str, Any]) -> None:
    original = s.sim.order(oid)  # type: ignore[arg-type]
    spec = original.spec
    ticks = int(a.get("offset_ticks", 50))
    away = -ticks if original.side == "BUY" else ticks
    order = s.sim.place_order(
        spec.symbol, original.side, original.orig_qty, original.price + away * spec.tick,
        reduce_only=original.reduce_only, client_order_id=f"{FOREIGN_PREFIX}{original.order_id}",
    )
    s.sim.hold_order(order.order_id)


def _lost_create(s: FaultSchedule, oid: int | None, a: dict[str, Any]) -> None:
    s.sim.fault_lost_create(int(a.get("count", 1)))


def _reject_create(s: FaultSchedule, oid: int | None, a: dict[str, Any]) -> None:
    count = int(a.get("count", 1))
    if profile(s.sim.venue).time_in_force != "PO":
        raise ValueError(f"{s.sim.venue}: Freqtrade sends no post-only order here, a crossing "
                         "limit takes; nothing to reject")
    if s.sim.post_only_mode == "expire":  # Bybit: accepted, then cancelled by the venue
        s._cross_next += count
        return
    # Binance USD-M -5022; the spot face answers it as -2010 (ENGINE_TO_SPOT)
    s.sim.fault_fail("POST", "/fapi/v1/order", count, code=-5022, http=400,
                     msg=MSG_POST_ONLY)


def _fail(s: FaultSchedule, oid: int | None, a: dict[str, Any]) -> None:
    s.sim.fault_fail(a.get("method"), a.get("path"), int(a.get("count", 1)),
                     code=int(a.get("code", -1001)), http=int(a.get("http", 503)))


def _delay_visibility(s: FaultSchedule, oid: int | None, a: dict[str, Any]) -> None:
    s.sim.fault_delay_visibility(float(a.get("seconds", 5)))


def _signal(s: FaultSchedule, oid: int | None, a: dict[str, Any]) -> None:
    s.write_signal(str(a["value"]), a.get("pair"))


ACTIONS: dict[str, Action] = {
    "hold": _hold,
    "expire": _close("EXPIRED"),
    "cancel": _close("CANCELED"),
    "fill": _fill,
    "partial_cancel": _partial_cancel,
    "stale": _stale,
    "fill_stale": _fill_stale,
    "not_found": _not_found,
    "clear_not_found": _clear_not_found,
    "fill_during_cancel": lambda s, oid, a: s.sim.fault_fill_during_cancel(oid),  # type: ignore[arg-type]
    "expire_on_cancel": lambda s, oid, a: s.sim.fault_expire_on_cancel(oid),  # type: ignore[arg-type]
    "cancel_ack_then_fill": lambda s, oid, a: s.sim.fault_cancel_ack_then_fill(
        oid, float(a.get("fraction", 1.0))),  # type: ignore[arg-type]
    "gateway_error": lambda s, oid, a: s.sim.fault_gateway_error(
        int(a.get("count", 1)), int(a.get("status", 502)), method=a.get("method", "POST"),
        path=a.get("path", "/fapi/v1/order")),
    "service_restart": lambda s, oid, a: s.sim.fault_service_restart(),
    "age": _age,
    "foreign_order": _foreign_order,
    "lost_create": _lost_create,
    "reject_create": _reject_create,
    "fail": _fail,
    "delay_visibility": _delay_visibility,
    "signal": _signal,
}
# The order is held from the moment the rule triggers (unless the rule says "hold": false), so
# that the price path cannot fill it before the delayed action happens.
HOLDING_ACTIONS = {"expire", "cancel", "partial_cancel"}
ORDER_ACTIONS = {
    "hold", "expire", "cancel", "fill", "partial_cancel", "stale", "fill_stale", "not_found",
    "clear_not_found", "fill_during_cancel", "expire_on_cancel", "age", "foreign_order",
    "cancel_ack_then_fill",
}

__all__ = ["ACTIONS", "FaultSchedule", "FiredFault", "Rule", "load_rules", "order_role"]
