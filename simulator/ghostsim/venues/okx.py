"""OKX v5 face of the simulator: USDT-margined perpetual swaps (instType SWAP, e.g.
BTC-USDT-SWAP), net (one-way) position mode, isolated margin.

``SimExchange(venue="okx")`` answers what real ccxt ``okx`` sends when Freqtrade's own ``Okx``
class runs a live futures bot. The face parses the OKX request (query or JSON body), checks
OKX's signing, then does the work on the engine's Binance routes through
``sim.handle(..., trusted=True)`` (so the engine's faults, request records and request patches
apply) and answers in OKX's shapes and codes (``okx_answers``). Amounts are CONTRACTS on the
wire (``ctVal`` base per contract) and base quantities in the engine.

Handlers: public market data and the account in ``okx_account``, orders and fills in
``okx_trade``.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import logging
from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING, Any
from urllib.parse import parse_qsl, urlsplit

from ghostsim.market import SymbolSpec
from ghostsim.tls import ccxt_tls
from ghostsim.venues import Answer, VenueProfile
from ghostsim.venues.ids import VenueIds
from ghostsim.venues.okx_account import AccountMixin
from ghostsim.venues.okx_answers import MSG, EngineError, OkxError, generic_error, inst_id
from ghostsim.venues.okx_trade import TradeMixin


if TYPE_CHECKING:
    from ghostsim.engine import RequestRecord, SimExchange


logger = logging.getLogger(__name__)

Json = Any
Handler = Callable[[Any], Json]
API_PREFIX = "/api/v5/"


def okx_server_config(server_url: str) -> dict[str, Any]:
    """ccxt okx URLs on the simulator server (every request goes to urls.api.rest)."""
    parts = urlsplit(server_url)
    if parts.hostname != "127.0.0.1":
        raise ValueError(f"the simulator runs on 127.0.0.1 only, not {server_url}")
    base = f"{parts.scheme}://{parts.netloc}"
    config: dict[str, Any] = {"urls": {"api": {"rest": base}, "test": {"rest": base}}}
    if parts.scheme == "https":
        config.update(ccxt_tls(server_url))
    return config


PROFILE = VenueProfile(
    name="okx",
    exchange="okx",
    trading_mode="futures",
    margin_mode="isolated",
    symbols=("BTC/USDT:USDT", "ETH/USDT:USDT"),
    ccxt_options={"options": {"defaultType": "swap", "fetchMarkets": {"types": ["swap"]}}},
    server_config=okx_server_config,
    face_module="ghostsim.venues.okx",
    time_in_force="GTC",
)


class Face(AccountMixin, TradeMixin):
    """OKX v5 REST on top of ``SimExchange``."""

    def __init__(self, sim: SimExchange) -> None:
        self.sim = sim
        # Trade > Place order, ordType post_only: OKX accepts a crossing post-only order and
        # cancels it (cancelSource 31); the engine's "expire" mode does exactly that.
        sim.post_only_mode = "expire"
        # The simulated account trades isolated margin only (tdMode isolated).
        for position in sim.positions.values():
            position.margin_type = "ISOLATED"
        self.unknown_requests: list[RequestRecord] = []
        self.by_inst: dict[str, SymbolSpec] = {inst_id(s): s for s in sim.specs.values()}
        self.anonymous: set[int] = set()  # orders placed without clOrdId (OKX shows "")
        self.user_canceled: set[int] = set()  # canceled through cancel-order (cancelSource 1)
        self.post_only_canceled: set[int] = set()  # crossing post-only (cancelSource 31)
        # ordIds as OKX writes them (long digit strings) with SimExchange(venue_ids=True).
        self.ids = VenueIds("okx" if sim.venue_ids else None, sim.seed)
        self.routes: dict[tuple[str, str], tuple[Handler, bool]] = {
            **{("GET", p): (h, False) for p, h in self.public_routes().items()},
            **self.account_routes(),
            **self.trade_routes(),
        }

    # ------------------------------------------------------------------ HTTP

    def handle_http(
        self, method: str, url: str, headers: Mapping[str, str], body: str | None
    ) -> Answer:
        method = method.upper()
        parts = urlsplit(url)
        path = parts.path
        sub = path[len(API_PREFIX):] if path.startswith(API_PREFIX) else path
        route = self.routes.get((method, sub))
        query = dict(parse_qsl(parts.query, keep_blank_values=True))
        if route is None:
            return self._unknown(method, path, query)
        handler, private = route
        with self.sim._lock:
            try:
                if private:
                    self._authenticate(method, path, parts.query, headers, body)
                params: Any = query
                if method != "GET" and body:
                    try:
                        params = json.loads(body)
                    except ValueError as err:
                        raise OkxError("50002", "Invalid JSON", 400) from err
                return 200, _with_code(handler(params))
            except EngineError as err:
                return self.error_answer(generic_error(err))
            except OkxError as err:
                return self.error_answer(err)

    def _unknown(self, method: str, path: str, query: dict[str, str]) -> Answer:
        from ghostsim.engine import RequestRecord

        self.unknown_requests.append(RequestRecord(method, path, query, self.sim.now_ms, 404))
        logger.error("SimExchange (okx): UNKNOWN ENDPOINT %s %s %s", method, path, query)
        return 404, {"code": "404", "msg": f"SimExchange (okx) does not implement {method} "
                                           f"{path}", "data": []}

    @staticmethod
    def error_answer(err: OkxError) -> Answer:
        if err.order_level:
            row = {"clOrdId": "", "ordId": "", "sCode": err.code, "sMsg": err.msg, "tag": ""}
            return 200, {"code": "1", "msg": "All operations failed", "data": [row]}
        return err.http, {"code": err.code, "msg": err.msg, "data": []}

    def _authenticate(
        self, method: str, path: str, query: str, headers: Mapping[str, str], body: str | None
    ) -> None:
        """REST Authentication: "The OK-ACCESS-SIGN header is generated as follows: Create a
        prehash string of timestamp + method + requestPath + body (where + represents String
        concatenation). Prepare the SecretKey. Sign the prehash string with the SecretKey using
        the HMAC SHA256. Encode the signature in the Base64 format." Errors 50103/50104/50106/
        50107 (header empty), 50111 (Invalid OK-ACCESS-KEY), 50105 (passphrase incorrect),
        50113 (Invalid signature.), HTTP 401."""
        if not self.sim.check_signature:
            return
        low = {k.lower(): v for k, v in headers.items()}
        for header, code in (("ok-access-key", "50103"), ("ok-access-passphrase", "50104"),
                             ("ok-access-sign", "50106"), ("ok-access-timestamp", "50107")):
            if not low.get(header):
                raise OkxError(code, http=401)
        if low["ok-access-key"] != self.sim.SIM_API_KEY:
            raise OkxError("50111", http=401)
        if low["ok-access-passphrase"] != self.sim.SIM_API_PASSWORD:
            raise OkxError("50105", http=401)
        request_path = path + (f"?{query}" if query else "")
        prehash = low["ok-access-timestamp"] + method + request_path + (body or "")
        digest = hmac.new(self.sim.SIM_API_SECRET.encode(), prehash.encode(), hashlib.sha256)
        expected = base64.b64encode(digest.digest()).decode()
        if not hmac.compare_digest(expected, low["ok-access-sign"]):
            raise OkxError("50113", http=401)

    # ------------------------------------------------------------------ the engine

    def engine(self, method: str, path: str, params: Mapping[str, str]) -> Json:
        """One engine (Binance) route; its error as ``EngineError``."""
        status, body = self.sim.handle(method, path, dict(params), trusted=True)
        if status != 200:
            raise EngineError(status, body)
        return body

    def call(self, method: str, path: str, params: Mapping[str, str]) -> Json:
        """An engine route whose errors have no endpoint-specific OKX meaning."""
        try:
            return self.engine(method, path, params)
        except EngineError as err:
            raise generic_error(err) from err

    def spec_of(self, params: Mapping[str, Any], *, order_level: bool = False) -> SymbolSpec:
        inst = str(params.get("instId") or "")
        if not inst:
            raise OkxError("50014", param="instId", order_level=order_level)
        spec = self.by_inst.get(inst)
        if spec is None:
            raise OkxError("51001", order_level=order_level)
        return spec

    def specs_of(self, params: Mapping[str, Any]) -> list[SymbolSpec]:
        """instId (one, or comma-separated where the endpoint allows it) or every instrument."""
        inst = str(params.get("instId") or "")
        if not inst:
            return list(self.by_inst.values())
        return [self.spec_of({"instId": i}) for i in inst.split(",")]


def _with_code(data: list[Json]) -> Json:
    """Place / cancel (multiple) orders: "code": "0" when every order succeeded, "1" when all
    failed ("All operations failed"), "2" when some did ("Bulk operation partially succeeded");
    each order's own result is in sCode / sMsg."""
    codes = [r["sCode"] for r in data if isinstance(r, dict) and "sCode" in r]
    failed = [c for c in codes if c != "0"]
    if not failed:
        return {"code": "0", "msg": "", "data": data}
    if len(failed) == len(codes):
        return {"code": "1", "msg": "All operations failed", "data": data}
    return {"code": "2", "msg": "Bulk operation partially succeeded", "data": data}


__all__ = ["MSG", "PROFILE", "EngineError", "Face", "generic_error", "okx_server_config"]
