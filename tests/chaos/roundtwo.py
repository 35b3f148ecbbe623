"""The ninth stream of each seed: the simulator's round-two faults (docs/simulator.md, "Round
two"), drawn from ``random.Random(f"ghostguard-roundtwo-{seed}")`` so every earlier draw of a
seed is unchanged (``python -m tests.chaos --round-two``, ``make chaos``).

Run settings (``Schedule`` flags): venue-shaped order ids (Bybit UUIDs, OKX long ordIds), the
venue's request budget enforced (429 / 418, 10006 / 403, 50011 from load, not from a script),
and the sim clock moving while Freqtrade sleeps (its retry back-off, its re-fetch after a cancel:
a lagging view may clear inside the loop). Events: the readings of what the venues leave
undocumented (an oversized reduce-only refused or trimmed, Bybit's execution list by order id
windowed or not, a client id reused after a cancel refused or not), a cancel acknowledged
although the order filled first, Bybit's order service restarting, a gateway's bare 502 / 503 /
504 page after the venue did the work.
"""

from __future__ import annotations

import random
from typing import TYPE_CHECKING, Any


if TYPE_CHECKING:
    from tests.chaos.schedule import Schedule


ROUND_TWO_KINDS: dict[str, str] = {
    "venue_ids": "the venue's own order ids (Bybit UUIDs, OKX 19-digit ordIds; ninth stream)",
    "rate_limits": "the venue's request budget enforced (429 / 418 ban, 10006 / 403, 50011), "
    "all of it or a share of 1/4 or 1/10 (other bots on the IP and account use the rest)",
    "answered_rate_limit": "requests the venue refused over its budget (count)",
    "ip_bans": "IP bans the venue imposed for load (Binance 418, Bybit 403; count)",
    "ban_waited_out": "schedules whose settle waited out an IP ban still in force",
    "clock_in_sleeps": "the sim clock moves while Freqtrade sleeps (retry back-off, re-fetch)",
    "readings": "undocumented rules read one way or the other: oversized reduce-only refused "
    "or trimmed, execution list by order id windowed, client id reuse strict",
    "cancel_ack_fill": "the next cancel of an open order is acknowledged although the order "
    "filled (wholly or partly) just before it",
    "service_restart": "Bybit restarts its order service: realtime forgets closed orders",
    "gateway_error": "a request is served, then answered by a gateway's bare 502/503/504 page",
}

# "off": the earlier campaigns' schedules; "on": drawn (`python -m tests.chaos --round-two`).
ROUND_TWO_SET = "off"
GATEWAY_TARGETS = (
    ("POST", "/fapi/v1/order"),  # a create that placed the order
    ("POST", "/fapi/v1/order"),
    ("DELETE", "/fapi/v1/order"),  # a cancel that took effect
    ("GET", "/fapi/v1/order"),  # an order read
    (None, None),  # the next request, whatever it is
)


# The simulator's readings of what the venues leave undocumented (ghostsim.readings), each
# drawn from its values in this order.
READINGS: dict[str, tuple[str, str]] = {
    "reduce_only_oversize": ("refuse", "trim"),
    "executions_by_order": ("all", "window"),
    "client_id_reuse": ("open", "strict"),
}


def _readings(rng: random.Random, step: int) -> dict[str, Any]:
    return {"step": step, "kind": "readings",
            **{name: rng.choice(values) for name, values in READINGS.items()}}


def add_venue_faults(schedule: Schedule) -> Schedule:
    """Draw the round-two faults from a ninth stream of the seed (every earlier draw
    unchanged)."""
    if ROUND_TWO_SET != "on":
        return schedule
    rng = random.Random(f"ghostguard-roundtwo-{schedule.seed}")
    schedule.venue_ids = rng.random() < 0.5
    # The budget enforced: all of it, or the share other bots on the IP and account leave.
    schedule.rate_limits = rng.choice([0.0, 0.0, 1.0, 0.25, 0.1])
    schedule.clock_in_sleeps = rng.random() < 0.6
    steps = schedule.steps
    schedule.events.append(_readings(rng, 0))
    if rng.random() < 0.25:
        schedule.events.append(_readings(rng, rng.randrange(steps)))
    for _ in range(rng.choice([0, 0, 1, 1, 2])):
        schedule.events.append({
            "step": rng.randrange(steps), "kind": "cancel_ack_fill",
            "role": "entry" if rng.random() < 0.75 else "exit",
            "which": "newest" if rng.random() < 0.8 else "oldest",
            "fraction": rng.choice([1.0, 1.0, 0.5]),
            "trigger": rng.choice(["timeout", "reprice", "reprice", "none"]),
        })
    if rng.random() < 0.3:
        schedule.events.append({"step": rng.randrange(steps), "kind": "service_restart"})
    if rng.random() < 0.35:
        method, path = rng.choice(GATEWAY_TARGETS)
        schedule.events.append({
            "step": rng.randrange(steps), "kind": "gateway_error",
            "count": rng.choice([1, 1, 2]), "status": rng.choice([502, 504, 503]),
            "method": method, "path": path,
        })
    return schedule


class RoundTwoMixin:
    """Applies the ninth stream's events (part of the run's state, tests.chaos.runner._Run)."""

    sim: Any
    spec: Any
    pair: str
    step: int
    later: list[tuple[int, str]]

    def _target(self, event: dict[str, Any]) -> Any:
        raise NotImplementedError

    def arm_cancel(self, order: Any, trigger: str) -> str:
        raise NotImplementedError

    def apply_round_two(self, event: dict[str, Any]) -> str | None:
        """Apply one ninth-stream event; the note, or None when it had nothing to act on."""
        kind = event["kind"]
        sim = self.sim
        if kind == "readings":
            for name in READINGS:
                setattr(sim.readings, name, event[name])
            return (f"readings: oversized reduce-only {event['reduce_only_oversize']}, "
                    f"executions by order {event['executions_by_order']}, client id reuse "
                    f"{event['client_id_reuse']}")
        if kind == "cancel_ack_fill":
            order = self._target(event)
            if order is None:
                return None
            sim.fault_cancel_ack_then_fill(order.order_id, event["fraction"])
            armed = self.arm_cancel(order, event["trigger"])
            return (f"cancel_ack_fill {event['role']} order {order.order_id}: the next cancel is "
                    f"acknowledged after {event['fraction']:g} of it fills; {armed}")
        if kind == "service_restart":
            if not sim.fault_service_restart():
                return None
            return "service_restart: realtime forgets every order closed before now"
        if kind == "gateway_error":
            sim.fault_gateway_error(event["count"], event["status"], method=event["method"],
                                    path=event["path"])
            return (f"gateway_error: the next {event['count']} {event['method'] or 'any'} "
                    f"{event['path'] or 'request'} served, answered {event['status']} (HTML)")
        raise ValueError(kind)


__all__ = ["ROUND_TWO_KINDS", "ROUND_TWO_SET", "RoundTwoMixin", "add_venue_faults"]
