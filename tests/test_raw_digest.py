"""Raw digests (``raw_digest.py``) skip the rows that cannot have changed, and only those: every
kind of change is still found, on SQLite and PostgreSQL, while an unchanged source builds no
line at all."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
import sqlalchemy as sa
from sqlalchemy.dialects import mssql

from helpers.board_support import GREYSON
from helpers.support import demo_database
from ordersync.config import SyncConfig
from ordersync.db import Database
from ordersync.push import plan as plan_module
from ordersync.push.lines import LineBuilder
from ordersync.push.plan import PlanResult, _Planner, plan_batch
from ordersync.push.raw_digest import RawDigests, config_digest
from ordersync.push.source import Scope, reflect_source, select_scope
from ordersync.states import Action

KEY = "AAG ORDER NUMBER"


@pytest.fixture
def builds(monkeypatch: pytest.MonkeyPatch) -> Iterator[list[str]]:
    """The order keys of the source rows each plan builds into lines."""
    built: list[str] = []
    original = LineBuilder.build

    def build(self: LineBuilder, row: dict[str, object]) -> object:
        built.append(str(row.get(KEY)))
        return original(self, row)

    monkeypatch.setattr(LineBuilder, "build", build)
    yield built


def source(db: Database) -> sa.Table:
    return sa.Table("ORDERS_UNIFIED", sa.MetaData(), autoload_with=db.engine)


def keys(db: Database) -> list[str]:
    table = source(db)
    with db.engine.connect() as connection:
        return list(
            connection.execute(
                sa.select(table.c[KEY])
                .where(table.c["PO NUMBER"] == "4755", table.c["CUSTOMER NAME"].like("GREYSON%"))
                .order_by(table.c[KEY])
            ).scalars()
        )


def edit(db: Database, key: str, **values: object) -> None:
    table = source(db)
    with db.engine.begin() as connection:
        connection.execute(table.update().where(table.c[KEY] == key).values(values))


def first_size(db: Database, config: SyncConfig, key: str) -> tuple[str, int]:
    table = source(db)
    sizes = reflect_source(db.engine, config).size_columns
    with db.engine.connect() as connection:
        row = connection.execute(sa.select(table).where(table.c[KEY] == key)).one()._mapping
    return next((size, int(row[size])) for size in sizes if row[size])


def changed_keys(result: PlanResult) -> set[str]:
    return {change.order_key for change in result.preview}


def dry_plan(db: Database, config: SyncConfig, scope: Scope = GREYSON) -> PlanResult:
    return plan_batch(db, config, scope, dry_run=True)


def test_a_synced_source_builds_no_line(
    synced: Database, config: SyncConfig, builds: list[str]
) -> None:
    items = synced.tables.items
    with synced.engine.connect() as connection:
        held = connection.execute(
            sa.select(items.c.raw_digest).where(items.c.state == "ACTIVE")
        ).scalars()
        assert all(held)  # delivery kept the digest of every created line
    result = dry_plan(synced, config)
    assert result.empty and result.unchanged == len(keys(synced)) > 0
    assert builds == []


@pytest.fixture
def reads(monkeypatch: pytest.MonkeyPatch) -> list[sa.Select]:
    """The statements each plan reads source rows into Python with."""
    read: list[sa.Select] = []
    original = plan_module.iter_chunks

    def iter_chunks(connection: sa.Connection, statement: sa.Select, size: int) -> Any:
        read.append(statement)
        return original(connection, statement, size)

    monkeypatch.setattr(plan_module, "iter_chunks", iter_chunks)
    return read


@pytest.mark.parametrize("synced", ["postgres"], indirect=True)
def test_a_scope_found_unchanged_in_the_database_is_not_read(
    synced: Database, config: SyncConfig, reads: list[sa.Select]
) -> None:
    """Every row of the scope unchanged (the database counted them): no row is read, not
    even a row added twice as it was (both are still rejected); one row more, and the rows
    not found unchanged are read."""
    assert dry_plan(synced, config).unchanged == len(keys(synced)) and reads == []
    table = source(synced)
    key = keys(synced)[0]
    with synced.engine.begin() as connection:
        row = connection.execute(sa.select(table).where(table.c[KEY] == key)).one()
        connection.execute(table.insert().values(dict(row._mapping)))
    result = dry_plan(synced, config)
    assert (result.rejected, result.changes, reads) == (2, 0, [])
    with synced.engine.begin() as connection:
        copy = {**row._mapping, KEY: "NOT-YET-ON-THE-BOARD"}
        connection.execute(table.delete().where(table.c[KEY] == key))
        connection.execute(table.insert().values([dict(row._mapping), copy]))
    result = dry_plan(synced, config)
    assert (result.items, result.rejected, len(reads)) == (1, 0, 1)


def test_a_size_quantity_is_found(synced: Database, config: SyncConfig, builds: list[str]) -> None:
    key = keys(synced)[3]
    size, qty = first_size(synced, config, key)
    edit(synced, key, **{size: qty + 6})
    result = dry_plan(synced, config)
    assert (result.subitem_updates, result.item_updates, result.items) == (1, 0, 0)
    assert changed_keys(result) == {key} and builds == [key]


def test_a_mapped_column_is_found(synced: Database, config: SyncConfig, builds: list[str]) -> None:
    key = keys(synced)[5]
    edit(synced, key, **{"CUSTOMER PRICE": "77.25"})
    result = dry_plan(synced, config)
    assert result.item_updates == 1 and changed_keys(result) == {key}
    assert builds == [key]


def test_a_change_staged_but_not_delivered_is_found_again(
    synced: Database, config: SyncConfig, builds: list[str]
) -> None:
    """The plan keeps the new digest at once, but it names the new row hash: until delivery
    puts that hash in the mirror, the line is built and found changed on every plan."""
    key = keys(synced)[2]
    edit(synced, key, **{"CUSTOMER PRICE": "77.25"})
    staged = plan_batch(synced, config, GREYSON)
    assert staged.batch_id is not None and staged.item_updates == 1
    again = dry_plan(synced, config)
    assert again.item_updates == 1 and changed_keys(again) == {key}


@pytest.mark.parametrize("cleared_by", ["rejected delivery", "drift found by pull"])
def test_a_line_whose_row_hash_was_cleared_is_rebuilt(
    synced: Database, config: SyncConfig, builds: list[str], cleared_by: str
) -> None:
    """A rejected delivery (``RowKind.forget_hash``) and drift found by ``pull`` clear the
    mirror's row hash (the drifted values leave ``column_values`` too): the digest no longer
    matches, the line is diffed again and the drifted value put back."""
    key = keys(synced)[1]
    items = synced.tables.items
    where = sa.and_(items.c.order_key == key)
    cleared: dict[str, object] = {"row_hash": None}
    if cleared_by == "drift found by pull":
        cleared["column_values"] = "{}"
    with synced.engine.begin() as connection:
        connection.execute(items.update().where(where).values(cleared))
    result = dry_plan(synced, config)
    assert changed_keys(result) == {key} and builds == [key]
    if cleared_by == "drift found by pull":
        assert result.item_updates == 1


def test_a_line_moved_to_another_po_or_season_is_found(
    synced: Database, config: SyncConfig, builds: list[str]
) -> None:
    moved_po, moved_season = keys(synced)[:2]
    edit(synced, moved_po, **{"PO NUMBER": "4799"})
    edit(synced, moved_season, **{"CUSTOMER SEASON": "2026 SPRING"})
    to_po = dry_plan(synced, config, Scope("GREYSON", "4799"))
    assert changed_keys(to_po) == {moved_po} and to_po.item_updates == 1
    whole = dry_plan(synced, config, Scope("GREYSON"))
    assert moved_season in changed_keys(whole) and whole.item_moves == 1
    assert moved_po in changed_keys(whole)  # the mirror still holds it under PO 4755
    assert set(builds) >= {moved_po, moved_season}
    assert builds.count(keys(synced)[5]) == 0  # untouched lines stay unbuilt


def test_a_mapping_change_rebuilds_every_line(
    synced: Database, config: SyncConfig, builds: list[str]
) -> None:
    """A pushed column left out of the mapping: every digest misses, every line is built
    and every item loses that column."""
    columns = [c for c in config.items.columns if c.source != "NOTES"]
    (dropped,) = [c.column_id for c in config.items.columns if c.source == "NOTES"]
    changed = config.model_copy(
        update={"items": config.items.model_copy(update={"columns": columns})}
    )
    result = dry_plan(synced, changed)
    every = keys(synced)
    assert sorted(builds) == sorted(every)
    # the plan names a column it no longer maps by its id
    notes = [c for c in result.preview if any(t == dropped for t, *_ in c.columns)]
    assert result.item_updates > 0 and notes and all(c.action == Action.UPDATE for c in notes)


def test_an_alias_change_rebuilds_every_line(
    synced: Database, config: SyncConfig, builds: list[str]
) -> None:
    """A setting that changes no line still invalidates the digests: the lines are built
    (and found unchanged), then their digests are kept under the new settings."""
    aliases = {**config.customers, "GREYSON OUTLET": "GREYSON"}
    changed = config.model_copy(update={"customers": aliases})
    plan_batch(synced, changed, GREYSON)
    assert sorted(builds) == sorted(keys(synced))
    builds.clear()
    assert plan_batch(synced, changed, GREYSON).empty and builds == []


@pytest.mark.parametrize(
    "setting",
    ["name_columns", "group_columns", "columns", "cancelled", "customers", "key_columns"],
)
def test_every_rule_a_line_is_built_by_is_in_the_config_digest(
    config: SyncConfig, setting: str
) -> None:
    items, src = config.items, config.source
    changed = {
        "name_columns": lambda: _items(config, name_columns=[*items.name_columns, "DROP"]),
        "group_columns": lambda: _items(config, group_columns=["AAG SEASON"]),
        "columns": lambda: _items(config, columns=items.columns[1:]),
        "cancelled": lambda: _items(
            config, cancelled=items.cancelled.model_copy(update={"action": "archive"})
        ),
        "customers": lambda: config.model_copy(update={"customers": {"A": "B"}}),
        "key_columns": lambda: config.model_copy(
            update={"source": src.model_copy(update={"key_columns": [KEY, "DROP"]})}
        ),
    }[setting]()
    sizes = ("XS", "S")
    assert config_digest(changed, sizes) != config_digest(config, sizes)
    assert config_digest(config, ("XS", "S", "M")) != config_digest(config, sizes)


def test_settings_lines_do_not_depend_on_leave_the_digest_alone(config: SyncConfig) -> None:
    sizes = ("XS", "S")
    other = config.model_copy(
        update={
            "delivery": config.delivery.model_copy(update={"items_per_request": 7}),
            "source": config.source.model_copy(update={"chunk_size": 17}),
        }
    )
    assert config_digest(other, sizes) == config_digest(config, sizes)


def _items(config: SyncConfig, **update: object) -> SyncConfig:
    return config.model_copy(update={"items": config.items.model_copy(update=update)})


def test_the_database_and_python_take_one_digest(pg_url: str, config: SyncConfig) -> None:
    """A raw digest the database takes (``scan_unchanged``) must equal the one Python keeps
    for a line it built from the same row digest; row digests tell NULL from ''."""
    digests = RawDigests(config, ("XS", "S"), "postgresql")
    assert digests.in_database
    row_digest, row_hash = "ab" * 32, "cd" * 32
    engine = sa.create_engine(pg_url)
    with engine.connect() as connection:
        taken = connection.execute(
            sa.select(digests.digest_sql(sa.literal(row_digest), sa.literal(row_hash)))
        ).scalar_one()
        rows = [
            connection.execute(
                sa.select(digests.row_digest_sql([sa.literal(v, sa.Unicode) for v in row]))
            ).scalar_one()
            for row in ((None, "x"), ("", "x"), ("x", None), ("x", ""), ("x", "x"), ("x", "x"))
        ]
    engine.dispose()
    assert taken == digests.digest(row_digest, row_hash)
    assert len(set(rows)) == 5 and rows[-1] == rows[-2] and all(len(r) == 64 for r in rows)


def test_sqlite_takes_row_digests_in_python(config: SyncConfig) -> None:
    python = RawDigests(config, ("XS",), "sqlite")
    postgres = RawDigests(config, ("XS",), "postgresql")
    assert not python.in_database and postgres.in_database
    assert python.digest("ab" * 32, "cd" * 32) != postgres.digest("ab" * 32, "cd" * 32)
    several = config.model_copy(
        update={"source": config.source.model_copy(update={"key_columns": [KEY, "DROP"]})}
    )
    assert not RawDigests(several, ("XS",), "postgresql").in_database  # keys joined in Python


def test_the_statements_taking_digests_in_the_database_compile_for_sql_server(
    sqlite_url: str, config: SyncConfig
) -> None:
    """``scan_unchanged`` and ``changed_rows`` as SQL Server would run them (HASHBYTES)."""
    db = demo_database(sqlite_url)
    source = reflect_source(db.engine, config)
    digests = RawDigests(config, source.size_columns, "mssql")
    result = PlanResult(board_id=config.board_id(None))
    planner = _Planner(db, config, None, "b", result.board_id, GREYSON, result, None)  # type: ignore[arg-type]
    statements = [
        planner.unchanged_insert(source, digests),
        planner.changed_rows(select_scope(source, config, GREYSON), source, digests),
    ]
    for statement in statements:
        text = str(statement.compile(dialect=mssql.dialect()))
        assert "hashbytes('SHA2_256'" in text and "NTEXT" not in text
        assert text.count("coalesce(") >= len(source.read_columns)
    db.engine.dispose()
