"""The demo's table reports the request weight each bot used, as the venue counts it."""

from __future__ import annotations

from typing import Any

from ghostsim import SimExchange
from ghostsim.demo import format_table, summary_rows


class _Run:
    """What the table reads of a finished run (ghostsim.ftrun.FreqtradeRun)."""

    def __init__(self, sim: SimExchange) -> None:
        self.sim = sim
        self.stop_how = "SIGINT"

    def events(self, name: str | None = None) -> list[Any]:
        return []

    def log_lines(self) -> list[str]:
        return []

    def double_positions(self) -> int:
        return 0

    def orphans(self) -> list[Any]:
        return []

    def errors(self) -> list[str]:
        return []


def test_the_demo_table_has_the_request_weight_of_each_bot() -> None:
    on, off = SimExchange(), SimExchange()
    on.enforce_rate_limits(True, share=0.01)  # 24 weight a minute
    for sim, reads in ((on, 3), (off, 1)):
        for _ in range(reads):  # GET openOrders without a symbol: weight 40 on Binance USD-M
            sim.rate.admit("GET", "/fapi/v1/openOrders", None)
    rows = {label: (a, b) for label, a, b in summary_rows(_Run(on), _Run(off))}
    assert rows["request weight used (the venue's own count)"] == ("120", "40")
    assert rows["most weight in one minute"] == ("120", "40")
    assert rows["requests the venue refused over its budget"] == ("3", "0")
    assert "request weight used" in format_table(list(summary_rows(_Run(on), _Run(off))))
