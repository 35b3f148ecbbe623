"""Freqtrade config for a real `freqtrade trade` process against the loopback simulator.

Only configuration points Freqtrade at the simulator; nothing is patched.

The -5022 problem and its fix: ccxt's binance picks its USD-M error table by the request URL
(`get_exceptions_by_url`): only a URL starting with `https://fapi.<hostname>/` (hostname defaults
to `binance.com`) gets the futures table, where -5022 is `OrderNotFillable` (Freqtrade:
`InvalidOrderException`). Against `http://127.0.0.1:PORT` it would be a plain `ExchangeError`
(Freqtrade: `TemporaryError`), unlike production. ccxt's `hostname` attribute (settable from
`ccxt_config`) is used ONLY by that lookup for binance (its URLs have no `{hostname}` placeholder),
so the server speaks https on loopback and the URLs carry the real host name as URL user-info:

    urls:     https://fapi.binance.com@127.0.0.1:PORT/fapi/v1
    hostname: binance.com@127.0.0.1:PORT

`https://fapi.` + hostname + `/` is then a prefix of every URL, so every Binance error code maps
exactly as in production; the HTTP clients (requests, aiohttp) connect to 127.0.0.1:PORT and send
the user-info as a harmless Basic auth header. `verify: false` because the certificate is a
throw-away self-signed one for 127.0.0.1. With a plain-http server the URLs are used as they are
and futures-only error codes (-5022) map to `ExchangeError`.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from ghostsim.engine import SimExchange
from ghostsim.venues import profile


def ccxt_options(venue: str = "binance") -> dict[str, Any]:
    """The ccxt settings every run against the simulator uses (the venue's markets only, no
    rate limit); the URLs stay the venue's own unless `ccxt_config` points them at a server."""
    return profile(venue).ccxt_config(None)


def ccxt_config(server_url: str, venue: str = "binance") -> dict[str, Any]:
    """`exchange.ccxt_config` (and `ccxt_async_config`) pointing ccxt at the server."""
    return profile(venue).ccxt_config(server_url)


def exchange_overlay(server_url: str, venue: str = "binance") -> dict[str, Any]:
    """A Freqtrade config file to load after the user's own (`-c config.json -c sim.json`):
    everything that points a run at the simulator, the test key and secret included (a live
    run signs its requests with them; dry-run needs only the URLs)."""
    return {"exchange": _exchange_section(ccxt_config(server_url, venue), venue)}


def _exchange_section(ccxt: dict[str, Any], venue: str = "binance") -> dict[str, Any]:
    """What points Freqtrade's exchange at the simulator: its key, secret and URLs."""
    section: dict[str, Any] = {
        "name": profile(venue).exchange,
        "key": SimExchange.SIM_API_KEY,
        "secret": SimExchange.SIM_API_SECRET,
        "enable_ws": False,
        "ccxt_config": ccxt,
        "ccxt_async_config": json.loads(json.dumps(ccxt)),
    }
    if venue == "okx":
        section["password"] = SimExchange.SIM_API_PASSWORD  # OKX keys come with a passphrase
    return section


def base_config(
    sim: SimExchange,
    ccxt: dict[str, Any],
    *,
    strategy: str,
    strategy_path: str | Path,
    dry_run: bool,
) -> dict[str, Any]:
    """What every Freqtrade run against the simulator shares: live (or dry-run) on the
    simulator's venue (Binance USD-M futures unless `SimExchange(venue=...)`), post-only
    maker pricing at the top of the book, the simulator's test key, every
    simulated symbol whitelisted, Telegram and the API server off. Callers add the stake,
    timeouts, throttle and their own sections."""
    prof = profile(sim.venue)
    return {
        "bot_name": "ghostguard-sim",
        "strategy": strategy,
        "strategy_path": str(strategy_path),
        "trading_mode": prof.trading_mode,
        "margin_mode": prof.margin_mode,
        "dry_run": dry_run,
        "dry_run_wallet": sim.wallet_balance,
        "stake_currency": "USDT",
        "tradable_balance_ratio": 0.99,
        "initial_state": "running",
        "cancel_open_orders_on_exit": False,
        "entry_pricing": {
            "price_side": "same",
            "use_order_book": True,
            "order_book_top": 1,
            "price_last_balance": 0.0,
            "check_depth_of_market": {"enabled": False, "bids_to_ask_delta": 1},
        },
        "exit_pricing": {"price_side": "same", "use_order_book": True, "order_book_top": 1},
        "order_time_in_force": {"entry": prof.time_in_force, "exit": prof.time_in_force},
        "exchange": {
            **_exchange_section(ccxt, sim.venue),
            "pair_whitelist": [spec.symbol for spec in sim.specs.values()],
            "pair_blacklist": [],
        },
        "pairlists": [{"method": "StaticPairList"}],
        "telegram": {"enabled": False, "token": "", "chat_id": ""},
        "api_server": {
            "enabled": False,
            "listen_ip_address": "127.0.0.1",
            "listen_port": 8080,
            "username": "sim",
            "password": "sim",
            "jwt_secret_key": "ghostguard-sim-jwt-secret-0123456789",
        },
    }


def freqtrade_config(
    sim: SimExchange,
    server_url: str,
    *,
    strategy: str = "SimMakerStrategy",
    strategy_path: str | Path | None = None,
    dry_run: bool = False,
    guard: bool = True,
    sim_settings: dict[str, Any] | None = None,
    extra: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """A complete config for `freqtrade trade` (live futures unless dry_run)."""
    config = base_config(
        sim,
        ccxt_config(server_url, sim.venue),
        strategy=strategy,
        strategy_path=strategy_path or Path(__file__).parent / "strategies",
        dry_run=dry_run,
    )
    config.update(
        {
            "max_open_trades": len(sim.specs),
            "stake_amount": 110,  # 100 would round down to 0.001 BTC above 50000
            "unfilledtimeout": {
                "entry": 30, "exit": 30, "exit_timeout_count": 0, "unit": "seconds"
            },
            "internals": {"process_throttle_secs": 1, "heartbeat_interval": 0},
            "ghost_guard": {"enabled": guard},
            "ghostsim": dict(sim_settings or {}),
        }
    )
    for key, value in (extra or {}).items():
        if isinstance(value, dict) and isinstance(config.get(key), dict):
            config[key] = {**config[key], **value}
        else:
            config[key] = value
    return config


__all__ = ["base_config", "ccxt_config", "ccxt_options", "exchange_overlay", "freqtrade_config"]
