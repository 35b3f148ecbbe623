"""The background clock and price path of a running simulated exchange.

The sim clock follows the wall clock (Freqtrade dates candles, orders and timeouts by its own wall
clock, so the exchange must agree with it). The price of every symbol walks a deterministic
triangle wave, one tick per step, whose amplitude cycles through `amplitudes` (2, 4, 6 ticks): a
maker order at the best bid or ask is reached within a few seconds (one placed at the very top of
the widest swing waits for Freqtrade's unfilled timeout), and a move of one tick per step never
makes a post-only order placed at the book cross between Freqtrade's order-book read and its
order (no accidental -5022: those come from the fault schedule only).
"""

from __future__ import annotations

import hashlib
import threading
import time
from collections.abc import Callable

from ghostsim.engine import SimExchange


def wave(step: int, amplitudes: tuple[int, ...]) -> int:
    """Offset in ticks at `step`: one triangle cycle per amplitude, in turn, forever."""
    total = sum(4 * a for a in amplitudes)
    k = step % total
    for amplitude in amplitudes:
        if k < 4 * amplitude:
            return triangle(k, amplitude)
        k -= 4 * amplitude
    return 0  # unreachable


def triangle(step: int, amplitude: int) -> int:
    """-amplitude..+amplitude and back, one unit per step (period 4 * amplitude)."""
    period = 4 * amplitude
    k = step % period
    if k <= amplitude:
        return k
    if k <= 3 * amplitude:
        return 2 * amplitude - k
    return k - 4 * amplitude


def _phase(seed: int, symbol_id: str, period: int) -> int:
    digest = hashlib.sha256(f"{seed}|{symbol_id}".encode()).digest()
    return int.from_bytes(digest[:4], "big") % period


class PriceDriver:
    """Moves the sim clock with the wall clock and the prices along their paths."""

    def __init__(
        self,
        sim: SimExchange,
        *,
        step_s: float = 0.2,
        amplitudes: tuple[int, ...] = (2, 4, 6),
        on_tick: Callable[[], object] | None = None,
    ) -> None:
        self.sim = sim
        self.step_s = step_s
        self.amplitudes = amplitudes
        self.on_tick = on_tick
        self.start_ms = sim.now_ms
        self.base = {sid: path.current for sid, path in sim.paths.items()}
        period = sum(4 * a for a in amplitudes)
        self.phase = {sid: _phase(sim.seed, sid, period) for sid in sim.paths}
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def price_at(self, symbol_id: str, sim_ms: int) -> float:
        step = int((sim_ms - self.start_ms) / 1000 / self.step_s) + self.phase[symbol_id]
        spec = self.sim.specs[symbol_id]
        return spec.round_price(self.base[symbol_id] + wave(step, self.amplitudes) * spec.tick)

    def tick(self) -> None:
        """One step: clock to now, every price to its path value, then the schedule."""
        with self.sim._lock:
            self.sim.set_time(int(time.time() * 1000))
            for sid, path in self.sim.paths.items():
                price = self.price_at(sid, self.sim.now_ms)
                if price != path.current:
                    self.sim.set_price(sid, price)
        if self.on_tick is not None:
            self.on_tick()

    def _run(self) -> None:
        while not self._stop.wait(min(self.step_s / 2, 0.1)):
            self.tick()

    def start(self) -> None:
        self._thread = threading.Thread(target=self._run, name="sim-price-driver", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=5)


__all__ = ["PriceDriver", "triangle", "wave"]
