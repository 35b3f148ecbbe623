"""Order ids as the venue writes them (``SimExchange(venue_ids=True)``), mapped both ways.

The engine numbers orders with integers (Binance's shape: USD-M and spot order ids are LONGs).
Bybit v5 and OKX do not:

- **Bybit**: v5 order ids are UUID strings (order/open-order, response example:
  ``"orderId": "fd4300ae-7847-404e-b947-b46980a4d140"``).
- **OKX**: ``ordId`` is a String of digits (Place order: "ordId String Order ID"), and Get order
  history pages by it (``after`` / ``before``: records earlier / newer than the ordId), so the
  ids increase. The simulator's are 19 digits: past 32 bits and past 2**53 (JavaScript's exact
  integers); the exact width OKX issues is not documented.

Code that sorts, converts or compares ids as integers works only against integer ids. With
``venue_ids=True`` the face shows the venue's shape: a UUID (derived from the simulator's seed
and the engine id, so a run is reproducible) on Bybit, an increasing 19-digit string on OKX. The
engine, ``sim.orders`` and the fault API keep integers; ``sim.order(...)``, ``fill_order`` and
every ``fault_*`` also accept the venue's id (``sim.engine_order_id``). Off by default: tests
that compare the engine's integer ids with a database's keep working.
"""

from __future__ import annotations

import hashlib
import uuid
from typing import Literal


IdShape = Literal["uuid", "okx"]
OKX_BASE = 2_479_000_000_000_000_000  # 19 digits, below 2**63


class VenueIds:
    """engine id <-> venue id for one face (``shape`` None: the engine's id as a string)."""

    def __init__(self, shape: IdShape | None, seed: int) -> None:
        self.shape = shape
        self.seed = seed
        self._out: dict[int, str] = {}
        self._in: dict[str, int] = {}

    def out(self, engine_id: int) -> str:
        """The id the venue shows for an engine order id."""
        engine_id = int(engine_id)
        if self.shape is None:
            return str(engine_id)
        known = self._out.get(engine_id)
        if known is None:
            if self.shape == "uuid":
                digest = hashlib.sha256(f"ghostsim:{self.seed}:{engine_id}".encode()).digest()
                known = str(uuid.UUID(bytes=digest[:16], version=4))
            else:  # increasing with the engine id, low bits varied like a snowflake id
                low = hashlib.sha256(f"{self.seed}:{engine_id}".encode()).digest()[0]
                known = str(OKX_BASE + engine_id * 4096 + low)
            self._out[engine_id] = known
            self._in[known] = engine_id
        return known

    def engine(self, venue_id: str) -> int | None:
        """The engine id of a venue id, None when this face never issued it."""
        venue_id = str(venue_id)
        if self.shape is None:
            return int(venue_id) if venue_id.isdigit() and len(venue_id) <= 18 else None
        return self._in.get(venue_id)


__all__ = ["OKX_BASE", "VenueIds"]
