"""Rate limits from load: every request the venue receives is counted against its budget.

Counting is always on: ``sim.weight_used()``, ``sim.weight_per_minute_max()`` and
``sim.rate_usage()`` read it (Binance: request weight; Bybit and OKX, which count requests per
endpoint, one per request), and the answers carry the venue's usage headers. Enforcement is
opt-in (``SimExchange(enforce_rate_limits=True)`` or ``sim.enforce_rate_limits(True)``): a
request over the budget is then answered as the venue answers it instead of being served:

- Binance USD-M / spot: HTTP 429 -1003 (weight) or -1015 (orders) with ``Retry-After``; a client
  that keeps sending after two 429s in the same window is banned, HTTP 418 -1003 with
  ``Retry-After``, 2 minutes for the first ban, doubling for each further one, at most 3 days
  (general info, "LIMITS": "Repeatedly violating rate limits and/or failing to back off after
  receiving 429s will result in an automated IP ban (HTTP status 418)." "IP bans are tracked
  and scale in duration for repeat offenders, from 2 minutes to 3 days." "A Retry-After header
  is sent with a 418 or 429 responses". How many 429s make "repeatedly" is not documented: two
  is this simulator's choice, ``BAN_AFTER_429S``). Binance counts by fixed intervals: "a 1
  MINUTE interval starts every minute" (websocket-api/rate-limits).
- Bybit: retCode 10006 "Too many visits!" (HTTP 200) per UID and endpoint in a rolling second;
  past 600 requests in 5 s the IP is banned 10 minutes: HTTP 403 "access too frequent" (a
  non-JSON body; ccxt maps the status 403 to RateLimitExceeded).
- OKX: HTTP 429, code 50011 "Rate limit reached. ..." per endpoint (and instrument for orders)
  in a rolling 2 seconds.

The numbers and their sources: ``ghostsim.ratelimit_tables``. The sim clock is the clock: in
process every request of one test step arrives at the same sim millisecond unless the test
advances it, which is the unkindest reading of "per second".
"""

from __future__ import annotations

import json
from collections import Counter, deque
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qsl, urlsplit

from ghostsim.errors import RawBody
from ghostsim.ratelimit_tables import (
    BYBIT_IP_BAN_MS,
    BYBIT_IP_LIMIT,
    BYBIT_LIMITS,
    OKX_LIMITS,
    OKX_PER_INSTRUMENT,
    OKX_SINGLE_OF_BATCH,
    OKX_WINDOW_MS,
    SPOT_ORDER_ROUTES,
    SPOT_ORDERS,
    SPOT_WEIGHT_PER_MINUTE,
    SPOT_WEIGHTS,
    USDM_ORDER_ROUTES,
    USDM_ORDERS,
    USDM_WEIGHT_PER_MINUTE,
    USDM_WEIGHTS,
    weight_of,
)


Answer = tuple[int, Any]
MINUTE_MS = 60_000
BAN_AFTER_429S = 2  # 429s in one window before the next request is a ban (not documented)
FIRST_BAN_MS = 2 * MINUTE_MS
LONGEST_BAN_MS = 3 * 86_400_000
USDM_MSG_429 = ("Too many requests; current limit of IP(127.0.0.1) is {limit} requests per "
                "minute. Please use the websocket for live updates to avoid polling the API.")
SPOT_MSG_429 = ("Too much request weight used; current limit is {limit} request weight per 1 "
                "MINUTE. Please use WebSocket Streams for live updates to avoid polling the API.")
USDM_MSG_418 = ("Way too many requests; IP(127.0.0.1) banned until {until}. Please use the "
                "websocket for live updates to avoid bans.")
SPOT_MSG_418 = ("Way too much request weight used; IP banned until {until}. Please use "
                "WebSocket Streams for live updates to avoid bans.")
MSG_1015 = "Too many new orders; current limit is {limit} orders per {interval}."
OKX_MSG_50011 = ("Rate limit reached. Please refer to API documentation and throttle requests "
                 "accordingly.")


@dataclass
class Verdict:
    """The limiter's word on one request: a refusal (when enforced) and the headers."""

    answer: Answer | None = None
    headers: dict[str, str] = field(default_factory=dict)


def _parse(url: str, body: str | None) -> tuple[str, dict[str, Any], list[dict[str, Any]]]:
    """(path, params, the orders of a JSON list body) of one request."""
    parts = urlsplit(url)
    params: dict[str, Any] = dict(parse_qsl(parts.query, keep_blank_values=True))
    items: list[dict[str, Any]] = []
    if body:
        try:
            loaded = json.loads(body)
        except ValueError:
            params.update(parse_qsl(body, keep_blank_values=True))
        else:
            if isinstance(loaded, dict):
                params.update(loaded)
            elif isinstance(loaded, list):
                items = [x for x in loaded if isinstance(x, dict)]
    return parts.path, params, items


def _retry_after(ms: int) -> str:
    return str(max(1, -(-ms // 1000)))


class RateLimiter:
    """One venue's request budget on the sim clock."""

    def __init__(self, venue: str, now: Callable[[], int], *, enforced: bool = False) -> None:
        self.venue = venue
        self._now = now
        self.enforced = enforced
        # The part of the budget this client has: other bots (or tools) on the same IP and
        # account use the rest (``sim.enforce_rate_limits(share=...)``); 1.0 is all of it.
        self.share = 1.0
        self.reset()

    def _limit(self, documented: int) -> int:
        """A documented limit, cut to this client's share of it (at least one request)."""
        return max(1, int(documented * self.share))

    def reset(self) -> None:
        self.total = 0
        self.per_minute: Counter[int] = Counter()
        self.by_endpoint: Counter[str] = Counter()
        self.refused: Counter[str] = Counter()
        self._orders: Counter[tuple[str, int]] = Counter()
        self._violations: Counter[int] = Counter()
        self.banned_until = 0
        self._bans = 0  # Binance: bans so far (each next one twice as long)
        self.bans = 0  # every ban imposed, any venue
        self._rolling: dict[str, deque[int]] = {}

    # ------------------------------------------------------------------ reading

    def usage(self) -> dict[str, Any]:
        return {
            "venue": self.venue,
            "unit": "weight" if self.venue in ("binance", "binance-spot") else "requests",
            "total": self.total,
            "per_minute_max": max(self.per_minute.values(), default=0),
            "by_endpoint": dict(self.by_endpoint),
            "refused": dict(self.refused),
            "enforced": self.enforced,
        }

    # ------------------------------------------------------------------ admission

    def admit(self, method: str, url: str, body: str | None) -> Verdict:
        """Count one request; the venue's refusal when it is over budget and enforced."""
        path, params, items = _parse(url, body)
        if self.venue in ("binance", "binance-spot"):
            verdict = self._binance(method, path, params, spot=self.venue == "binance-spot")
        elif self.venue == "bybit":
            verdict = self._bybit(method, path)
        else:
            verdict = self._okx(method, path, params, items)
        if verdict.answer is not None:
            self.refused[f"{verdict.answer[0]} {_code(verdict.answer[1])}"] += 1
        return verdict

    def _count(self, method: str, path: str, weight: int) -> int:
        minute = self._now() // MINUTE_MS
        self.total += weight
        self.per_minute[minute] += weight
        self.by_endpoint[f"{method} {path}"] += weight
        return self.per_minute[minute]

    def _binance(self, method: str, path: str, params: Mapping[str, Any], *,
                 spot: bool) -> Verdict:
        now = self._now()
        table, limit = (SPOT_WEIGHTS, SPOT_WEIGHT_PER_MINUTE) if spot else (
            USDM_WEIGHTS, USDM_WEIGHT_PER_MINUTE)
        limit = self._limit(limit)
        counted = path.startswith("/api/") or path.startswith("/fapi/")
        used = self._count(method, path, weight_of(table, method, path, params) if counted
                           else 1)
        headers = {"X-MBX-USED-WEIGHT-1M": str(used)}
        order_limits, order_routes = (SPOT_ORDERS, SPOT_ORDER_ROUTES) if spot else (
            USDM_ORDERS, USDM_ORDER_ROUTES)
        over_orders: tuple[int, str] | None = None
        if (method, path) in order_routes:
            for interval, most, label in order_limits:
                key = (label, now // interval)
                self._orders[key] += 1
                headers[f"X-MBX-ORDER-COUNT-{label}"] = str(self._orders[key])
                if self._orders[key] > self._limit(most) and over_orders is None:
                    over_orders = (self._limit(most), label)
        if not self.enforced or not counted:
            return Verdict(None, headers)
        if now < self.banned_until:
            return self._ban_answer(now, spot, headers)
        minute = now // MINUTE_MS
        reset_in = (minute + 1) * MINUTE_MS - now
        if used > limit:
            self._violations[minute] += 1
            if self._violations[minute] > BAN_AFTER_429S:
                self._bans += 1
                self.bans += 1
                span = min(FIRST_BAN_MS * 2 ** (self._bans - 1), LONGEST_BAN_MS)
                self.banned_until = now + span
                return self._ban_answer(now, spot, headers)
            msg = (SPOT_MSG_429 if spot else USDM_MSG_429).format(limit=limit)
            return Verdict((429, {"code": -1003, "msg": msg}),
                           {**headers, "Retry-After": _retry_after(reset_in)})
        if over_orders is not None:
            most, label = over_orders
            interval = {"10S": "10 SECOND", "1M": "1 MINUTE", "1D": "1 DAY"}[label]
            return Verdict((429, {"code": -1015, "msg": MSG_1015.format(
                limit=most, interval=interval)}), headers)
        return Verdict(None, headers)

    def _ban_answer(self, now: int, spot: bool, headers: dict[str, str]) -> Verdict:
        msg = (SPOT_MSG_418 if spot else USDM_MSG_418).format(until=self.banned_until)
        return Verdict((418, {"code": -1003, "msg": msg}),
                       {**headers, "Retry-After": _retry_after(self.banned_until - now)})

    def _window(self, key: str, span_ms: int, now: int) -> deque[int]:
        window = self._rolling.setdefault(key, deque())
        while window and window[0] <= now - span_ms:
            window.popleft()
        return window

    def _bybit(self, method: str, path: str) -> Verdict:
        now = self._now()
        self._count(method, path, 1)
        span, most = BYBIT_IP_LIMIT
        most = self._limit(most)
        ip = self._window("ip", span, now)
        ip.append(now)
        if self.enforced and now < self.banned_until:
            return Verdict((403, RawBody("access too frequent", "text/plain")), {})
        if self.enforced and len(ip) > most:
            self.banned_until = now + BYBIT_IP_BAN_MS
            self.bans += 1
            return Verdict((403, RawBody("access too frequent", "text/plain")), {})
        limit = BYBIT_LIMITS.get((method, path))
        if limit is None:
            return Verdict(None, {})
        limit = self._limit(limit)
        window = self._window(path, 1000, now)
        if self.enforced and len(window) >= limit:
            headers = {"X-Bapi-Limit": str(limit), "X-Bapi-Limit-Status": "0",
                       "X-Bapi-Limit-Reset-Timestamp": str(window[0] + 1000)}
            body = {"retCode": 10006, "retMsg": "Too many visits!", "result": {},
                    "retExtInfo": {}, "time": now}
            return Verdict((200, body), headers)
        window.append(now)
        headers = {"X-Bapi-Limit": str(limit),
                   "X-Bapi-Limit-Status": str(max(limit - len(window), 0)),
                   "X-Bapi-Limit-Reset-Timestamp": str(now)}
        return Verdict(None, headers)

    def _okx(self, method: str, path: str, params: Mapping[str, Any],
             items: list[dict[str, Any]]) -> Verdict:
        now = self._now()
        sub = path[len("/api/v5/"):] if path.startswith("/api/v5/") else path
        self._count(method, sub, 1)
        orders = items or [params]
        route = OKX_SINGLE_OF_BATCH.get(sub, sub) if len(orders) == 1 else sub
        limit = OKX_LIMITS.get((method, route))
        if limit is None:
            return Verdict(None, {})
        limit = self._limit(limit)
        per_inst = route in OKX_PER_INSTRUMENT
        wanted: Counter[str] = Counter(
            f"{route}|{o.get('instId', '')}" if per_inst else route for o in orders)
        refuse = False
        for key, count in wanted.items():
            window = self._window(key, OKX_WINDOW_MS, now)
            if self.enforced and len(window) + count > limit:
                refuse = True
        if refuse:
            return Verdict((429, {"code": "50011", "msg": OKX_MSG_50011, "data": []}), {})
        for key, count in wanted.items():
            self._window(key, OKX_WINDOW_MS, now).extend([now] * count)
        return Verdict(None, {})


def _code(body: Any) -> str:
    if isinstance(body, RawBody):
        return "text"
    if isinstance(body, dict):
        return str(body.get("code", body.get("retCode", "")))
    return ""


__all__ = ["BAN_AFTER_429S", "RateLimiter", "Verdict"]
