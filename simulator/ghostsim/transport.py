"""Route real ccxt HTTP traffic (sync and async; binance, bybit, okx) in-process to a
``SimExchange``, answered in the simulator's venue dialect (``SimExchange.handle_http``).

``fetch`` is replaced at CLASS level, so the ccxt objects Freqtrade creates in its constructor are
covered. Everything else (signing, parsing, error mapping through ``handle_errors``) stays ccxt's.
No socket is ever opened.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any
from urllib.parse import parse_qsl, urlsplit

import ccxt
import ccxt.async_support as ccxt_async

from ghostsim.engine import SimExchange
from ghostsim.errors import RawBody
from ghostsim.faults import GatewayAnswer, LostResponse


_REASONS: dict[int, str] = {
    200: "OK",
    400: "Bad Request",
    401: "Unauthorized",
    403: "Forbidden",
    404: "Not Found",
    408: "Request Timeout",
    418: "I'm a teapot",
    429: "Too Many Requests",
    500: "Internal Server Error",
    502: "Bad Gateway",
    503: "Service Unavailable",
    504: "Gateway Timeout",
}

_PATCHED_CLASSES: tuple[type, ...] = (
    ccxt.binance, ccxt_async.binance, ccxt.bybit, ccxt_async.bybit, ccxt.okx, ccxt_async.okx,
)
_active: list[SimExchange] = []
_originals: dict[type, Any] = {}


def _split_request(url: str, body: str | None) -> tuple[str, dict[str, str], str | None]:
    """URL + body -> (path, params, the signed query string if any)."""
    parts = urlsplit(url)
    query = parts.query
    params = dict(parse_qsl(query, keep_blank_values=True))
    form = body if isinstance(body, str) else None
    if form:
        params.update(parse_qsl(form, keep_blank_values=True))
    signed: str | None = None
    for candidate in (query, form):
        if candidate and "signature=" in candidate:
            signed = candidate
    return parts.path, params, signed


_HOST_BY_PREFIX: tuple[tuple[str, str], ...] = (
    ("/fapi/", "fapi.binance.com"),
    ("/futures/", "fapi.binance.com"),
    ("/dapi/", "dapi.binance.com"),
    ("/eapi/", "eapi.binance.com"),
    ("/papi/", "papi.binance.com"),
    ("/api/", "api.binance.com"),
    ("/sapi/", "api.binance.com"),
)


def _error_url(api: Any, url: str) -> str:
    """The URL as the real exchange would have it.

    ccxt binance picks its market-specific error table from the URL's HOST
    (``get_exceptions_by_url``): -5022 is ``OrderNotFillable`` only for https://fapi.binance.com/.
    If ccxt's urls were pointed elsewhere, map the host back so errors map as in production.
    """
    parts = urlsplit(url)
    hostname = api.hostname or "binance.com"
    if parts.hostname and parts.hostname.endswith(hostname):
        return url
    for prefix, host in _HOST_BY_PREFIX:
        if parts.path.startswith(prefix):
            real = host.replace("binance.com", hostname)
            return parts._replace(netloc=real).geturl()
    return url


def _roundtrip(api: Any, url: str, method: str, headers: Any, body: Any) -> Any:
    """Do what ccxt's fetch does, with the sim instead of the network."""
    if not _active:
        raise RuntimeError(f"ccxt {api.id} fetch called while no SimExchange is routed")
    sim = _active[-1]
    request_headers = api.prepare_request_headers(headers)
    details = " ".join([api.id, method, url])
    extra: dict[str, str] = {}
    try:
        status, payload, extra = sim.handle_http_headers(method, url, request_headers, body)
    except GatewayAnswer as gateway:  # served, then a gateway's bare page (fault_gateway_error)
        status, payload = gateway.status, RawBody(gateway.page)
    except LostResponse as e:
        raise ccxt.RequestTimeout(details) from e
    if isinstance(payload, RawBody):
        body_text, content_type = payload.text, payload.content_type
    else:
        body_text, content_type = json.dumps(payload), "application/json"
    reason = _REASONS.get(status, "Unknown")
    response_headers = {"Content-Type": content_type, **extra}
    json_response = api.parse_json(body_text)
    api.last_http_response = body_text
    api.last_json_response = json_response
    api.last_response_headers = response_headers
    error_url = _error_url(api, url) if api.id == "binance" else url
    if status >= 400:
        skip = api.handle_errors(
            status, reason, error_url, method, response_headers, body_text, json_response,
            request_headers, body,
        )
        if not skip:
            api.handle_http_status_code(status, reason, url, method, body_text)
        raise ccxt.ExchangeError(details)
    api.handle_errors(
        status, reason, error_url, method, response_headers, body_text, json_response,
        request_headers, body,
    )
    return json_response


def _sync_fetch(
    self: Any, url: str, method: str = "GET", headers: Any = None, body: Any = None
) -> Any:
    return _roundtrip(self, url, method, headers, body)


async def _async_fetch(
    self: Any, url: str, method: str = "GET", headers: Any = None, body: Any = None
) -> Any:
    return _roundtrip(self, url, method, headers, body)


def install(sim: SimExchange) -> None:
    """Route every ccxt binance (sync + async) request to ``sim`` until ``uninstall``."""
    if not _active:
        for cls in _PATCHED_CLASSES:
            is_async = cls.__module__.startswith("ccxt.async_support")
            fetch = _async_fetch if is_async else _sync_fetch
            _originals[cls] = cls.__dict__.get("fetch")
            cls.fetch = fetch  # type: ignore[attr-defined]
    _active.append(sim)


def uninstall(sim: SimExchange) -> None:
    """Undo one ``install``; the original ``fetch`` comes back when the last one is gone."""
    if sim in _active:
        _active.remove(sim)
    if _active:
        return
    for cls in _PATCHED_CLASSES:
        original = _originals.pop(cls, None)
        if original is None:
            if "fetch" in cls.__dict__:
                delattr(cls, "fetch")
        else:
            cls.fetch = original  # type: ignore[attr-defined]


@contextmanager
def route_ccxt_to(sim: SimExchange) -> Iterator[SimExchange]:
    """Context manager: ccxt binance talks to ``sim`` inside the block."""
    install(sim)
    try:
        yield sim
    finally:
        uninstall(sim)


__all__ = ["install", "route_ccxt_to", "uninstall"]
