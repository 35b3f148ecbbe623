"""The campaign's events: what each kind of fault does to the simulator or the bot."""

from __future__ import annotations

import time
from typing import Any

from freqtrade.persistence import Trade

from tests.chaos.schedule import OTHER_BOT_PREFIX
from tests.strategies.ScriptedMakerStrategy import SCRIPT


ROUND_TWO_EVENTS = frozenset({"readings", "cancel_ack_fill", "service_restart", "gateway_error"})
EXIT_KINDS = frozenset(
    {"resting_dca", "stop_trigger", "trades_outage", "transient_read", "store_fail"}
)


def _signal(script: dict[str, Any], to: str) -> None:
    script.update(enter_long=0, enter_short=0, exit_long=0, exit_short=0)
    if to == "long":
        script["enter_long"] = 1
    elif to == "short":
        script["enter_short"] = 1
    elif to == "exit":
        script.update(exit_long=1, exit_short=1)



def is_other_bots(order: Any) -> bool:
    """An order of the other bot on the account (the eighth stream): its client id's tag."""
    return str(getattr(order, "client_order_id", "") or "").startswith(OTHER_BOT_PREFIX)

class SimulatedCrash(BaseException):
    """The process dies (like KeyboardInterrupt / SIGKILL): nothing in Freqtrade catches it."""


class EventsMixin:
    """``apply`` one schedule event; undo timed faults later (part of the run's state)."""

    sim: Any
    spec: Any
    result: Any
    bot: Any
    step: int
    reprice: bool
    dca_ever: bool
    hidden_trades: set[int]
    unindexed: dict[int, str]
    hide_next_lost: bool
    force_exit_due: Any
    triggers: list[dict[str, Any]]
    later: list[tuple[int, str]]
    rapid_until: int
    records: list[Any]
    pair: str
    pairs: tuple[str, ...]


    def _on_ledger(self, entry: dict[str, Any]) -> None:
        if entry.get("event") == "lost_response" and self.hide_next_lost:
            self.hide_next_lost = False
            order = self.sim.order(entry["order_id"])
            self.unindexed[order.order_id] = order.client_order_id

    def _unindexed_answer(
        self, method: str, path: str, args: tuple[Any, ...], status: int, body: Any
    ) -> tuple[int, Any]:
        """What a read answers while the exchange's read side has not indexed the lost create
        yet: not found by id or client id, absent from every list (its own fills too)."""
        params = args[0] if args and isinstance(args[0], dict) else {}
        hidden_ids = {str(i) for i in self.unindexed}
        hidden_cids = set(self.unindexed.values())
        if method == "GET" and path == "/fapi/v1/order" and (
            str(params.get("orderId")) in hidden_ids
            or params.get("origClientOrderId") in hidden_cids
        ):
            return 400, {"code": -2013, "msg": "Order does not exist."}
        if method == "GET" and isinstance(body, list) and path in (
            "/fapi/v1/openOrders", "/fapi/v1/allOrders", "/fapi/v1/userTrades"
        ):
            body = [o for o in body if str(o.get("orderId")) not in hidden_ids]
        return status, body

    def _targets(self, role: str) -> list[Any]:
        """The bot's open orders of a role (never the other bot's: its faults are its own)."""
        exit_role = role == "exit"
        return sorted(
            (o for o in self.sim.open_orders(self.pair)
             if self.is_exit(o) == exit_role and not is_other_bots(o)),
            key=lambda o: o.order_id,
        )

    def _other_bot(self, event: dict[str, Any]) -> str:
        """Another bot of the account places an order on the pair with its own tag: resting
        away from the book, then filled in part or whole (or left resting)."""
        sim, spec = self.sim, self.spec
        mine = [o.orig_qty for o in sim.orders if o.spec.symbol == self.pair
                and not is_other_bots(o)]
        qty = max(mine[:1] or [spec.min_qty * 4])
        bid, ask = sim.best_bid_ask(self.pair)
        price = bid - 200 * spec.tick if event["side"] == "BUY" else ask + 200 * spec.tick
        self.other_count += 1
        client_id = f"{OTHER_BOT_PREFIX}{self.other_count:012x}e0"
        order = sim.place_order(self.pair, event["side"], qty, price, client_order_id=client_id)
        sim.hold_order(order.order_id)
        fill = float(event["fill"])
        if fill > 0:
            sim.fill_order(order.order_id, qty if fill >= 1 else self._part(order, fill))
        return (f"other_bot: order {order.order_id} {event['side']} {qty:g} ({client_id}), "
                f"filled {order.executed_qty:g}")

    def is_exit(self, order: Any) -> bool:
        """Futures: reduce-only orders exit. Spot has no reduce-only: a sell exits."""
        return bool(order.side == "SELL") if self.spot else bool(order.reduce_only)

    def _target(self, event: dict[str, Any]) -> Any:
        orders = self._targets(event.get("role", "entry"))
        if not orders:
            return None
        return orders[-1] if event.get("which", "newest") == "newest" else orders[0]

    def _part(self, order: Any, fraction: float) -> float:
        step = self.spec.step
        qty = int(order.remaining * fraction / step + 1e-9) * step
        return round(max(qty, step), 8)

    def _race_fill(self, trig: dict[str, Any]) -> None:
        order = self._target(trig)
        if order is None:
            self.result.skipped["race_fill"] += 1
            return
        qty = order.remaining if trig["fraction"] >= 1 else self._part(order, trig["fraction"])
        self.sim.fill_order(order.order_id, qty)
        self.result.applied["race_fill"] += 1
        self.note(
            f"race_fill: {order.order_id} filled {qty:g} while {trig['method']} {trig['path']}"
            f" #{trig['nth']} was in flight"
        )

    def _age_for_timeout(self) -> float:
        skew = max(0.0, self.sim.now_ms / 1000.0 - time.time())
        return 660.0 + skew

    def apply(self, event: dict[str, Any]) -> None:
        kind = event["kind"]
        sim = self.sim
        script = SCRIPT
        applied = True
        text = kind
        if kind == "signal":
            _signal(script, event["to"])
            text = f"signal -> {event['to']}"
        elif kind == "reprice":
            self.reprice = bool(event["on"])
            script["reprice"] = self.reprice
            text = f"reprice {'on' if self.reprice else 'off'}"
        elif kind == "dca":
            script["dca"] = bool(event["on"])
            self.dca_ever = self.dca_ever or script["dca"]
            text = f"dca {'on' if script['dca'] else 'off'}"
        elif kind == "price":
            new = sim.price(self.pair) + event["ticks"] * self.spec.tick
            sim.set_price(self.pair, new)
            text = f"price -> {self.spec.round_price(new)}"
        elif kind == "other_bot":
            text = self._other_bot(event)
        elif kind == "fail":
            sim.fault_fail(event["method"], event["path"], count=event["count"])
            text = f"fail {event['method']} {event['path']} x{event['count']}"
        elif kind == "lost_create":
            sim.fault_lost_create(event["count"])
            text = f"lost_create x{event['count']}"
        elif kind == "delay_visibility":
            sim.fault_delay_visibility(event["seconds"])
            self.later.append((self.step + event["for_steps"], "visibility"))
            text = f"delay_visibility {event['seconds']}s for {event['for_steps']} steps"
        elif kind == "restart":
            self._restart(crashed=False)
            return
        elif kind == "lagging_views":
            views = None if event["views"] == "all" else (event["views"],)
            sim.fault_lagging_views(event["seconds"], views)
            self.later.append((self.step + event["for_steps"], "lag"))
            text = f"lagging_views {event['views']} {event['seconds']}s for {event['for_steps']}"
        elif kind == "unknown_create":
            sim.fault_unknown_create(event["count"], event["answer"])
            text = f"unknown_create {event['answer']} x{event['count']}"
        elif kind == "rate_limit":
            if event["ban_s"]:
                sim.fault_rate_limit(ban_s=event["ban_s"])
                text = f"rate_limit: 418 ban for {event['ban_s']}s"
            else:
                sim.fault_rate_limit(event["count"])
                text = f"rate_limit: 429 x{event['count']}"
        elif kind == "force_exit":
            trades = [t for t in Trade.get_open_trades() if t.pair == self.pair]
            if not trades or self.bot is None:
                self.result.skipped[kind] += 1
                self.note("force_exit: no open trade (skipped)")
                return
            trade_id = int(trades[0].id)  # read now: the exit may delete the trade
            forced = (trade_id, trades[0].open_date)  # ids are reused after a delete
            self.force_exit_due = (self.step, len(self.sim.requests), forced, len(self.records))
            try:
                self.bot.rpc._rpc._rpc_force_exit(str(trade_id))
                text = f"force_exit of trade {trade_id}"
            except Exception as error:  # noqa: BLE001 - Freqtrade refused: (e) still checks
                why = getattr(error, "message", None) or type(error).__name__
                text = f"force_exit of trade {trade_id} answered {why}"
        elif kind == "restart_unassigned_fee":
            orders = [o for o in self.sim.orders
                      if o.spec.symbol == self.pair and not is_other_bots(o)]
            if not orders:
                self.result.skipped[kind] += 1
                self.note("restart_unassigned_fee: no order yet (skipped)")
                return
            # Fills so far carry no fee Freqtrade can read; the newest order cannot be found.
            self.hidden_trades = {o.order_id for o in orders}
            self.later.append((self.step + event["for_steps"], "show_trades"))
            newest = orders[-1]
            self.sim.fault_not_found(newest.order_id, event["count"])
            self.result.applied[kind] += 1
            self.note(
                f"restart_unassigned_fee: trades hidden for {event['for_steps']} steps, order "
                f"{newest.order_id} -2013 x{event['count'] or 'forever'}, restart"
            )
            self._restart(crashed=False)
            return
        elif kind == "archive_downtime":
            self.result.applied[kind] += 1
            self.note(f"archive_downtime: bot down {event['days']} days")
            sim.advance(event["days"] * 86_400)
            self._restart(crashed=False)
            return
        elif kind == "crash_before_send":
            guard = self._guard_obj()
            if guard is None or not hasattr(guard, "before_send"):
                applied = False
                text = "crash_before_send: guard has no before_send hook (skipped)"
            else:

                def crash() -> None:
                    raise SimulatedCrash("crash between approved and sent")

                guard.before_send = crash
                self.later.append((self.step + event["for_steps"], "disarm"))
                text = f"crash_before_send armed for {event['for_steps']} steps"
        elif kind == "second_pair_fill":
            others = [o for p in self.pairs[1:] for o in self.sim.open_orders(p)]
            if not others:
                self.result.skipped[kind] += 1
                self.note("second_pair_fill: no open order on the second pair (skipped)")
                return
            order = max(others, key=lambda o: o.order_id)
            step = order.spec.step
            qty = order.remaining
            if event["fraction"] < 1:
                qty = round(max(int(qty * event["fraction"] / step + 1e-9) * step, step), 8)
            sim.fill_order(order.order_id, qty)
            text = f"second_pair_fill: {order.spec.symbol} order {order.order_id} filled {qty:g}"
        elif kind == "retried_create":
            # The next create is placed but its answer is lost, and the lookup by client id
            # does not see it yet: a retry with the same id meets -4116 while it is open.
            sim.fault_lost_create(1)
            self.hide_next_lost = True
            self.later.append((self.step + event["for_steps"], "index"))
            text = f"retried_create: lost create, unseen by reads for {event['for_steps']} steps"
        elif kind == "slow_create":
            sim.fault_slow_creates(event["trips_s"])
            rapid = int(event.get("rapid_steps", 0))
            self.rapid_until = max(self.rapid_until, self.step + rapid)
            text = (
                f"slow_create: the next creates arrive {event['trips_s']} s after sending;"
                f" rapid cancellations for {rapid} steps"
            )
        elif kind == "lagging_trades":
            sim.fault_lagging_trades(event["seconds"])
            self.later.append((self.step + event["for_steps"], "trades_lag"))
            text = f"lagging_trades {event['seconds']}s for {event['for_steps']} steps"
        elif kind in ROUND_TWO_EVENTS or kind in EXIT_KINDS:
            mixin: Any = self  # RoundTwoMixin and ExitsMixin apply their own kinds
            apply = mixin.apply_round_two if kind in ROUND_TWO_EVENTS else mixin.apply_exit_event
            note = apply(event)
            if note is None:
                self.result.skipped[kind] += 1
                self.note(f"{kind}: nothing to act on (skipped)")
                return
            text = note
        elif kind == "race_fill":
            self.triggers.append({**event, "seen": 0, "fired": False})
            text = f"race_fill armed on {event['method']} {event['path']} #{event['nth']}"
        else:
            order = self._target(event)
            if order is None:
                self.result.skipped[kind] += 1
                self.note(f"{kind} {event.get('role')}: no open order (skipped)")
                return
            oid = order.order_id
            text = f"{kind} {event.get('role')} order {oid} (qty {order.orig_qty:g})"
            if kind == "fill":
                sim.fill_order(oid)
            elif kind == "partial":
                qty = self._part(order, event["fraction"])
                sim.fill_order(oid, qty)
                text += f" filled {qty:g}"
            elif kind == "expire":
                sim.expire_order(oid)
            elif kind == "cancel":
                sim.cancel_on_exchange(oid)
            elif kind == "timeout":
                sim.age_order(oid, self._age_for_timeout())
            elif kind == "stale_filled":
                if event["fraction"] >= 1:
                    sim.fill_order(oid)
                else:
                    sim.fill_order(oid, self._part(order, event["fraction"]))
                    if order.is_open:
                        sim.cancel_on_exchange(oid)
                sim.fault_stale_status(oid, event["status"])
                text += f" filled {order.executed_qty:g}, answers {event['status']} filled=0"
            elif kind == "not_found":
                sim.fault_not_found(oid, event["count"], on_cancel=event["on_cancel"])
                then = event["then"]
                if then == "fill":
                    sim.fill_order(oid)
                elif then == "partial":
                    sim.fill_order(oid, self._part(order, 0.5))
                elif then == "cancel":
                    sim.cancel_on_exchange(oid)
                elif then == "expire":
                    sim.expire_order(oid)
                count = "forever" if event["count"] is None else event["count"]
                text += f" -2013 x{count} on_cancel={event['on_cancel']} then {then}"
            elif kind == "fill_during_cancel":
                sim.fault_fill_during_cancel(oid)
                text += f" {self.arm_cancel(order, event['trigger'])}"
        if applied:
            self.result.applied[kind] += 1
        else:
            self.result.skipped[kind] += 1
        self.note(text)

    def arm_cancel(self, order: Any, trigger: str) -> str:
        """Make Freqtrade cancel ``order`` soon: "timeout" ages it past unfilledtimeout,
        "reprice" makes it a candle old with the book moved away and re-pricing on for a step,
        "none" leaves the cancel to whatever comes."""
        sim = self.sim
        if trigger == "timeout":
            sim.age_order(order.order_id, self._age_for_timeout())
        elif trigger == "reprice":
            sim.age_order(order.order_id, 120)
            SCRIPT["reprice"] = True
            self.later.append((self.step + 1, "reprice_restore"))
            away = 3 if order.side == "BUY" else -3
            sim.set_price(self.pair, sim.price(self.pair) + away * self.spec.tick)
        return f"trigger={trigger}"

    def _undo_later(self) -> None:
        keep = []
        for at, action in self.later:
            if at > self.step:
                keep.append((at, action))
                continue
            if action == "visibility":
                self.sim.fault_delay_visibility(0)
            elif action == "lag":
                self.sim.fault_lagging_views(0)
            elif action == "trades_lag":
                self.sim.fault_lagging_trades(0)
            elif action == "disarm":
                guard = self._guard_obj()
                if guard is not None and hasattr(guard, "before_send"):
                    guard.before_send = None
            elif action == "index":
                self.unindexed = {}
                self.hide_next_lost = False
            elif action == "show_trades":
                self.hidden_trades = set()
            elif action == "reprice_restore":
                SCRIPT["reprice"] = self.reprice
            else:
                self.undo_exit_fault(action)  # type: ignore[attr-defined]
        self.later = keep

    RAPID_ADVANCE_S = 0.5  # sim seconds between the loops of rapid cancellations

    def _rapid_tick(self) -> None:
        """Rapid cancellations (slow_create's rapid_steps): the exchange expires the newest open
        order before the loop (scenario 6, with creates that each take their own trip)."""
        orders = sorted(
            (o for o in self.sim.open_orders(self.pair)
             if o.type == "LIMIT" and not is_other_bots(o)),
            key=lambda o: o.order_id,
        )
        if orders:
            self.sim.expire_order(orders[-1].order_id)
            self.note(f"rapid cancellation: order {orders[-1].order_id} expired")

    def _reprice_tick(self) -> None:
        """Re-pricing every candle: open orders look a candle old and the book moves away."""
        for order in self.sim.open_orders(self.pair):
            if not is_other_bots(order):
                self.sim.age_order(order.order_id, 70)
        direction = 1 if (self.step % 2 == 0) else -1
        self.sim.set_price(self.pair, self.sim.price(self.pair) + direction * 2 * self.spec.tick)

