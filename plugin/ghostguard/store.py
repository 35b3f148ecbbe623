"""GhostGuard's state in Freqtrade's own database (one small table), cached in memory.

Attempt counters, cooldowns, breaker counts, suspected-gone orders and the watchlist must
survive a restart and outlive a deleted zero-fill trade (whose custom data Freqtrade deletes),
so they live in their own table next to Freqtrade's, written through Freqtrade's session.
"""

from __future__ import annotations

import json
import logging
from datetime import UTC, datetime
from typing import Any, ClassVar

from freqtrade.persistence import Trade
from freqtrade.persistence.base import ModelBase, SessionType
from sqlalchemy import String, Text, select
from sqlalchemy.orm import Mapped, mapped_column


logger = logging.getLogger(__name__)


class GhostGuardState(ModelBase):
    """One JSON document per key (`sig:`, `gone:`, `ord:`, `cool:`, `lock:` prefixes)."""

    __tablename__ = "ghostguard_state"
    session: ClassVar[SessionType]

    key: Mapped[str] = mapped_column(String(255), primary_key=True)
    value: Mapped[str] = mapped_column(Text, nullable=False)
    updated_at: Mapped[datetime] = mapped_column(nullable=False)


class GuardStore:
    """Write-through cache of the `ghostguard_state` table."""

    def __init__(self) -> None:
        self._cache: dict[str, dict[str, Any]] = {}

    @staticmethod
    def _session() -> SessionType:
        return Trade.session

    def load(self) -> None:
        session = self._session()
        GhostGuardState.__table__.create(session.get_bind(), checkfirst=True)  # type: ignore[attr-defined]
        self._cache = {}
        for row in session.scalars(select(GhostGuardState)).all():
            try:
                self._cache[row.key] = json.loads(row.value)
            except ValueError:
                logger.warning("GhostGuard: unreadable state row %s ignored", row.key)

    def get(self, key: str) -> dict[str, Any] | None:
        value = self._cache.get(key)
        return dict(value) if value is not None else None

    def keys(self, prefix: str) -> list[str]:
        return [k for k in self._cache if k.startswith(prefix)]

    def put(self, key: str, value: dict[str, Any]) -> None:
        self._cache[key] = dict(value)
        session = self._session()
        row = session.get(GhostGuardState, key)
        text = json.dumps(value, sort_keys=True, default=str)
        now = datetime.now(UTC)
        if row is None:
            session.add(GhostGuardState(key=key, value=text, updated_at=now))
        else:
            row.value = text
            row.updated_at = now
        session.commit()

    def delete(self, key: str) -> None:
        if self._cache.pop(key, None) is None:
            return
        session = self._session()
        row = session.get(GhostGuardState, key)
        if row is not None:
            session.delete(row)
            session.commit()
