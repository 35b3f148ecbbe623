"""Messages for people, sent as Freqtrade RPC messages (Telegram, webhooks; type `warning`).

On by default for what changes a position or stops a pair: the breaker tripping, a fill found
late, an adoption or reduction, a lock and its end (`adoption`). Blocked replacements only with
`ghost_guard.notify: true` (Freqtrade retries a blocked replacement every loop; each block is
sent once until a fact changes). Each message says what happened and what comes next.
"""

from __future__ import annotations

from typing import Any

from freqtrade.enums import RPCMessageType

from ghostguard.context import GuardContext, safe


def tell(ctx: GuardContext, text: str) -> None:
    """Send one message; a failing RPC never breaks the guard's work."""
    safe(ctx.bot.rpc.send_msg, {"type": RPCMessageType.WARNING, "status": text})


def breaker_text(pair: str, role: str, order_id: str, not_found: int) -> str:
    return (
        f"GhostGuard {pair}: the {role} order {order_id} answered \"does not exist\" "
        f"{not_found} times in a row. The guard cancels it by id and reads its fills before "
        "anything replaces it; nothing to do unless a lock follows."
    )


def late_fill_text(pair: str, role: str, order_id: Any, filled: float) -> str:
    return (
        f"GhostGuard {pair}: the {role} order {order_id}, taken for gone, has filled {filled:g}. "
        "The pair is reconciled from the next loop: the fill goes into a trade that manages it "
        "(late_fill \"adopt\"), or as late_fill says."
    )


def blocked_text(pair: str, role: str, gone: Any, reasons: str) -> str:
    replaces = f" replacing order {gone}" if gone else ""
    return (
        f"GhostGuard {pair}: a new {role} order{replaces} was not sent: {reasons}. Freqtrade "
        "asks again next loop; the guard lets it through once the exchange shows it is safe."
    )


__all__ = ["blocked_text", "breaker_text", "late_fill_text", "tell"]
