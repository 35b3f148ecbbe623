"""Simulator endpoints that older Freqtrade releases read, driven through REAL ccxt.

Freqtrade 2026.5.1 and older read funding-rate history (`GET /fapi/v1/fundingRate`) and mark
candles (`GET /fapi/v1/markPriceKlines`) in dry-run when they open a trade (2026.6 on: only for a
trade already open); every release sets the margin type (`POST /fapi/v1/marginType`) before an
entry. The simulator answers each the way Binance documents it, so each release sees what it
would see in production.
"""

from __future__ import annotations

import ccxt
import pytest

from ghostsim import SimExchange, route_ccxt_to
from ghostsim.engine import FUNDING_INTERVAL_MS


BTC = "BTC/USDT:USDT"


def _api(sim: SimExchange) -> ccxt.binance:
    return ccxt.binance(
        {
            "apiKey": sim.SIM_API_KEY,
            "secret": sim.SIM_API_SECRET,
            "enableRateLimit": False,
            "options": {
                "defaultType": "swap",
                "fetchMarkets": {"types": ["linear"]},
                "fetchCurrencies": False,
                "fetchMargins": False,
            },
        }
    )


def test_funding_rate_history_has_binances_shape() -> None:
    sim = SimExchange()
    api = _api(sim)
    since = sim.now_ms - 10 * FUNDING_INTERVAL_MS
    with route_ccxt_to(sim):
        history = api.fetch_funding_rate_history(BTC, since, 5)
        raw = api.fapiPublicGetFundingRate({"symbol": "BTCUSDT", "limit": 3})
    # Binance: a list of {symbol, fundingRate, fundingTime, markPrice}, oldest first,
    # at most `limit` rows from startTime.
    assert len(history) == 5
    times = [row["timestamp"] for row in history]
    assert times == sorted(times) and times[0] >= since
    assert all(t % FUNDING_INTERVAL_MS == 0 for t in times)
    assert all(row["symbol"] == BTC and row["fundingRate"] == pytest.approx(0.0001)
               for row in history)
    assert len(raw) == 3
    for row in raw:
        assert set(row) == {"symbol", "fundingRate", "fundingTime", "markPrice"}
        assert row["symbol"] == "BTCUSDT" and float(row["markPrice"]) > 0
    assert raw[-1]["fundingTime"] <= sim.now_ms
    assert sim.unknown_requests == []


def test_mark_price_klines_are_klines_without_volume() -> None:
    sim = SimExchange()
    api = _api(sim)
    with route_ccxt_to(sim):
        candles = api.fetch_ohlcv(BTC, "1h", limit=4, params={"price": "mark"})
        raw = api.fapiPublicGetMarkPriceKlines({"symbol": "BTCUSDT", "interval": "1h",
                                                "limit": 4})
        trades = api.fapiPublicGetKlines({"symbol": "BTCUSDT", "interval": "1h", "limit": 4})
    assert [r.path for r in sim.requests].count("/fapi/v1/markPriceKlines") == 2
    assert len(candles) == 4
    for ts, o, h, low, c, _ in candles:
        assert ts % 3_600_000 == 0 and low <= min(o, c) <= max(o, c) <= h
    # Binance: [open time, open, high, low, close, ignore, close time, ignore x5]: the
    # trade-candle fields (volume, trades, taker volume) are "0" / 0 for mark prices.
    for row, trade_row in zip(raw, trades, strict=True):
        assert len(row) == 12
        assert row[:5] == trade_row[:5] and row[6] == trade_row[6]
        assert row[5] == "0" and row[7] == "0" and row[8] == 0
        assert row[9:] == ["0", "0", "0"]


def test_repeated_margin_type_answers_like_binance() -> None:
    """Binance USD-M `POST /fapi/v1/marginType` to the type the symbol already has answers
    HTTP 400 `{"code": -4046, "msg": "No need to change margin type."}`; ccxt recognises that
    message as MarginModeAlreadySet (whether it then raises it depends on ccxt's
    `throwMarginModeAlreadySet` option, set here both ways it has been spelled)."""
    sim = SimExchange()
    api = _api(sim)
    api.options["throwMarginModeAlreadySet"] = True  # ccxt <= 4.5.64
    api.options["setMarginMode"] = {"throwMarginModeAlreadySet": True}  # ccxt >= 4.5.65
    with route_ccxt_to(sim):
        api.set_margin_mode("isolated", BTC)
        assert sim.requests[-1].status == 200
        with pytest.raises(ccxt.MarginModeAlreadySet, match="-4046"):
            api.set_margin_mode("isolated", BTC)
    assert sim.requests[-1].path == "/fapi/v1/marginType"
    assert sim.requests[-1].status == 400


def test_default_ccxt_margin_mode_already_set_is_what_the_release_gets() -> None:
    """Without the option, the installed ccxt decides: <= 4.5.64 swallows -4046 and returns
    the error body, >= 4.5.65 raises MarginModeAlreadySet. Freqtrade < 2026.7 turns the raised
    error into TemporaryError for an initial entry; the simulator must not hide that."""
    sim = SimExchange()
    api = _api(sim)
    raises = bool((api.options.get("setMarginMode") or {}).get("throwMarginModeAlreadySet"))
    with route_ccxt_to(sim):
        api.set_margin_mode("isolated", BTC)
        if raises:
            with pytest.raises(ccxt.MarginModeAlreadySet):
                api.set_margin_mode("isolated", BTC)
        else:
            assert api.set_margin_mode("isolated", BTC)["code"] == -4046
    assert sim.requests[-1].status == 400
