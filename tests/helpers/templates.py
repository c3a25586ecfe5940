"""Databases prepared once per session and copied per test: a ``Template`` is the demo database
after a ``Builder`` ran on it (a sync, a history, a staged batch) with the board state it left;
``copy_of`` gives a test its own copy (a SQLite file copy; a PostgreSQL schema copy,
``helpers.pg_schemas``). conftest's ``templates`` fixture makes and keeps them."""

from __future__ import annotations

import pickle
import shutil
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from helpers.board_support import GREYSON
from helpers.pg_schemas import copy_schema, drop_schema, schema_url
from helpers.support import demo_database
from ordersync.clock import ManualClock
from ordersync.config import SyncConfig
from ordersync.db import Database
from ordersync.emulator import Emulator
from ordersync.monday import MondayClient
from ordersync.sync import run_sync

Builder = Callable[[Database, SyncConfig, MondayClient, Emulator], Any]
"""What a template holds beyond the demo database: a function of the database, the
configuration, a client and its emulator (a sync, a history…); its result is kept."""


@dataclass
class Template:
    """A demo database prepared once by a ``Builder``, and the board state it left."""

    url: str
    pickled_board: bytes  # the emulator's state (``to_dict``), pickled: a copy is one ``loads``
    made: Any  # what the builder returned
    file: Path | None = None  # SQLite: the database file
    schema: str | None = None  # PostgreSQL: the template schema

    def board(self) -> dict[str, Any]:
        """A copy of the board state of its own (pickle is ~8x faster than ``deepcopy``)."""
        board: dict[str, Any] = pickle.loads(self.pickled_board)
        return board


def sync_greyson(
    database: Database, config: SyncConfig, client: MondayClient, emulator: Emulator
) -> None:
    """The ``synced`` template: one clean sync of GREYSON PO 4755."""
    assert run_sync(database, config, client, GREYSON).exit_code == 0


def build_template(url: str, config: SyncConfig, build: Builder | None) -> tuple[bytes, Any]:
    """The demo database at ``url`` after ``build`` (if any), with a client and an emulator of
    its own: the emulator's state, pickled, and what ``build`` returned."""
    database = demo_database(url)
    clock = ManualClock()
    emulator = Emulator(clock=clock, seed=True)
    try:
        with MondayClient(
            "http://emulator.test/v2", "test-token", transport=emulator.transport(), clock=clock
        ) as client:
            made = None if build is None else build(database, config, client, emulator)
        return pickle.dumps(emulator.store.to_dict()), made
    finally:
        emulator.close()
        database.engine.dispose()


@contextmanager
def copy_of(template: Template, emulator: Emulator | None, tmp_path: Path) -> Iterator[Database]:
    """A database of the test's own holding what ``template`` holds (a file copy; a schema
    copy, ``helpers.pg_schemas``), with the template's board loaded into ``emulator``."""
    if emulator is not None:
        emulator.store.load_dict(template.board())
    if template.file is not None:
        file = tmp_path / "ordersync.db"
        shutil.copyfile(template.file, file)
        database = Database.connect(f"sqlite:///{file}")
        yield database
        database.engine.dispose()
        return
    assert template.schema is not None
    schema = copy_schema(template.schema)
    database = Database.connect(schema_url(schema))
    yield database
    database.engine.dispose()
    drop_schema(schema)
