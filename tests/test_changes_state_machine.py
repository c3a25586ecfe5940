"""A state machine of source edits with syncs between them: after every sync the board equals
the projection of the source, and an idle sync sends no mutation (SQLite and PostgreSQL)."""

from __future__ import annotations

import uuid
from datetime import date

import sqlalchemy as sa
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import Bundle, RuleBasedStateMachine, consumes, initialize, rule

from helpers.board_check import assert_board_matches_source
from helpers.support import PG_URL
from ordersync.clock import ManualClock
from ordersync.config import load_builtin_config
from ordersync.db import Database
from ordersync.db.migrate import upgrade
from ordersync.demo_data import create_source_table
from ordersync.emulator import CMS_BOARD_ID, Emulator
from ordersync.monday import MondayClient
from ordersync.push.source import Scope
from ordersync.sync import run_sync

SCOPE = Scope("GREYSON", "4755")
KEY_COLUMN = "text_mkr5wya6"
OTHER = Scope("GREYSON", "4756")  # lines move between the two POs (and between seasons)
SIZE_NAMES = ("XS", "S", "M", "L", "32/30", "ONE SIZE")
SIZES = st.dictionaries(  # few sizes and quantities, so edits often hit an existing subitem
    st.sampled_from(SIZE_NAMES),
    st.sampled_from([0, 6, 12, 24, 300]),
    max_size=4,
)
EDITS = st.sampled_from(
    [
        ("NOTES", st.sampled_from([None, "rush", 'tag "B" — café', "🚀 launch"])),
        ("CUSTOMER PRICE", st.sampled_from(["18.50", "19", "nan", "0.99"])),
        ("EX FACTORY DATE", st.dates(date(2025, 1, 1), date(2026, 12, 31))),
        ("CUSTOMER COLOUR DESCRIPTION", st.sampled_from(["NAVY", "WHITE", "SHEPHERD"])),
        ("DELIVERY TERMS", st.sampled_from(["FOB", "DDP", None])),
        ("ORDER TYPE", st.sampled_from(["ACTIVE", "CANCELLED"])),
    ]
)


class SourceAndBoard(RuleBasedStateMachine):
    """Random inserts, updates of any mapped column, size changes, deletes and re-inserts, and
    lines moved to another PO or season (the same item, updated and moved between groups)."""

    backend = "sqlite"
    lines = Bundle("lines")
    deleted = Bundle("deleted")

    def __init__(self) -> None:
        super().__init__()
        self.config = load_builtin_config()
        self.schema: str | None = None
        if self.backend == "sqlite":
            self.db = Database.connect("sqlite://")  # one in-memory connection per example
        else:
            self.schema = f"sm_{uuid.uuid4().hex[:12]}"
            admin = sa.create_engine(PG_URL)
            with admin.begin() as connection:
                connection.execute(sa.text(f'CREATE SCHEMA "{self.schema}"'))
            admin.dispose()
            self.db = Database.connect(f"{PG_URL}?options=-csearch_path%3D{self.schema}")
        upgrade(self.db.engine)
        self.table = create_source_table(self.db.engine)
        self.clock = ManualClock()
        self.emulator = Emulator(clock=self.clock, seed=True)
        self.client = MondayClient(
            "http://e/v2", "t", transport=self.emulator.transport(), clock=self.clock
        )
        self.counter = 0
        self.rows: dict[str, dict[str, object]] = {}
        self.item_ids: dict[str, int] = {}  # order key → its item on the board
        self.churned: set[str] = set()  # keys deleted or (re)inserted since the last sync

    def teardown(self) -> None:
        self.client.close()
        self.db.engine.dispose()
        if self.schema:
            engine = sa.create_engine(PG_URL)
            with engine.begin() as connection:
                connection.execute(sa.text(f'DROP SCHEMA "{self.schema}" CASCADE'))
            engine.dispose()

    def _write(self, key: str) -> None:
        key_column = self.table.c["AAG ORDER NUMBER"]
        with self.db.engine.begin() as connection:
            connection.execute(self.table.delete().where(key_column == key))
            connection.execute(self.table.insert().values(self.rows[key]))

    @initialize(target=lines)
    def first_line(self) -> str:
        return self.insert({"M": 12})

    @rule(target=lines, sizes=SIZES, check=st.booleans())
    def insert_line(self, sizes: dict[str, int], check: bool) -> str:
        key = self.insert(sizes)
        self._maybe_sync(check)
        return key

    def insert(self, sizes: dict[str, int]) -> str:
        self.counter += 1
        key = f"SM-{self.counter:05d}"
        row: dict[str, object] = {c.name: None for c in self.table.columns}
        row.update(
            {
                "AAG ORDER NUMBER": key,
                "CUSTOMER NAME": "GREYSON CLOTHIERS" if self.counter % 2 else "GREYSON",
                "PO NUMBER": "4755",
                "CUSTOMER SEASON": "2025 FALL",
                "CUSTOMER STYLE": f"GMK{self.counter}",
                "CUSTOMER COLOUR DESCRIPTION": "NAVY",
                "ORDER TYPE": "ACTIVE",
                "UNIT OF MEASURE": "EACH",
                **sizes,
            }
        )
        self.rows[key] = row
        self._write(key)
        self.churned.add(key)
        return key

    @rule(
        key=lines,
        po=st.sampled_from(["4755", "4756"]),
        season=st.sampled_from(["2025 FALL", "2026 SPRING"]),
        check=st.booleans(),
    )
    def move_line(self, key: str, po: str, season: str, check: bool) -> None:
        """Another PO or season: the same item, never archived and created again."""
        self.rows[key].update({"PO NUMBER": po, "CUSTOMER SEASON": season})
        self._write(key)
        self._maybe_sync(check)

    @rule(key=lines, edit=EDITS, data=st.data())
    def update_column(
        self, key: str, edit: tuple[str, st.SearchStrategy[object]], data: st.DataObject
    ) -> None:
        if key not in self.rows:
            return
        column, values = edit
        self.rows[key][column] = data.draw(values)
        self._write(key)

    @rule(key=lines, sizes=SIZES, check=st.booleans())
    def change_sizes(self, key: str, sizes: dict[str, int], check: bool) -> None:
        for size in SIZE_NAMES:
            self.rows[key][size] = sizes.get(size)
        self._write(key)
        self._maybe_sync(check)

    @rule(key=lines, data=st.data())
    def change_quantity(self, key: str, data: st.DataObject) -> None:
        """A quantity of a size the line already has (the commonest edit of all)."""
        filled = [size for size in SIZE_NAMES if self.rows[key].get(size)]
        if not filled:
            return
        size = data.draw(st.sampled_from(filled))
        old = self.rows[key][size]
        self.rows[key][size] = data.draw(st.sampled_from([6, 24, 300]).filter(lambda q: q != old))
        self._write(key)
        self._maybe_sync(data.draw(st.booleans()))

    @rule(target=deleted, key=consumes(lines), check=st.booleans())
    def delete(self, key: str, check: bool) -> str:
        key_column = self.table.c["AAG ORDER NUMBER"]
        with self.db.engine.begin() as connection:
            connection.execute(self.table.delete().where(key_column == key))
        self.churned.add(key)
        self._maybe_sync(check)
        return key

    @rule(target=lines, key=consumes(deleted), check=st.booleans())
    def reinsert(self, key: str, check: bool) -> str:
        self._write(key)
        self.churned.add(key)
        self._maybe_sync(check)
        return key

    def _maybe_sync(self, now: bool) -> None:
        """Half the edits are synced at once; the others pile up for a later sync."""
        if now:
            self.sync()

    @rule(other_first=st.booleans())
    def sync(self, other_first: bool = False) -> None:
        scopes = [OTHER, SCOPE] if other_first else [SCOPE, OTHER]
        for scope in scopes:  # this test is about change detection, not the archive guard
            outcome = run_sync(self.db, self.config, self.client, scope, allow_mass_archive=True)
            assert outcome.exit_code == 0, outcome.as_dict()
        on_board = {
            i["texts"][KEY_COLUMN]: int(i["id"])
            for i in self.emulator.items(CMS_BOARD_ID)
            if i["state"] == "active"
        }
        for key, item_id in on_board.items():  # a moved line is the same item, updated
            if key in self.item_ids and key not in self.churned:
                assert item_id == self.item_ids[key], f"{key} was archived and created again"
        self.item_ids, self.churned = on_board, set()
        for scope in scopes:
            assert_board_matches_source(self.db, self.config, self.emulator, scope)
        self.emulator.reset_stats()
        for scope in scopes:
            idle = run_sync(self.db, self.config, self.client, scope)
            assert idle.status == "NO_CHANGES"
        assert sum(self.emulator.stats.mutations.values()) == 0


MACHINE_SETTINGS = settings(
    max_examples=20,
    stateful_step_count=15,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow],
)


class TestOnSQLite(SourceAndBoard.TestCase):  # type: ignore[name-defined]
    settings = MACHINE_SETTINGS


class _OnPostgres(SourceAndBoard):
    backend = "postgres"


def test_on_postgres() -> None:
    from hypothesis.stateful import run_state_machine_as_test

    from conftest import require_postgres

    require_postgres()
    run_state_machine_as_test(_OnPostgres, settings=MACHINE_SETTINGS)
