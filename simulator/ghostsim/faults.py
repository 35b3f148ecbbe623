"""Scriptable faults of the simulated exchange. Each fault consumes itself."""

from __future__ import annotations

from dataclasses import dataclass, field


class LostResponse(Exception):
    """The request reached the exchange (and took effect) but its answer was lost.

    The transport turns this into ``ccxt.RequestTimeout``.
    """


class GatewayAnswer(LostResponse):
    """The request took effect, then a gateway in front of the venue answered a bare HTTP error
    page (``fault_gateway_error``) instead of the venue's JSON."""

    def __init__(self, status: int, page: str) -> None:
        super().__init__(f"HTTP {status} from the gateway")
        self.status = status
        self.page = page


@dataclass
class GatewayRule:
    """Answer the next ``remaining`` matching requests with a gateway page (after serving them)."""

    method: str | None
    path: str | None
    remaining: int
    status: int

    def matches(self, method: str, path: str) -> bool:
        return (self.method is None or self.method == method) and (
            self.path is None or self.path == path
        )


@dataclass
class FailRule:
    """Fail the next ``remaining`` requests matching method and path."""

    method: str | None
    path: str | None
    remaining: int
    code: int
    http: int
    msg: str

    def matches(self, method: str, path: str) -> bool:
        return (self.method is None or self.method == method) and (
            self.path is None or self.path == path
        )


@dataclass
class NotFoundRule:
    """Answer 'order does not exist' for an order that exists."""

    remaining: int | None  # None = forever
    on_cancel: bool


@dataclass
class Faults:
    """All pending faults."""

    stale_status: dict[int, str] = field(default_factory=dict)
    not_found: dict[int, NotFoundRule] = field(default_factory=dict)
    fill_during_cancel: set[int] = field(default_factory=set)
    expire_on_cancel: set[int] = field(default_factory=set)
    fail_rules: list[FailRule] = field(default_factory=list)
    lost_create: int = 0
    visibility_delay_ms: int = 0
    # ghostsim.views: view name -> lag in sim ms ("position", "open_orders", "order").
    view_lag_ms: dict[str, int] = field(default_factory=dict)
    # Creates that are placed but answered with an error whose outcome is unknown.
    unknown_creates: list[tuple[int, int, str]] = field(default_factory=list)
    banned_until_ms: int = 0  # an IP ban (HTTP 418) lasts until then
    # The trade list (every venue's trades/fills read) shows a fill only this long after it.
    trades_lag_ms: int = 0
    # The next creates' trips to the exchange, in sim ms: each arrives that long after it left.
    create_trip_ms: list[int] = field(default_factory=list)
    # Orders whose cancel is acknowledged although they fill first (fault_cancel_ack_then_fill):
    # order id -> the fraction of the remaining quantity that fills.
    cancel_ack_fill: dict[int, float] = field(default_factory=dict)
    gateway_rules: list[GatewayRule] = field(default_factory=list)

    def take_fail(self, method: str, path: str) -> FailRule | None:
        for rule in self.fail_rules:
            if rule.remaining > 0 and rule.matches(method, path):
                rule.remaining -= 1
                return rule
        self.fail_rules = [r for r in self.fail_rules if r.remaining > 0]
        return None

    def take_not_found(self, order_id: int, *, cancel: bool) -> bool:
        rule = self.not_found.get(order_id)
        if rule is None or (cancel and not rule.on_cancel):
            return False
        if rule.remaining is not None:
            rule.remaining -= 1
            if rule.remaining <= 0:
                del self.not_found[order_id]
        return True

    def take_gateway(self, method: str, path: str) -> GatewayRule | None:
        for rule in self.gateway_rules:
            if rule.remaining > 0 and rule.matches(method, path):
                rule.remaining -= 1
                self.gateway_rules = [r for r in self.gateway_rules if r.remaining > 0]
                return rule
        return None

    def take_create_trip(self) -> int:
        return self.create_trip_ms.pop(0) if self.create_trip_ms else 0

    def take_unknown_create(self) -> tuple[int, int, str] | None:
        return self.unknown_creates.pop(0) if self.unknown_creates else None

    def take_lost_create(self) -> bool:
        if self.lost_create > 0:
            self.lost_create -= 1
            return True
        return False
