"""The fault-injection API of the simulated exchange (``sim.fault_*``)."""

from __future__ import annotations

from collections.abc import Iterable

from ghostsim.faults import FailRule, Faults, NotFoundRule
from ghostsim.views import VIEWS


# Binance USD-M general-info, "HTTP Return Codes": "HTTP 503 return code is used when: If there
# is an error message 'Unknown error, please check your request or try again later.' returned in
# the response, the API successfully sent the request but not get a response within the timeout
# period. It is important to NOT treat this as a failure operation; the execution status is
# UNKNOWN and could have been a success". Error-code page: -1007 TIMEOUT "Timeout waiting for
# response from backend server. Send status unknown; execution status unknown." The body's code
# for the 503 message is not documented; -1000 UNKNOWN is Binance's generic code.
UNKNOWN_OUTCOMES: dict[str, tuple[int, int, str]] = {
    "503": (503, -1000, "Unknown error, please check your request or try again later."),
    "-1007": (408, -1007, "Timeout waiting for response from backend server. Send status "
                          "unknown; execution status unknown."),
}
# general-info "Limits": "The limits on the API are based on the IPs ... A 429 will be returned
# when either rate limit is violated." "Repeatedly violating rate limits and/or failing to back
# off after receiving 429s will result in an automated IP ban (HTTP status 418)." Both carry
# -1003 TOO_MANY_REQUESTS.
MSG_429 = ("Too many requests; current limit is 2400 requests per minute. Please use the "
           "websocket for live updates to avoid polling the API.")
MSG_418 = ("Way too many requests; IP(127.0.0.1) banned until {until}. Please use the websocket "
           "for live updates to avoid bans.")


class FaultApiMixin:
    """Scriptable faults; each consumes itself or lasts until ``clear_faults``."""

    def fault_stale_status(self, order_id: int | str, status: str = "CANCELED") -> None:
        """GET of that order answers ``status`` with executedQty 0 until cleared."""
        self.faults.stale_status[int(order_id)] = status

    def fault_not_found(
        self, order_id: int | str, count: int | None = 1, *, on_cancel: bool = False
    ) -> None:
        """Next ``count`` GETs (None = forever) answer -2013.

        With ``on_cancel`` DELETEs answer -2011 too (and consume the count).
        """
        self.faults.not_found[int(order_id)] = NotFoundRule(count, on_cancel)

    def fault_fill_during_cancel(self, order_id: int | str) -> None:
        """A DELETE of that order fills it first, then answers -2011 'Unknown order sent.'."""
        self.faults.fill_during_cancel.add(int(order_id))

    def fault_expire_on_cancel(self, order_id: int | str) -> None:
        """A DELETE of that order finds it already EXPIRED and answers -2011."""
        self.faults.expire_on_cancel.add(int(order_id))

    def fault_fail(
        self,
        method: str | None,
        path: str | None,
        count: int = 1,
        code: int = -1001,
        http: int = 503,
        msg: str = "Internal error; unable to process your request. Please try again.",
    ) -> None:
        """The next ``count`` matching requests fail with that error (None matches any)."""
        self.faults.fail_rules.append(FailRule(method, path, count, code, http, msg))

    def fault_lost_create(self, count: int = 1) -> None:
        """The next ``count`` POST orders are placed but their answers are lost (timeout)."""
        self.faults.lost_create += count

    def fault_lagging_trades(self, seconds: float) -> None:
        """The account's trade list (Binance userTrades, and every venue face's trades read,
        which all come from it) shows a fill only ``seconds`` sim seconds after it happened;
        0 turns the lag off. The order and position views are unaffected (see
        ``fault_lagging_views``)."""
        self.faults.trades_lag_ms = max(0, int(seconds * 1000))

    def fault_slow_creates(self, trips_s: Iterable[float]) -> None:
        """The next creates take these trips to the exchange: each arrives (and is stamped by
        the exchange's clock) that many sim seconds after it was sent, the sim clock moving on
        meanwhile. A client's clock and the exchange's then disagree by a varying delay."""
        self.faults.create_trip_ms.extend(max(0, int(s * 1000)) for s in trips_s)

    def fault_delay_visibility(self, seconds: float) -> None:
        """New orders appear in /openOrders only ``seconds`` sim seconds after placement."""
        self.faults.visibility_delay_ms = int(seconds * 1000)

    def clear_faults(self, order_id: int | str | None = None) -> None:
        if order_id is None:
            self.faults = Faults()
            return
        oid = int(order_id)
        self.faults.stale_status.pop(oid, None)
        self.faults.not_found.pop(oid, None)
        self.faults.fill_during_cancel.discard(oid)
        self.faults.expire_on_cancel.discard(oid)

    def fault_lagging_views(
        self, seconds: float, views: Iterable[str] | None = None
    ) -> None:
        """Position / open-orders / order-status reads show the state ``seconds`` ago
        (``views`` picks some of "position", "open_orders", "order"; 0 turns the lag off)."""
        for view in VIEWS if views is None else tuple(views):
            if view not in VIEWS:
                raise ValueError(f"unknown view {view!r} (one of {VIEWS})")
            self.faults.view_lag_ms[view] = int(seconds * 1000)

    def fault_unknown_create(self, count: int = 1, kind: str = "503") -> None:
        """The next ``count`` creates are PLACED, then answered with an unknown-outcome error:
        ``kind`` "503" (HTTP 503 "Unknown error, ...") or "-1007" (backend timeout)."""
        self.faults.unknown_creates.extend([UNKNOWN_OUTCOMES[kind]] * count)

    def fault_rate_limit(self, count: int = 1, *, ban_s: float = 0.0) -> None:
        """The next ``count`` requests (any endpoint) answer HTTP 429 -1003; with ``ban_s`` every
        request in the next ``ban_s`` sim seconds answers HTTP 418 -1003 (an IP ban) instead."""
        if ban_s > 0:
            self.faults.banned_until_ms = self.now_ms + int(ban_s * 1000)
            return
        self.faults.fail_rules.append(FailRule(None, None, count, -1003, 429, MSG_429))

