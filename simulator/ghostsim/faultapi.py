"""The fault-injection API of the simulated exchange (``sim.fault_*``)."""

from __future__ import annotations

from ghostsim.faults import FailRule, Faults, NotFoundRule


class FaultApiMixin:
    """Scriptable faults; each consumes itself or lasts until ``clear_faults``."""

    def fault_stale_status(self, order_id: int | str, status: str = "CANCELED") -> None:
        """GET of that order answers ``status`` with executedQty 0 until cleared."""
        self.faults.stale_status[int(order_id)] = status

    def fault_not_found(
        self, order_id: int | str, count: int | None = 1, *, on_cancel: bool = False
    ) -> None:
        """Next ``count`` GETs (None = forever) answer -2013.

        With ``on_cancel`` DELETEs answer -2011 too (and consume the count).
        """
        self.faults.not_found[int(order_id)] = NotFoundRule(count, on_cancel)

    def fault_fill_during_cancel(self, order_id: int | str) -> None:
        """A DELETE of that order fills it first, then answers -2011 'Unknown order sent.'."""
        self.faults.fill_during_cancel.add(int(order_id))

    def fault_expire_on_cancel(self, order_id: int | str) -> None:
        """A DELETE of that order finds it already EXPIRED and answers -2011."""
        self.faults.expire_on_cancel.add(int(order_id))

    def fault_fail(
        self,
        method: str | None,
        path: str | None,
        count: int = 1,
        code: int = -1001,
        http: int = 503,
        msg: str = "Internal error; unable to process your request. Please try again.",
    ) -> None:
        """The next ``count`` matching requests fail with that error (None matches any)."""
        self.faults.fail_rules.append(FailRule(method, path, count, code, http, msg))

    def fault_lost_create(self, count: int = 1) -> None:
        """The next ``count`` POST orders are placed but their answers are lost (timeout)."""
        self.faults.lost_create += count

    def fault_delay_visibility(self, seconds: float) -> None:
        """New orders appear in /openOrders only ``seconds`` sim seconds after placement."""
        self.faults.visibility_delay_ms = int(seconds * 1000)

    def clear_faults(self, order_id: int | str | None = None) -> None:
        if order_id is None:
            self.faults = Faults()
            return
        oid = int(order_id)
        self.faults.stale_status.pop(oid, None)
        self.faults.not_found.pop(oid, None)
        self.faults.fill_during_cancel.discard(oid)
        self.faults.expire_on_cancel.discard(oid)
