"""The demo ORDERS_UNIFIED: its shape on every dialect, and the planted data read back from SQLite
and PostgreSQL (GREYSON PO 4755 → 264 size cells, the bad-row PO, dirty number columns)."""

from __future__ import annotations

import csv
import os
import uuid
from collections.abc import Callable, Iterator
from datetime import date
from decimal import Decimal, InvalidOperation
from importlib import resources
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from hypothesis import given, settings
from hypothesis import strategies as st
from sqlalchemy.dialects import mssql, postgresql, sqlite

from ordersync.demo_data import (
    BAD_ROW_DUPLICATE_ORDER,
    BAD_ROW_MISSING_KEY_STYLE,
    BAD_ROW_NEGATIVE_SIZE_COLUMN,
    BAD_ROW_NEGATIVE_SIZE_ORDER,
    BAD_ROW_NEGATIVE_SIZE_QTY,
    BAD_ROW_TEXT_PRICE_ORDER,
    BAD_ROW_TEXT_PRICE_VALUE,
    BAD_ROWS_CLEAN_ORDERS,
    BAD_ROWS_CUSTOMER,
    BAD_ROWS_LINES,
    BAD_ROWS_PO,
    DIRTY_NUMBER_VALUES,
    GREYSON_NAMES,
    GREYSON_PO,
    SHARED_PO_CUSTOMER,
    DemoSummary,
    create_source_table,
    demo_order_rows,
    fill_demo_orders,
    holds_only_demo_rows,
    size_columns,
    source_table,
)
from ordersync.errors import ConfigError

MakeTable = Callable[[], sa.Table]
PG_URL = "postgresql+psycopg://postgres@127.0.0.1:5432/postgres"
TYPES = {
    "NVARCHAR(MAX)": sa.UnicodeText,
    "INT": sa.Integer,
    "DATE": sa.Date,
    "UNIQUEIDENTIFIER": sa.Uuid,
}


def _columns_csv() -> list[dict[str, str]]:
    path = resources.files("ordersync").joinpath("builtin", "orders_unified_columns.csv")
    return list(csv.DictReader(path.read_text(encoding="utf-8").splitlines()))


CSV_COLUMNS = _columns_csv()
# The source columns the Customer Master Schedule maps to monday "numbers" columns.
NUMBER_COLUMNS = [
    "CUSTOMER PRICE", "USA ONLY LSTP 75% EX WORKS", "EX WORKS (USD)", "ADMINISTRATION FEE",
    "DESIGN FEE", "FX CHARGE", "SURCHARGE FEE", "DISCOUNT", "FINAL FOB (USD)", "US DUTY RATE",
    "US DUTY", "US TARIFF RATE", "US TARIFF", "DDP US (USD)", "SMS PRICE USD",
]  # fmt: skip


# --- fixtures --------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def pg_engine() -> Iterator[sa.Engine]:
    url = sa.make_url(os.environ.get("ORDERSYNC_TEST_PG_URL", PG_URL))
    try:
        engine = sa.create_engine(url, connect_args={"connect_timeout": 5})
        with engine.connect():
            pass
    except (ImportError, sa.exc.SQLAlchemyError) as error:
        message = f"PostgreSQL at {url.render_as_string(hide_password=True)} unusable: {error}"
        if os.environ.get("CI") == "true":
            pytest.fail(message)
        pytest.skip(message)
    yield engine
    engine.dispose()


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def engine(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[sa.Engine]:
    if request.param == "postgresql":
        yield request.getfixturevalue("pg_engine")
        return
    sqlite_engine = sa.create_engine(f"sqlite:///{tmp_path / 'source.db'}")
    yield sqlite_engine
    sqlite_engine.dispose()


@pytest.fixture
def new_table(engine: sa.Engine) -> Iterator[MakeTable]:
    """Create empty source tables under unique names; drop them afterwards."""
    created: list[sa.Table] = []

    def make() -> sa.Table:
        table = create_source_table(engine, f"orders_unified_{uuid.uuid4().hex[:10]}")
        created.append(table)
        return table

    yield make
    for table in created:
        table.drop(engine, checkfirst=True)


@pytest.fixture
def filled(engine: sa.Engine, new_table: MakeTable) -> tuple[sa.Table, DemoSummary]:
    table = new_table()
    return table, fill_demo_orders(engine, table)


def _select_all(engine: sa.Engine, table: sa.Table) -> list[dict[str, Any]]:
    with engine.connect() as connection:
        result = connection.execute(sa.select(table).order_by(table.c.record_uuid))
        return [dict(row) for row in result.mappings()]


def _greyson_po_4755(table: sa.Table) -> sa.ColumnElement[bool]:
    return sa.and_(table.c["CUSTOMER NAME"].in_(GREYSON_NAMES), table.c["PO NUMBER"] == GREYSON_PO)


def _is_decimal(value: str) -> bool:
    try:
        return Decimal(value).is_finite()
    except InvalidOperation:
        return False


# --- the table shape -------------------------------------------------------------------------


def test_source_table_has_every_real_column_with_its_type() -> None:
    table = source_table(sa.MetaData())

    assert [c.name for c in table.columns] == [row["column"] for row in CSV_COLUMNS]
    assert len(table.columns) == 268
    for row in CSV_COLUMNS:
        assert isinstance(table.c[row["column"]].type, TYPES[row["sql_server_type"]]), row
    assert len(size_columns()) == 161
    assert all(isinstance(table.c[name].type, sa.Integer) for name in size_columns())
    assert "INFOR COLOUR CODE" not in size_columns()


def test_source_table_takes_a_name_and_schema() -> None:
    table = source_table(sa.MetaData(), "orders", schema="sales")
    assert table.fullname == "sales.orders"


@pytest.mark.parametrize(
    ("dialect", "expected"),
    [
        (sqlite.dialect(), ["\"CUSTOMER'S COLOUR CODE", '"TOTAL QTY" INTEGER', '"0" INTEGER']),
        (
            postgresql.psycopg.dialect(),
            ['"USA ONLY LSTP 75%% EX WORKS" TEXT', "record_uuid UUID", '"32/30" INTEGER'],
        ),
        (
            mssql.dialect(),
            [
                "[CUSTOMER'S COLOUR CODE (CUSTOM FIELD) CUSTOMER PROVIDES THIS] NVARCHAR(max)",
                "record_uuid UNIQUEIDENTIFIER",
                "[ORDER DATE PO RECEIVED] DATE",
                "[L(10-12)] INTEGER",
            ],
        ),
    ],
    ids=["sqlite", "postgresql", "mssql"],
)
def test_create_table_compiles_for_each_dialect(dialect: sa.Dialect, expected: list[str]) -> None:
    table = source_table(sa.MetaData())

    ddl = str(sa.schema.CreateTable(table).compile(dialect=dialect))
    insert = table.insert().compile(dialect=dialect)

    for fragment in expected:
        assert fragment in ddl
    assert "NTEXT" not in ddl
    quote = dialect.identifier_preparer.quote
    assert all(f"\t{quote(column.name)} " in ddl for column in table.columns)
    assert len(insert.params) == 268


def test_created_table_reads_back_with_the_right_types(
    engine: sa.Engine, new_table: MakeTable
) -> None:
    table = new_table()

    reflected = sa.inspect(engine).get_columns(table.name)

    assert [c["name"] for c in reflected] == [row["column"] for row in CSV_COLUMNS]
    for column, row in zip(reflected, CSV_COLUMNS, strict=True):
        expected: Any = {"NVARCHAR(MAX)": sa.String, "UNIQUEIDENTIFIER": (sa.Uuid, sa.String)}
        expected = expected.get(row["sql_server_type"], TYPES[row["sql_server_type"]])
        assert isinstance(column["type"], expected), (column, row)


def test_create_source_table_refuses_an_existing_table_unless_replaced(
    engine: sa.Engine, new_table: MakeTable
) -> None:
    table = new_table()
    fill_demo_orders(engine, table)

    with pytest.raises(ConfigError, match="already exists"):
        create_source_table(engine, table.name)
    replaced = create_source_table(engine, table.name, replace=True)

    with engine.connect() as connection:
        assert connection.scalar(sa.select(sa.func.count()).select_from(replaced)) == 0


def test_replace_never_drops_a_table_with_rows_the_demo_did_not_write(
    engine: sa.Engine, new_table: MakeTable
) -> None:
    table = new_table()
    fill_demo_orders(engine, table)
    with engine.begin() as connection:  # someone's real order among the demo rows
        connection.execute(
            table.insert().values({"AAG ORDER NUMBER": "REAL-1", "record_uuid": str(uuid.uuid4())})
        )
    with pytest.raises(ConfigError, match="holds rows the demo did not write"):
        create_source_table(engine, table.name, replace=True)
    with engine.connect() as connection:
        assert holds_only_demo_rows(connection, table.name) is False
        count = connection.scalar(sa.select(sa.func.count()).select_from(table))
    assert count == demo_summary_rows() + 1  # nothing dropped, nothing changed


def test_replace_never_drops_an_empty_table_or_one_of_another_shape(
    engine: sa.Engine, new_table: MakeTable
) -> None:
    empty = new_table()  # may be about to be filled by someone else's load
    with pytest.raises(ConfigError, match="demo-data never drops"):
        create_source_table(engine, empty.name, replace=True)
    other = sa.Table(
        f"orders_{uuid.uuid4().hex[:10]}", sa.MetaData(), sa.Column("AAG ORDER NUMBER", sa.Text)
    )
    other.create(engine)
    try:
        with pytest.raises(ConfigError, match="demo-data never drops"):
            create_source_table(engine, other.name, replace=True)
        assert sa.inspect(engine).has_table(other.name)
    finally:
        other.drop(engine)


def demo_summary_rows() -> int:
    return len(demo_order_rows())


@pytest.mark.postgres
def test_default_name_in_a_schema_on_postgresql(pg_engine: sa.Engine) -> None:
    schema = f"demo_{uuid.uuid4().hex[:10]}"
    with pg_engine.begin() as connection:
        connection.execute(sa.schema.CreateSchema(schema))
    try:
        table = create_source_table(pg_engine, schema=schema)
        summary = fill_demo_orders(pg_engine, table)
        with pg_engine.connect() as connection:
            count = connection.scalar(sa.select(sa.func.count()).select_from(table))
        assert table.fullname == f"{schema}.ORDERS_UNIFIED"
        assert count == summary.rows
    finally:
        with pg_engine.begin() as connection:
            connection.execute(sa.schema.DropSchema(schema, cascade=True))


# --- the data, read back from the database ---------------------------------------------------


def test_greyson_po_4755_has_69_lines_and_264_size_cells(
    engine: sa.Engine, filled: tuple[sa.Table, DemoSummary]
) -> None:
    table, summary = filled
    non_zero = [sa.func.count(sa.case((table.c[name] != 0, 1))) for name in size_columns()]

    with engine.connect() as connection:
        result = connection.execute(sa.select(table).where(_greyson_po_4755(table)))
        lines = [dict(row) for row in result.mappings()]
        counts = connection.execute(sa.select(*non_zero).where(_greyson_po_4755(table))).one()

    assert len(lines) == 69
    assert sum(counts) == 264
    assert {line["CUSTOMER NAME"] for line in lines} == set(GREYSON_NAMES)
    assert (summary.greyson_po_4755_lines, summary.greyson_po_4755_sizes) == (69, 264)
    quantities = [line[name] for line in lines for name in size_columns() if line[name]]
    assert all(6 <= qty <= 480 for qty in quantities)
    assert sum(qty % 6 == 0 for qty in quantities) > 0.8 * len(quantities)
    blanks = {line[name] for line in lines for name in size_columns() if not line[name]}
    assert blanks == {None, 0}
    for line in lines:
        assert line["TOTAL QTY"] == sum(line[name] or 0 for name in size_columns())
        assert line["ORDER TYPE"] == "ACTIVE"
        assert all(_is_decimal(line[name]) for name in NUMBER_COLUMNS), line["AAG ORDER NUMBER"]
        assert len(line["CUSTOMER STYLE"] + line["CUSTOMER COLOUR DESCRIPTION"]) < 240


def test_greyson_po_4755_has_tops_bottoms_and_one_size(
    engine: sa.Engine, filled: tuple[sa.Table, DemoSummary]
) -> None:
    table, _ = filled
    sizes = {"XS": 0, "XXL": 0, "30/30": 0, "32/32": 0, "ONE SIZE": 0}
    columns = [sa.func.count(sa.case((table.c[name] > 0, 1))) for name in sizes]

    with engine.connect() as connection:
        counts = connection.execute(sa.select(*columns).where(_greyson_po_4755(table))).one()

    assert all(count > 0 for count in counts), dict(zip(sizes, counts, strict=True))


def test_dates_are_real_dates_in_2025_and_2026(
    engine: sa.Engine, filled: tuple[sa.Table, DemoSummary]
) -> None:
    table, _ = filled
    names = ("ORDER DATE PO RECEIVED", "ETA CUSTOMER WAREHOUSE DATE", "EX FACTORY DATE")

    values = [row[name] for row in _select_all(engine, table) for name in names]

    assert all(isinstance(value, date) for value in values)
    assert {value.year for value in values} == {2025, 2026}


def test_a_fill_is_deterministic(engine: sa.Engine, new_table: MakeTable) -> None:
    first, second, other = new_table(), new_table(), new_table()

    summaries = [fill_demo_orders(engine, t, seed=s) for t, s in ((first, 7), (second, 7))]
    fill_demo_orders(engine, other, seed=8)

    assert summaries[0] == summaries[1]
    assert _select_all(engine, first) == _select_all(engine, second)
    assert _select_all(engine, first) != _select_all(engine, other)


def test_aag_order_number_is_unique_but_for_the_planted_rows(
    engine: sa.Engine, filled: tuple[sa.Table, DemoSummary]
) -> None:
    table, _ = filled
    key = table.c["AAG ORDER NUMBER"]
    repeated = sa.select(key).group_by(key).having(sa.func.count() > 1)

    with engine.connect() as connection:
        duplicates = connection.scalars(repeated.where(key.is_not(None))).all()
        missing = connection.scalars(
            sa.select(table.c["CUSTOMER STYLE"]).where(key.is_(None))
        ).all()

    assert duplicates == [BAD_ROW_DUPLICATE_ORDER]
    assert missing == [BAD_ROW_MISSING_KEY_STYLE]


def test_bad_rows_po_holds_each_kind_of_bad_row(
    engine: sa.Engine, filled: tuple[sa.Table, DemoSummary]
) -> None:
    table, _ = filled
    query = sa.select(table).where(
        table.c["CUSTOMER NAME"] == BAD_ROWS_CUSTOMER, table.c["PO NUMBER"] == BAD_ROWS_PO
    )
    with engine.connect() as connection:
        rows = [dict(row) for row in connection.execute(query).mappings()]
    by_order: dict[str | None, list[dict[str, Any]]] = {}
    for row in rows:
        by_order.setdefault(row["AAG ORDER NUMBER"], []).append(row)

    assert len(rows) == BAD_ROWS_LINES
    assert by_order[BAD_ROW_TEXT_PRICE_ORDER][0]["CUSTOMER PRICE"] == BAD_ROW_TEXT_PRICE_VALUE
    assert len(by_order[None]) == 1
    twins = by_order[BAD_ROW_DUPLICATE_ORDER]
    composite = ("CUSTOMER STYLE", "CUSTOMER COLOUR DESCRIPTION", "PLANNED DELIVERY METHOD")
    assert len(twins) == 2
    assert {tuple(twin[name] for name in composite) for twin in twins} == {
        tuple(twins[0][name] for name in composite)
    }
    negative = by_order[BAD_ROW_NEGATIVE_SIZE_ORDER][0]
    assert negative[BAD_ROW_NEGATIVE_SIZE_COLUMN] == BAD_ROW_NEGATIVE_SIZE_QTY
    for order in BAD_ROWS_CLEAN_ORDERS:
        clean = by_order[order][0]
        assert all(_is_decimal(clean[name]) for name in NUMBER_COLUMNS)
        assert all((clean[name] or 0) >= 0 for name in size_columns())


def test_dirty_numbers_appear_only_outside_greyson_po_4755(
    engine: sa.Engine, filled: tuple[sa.Table, DemoSummary]
) -> None:
    table, _ = filled

    rows = _select_all(engine, table)
    found = {
        (row["CUSTOMER NAME"] in GREYSON_NAMES and row["PO NUMBER"] == GREYSON_PO, row[name])
        for row in rows
        for name in NUMBER_COLUMNS
        if row[name] in DIRTY_NUMBER_VALUES
    }

    assert found == {(False, value) for value in DIRTY_NUMBER_VALUES}


def test_names_with_quotes_accents_and_emoji_survive(
    engine: sa.Engine, filled: tuple[sa.Table, DemoSummary]
) -> None:
    table, _ = filled
    with engine.connect() as connection:
        bhood = connection.scalar(
            sa.select(sa.func.count()).where(table.c["CUSTOMER NAME"] == "B'HOOD")
        )
        emoji = connection.execute(
            sa.select(table.c["CUSTOMER NAME"]).where(table.c["NOTES"].contains("🚀"))
        ).all()
        cafe = connection.scalar(
            sa.select(sa.func.count()).where(table.c["STYLE DESCRIPTION"].contains("Café"))
        )
        shared_po = connection.scalars(
            sa.select(table.c["CUSTOMER NAME"]).where(table.c["PO NUMBER"] == GREYSON_PO)
        ).all()

    assert (bhood or 0) > 0
    assert len(emoji) == 1
    assert emoji[0][0] not in GREYSON_NAMES
    assert (cafe or 0) > 0
    assert {SHARED_PO_CUSTOMER, "TRACKSMITH"} & set(shared_po)


def test_summary_counts_what_the_database_holds(
    engine: sa.Engine, filled: tuple[sa.Table, DemoSummary]
) -> None:
    table, summary = filled
    name = table.c["CUSTOMER NAME"]

    with engine.connect() as connection:
        total = connection.scalar(sa.select(sa.func.count()).select_from(table))
        per_customer: dict[str, int] = dict(
            connection.execute(sa.select(name, sa.func.count()).group_by(name)).all()
        )

    assert summary.rows == total
    assert 300 <= total <= 600
    assert summary.customers == per_customer
    assert {"GREYSON CLOTHIERS", "TRACKSMITH", "LORNA JANE (AU)", "Peloton Private Label"} <= set(
        per_customer
    )


# --- the rows, without a database ------------------------------------------------------------


@settings(max_examples=25, deadline=None)
@given(seed=st.integers(min_value=0, max_value=2**32))
def test_every_seed_plants_the_reference_case(seed: int) -> None:
    rows = demo_order_rows(seed)
    greyson = [
        row for row in rows if row["CUSTOMER NAME"] in GREYSON_NAMES and row["PO NUMBER"] == "4755"
    ]
    keys = [row["AAG ORDER NUMBER"] for row in rows if row["AAG ORDER NUMBER"] is not None]

    assert len(greyson) == 69
    assert sum(1 for row in greyson for name in size_columns() if row[name]) == 264
    assert {row["CUSTOMER NAME"] for row in greyson} == set(GREYSON_NAMES)
    assert len(keys) - len(set(keys)) == 1
    assert all(
        len(
            row["CUSTOMER STYLE"]
            + row["CUSTOMER COLOUR DESCRIPTION"]
            + (row["AAG ORDER NUMBER"] or "")
        )
        <= 255
        for row in rows
    )
