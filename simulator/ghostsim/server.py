"""The Binance USD-M REST face of ``SimExchange``: FastAPI on uvicorn, bound to 127.0.0.1 only.

    python -m ghostsim.server --port 8931 --seed 7 --fault-script faults.json

or, in-process::

    url, stop = start_server(sim, port=0, schedule=rules)

Every request moves the sim clock to the wall clock, is answered by the same ``SimExchange.handle``
the in-process ccxt transport uses, and then lets the fault schedule fire what is due. A create
whose answer the schedule "loses" is placed and answered ``504 Gateway Timeout`` (ccxt:
``RequestTimeout``). A background ``PriceDriver`` walks the prices so resting orders fill.
"""

from __future__ import annotations

import argparse
import json
import shutil
import signal
import tempfile
import threading
import time
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import uvicorn
from fastapi import FastAPI, Request, Response

from ghostsim.driver import PriceDriver
from ghostsim.engine import SimExchange
from ghostsim.errors import RawBody
from ghostsim.faults import GatewayAnswer, LostResponse
from ghostsim.schedule import FaultSchedule
from ghostsim.venues import VENUES, profile


LOOPBACK = "127.0.0.1"
Rules = str | Path | Iterable[Mapping[str, Any]] | None


def _check_host(host: str) -> None:
    if host != LOOPBACK:
        raise ValueError(f"the simulated exchange binds to {LOOPBACK} only, not {host!r}")


def build_app(sim: SimExchange, schedule: FaultSchedule | None = None) -> FastAPI:
    """A FastAPI app answering every path through ``sim.handle``."""
    app = FastAPI(openapi_url=None, docs_url=None, redoc_url=None)

    @app.api_route("/{path:path}", methods=["GET", "POST", "PUT", "DELETE"])
    async def any_request(request: Request, path: str) -> Response:
        body = (await request.body()).decode() or None
        url = str(request.url)
        headers: dict[str, str] = {}
        with sim._lock:
            sim.set_time(int(time.time() * 1000))
            try:
                status, payload, headers = sim.handle_http_headers(
                    request.method, url, dict(request.headers), body
                )
            except GatewayAnswer as gateway:  # served, then a gateway page
                status, payload = gateway.status, RawBody(gateway.page)
            except LostResponse:
                status, payload = 504, None
            if schedule is not None:
                schedule.run_due()
        if payload is None:
            return Response("Gateway Timeout", status_code=status, media_type="text/plain")
        if isinstance(payload, RawBody):
            return Response(payload.text, status_code=status, media_type=payload.content_type,
                            headers=headers)
        return Response(json.dumps(payload), status_code=status, media_type="application/json",
                        headers=headers)

    return app


@dataclass
class SimServer:
    """A running server: its URL, the engine, schedule and driver, and how to stop it."""

    sim: SimExchange
    url: str
    schedule: FaultSchedule | None
    driver: PriceDriver | None
    tls_dir: Path | None
    _server: uvicorn.Server
    _thread: threading.Thread
    _stopped: list[bool] = field(default_factory=list)

    @property
    def port(self) -> int:
        return int(self.url.rsplit(":", 1)[1])

    def stop(self) -> None:
        if self._stopped:
            return
        self._stopped.append(True)
        if self.driver is not None:
            self.driver.stop()
        self._server.should_exit = True
        self._thread.join(timeout=10)
        if self.schedule is not None:
            self.schedule.detach()
        if self.tls_dir is not None:
            from ghostsim.tls import forget

            forget(self.url)
            shutil.rmtree(self.tls_dir, ignore_errors=True)


def serve(
    sim: SimExchange,
    port: int = 0,
    *,
    host: str = LOOPBACK,
    schedule: Rules | FaultSchedule = None,
    signal_file: str | Path | None = None,
    drive: bool = True,
    step_s: float = 0.2,
    amplitudes: tuple[int, ...] = (2, 4, 6),
    tls: bool = False,
) -> SimServer:
    """Start the server (and price driver) in background threads; returns once it listens."""
    _check_host(host)
    sched = schedule if isinstance(schedule, FaultSchedule) else (
        FaultSchedule(sim, schedule, signal_file=signal_file) if schedule is not None else None
    )
    tls_dir: Path | None = None
    ssl: dict[str, str] = {}
    if tls:
        from ghostsim.tls import write_self_signed

        tls_dir = Path(tempfile.mkdtemp(prefix="ghostguard-sim-tls-"))
        cert, key = write_self_signed(tls_dir)
        ssl = {"ssl_certfile": str(cert), "ssl_keyfile": str(key)}
    config = uvicorn.Config(
        build_app(sim, sched), host=host, port=port, log_level="warning", lifespan="off",
        access_log=False, **ssl,  # type: ignore[arg-type]
    )
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, name="sim-server", daemon=True)
    thread.start()
    _wait_started(server, thread)
    bound = server.servers[0].sockets[0].getsockname()[1]
    url = f"{'https' if tls else 'http'}://{host}:{bound}"
    if tls:
        from ghostsim.tls import trust

        trust(url, cert)
    driver = None
    if drive:
        driver = PriceDriver(sim, step_s=step_s, amplitudes=amplitudes,
                             on_tick=sched.run_due if sched else None)
        driver.start()
    return SimServer(sim, url, sched, driver, tls_dir, server, thread)


def _wait_started(server: uvicorn.Server, thread: threading.Thread) -> None:
    deadline = time.monotonic() + 15
    while not server.started:
        if not thread.is_alive() or time.monotonic() > deadline:
            raise RuntimeError("the simulated exchange server did not start")
        time.sleep(0.01)


def start_server(sim: SimExchange, port: int = 0, **kwargs: Any) -> tuple[str, Callable[[], None]]:
    """Run the REST face of ``sim`` in a background thread: (base URL, stop function)."""
    running = serve(sim, port, **kwargs)
    return running.url, running.stop


# ---------------------------------------------------------------------- CLI


def _parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="python -m ghostsim.server",
        description="Simulated Binance USD-M futures exchange on 127.0.0.1",
    )
    parser.add_argument("--host", default=LOOPBACK, help="must be 127.0.0.1")
    parser.add_argument("--port", type=int, default=0)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--fault-script", type=Path, help="JSON list of fault rules")
    parser.add_argument("--signal-file", type=Path, help="file the 'signal' action writes")
    parser.add_argument("--venue", choices=VENUES, default="binance",
                        help="the REST dialect the simulator answers in")
    parser.add_argument("--symbols", help="comma-separated pairs (default: the venue's)")
    parser.add_argument("--post-only", choices=("reject", "expire"), default="reject")
    parser.add_argument("--tls", action="store_true", help="serve https (self-signed)")
    parser.add_argument("--no-drive", action="store_true", help="keep prices still")
    parser.add_argument(
        "--write-config",
        type=Path,
        help="write a Freqtrade config file pointing at this server (load it after your own: "
        "freqtrade trade -c config.json -c THIS_FILE)",
    )
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    args = _parse_args(argv)
    if args.host != LOOPBACK:
        print(f"refusing to bind to {args.host}: the simulated exchange serves {LOOPBACK} only")
        return 2
    symbols = args.symbols.split(",") if args.symbols else profile(args.venue).symbols
    sim = SimExchange(symbols, seed=args.seed, post_only_mode=args.post_only, venue=args.venue)
    running = serve(sim, args.port, host=args.host, schedule=args.fault_script,
                    signal_file=args.signal_file, drive=not args.no_drive, tls=args.tls)
    from ghostsim.ftconfig import exchange_overlay

    overlay = exchange_overlay(running.url, args.venue)
    print(f"SimExchange listening on {running.url}", flush=True)
    print(f"API key: {sim.SIM_API_KEY}  secret: {sim.SIM_API_SECRET}", flush=True)
    print("Freqtrade config for this server (key, secret, URLs):", flush=True)
    print(json.dumps(overlay, indent=2), flush=True)
    if args.write_config is not None:
        args.write_config.write_text(json.dumps(overlay, indent=2))
        print(f"written to {args.write_config}", flush=True)
    stop = threading.Event()
    for sig in (signal.SIGINT, signal.SIGTERM):
        signal.signal(sig, lambda *_: stop.set())
    stop.wait()
    running.stop()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
