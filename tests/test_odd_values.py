"""Odd values from a real NVARCHAR(MAX) order book: each is delivered intact or becomes an ERR
row with a reason (exit 3), never a crash, and never a value changed on the way."""

from __future__ import annotations

import json
import re
from datetime import date
from decimal import Decimal
from typing import Any

import pytest
import sqlalchemy as sa
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from ordersync.config import SyncConfig
from ordersync.db import Database
from ordersync.demo_data import size_columns
from ordersync.emulator import CMS_BOARD_ID, CMS_SUBITEMS_BOARD_ID, Emulator
from ordersync.errors import ConfigError, RowRejected
from ordersync.monday import MondayClient
from ordersync.push.lines import LIMITS, LineBuilder, LineProblems, OrderLine
from ordersync.push.normalize import MAX_DIGITS, normalize_quantity, normalize_value
from ordersync.push.source import Scope
from ordersync.sync import run_sync

KEY_COLUMN, PRICE, NOTES, ALT_PO = (
    "text_mkr5wya6",
    "numeric_mkr5cact",
    "long_text_mkr5hass",
    "text_mkrh94rx",
)
SIZES = size_columns()
ODD = Scope("RHONE", "ODD-1")


# --- numbers ---------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("1,234", Decimal(1234)),
        ("1,234,567", Decimal(1234567)),
        ("-1,234,567.25", Decimal("-1234567.25")),
        (" 12 ", Decimal(12)),
        ("-0", Decimal(0)),
        ("+0.00", Decimal(0)),
        ("0E+5", Decimal(0)),
        (".5", Decimal("0.5")),
        ("1e3", Decimal(1000)),
        ("9" * MAX_DIGITS, Decimal("9" * MAX_DIGITS)),
        ("9.999e27", Decimal("9999" + "0" * 24)),
        ("0." + "0" * (MAX_DIGITS - 1) + "1", Decimal("1e-28")),
        (10**27, Decimal(10**27)),
        (-(10**27), Decimal(-(10**27))),
    ],
)
def test_numbers_read_exactly(raw: object, expected: Decimal) -> None:
    value = normalize_value("numbers", raw, "CUSTOMER PRICE")
    assert value == expected and isinstance(value, Decimal)
    assert value.as_tuple().exponent == min(0, expected.normalize().as_tuple().exponent)  # type: ignore[operator]


@pytest.mark.parametrize(
    "raw",
    [
        "18,50",
        "1,2,3",
        "12,5",
        "1.000,50",
        "1,23",
        "1,2345",
        ",123",
        "1,234.",
        "1,,234",
        "1 234",
        "1_000",
        "0x10",
        "١٢",  # Arabic-Indic digits: Decimal() would read them as 12
        "１２",  # fullwidth
        "²",
        "Infinity",
        "-inf",
        "sNaN",
        "1e28",
        "1E+28",
        "-1e28",
        "1" * (MAX_DIGITS + 1),
        "1e999999999",
        "1e-999999999",
        "0." + "0" * MAX_DIGITS + "1",
        "1." + "1" * MAX_DIGITS,
        10 ** (MAX_DIGITS + 1),
        1e30,
        -1e30,
        1e-300,
        float("nan"),
        Decimal("1e28"),
        Decimal("Infinity"),
        "[/b]",
    ],
)
def test_numbers_that_would_change_are_rejected(raw: object) -> None:
    with pytest.raises(RowRejected) as caught:
        normalize_value("numbers", raw, "CUSTOMER PRICE")
    assert caught.value.code == "INVALID_NUMBER"
    assert caught.value.column == "CUSTOMER PRICE"
    assert len(caught.value.message) < 300  # a 100k-digit value is not copied into the message


_NUMBER_TEXT = re.compile(r"[+-]?(?:[0-9]+(?:\.[0-9]*)?|\.[0-9]+)(?:[eE][+-]?[0-9]+)?")


@given(st.one_of(st.text(), st.integers(), st.floats(), st.decimals(), st.booleans()))
def test_a_number_is_kept_exactly_or_rejected(raw: object) -> None:
    """Property: any value is its exact number, empty, or INVALID_NUMBER; nothing else."""
    try:
        value = normalize_value("numbers", raw, "C")
    except RowRejected as rejected:
        assert rejected.code == "INVALID_NUMBER"
        return
    if value is None:
        return
    assert isinstance(value, Decimal) and value.is_finite()
    if isinstance(raw, str):
        text = raw.strip()
        plain = text if _NUMBER_TEXT.fullmatch(text) else text.replace(",", "")
        assert value == Decimal(plain)  # exact: Decimal comparison does not round
    elif isinstance(raw, float):
        assert value == Decimal(repr(raw))
    else:
        assert value == Decimal(raw)  # type: ignore[arg-type]


@given(st.text(alphabet="0123456789,.-", max_size=12))
def test_a_comma_is_only_ever_a_thousands_separator(text: str) -> None:
    try:
        value = normalize_value("numbers", text, "C")
    except RowRejected:
        return
    if value is not None and "," in text:
        whole = text.lstrip("+-").split(".")[0]
        groups = whole.split(",")
        assert 1 <= len(groups[0]) <= 3 and all(len(g) == 3 for g in groups[1:])


# --- quantities ------------------------------------------------------------------------------
@pytest.mark.parametrize(
    "raw", [1e30, "1e30", 10**30, "1" * 40, LIMITS.quantity + 1, "abc", "12,5", "Infinity"]
)
def test_a_quantity_out_of_range_is_invalid(raw: object) -> None:
    with pytest.raises(RowRejected) as caught:
        normalize_quantity(raw, "M", LIMITS.quantity)
    assert caught.value.code == "INVALID_QUANTITY" and caught.value.column == "M"


def test_the_largest_quantity_the_mirror_holds_passes() -> None:
    assert LIMITS.quantity == 2**31 - 1  # the mirror's qty is INTEGER everywhere
    assert normalize_quantity(LIMITS.quantity, "M", LIMITS.quantity) == LIMITS.quantity
    assert normalize_quantity("1,200", "M", LIMITS.quantity) == 1200


# --- dates -----------------------------------------------------------------------------------
@pytest.mark.parametrize(
    "raw",
    [
        "0000-00-00",
        "2025-02-30",
        "2025-13-01",
        "not a date",
        "20250701",  # fromisoformat reads it; the rule is YYYY-MM-DD
        "2025-W27-2",
        "２０２５-07-01",
        "2025-07-01T25:00",
        "2025-07-01 [/b]",
        "01/07/2025",
    ],
)
def test_odd_dates_are_rejected(raw: str) -> None:
    with pytest.raises(RowRejected) as caught:
        normalize_value("date", raw, "EX FACTORY DATE")
    assert caught.value.code == "INVALID_DATE"


@given(st.one_of(st.text(), st.dates().map(str), st.integers()))
def test_a_date_is_a_real_day_or_rejected(raw: object) -> None:
    try:
        value = normalize_value("date", raw, "D")
    except RowRejected as rejected:
        assert rejected.code == "INVALID_DATE"
        return
    assert value is None or (isinstance(value, date) and str(raw).strip()[:10] == str(value))


# --- lines -----------------------------------------------------------------------------------
_ODD_TEXT = st.one_of(
    st.text(),
    st.sampled_from(["1e28", "-0", " 12 ", "1.000,50", "1,234", "12,5", "Infinity", "NaN"]),
    st.sampled_from(["0000-00-00", "2025-02-30", "[/b]", "[bold]x", "x" * 700]),
)
_ODD_VALUE = st.one_of(
    _ODD_TEXT, st.integers(), st.floats(), st.decimals(), st.none(), st.booleans()
)


@settings(max_examples=100, suppress_health_check=[HealthCheck.too_slow])
@given(st.data())
def test_a_line_is_built_or_rejected_whatever_the_values(
    config: SyncConfig, data: st.DataObject
) -> None:
    """Property: no value in any column makes building a line raise."""
    builder = LineBuilder(config, SIZES[:6])
    columns = [*builder.payload_columns, *SIZES[:6], config.source.season_column]
    row: dict[str, Any] = {name: data.draw(_ODD_VALUE, label=name) for name in columns}
    line = builder.build(row)
    if isinstance(line, LineProblems):
        assert line.problems
        json.dumps(line.payload, default=str)
        return
    assert isinstance(line, OrderLine)
    assert len(line.order_key) <= (LIMITS.key or len(line.order_key))
    for size, qty in line.sizes.items():
        assert 0 < qty <= LIMITS.quantity and size in SIZES


# --- end to end ------------------------------------------------------------------------------
def _add_rows(db: Database, rows: list[dict[str, Any]]) -> None:
    """Rows of a new PO ODD-1, copied from a clean GREYSON line with ``rows``' values."""
    table = sa.Table("ORDERS_UNIFIED", sa.MetaData(), autoload_with=db.engine)
    with db.engine.begin() as connection:
        template = dict(
            connection.execute(sa.select(table).where(table.c["PO NUMBER"] == "4755").limit(1))
            .mappings()
            .one()
        )
        template.update({"CUSTOMER NAME": "RHONE", "PO NUMBER": "ODD-1", "record_uuid": None})
        connection.execute(table.insert(), [{**template, **row} for row in rows])


def _outcome(db: Database, emulator: Emulator) -> tuple[dict[str, dict], dict[str, str]]:
    items = {
        i["texts"][KEY_COLUMN]: i for i in emulator.items(CMS_BOARD_ID) if i["state"] == "active"
    }
    with db.engine.connect() as connection:
        errors = connection.execute(
            sa.select(db.tables.item_errors.c.order_key, db.tables.item_errors.c.error_code)
        ).all()
        payloads = connection.execute(sa.select(db.tables.item_errors.c.payload)).scalars().all()
    by_order = {}
    for (key, code), payload in zip(errors, payloads, strict=True):
        order = key if key is not None else json.loads(payload)["AAG ORDER NUMBER"]
        by_order[order] = code
    return items, by_order


def test_odd_values_become_err_rows_or_arrive_intact(
    db: Database, config: SyncConfig, client: MondayClient, emulator: Emulator
) -> None:
    long_key = "K" * 603
    rows: dict[str, tuple[dict[str, Any], str | None, str | None]] = {
        # order number: (values, expected error code, expected price on the board)
        "ODD-01": ({"CUSTOMER PRICE": "1e28"}, "INVALID_NUMBER", None),
        "ODD-02": ({"CUSTOMER PRICE": "1" * 29}, "INVALID_NUMBER", None),
        "ODD-03": ({"CUSTOMER PRICE": "18,50"}, "INVALID_NUMBER", None),
        "ODD-04": ({"CUSTOMER PRICE": "1,2,3"}, "INVALID_NUMBER", None),
        "ODD-05": ({"CUSTOMER PRICE": "1.000,50"}, "INVALID_NUMBER", None),
        "ODD-06": ({"CUSTOMER PRICE": "Infinity"}, "INVALID_NUMBER", None),
        "ODD-07": ({"CUSTOMER PRICE": "١٢"}, "INVALID_NUMBER", None),
        "ODD-08": ({"CUSTOMER PRICE": "1,234"}, None, "1234"),
        "ODD-09": ({"CUSTOMER PRICE": " 12 "}, None, "12"),
        "ODD-10": ({"CUSTOMER PRICE": "-0"}, None, "0"),
        "ODD-11": ({"NOTES": "1e28", "CUSTOMER ALT PO": "1" * 40}, None, None),
        "ODD-12": ({"CUSTOMER SEASON": "S" * 300}, "VALUE_TOO_LONG", None),
        long_key: ({}, "KEY_TOO_LONG", None),
    }
    _add_rows(db, [{"AAG ORDER NUMBER": key, **values} for key, (values, _, _) in rows.items()])

    outcome = run_sync(db, config, client, ODD)

    assert outcome.exit_code == 3 and outcome.report is not None
    items, errors = _outcome(db, emulator)
    for key, (values, code, price) in rows.items():
        if code is not None:
            assert errors.get(key) == code, key
            assert key not in items
            continue
        assert key in items and key not in errors, key
        texts = items[key]["texts"]
        if price is not None:
            assert texts[PRICE] == price
        for source, column_id in (("NOTES", NOTES), ("CUSTOMER ALT PO", ALT_PO)):
            if source in values:
                assert texts[column_id] == values[source]  # text columns: exactly as written
    assert outcome.report.rows_rejected == sum(1 for _, code, _ in rows.values() if code)


def test_a_huge_size_quantity_is_rejected_and_the_rest_delivered(
    sqlite_db: Database, config: SyncConfig, client: MondayClient, emulator: Emulator
) -> None:
    """SQLite's INT columns hold 1e30 or text (PostgreSQL's refuse them: nothing to read)."""
    _add_rows(
        sqlite_db,
        [
            {"AAG ORDER NUMBER": "ODD-20", "M": 2**63 - 1},
            {"AAG ORDER NUMBER": "ODD-21", "M": 1e30},
            {"AAG ORDER NUMBER": "ODD-22", "M": "1e30"},
            {"AAG ORDER NUMBER": "ODD-23", "M": 2**31},
            {"AAG ORDER NUMBER": "ODD-24", "M": 7},
        ],
    )
    outcome = run_sync(sqlite_db, config, client, ODD)
    assert outcome.exit_code == 3
    items, errors = _outcome(sqlite_db, emulator)
    assert errors == dict.fromkeys(("ODD-20", "ODD-21", "ODD-22", "ODD-23"), "INVALID_QUANTITY")
    assert set(items) == {"ODD-24"}
    quantities = [s["texts"]["numeric_mkra7j8e"] for s in emulator.items(CMS_SUBITEMS_BOARD_ID)]
    assert "7" in quantities


@pytest.mark.parametrize("bad", ["0000-00-00", "not a date", "2025-02-30", "[/b]"])
def test_a_non_date_in_a_sqlite_date_column_is_an_invalid_date_row(
    sqlite_db: Database, config: SyncConfig, client: MondayClient, emulator: Emulator, bad: str
) -> None:
    _add_rows(
        sqlite_db,
        [{"AAG ORDER NUMBER": "ODD-30"}, {"AAG ORDER NUMBER": "ODD-31"}],
    )
    with sqlite_db.engine.begin() as connection:  # what another program may write there
        connection.execute(
            sa.text(
                'UPDATE "ORDERS_UNIFIED" SET "EX FACTORY DATE" = :bad, '
                '"ORDER DATE PO RECEIVED" = :bad WHERE "AAG ORDER NUMBER" = :key'
            ),
            {"bad": bad, "key": "ODD-30"},
        )
    outcome = run_sync(sqlite_db, config, client, ODD)
    assert outcome.exit_code == 3
    items, errors = _outcome(sqlite_db, emulator)
    assert errors == {"ODD-30": "INVALID_DATE"} and set(items) == {"ODD-31"}
    with sqlite_db.engine.connect() as connection:
        messages = connection.execute(sa.select(sqlite_db.tables.item_errors.c.message)).scalars()
        assert bad in " ".join(messages)


def test_a_scope_longer_than_the_batch_keeps_is_a_usage_error() -> None:
    with pytest.raises(ConfigError, match="--season is 300 characters"):
        Scope("RHONE", season="S" * 300)
    with pytest.raises(ConfigError, match="--customer"):
        Scope("🚀" * 101)  # 202 UTF-16 units: SQL Server's NVARCHAR(200) would refuse it
    assert Scope("R" * 200, "P" * 200, "S" * 200).season == "S" * 200


@pytest.fixture
def sqlite_db(sqlite_url: str) -> Any:
    from helpers.support import demo_database

    database = demo_database(sqlite_url)
    yield database
    database.engine.dispose()


@pytest.fixture(scope="module")
def plan_db(tmp_path_factory: pytest.TempPathFactory) -> Any:
    from helpers.support import demo_database

    database = demo_database(f"sqlite:///{tmp_path_factory.mktemp('plan') / 'plan.db'}")
    yield database
    database.engine.dispose()


_CELL = st.one_of(
    st.text(max_size=60),
    st.integers(min_value=-(2**63), max_value=2**63 - 1),
    st.floats(allow_nan=True, allow_infinity=True),
    st.sampled_from(["1e28", "1" * 29, "18,50", "1,2,3", "0000-00-00", "2025-02-30", "x" * 500]),
)


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    price=_CELL,
    notes=_CELL,
    season=_CELL,
    shipped=_CELL,
    size=st.one_of(st.integers(min_value=-(2**63), max_value=2**63 - 1), st.floats(), _CELL),
)
def test_planning_never_raises_whatever_a_row_holds(
    plan_db: Database,
    config: SyncConfig,
    price: object,
    notes: object,
    season: object,
    shipped: object,
    size: object,
) -> None:
    """Property (SQLite, whose columns hold anything): a row is planned or rejected, never a
    crash; the other rows of the scope are planned as before."""
    from ordersync.push.plan import plan_batch

    table = sa.Table("ORDERS_UNIFIED", sa.MetaData(), autoload_with=plan_db.engine)
    with plan_db.engine.begin() as connection:
        connection.execute(table.delete().where(table.c["PO NUMBER"] == "ODD-P"))
    _add_rows(plan_db, [{"AAG ORDER NUMBER": "ODD-P1"}, {"AAG ORDER NUMBER": "ODD-P2"}])
    with plan_db.engine.begin() as connection:
        connection.execute(
            table.update().where(table.c["PO NUMBER"] == "ODD-1").values({"PO NUMBER": "ODD-P"})
        )
        connection.execute(  # raw values, past SQLAlchemy's type checks, as any writer could
            sa.text(
                'UPDATE "ORDERS_UNIFIED" SET "CUSTOMER PRICE" = :price, "NOTES" = :notes, '
                '"CUSTOMER SEASON" = :season, "EX FACTORY DATE" = :shipped, "M" = :size '
                "WHERE \"AAG ORDER NUMBER\" = 'ODD-P1'"
            ),
            {"price": price, "notes": notes, "season": season, "shipped": shipped, "size": size},
        )
    plan = plan_batch(plan_db, config, Scope("RHONE", "ODD-P"), dry_run=True)
    assert plan.items + plan.rejected == 2
    assert plan.rejected <= 1  # ODD-P2 is clean and always planned
