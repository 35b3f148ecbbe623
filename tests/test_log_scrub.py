"""No line the guard logs carries a signature, an API key or a secret (defect 11 of the
correctness work): ccxt's error texts carry the signed URL of the request that failed, and a
failed bookkeeping step used to log them with its traceback."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from typing import Any

import pytest

from ghostsim import LostResponse, SimExchange
from tests.conftest import loop, orders_of


class FullText(logging.Handler):
    """Every record of the guard's logger as a handler would write it, traceback included."""

    def __init__(self) -> None:
        super().__init__(level=logging.DEBUG)
        self.setFormatter(logging.Formatter("%(levelname)s %(message)s"))
        self.texts: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.texts.append(self.format(record))


@pytest.fixture
def guard_output() -> Iterator[FullText]:
    handler = FullText()
    logger = logging.getLogger("ghostguard")
    logger.addHandler(handler)
    try:
        yield handler
    finally:
        logger.removeHandler(handler)


def test_a_faulty_run_logs_no_signature_and_no_key(bot_on_sim, guard_output) -> None:
    with bot_on_sim() as (sim, bot):
        loop(bot)
        [first] = orders_of(sim, reduce_only=False)

        real_handle = sim.handle
        armed = []

        def timing_out(method: str, path: str, *args: Any, **kwargs: Any) -> Any:
            if armed and method == "GET" and path == "/fapi/v1/openOrders":
                armed.clear()
                raise LostResponse()  # ccxt: RequestTimeout("binance GET <signed URL>")
            return real_handle(method, path, *args, **kwargs)

        sim.handle = timing_out

        def sweep_read_times_out() -> None:  # armed after the checks ran: only the sweep fails
            armed.append(True)

        bot.strategy.ghost_guard.before_send = sweep_read_times_out
        sim.expire_order(first.order_id)
        loop(bot)
        text = "\n".join(guard_output.texts)
        assert "sweep" in text  # the failed sweep was logged ...
        for secret in ("signature=", SimExchange.SIM_API_KEY, SimExchange.SIM_API_SECRET):
            assert secret not in text  # ... with nothing that signs or opens the account
