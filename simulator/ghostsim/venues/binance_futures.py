"""Binance USD-M futures: the engine's own dialect (``SimExchange`` answers it directly).

How ccxt is pointed at a server, and why https with the real host name as URL user-info, is
explained in ``ghostsim.ftconfig``.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import urlsplit

from ghostsim.tls import ccxt_tls
from ghostsim.venues import VenueProfile


URL_SUFFIXES: dict[str, str] = {
    "public": "/api/v3",
    "private": "/api/v3",
    "v1": "/api/v1",
    "sapi": "/sapi/v1",
    "sapiV2": "/sapi/v2",
    "sapiV3": "/sapi/v3",
    "sapiV4": "/sapi/v4",
    "fapiPublic": "/fapi/v1",
    "fapiPublicV2": "/fapi/v2",
    "fapiPublicV3": "/fapi/v3",
    "fapiPrivate": "/fapi/v1",
    "fapiPrivateV2": "/fapi/v2",
    "fapiPrivateV3": "/fapi/v3",
    "fapiData": "/futures/data",
    "dapiPublic": "/dapi/v1",
    "dapiPrivate": "/dapi/v1",
    "dapiPrivateV2": "/dapi/v2",
    "dapiData": "/futures/data",
    "eapiPublic": "/eapi/v1",
    "eapiPrivate": "/eapi/v1",
    "papi": "/papi/v1",
    "papiV2": "/papi/v2",
}


def binance_server_config(server_url: str, host: str) -> dict[str, Any]:
    """ccxt binance URLs on ``server_url``; over https the real ``host`` (fapi.binance.com or
    api.binance.com) rides as user-info so ccxt picks the same error table as in production."""
    parts = urlsplit(server_url)
    if parts.hostname != "127.0.0.1":
        raise ValueError(f"the simulator runs on 127.0.0.1 only, not {server_url}")
    config: dict[str, Any] = {}
    if parts.scheme == "https":
        base = f"https://{host}@{parts.netloc}"
        config["hostname"] = f"binance.com@{parts.netloc}"
        config.update(ccxt_tls(server_url))
    else:
        base = f"http://{parts.netloc}"
    config["urls"] = {"api": {key: base + suffix for key, suffix in URL_SUFFIXES.items()}}
    return config


PROFILE = VenueProfile(
    name="binance",
    exchange="binance",
    trading_mode="futures",
    margin_mode="isolated",
    symbols=("BTC/USDT:USDT", "ETH/USDT:USDT"),
    ccxt_options={
        "options": {
            "defaultType": "swap",
            "fetchMarkets": {"types": ["linear"]},
            "fetchCurrencies": False,
            "fetchMargins": False,
        },
    },
    server_config=lambda url: binance_server_config(url, "fapi.binance.com"),
)
