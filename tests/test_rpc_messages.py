"""The guard's messages for people reach Telegram and webhooks through Freqtrade's own RPC
manager: a real FreqtradeBot with Freqtrade's webhook RPC pointed at a server on 127.0.0.1 that
records what it receives. On by default: the breaker, a late fill, the adoption."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, HTTPServer

import pytest

from tests.harness import run_loop
from tests.test_reconcile import _guarded, late_fill_after_resolution


@pytest.fixture
def webhook() -> Iterator[tuple[str, list[str]]]:
    received: list[str] = []

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:  # noqa: N802 - http.server's name
            body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
            received.append(json.loads(body).get("text", ""))
            self.send_response(200)
            self.end_headers()

        def log_message(self, *args: object) -> None:
            pass

    server = HTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}/", received
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=10)


def test_breaker_late_fill_and_adoption_reach_a_webhook(bot_on_sim, script, webhook) -> None:
    url, received = webhook
    config = {"webhook": {"enabled": True, "url": url, "format": "json",
                          "warning": {"text": "{status}"}}}
    with bot_on_sim(extra=config) as (sim, bot):
        _guarded(bot, sim)
        late_fill_after_resolution(sim, bot)  # the breaker trips, then the order fills
        script.update(enter_long=0)
        run_loop(bot, 4, advance_seconds=6)
    ours = [text for text in received if text.startswith("GhostGuard ")]
    assert any('answered "does not exist" 3 times in a row' in t for t in ours), ours
    assert any("taken for gone, has filled" in t for t in ours), ours
    assert any("a fill no trade owned is now managed" in t for t in ours), ours
    assert not any("=" in t.split(":", 1)[0] for t in ours)  # sentences, not key=value lines
