"""The fault-injection API of the simulated exchange (``sim.fault_*``)."""

from __future__ import annotations

from collections.abc import Iterable

from ghostsim.faults import FailRule, Faults, GatewayRule, NotFoundRule
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
# A gateway in front of the venue (a load balancer / CDN) answering for a venue that did the
# work: a bare HTML error page, not the venue's JSON. ccxt 4.5.90: no JSON, so no venue code;
# ``handle_http_status_code`` maps 502 to ExchangeNotAvailable and 504 to RequestTimeout (its
# ``httpExceptions``), both NetworkErrors, which Freqtrade turns into TemporaryError.
GATEWAY_PAGES: dict[int, str] = {
    status: (f"<html>\r\n<head><title>{status} {reason}</title></head>\r\n<body>\r\n"
             f"<center><h1>{status} {reason}</h1></center>\r\n</body>\r\n</html>\r\n")
    for status, reason in ((502, "Bad Gateway"), (503, "Service Temporarily Unavailable"),
                           (504, "Gateway Time-out"))
}
MSG_418 = ("Way too many requests; IP(127.0.0.1) banned until {until}. Please use the websocket "
           "for live updates to avoid bans.")


class FaultApiMixin:
    """Scriptable faults; each consumes itself or lasts until ``clear_faults``.

    Every ``order_id`` may be the engine's id or, with ``SimExchange(venue_ids=True)``, the id
    the venue face shows (``sim.engine_order_id``)."""

    def fault_stale_status(self, order_id: int | str, status: str = "CANCELED") -> None:
        """GET of that order answers ``status`` with executedQty 0 until cleared."""
        self.faults.stale_status[self.engine_order_id(order_id)] = status

    def fault_not_found(
        self, order_id: int | str, count: int | None = 1, *, on_cancel: bool = False
    ) -> None:
        """Next ``count`` GETs (None = forever) answer -2013.

        With ``on_cancel`` DELETEs answer -2011 too (and consume the count).
        """
        self.faults.not_found[self.engine_order_id(order_id)] = NotFoundRule(count, on_cancel)

    def fault_fill_during_cancel(self, order_id: int | str) -> None:
        """A DELETE of that order fills it first, then answers -2011 'Unknown order sent.'."""
        self.faults.fill_during_cancel.add(self.engine_order_id(order_id))

    def fault_cancel_ack_then_fill(self, order_id: int | str, fraction: float = 1.0) -> None:
        """The next cancel of that order is ACKNOWLEDGED although the order lost the race: it
        fills ``fraction`` of its remaining quantity (at its own price, as maker, trades listed)
        just before the cancel reaches it; the rest (if any) is cancelled. The cancel answers
        success -- Binance USD-M: HTTP 200 with the order as the cancel saw it (CANCELED, the
        executed quantity before the fill); Bybit: retCode 0 with the orderId; OKX: sCode "0";
        Binance spot: the CANCELED answer -- and every later read shows the fill: FILLED
        (fraction 1) or CANCELED with executed quantity (Bybit ``PartiallyFilledCanceled``,
        OKX ``canceled`` with ``accFillSz``).

        Sources: Bybit order/create-order "This request is asynchronous"; order/order-list:
        "the data returned from this endpoint may delay" (creation and cancellation are
        asynchronous); OKX Cancel order: "Cancel order returns with sCode equal to 0. It is not
        strictly considered that the order has been canceled. It only means that your
        cancellation request has been accepted by the system server. The result of the
        cancellation is subject to the state pushed by the order channel or the get order
        state."; Freqtrade #9128 "Ghost position on entry order replacement" (Bybit). Binance's
        cancel is synchronous by its docs; its answer here is the route the faces share."""
        if not 0 < fraction <= 1:
            raise ValueError(f"fraction must be in (0, 1], not {fraction}")
        self.faults.cancel_ack_fill[self.engine_order_id(order_id)] = float(fraction)

    def fault_service_restart(self) -> bool:
        """The venue restarts its order service. Bybit: realtime (GET /v5/order/realtime) no
        longer finds any order closed before now, history still does (order/open-order: "If the
        Bybit service is restarted due to an update, this part of the data will be cleared";
        "After a server release or restart, filled, cancelled, and rejected orders of Unified
        account should only be queried through order history."; Freqtrade #8175, filled orders
        "can disappear"). Binance USD-M, Binance spot and OKX document no read that forgets
        orders on a restart: a no-op there. True when the venue modelled it."""
        restart = getattr(self.face, "service_restart", None)
        if restart is None:
            return False
        with self._lock:
            restart()
        return True

    def fault_gateway_error(
        self, count: int = 1, status: int = 502, *, method: str | None = "POST",
        path: str | None = "/fapi/v1/order",
    ) -> None:
        """The next ``count`` matching requests (by default: creates, on every venue, keyed by
        the engine's route) are SERVED -- the order is placed -- and then answered by a gateway
        in front of the venue: HTTP ``status`` (502, 503 or 504) with a bare HTML page, no JSON.
        ``method`` / ``path`` None match any request (e.g. ``method="DELETE"``: a cancel that
        took effect). Source: what a load balancer or CDN answers when the venue behind it is
        slow or restarting; ccxt's ``httpExceptions`` (502 ExchangeNotAvailable, 504
        RequestTimeout) exist for exactly these non-JSON answers."""
        if status not in GATEWAY_PAGES:
            raise ValueError(f"status is one of {sorted(GATEWAY_PAGES)}, not {status}")
        self.faults.gateway_rules.append(GatewayRule(method, path, count, status))

    def fault_expire_on_cancel(self, order_id: int | str) -> None:
        """A DELETE of that order finds it already EXPIRED and answers -2011."""
        self.faults.expire_on_cancel.add(self.engine_order_id(order_id))

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
        oid = self.engine_order_id(order_id)
        self.faults.stale_status.pop(oid, None)
        self.faults.cancel_ack_fill.pop(oid, None)
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

