"""Readings of what the venues leave undocumented: each one selectable, the default the
simulator's behaviour before it was offered (docs/simulator.md, "Readings").

Where a venue's documentation is silent or contradicts itself, the simulator cannot know which
answer is true, so it offers each reading and a fault campaign draws one. ``SimExchange(...)``
takes each as a keyword (``reduce_only_oversize="trim"``); ``sim.readings`` can be changed at any
time (``sim.readings.client_id_reuse = "strict"``), and applies from the next request on.
"""

from __future__ import annotations

from dataclasses import dataclass, fields
from typing import Any, Literal


ReduceOnlyOversize = Literal["refuse", "trim"]
ExecutionsByOrder = Literal["all", "window"]
ClientIdReuse = Literal["open", "strict"]

CHOICES: dict[str, tuple[str, ...]] = {
    # A reduce-only order larger than the position it reduces (Bybit 110017 "Reduce-only rule
    # not satisfied", OKX 51112 "Close order size exceeds your available size.", Binance USD-M
    # -2022): refused (the engine's reading since it was built), or accepted with its quantity
    # trimmed to the position (and a resting one trimmed, not expired, when the position
    # shrinks under it). Neither Bybit nor OKX documents which; Binance documents -2022 for an
    # order that cannot reduce and says nothing of a larger one.
    "reduce_only_oversize": ("refuse", "trim"),
    # Bybit GET /v5/execution/list by orderId / orderLinkId: every fill of the order whatever its
    # age ("all", the face's reading since it was built), or only those in the default 7-day
    # window ("window"). position/execution says "orderId and orderLinkId have a higher priority
    # and as long as these two parameters are in the input parameters, other input parameters
    # will be ignored" and, for the time window, "startTime and endTime are not passed, return
    # 7 days by default": whether the default window still applies is not stated.
    "executions_by_order": ("all", "window"),
    # Reusing a client order id once the first order is closed. "open": refused only while an
    # open order holds it (both faces' reading since they were built). "strict": Binance spot
    # refuses it unless every earlier order with that id FILLED (rest-api.md New order: "Orders
    # with the same newClientOrderID can be accepted only when the previous one is filled,
    # otherwise the order will be rejected." -- the same field is also "A unique id among open
    # orders"); OKX refuses any reuse with 51016 "Client order ID already exists." (its scope,
    # open orders or every order, is not documented). Bybit is always strict (110072, its v5
    # text is explicit); Binance USD-M documents "A unique id among open orders" and stays so.
    "client_id_reuse": ("open", "strict"),
}


@dataclass
class Readings:
    """The reading of each ambiguous rule this simulator applies (defaults: the old ones)."""

    reduce_only_oversize: ReduceOnlyOversize = "refuse"
    executions_by_order: ExecutionsByOrder = "all"
    client_id_reuse: ClientIdReuse = "open"

    def __setattr__(self, name: str, value: Any) -> None:
        allowed = CHOICES.get(name)
        if allowed is None:
            raise AttributeError(f"no reading {name!r}; the simulator has {sorted(CHOICES)}")
        if value not in allowed:
            raise ValueError(f"{name} is one of {allowed}, not {value!r}")
        object.__setattr__(self, name, value)

    def as_dict(self) -> dict[str, str]:
        return {f.name: str(getattr(self, f.name)) for f in fields(self)}


__all__ = ["CHOICES", "ClientIdReuse", "ExecutionsByOrder", "ReduceOnlyOversize", "Readings"]
