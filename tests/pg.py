"""A real PostgreSQL server for the tests, started by the tests themselves.

`pgserver` (a test dependency) brings PostgreSQL's own binaries in its wheel, so a clean machine
needs no system package and no root: as root it runs the server as a user of its own. The
server listens on a Unix socket in the test's temporary directory only (no TCP port at all),
and is stopped and deleted when the test session ends. Each test gets a database of its own.
"""

from __future__ import annotations

import itertools
import logging
import warnings
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa


_numbers = itertools.count()


@pytest.fixture(scope="session")
def pg_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Any]:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        import pgserver

        logging.getLogger("pgserver").setLevel(logging.WARNING)
        server = pgserver.get_server(Path(tmp_path_factory.mktemp("pg")), cleanup_mode="delete")
    try:
        yield server
    finally:
        server.cleanup()


def _url(server: Any, database: str) -> str:
    uri = server.get_uri(database)
    return uri.replace("postgresql://", "postgresql+psycopg://", 1)


@pytest.fixture
def pg_url(pg_server: Any) -> Iterator[str]:
    """A fresh database on the test server: its SQLAlchemy URL."""
    name = f"gg_test_{next(_numbers)}"
    admin = sa.create_engine(_url(pg_server, "postgres"), isolation_level="AUTOCOMMIT")
    with admin.connect() as connection:
        connection.execute(sa.text(f'CREATE DATABASE "{name}"'))
    try:
        yield _url(pg_server, name)
    finally:
        with admin.connect() as connection:
            connection.execute(sa.text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


@pytest.fixture(params=["sqlite", "postgresql"])
def database(request: pytest.FixtureRequest, tmp_path: Path) -> tuple[str, Path | str]:
    """(Freqtrade's db_url, a handle to read it back): a SQLite file, or a fresh database on
    the real PostgreSQL server (its URL)."""
    if request.param == "sqlite":
        db = tmp_path / "gg.sqlite"
        return f"sqlite:///{db}", db
    url = request.getfixturevalue("pg_url")
    return url, url
