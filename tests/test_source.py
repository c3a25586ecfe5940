"""``source``: the source table reflected and checked against the configuration, size columns
found between the markers (integers only) or listed, the scope's WHERE clause (every spelling
of the customer, bound parameters only), distinct counts and streaming in chunks."""

from __future__ import annotations

from collections import Counter
from typing import Any

import pytest
import sqlalchemy as sa
from sqlalchemy.dialects import mssql, postgresql, sqlite

from ordersync.config import SyncConfig
from ordersync.db import Database
from ordersync.errors import ConfigError, SourceError
from ordersync.push.source import (
    Scope,
    SourceTable,
    customers_condition,
    detect_size_columns,
    distinct_counts,
    iter_chunks,
    known_customers,
    reflect_source,
    scope_condition,
    select_scope,
    source_customers,
)

CUSTOMER, PO, KEY = "CUSTOMER NAME", "PO NUMBER", "AAG ORDER NUMBER"


def _with_source(config: SyncConfig, **values: Any) -> SyncConfig:
    return config.model_copy(update={"source": config.source.model_copy(update=values)})


def _all_rows(db: Database, source: SourceTable) -> list[sa.RowMapping]:
    with db.engine.connect() as connection:
        return list(connection.execute(sa.select(source.table)).mappings())


# ------------------------------------------------------------------------------ sizes
def _sized_table() -> sa.Table:
    return sa.Table(
        "t",
        sa.MetaData(),
        sa.Column("XL", sa.Integer),  # before the range
        sa.Column("UNIT OF MEASURE", sa.Text),
        sa.Column("INFOR COLOUR CODE", sa.Text),  # text inside the range: skipped
        sa.Column("S", sa.Integer),
        sa.Column("M", sa.Numeric(10, 0)),  # an integer NUMERIC counts
        sa.Column("WEIGHT", sa.Numeric(10, 2)),  # a fractional one does not
        sa.Column("L", sa.BigInteger),
        sa.Column("TOTAL QTY", sa.Integer),
        sa.Column("XXL", sa.Integer),  # after the range
    )


def test_size_columns_are_the_integer_columns_between_the_markers(config: SyncConfig) -> None:
    assert detect_size_columns(_sized_table(), config) == ("S", "M", "L")


def test_an_explicit_size_list_wins_and_is_checked(config: SyncConfig) -> None:
    listed = _with_source(config, size_columns=["L", "XL"], size_range=None)
    assert detect_size_columns(_sized_table(), listed) == ("L", "XL")
    with pytest.raises(ConfigError, match="NOPE"):
        detect_size_columns(_sized_table(), _with_source(config, size_columns=["L", "NOPE"]))


def test_a_missing_marker_or_an_empty_range_is_a_config_error(config: SyncConfig) -> None:
    table = _sized_table()
    after = config.source.size_range
    assert after is not None
    moved = after.model_copy(update={"after": "NOT A COLUMN"})
    with pytest.raises(ConfigError, match="NOT A COLUMN"):
        detect_size_columns(table, _with_source(config, size_range=moved))
    empty = after.model_copy(update={"after": "UNIT OF MEASURE", "before": "S"})
    with pytest.raises(ConfigError, match="no integer size columns"):
        detect_size_columns(table, _with_source(config, size_range=empty))


# ------------------------------------------------------------------------------ reflection
def test_reflection_reads_the_configured_columns_and_the_sizes(
    db: Database, config: SyncConfig
) -> None:
    source = reflect_source(db.engine, config)

    assert source.size_columns[:3] == ("XXXS", "XXS", "XS")
    assert "INFOR COLOUR CODE" not in source.size_columns
    assert "TOTAL QTY" not in source.size_columns and "UNIT OF MEASURE" not in source.size_columns
    assert source.read_columns[0] == KEY
    assert len(set(source.read_columns)) == len(source.read_columns)  # each once
    for name in (CUSTOMER, PO, config.items.cancelled.column, *source.size_columns):
        assert name in source.read_columns
    assert source.dates_as_text == (db.engine.dialect.name == "sqlite")


def test_a_missing_table_or_column_stops_before_any_work(db: Database, config: SyncConfig) -> None:
    with pytest.raises(SourceError, match="NO_SUCH_TABLE"):
        reflect_source(db.engine, _with_source(config, table="NO_SUCH_TABLE"))
    renamed = config.items.columns[0].model_copy(update={"source": "NOT IN THE SOURCE"})
    items = config.items.model_copy(update={"columns": [renamed, *config.items.columns[1:]]})
    with pytest.raises(ConfigError, match="NOT IN THE SOURCE"):
        reflect_source(db.engine, config.model_copy(update={"items": items}))


# ------------------------------------------------------------------------------ scope
def test_a_scope_needs_a_customer() -> None:
    with pytest.raises(ConfigError, match="--customer"):
        Scope("  ")
    with pytest.raises(ConfigError, match="--po-number"):
        Scope("GREYSON", "4" * 10_000)


@pytest.mark.parametrize("dialect", [sqlite.dialect(), postgresql.dialect(), mssql.dialect()])
def test_the_scope_is_bound_parameters_never_inlined_values(
    db: Database, config: SyncConfig, dialect: sa.Dialect
) -> None:
    source = reflect_source(db.engine, config)
    statement = select_scope(source, config, Scope("greyson", "4755", "SS25"))

    compiled = statement.compile(dialect=dialect)

    text = str(compiled)
    for value in ("GREYSON", "4755", "SS25"):
        assert value not in text
    values = [v for v in compiled.params.values() if v is not None]
    flat = {x for v in values for x in (v if isinstance(v, list | tuple) else [v])}
    assert {"GREYSON", "GREYSON CLOTHIERS", "4755", "SS25"} <= flat


def test_the_scope_selects_every_spelling_of_the_customer_and_only_its_po(
    db: Database, config: SyncConfig
) -> None:
    source = reflect_source(db.engine, config)
    names = set(config.customer_names("GREYSON"))
    expected = sorted(
        r[KEY]
        for r in _all_rows(db, source)
        if (r[CUSTOMER] or "").strip().upper() in names and (r[PO] or "").strip() == "4755"
    )
    spellings = {r[CUSTOMER] for r in _all_rows(db, source) if r[KEY] in set(expected)}
    assert len(spellings) > 1  # the demo data spells GREYSON two ways in this PO

    for scope in (Scope("GREYSON", "4755"), Scope(" greyson clothiers ", " 4755 ")):
        with db.engine.connect() as connection:
            keys = [
                r[KEY] for r in connection.execute(select_scope(source, config, scope)).mappings()
            ]
        assert keys == expected  # in key order too


def test_customers_condition_and_source_customers_use_canonical_names(
    db: Database, config: SyncConfig
) -> None:
    source = reflect_source(db.engine, config)
    with db.engine.connect() as connection:
        everyone = source_customers(connection, source, config)
        all_lines = connection.execute(
            sa.select(sa.func.count())
            .select_from(source.table)
            .where(customers_condition(source, config, None))
        ).scalar_one()
        peloton = connection.execute(
            sa.select(sa.func.count())
            .select_from(source.table)
            .where(customers_condition(source, config, ["peloton"]))
        ).scalar_one()
        canonical = known_customers(connection, source, config, ["Greyson Clothiers", "GREYSON"])
        with pytest.raises(ConfigError, match="did you mean GREYSON"):
            known_customers(connection, source, config, ["GREYSN"])

    rows = _all_rows(db, source)
    assert everyone == sorted({config.canonical_customer(r[CUSTOMER]) for r in rows})
    assert "GREYSON CLOTHIERS" not in everyone and "GREYSON" in everyone
    assert all_lines == len(rows)
    assert peloton == sum(1 for r in rows if r[CUSTOMER].strip().upper().startswith("PELOTON"))
    assert canonical == ["GREYSON"]


def test_distinct_counts_group_the_selected_lines(db: Database, config: SyncConfig) -> None:
    source = reflect_source(db.engine, config)
    where = scope_condition(source, config, Scope("GREYSON"))
    with db.engine.connect() as connection:
        counts = distinct_counts(connection, source, [PO, CUSTOMER], where)

    names = set(config.customer_names("GREYSON"))
    expected = Counter(
        (r[PO], r[CUSTOMER]) for r in _all_rows(db, source) if r[CUSTOMER].strip().upper() in names
    )
    assert dict(counts) == dict(expected)


def test_rows_stream_in_chunks_of_at_most_the_chunk_size(db: Database, config: SyncConfig) -> None:
    source = reflect_source(db.engine, config)
    statement = select_scope(source, config, Scope("GREYSON", "4755"))
    with db.engine.connect() as connection:
        whole = [dict(r._mapping) for r in connection.execute(statement)]
        chunks = list(iter_chunks(connection, statement, 7))

    assert [len(c) for c in chunks] == [7] * (len(whole) // 7) + [len(whole) % 7]
    assert [row for chunk in chunks for row in chunk] == whole
    assert set(chunks[0][0]) == set(source.read_columns)
