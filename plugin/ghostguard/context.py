"""What every part of the guard shares: the config, the bot and its strategy, the venue, the
guard's store, its clock and its counters."""

from __future__ import annotations

import logging
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, TypeVar

from ghostguard import events, identity
from ghostguard.config import GuardConfig, GuardSettings
from ghostguard.records import CLIENT_ID_PREFIX
from ghostguard.registry import AccountRegistry
from ghostguard.store import GuardStore
from ghostguard.venue import Venue


logger = logging.getLogger("ghostguard")
T = TypeVar("T")


@dataclass
class GuardContext:
    config: GuardConfig
    strategy: Any
    bot: Any
    venue: Venue
    store: GuardStore
    dry_run: bool
    clock: Callable[[], float] = time.time
    # The start of every client id this bot sends: `gg` + its tag (ghostguard.identity).
    own_prefix: str = CLIENT_ID_PREFIX
    # The account's bots' shared registry (`ghost_guard.account_registry`), or None.
    registry: AccountRegistry | None = None
    stats: Counter[str] = field(default_factory=Counter)
    # This loop's entry cancels the exchange did not confirm: order id -> the "open" answer
    # Freqtrade was given (cleared when the next loop starts; see `detection`).
    unconfirmed_cancels: dict[str, dict[str, Any]] = field(default_factory=dict)
    # Orders the guard's cancel wrapper cancelled this loop (cleared with the above).
    cancelled_this_loop: set[str] = field(default_factory=set)
    # Pairs whose last reconciliation found the gap to be other bots' fills (SHARED_SYMBOL):
    # pair -> (the exchange position then, those orders). While the position is still that, a
    # position check that fails there says `shared_symbol`, naming them; once it moved, the
    # pair is reconciled again.
    shared_gaps: dict[str, tuple[float, tuple[str, ...]]] = field(default_factory=dict)
    # Exits of the bot found filled after their create answer was lost, not booked yet:
    # pair -> order id -> the order (a risk-reducing exit never sends their fill again).
    unbooked_exits: dict[str, dict[str, dict[str, Any]]] = field(default_factory=dict)

    def settings(self, pair: str) -> GuardSettings:
        return self.config.for_pair(pair)

    def own_tag(self, client_id: Any) -> bool:
        """The client id carries this bot's tag, and no other running bot of the account is
        known to use that tag (`registry`): then the order is the bot's own."""
        if self.registry is not None and self.registry.tag_shared_with is not None:
            return False
        return identity.owner(client_id, self.own_prefix) == "own"


def safe(func: Callable[..., T], *args: Any, **kwargs: Any) -> T | None:
    """Run bookkeeping that must never break Freqtrade's own flow (the failure is logged on one
    line, scrubbed of signed URLs and keys)."""
    try:
        return func(*args, **kwargs)
    except Exception as error:  # noqa: BLE001
        text = f"{type(error).__name__}: {error}".splitlines()[0][:300]
        logger.warning(
            "GhostGuard bookkeeping failed in %s: %s",
            getattr(func, "__name__", func),
            events.scrub(text),
        )
        return None
