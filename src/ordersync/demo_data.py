"""Sample ``ORDERS_UNIFIED`` data: the source table ordersync reads, created and filled for demos.

``source_table`` builds the real table shape (all 268 columns of
``builtin/orders_unified_columns.csv``, SQL Server types mapped to portable SQLAlchemy types);
``create_source_table`` creates it; ``fill_demo_orders`` writes a few hundred deterministic
order lines for seven customers, written as real data is: under alias names, with 'nan',
'None' and '' in NVARCHAR number columns, NULL or 0 in unused sizes. Three sets are planted:

* GREYSON PO 4755 (the reference case): 69 clean order lines, written under both
  ``GREYSON`` and ``GREYSON CLOTHIERS``, holding 264 non-zero size cells, so 264 subitems.
* TRACK SMITH also has a PO ``4755`` (``SHARED_PO_CUSTOMER``): a filter on PO alone is wrong.
* RHONE PO 9001 (``BAD_ROWS_PO``), rows a sync must reject one by one, see the ``BAD_ROW_*``
  constants: a CUSTOMER PRICE of 'TRUE', a NULL AAG ORDER NUMBER, two rows sharing one
  AAG ORDER NUMBER (same style, colour and delivery method too, so they also collide under
  the composite key), a negative size quantity; the other lines of that PO are clean.
"""

from __future__ import annotations

import csv
import functools
import itertools
import random
import uuid
from collections import Counter
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from datetime import date, timedelta
from decimal import Decimal
from importlib import resources
from typing import Any, NamedTuple

import sqlalchemy as sa

from ordersync.db.types import LONG_TEXT
from ordersync.errors import ConfigError

__all__ = [
    "BAD_ROWS_CLEAN_ORDERS",
    "BAD_ROWS_CUSTOMER",
    "BAD_ROWS_LINES",
    "BAD_ROWS_PO",
    "BAD_ROW_DUPLICATE_ORDER",
    "BAD_ROW_MISSING_KEY_STYLE",
    "BAD_ROW_NEGATIVE_SIZE_COLUMN",
    "BAD_ROW_NEGATIVE_SIZE_ORDER",
    "BAD_ROW_NEGATIVE_SIZE_QTY",
    "BAD_ROW_TEXT_PRICE_ORDER",
    "BAD_ROW_TEXT_PRICE_VALUE",
    "DEFAULT_SEED",
    "DIRTY_NUMBER_VALUES",
    "GREYSON_NAMES",
    "GREYSON_PO",
    "GREYSON_PO_LINES",
    "GREYSON_PO_SIZES",
    "SHARED_PO_CUSTOMER",
    "DemoSummary",
    "SourceColumn",
    "create_source_table",
    "demo_order_rows",
    "fill_demo_orders",
    "holds_only_demo_rows",
    "size_columns",
    "source_columns",
    "source_table",
    "summarize",
]

DEFAULT_SEED = 4755

GREYSON_PO = "4755"
GREYSON_NAMES = ("GREYSON", "GREYSON CLOTHIERS")
GREYSON_PO_LINES = 69
GREYSON_PO_SIZES = 264
SHARED_PO_CUSTOMER = "TRACK SMITH"

BAD_ROWS_CUSTOMER = "RHONE"
BAD_ROWS_PO = "9001"
BAD_ROWS_LINES = 7
BAD_ROW_TEXT_PRICE_ORDER = "RHO-90002"  # CUSTOMER PRICE holds BAD_ROW_TEXT_PRICE_VALUE
BAD_ROW_TEXT_PRICE_VALUE = "TRUE"
BAD_ROW_MISSING_KEY_STYLE = "RHM9003"  # the row whose AAG ORDER NUMBER is NULL
BAD_ROW_DUPLICATE_ORDER = "RHO-90004"  # two rows carry this AAG ORDER NUMBER
BAD_ROW_NEGATIVE_SIZE_ORDER = "RHO-90006"
BAD_ROW_NEGATIVE_SIZE_COLUMN = "M"
BAD_ROW_NEGATIVE_SIZE_QTY = -12
BAD_ROWS_CLEAN_ORDERS = ("RHO-90001", "RHO-90007")

DIRTY_NUMBER_VALUES = ("nan", "None", "")
"""What the real source holds in NVARCHAR number columns meaning "empty"."""

_INSERT_CHUNK_ROWS = 100
_CUSTOMER_COLUMN = "CUSTOMER NAME"
_PO_COLUMN = "PO NUMBER"


# --- the table -------------------------------------------------------------------------------


class SourceColumn(NamedTuple):
    """One column of the real ``ORDERS_UNIFIED`` as listed in ``orders_unified_columns.csv``."""

    position: int
    name: str
    sql_server_type: str
    role: str


@functools.cache
def source_columns() -> tuple[SourceColumn, ...]:
    """The 268 columns of the real source table, in table order."""
    path = resources.files("ordersync").joinpath("builtin", "orders_unified_columns.csv")
    return tuple(
        SourceColumn(int(row["position"]), row["column"], row["sql_server_type"], row["role"])
        for row in csv.DictReader(path.read_text(encoding="utf-8").splitlines())
    )


@functools.cache
def size_columns() -> tuple[str, ...]:
    """The 161 INT size columns (``INFOR COLOUR CODE`` sits among them but is not one)."""
    return tuple(c.name for c in source_columns() if c.role == "size")


def _column_type(sql_server_type: str) -> sa.types.TypeEngine[Any]:
    if sql_server_type == "NVARCHAR(MAX)":
        return LONG_TEXT
    if sql_server_type == "INT":
        return sa.Integer()
    if sql_server_type == "DATE":
        return sa.Date()
    if sql_server_type == "UNIQUEIDENTIFIER":
        return sa.Uuid(as_uuid=False)
    raise ValueError(f"no SQLAlchemy type for SQL Server type {sql_server_type!r}")


def source_table(
    metadata: sa.MetaData, name: str = "ORDERS_UNIFIED", schema: str | None = None
) -> sa.Table:
    """Describe the source table: every real column, in order, with portable types.

    Args:
        metadata: the MetaData the table joins.
        name: the table name.
        schema: the schema, ``None`` for the connection's default.

    Returns:
        The table; column names are exactly the real ones (SQLAlchemy quotes them).
    """
    columns = [
        sa.Column(c.name, _column_type(c.sql_server_type), nullable=True) for c in source_columns()
    ]
    return sa.Table(name, metadata, *columns, schema=schema)


def create_source_table(
    engine: sa.Engine,
    name: str = "ORDERS_UNIFIED",
    schema: str | None = None,
    *,
    replace: bool = False,
) -> sa.Table:
    """Create an empty source table in the database; never drop a table of someone's data.

    Args:
        engine: the database.
        name: the table name.
        schema: the schema, ``None`` for the connection's default.
        replace: drop an existing table of that name first, only if it holds demo rows only
            (``holds_only_demo_rows``).

    Returns:
        The created table.

    Raises:
        ConfigError: the table exists and ``replace`` is false, or it holds rows the demo did
            not write (or none): it is left as it is.
    """
    table = source_table(sa.MetaData(), name, schema)
    where = f"{schema}.{name}" if schema else name
    with engine.begin() as connection:
        exists = sa.inspect(connection).has_table(name, schema=schema)
        if exists and not replace:
            raise ConfigError(
                f"table {where} already exists; `ordersync demo-data --replace` rebuilds it "
                "if it holds demo data only"
            )
        if exists and not holds_only_demo_rows(connection, name, schema):
            raise ConfigError(
                f"table {where} holds rows the demo did not write (or none): demo-data never "
                "drops or changes it. Point source.table of a demo configuration elsewhere"
            )
        if exists:
            table.drop(connection)
        table.create(connection)
    return table


def holds_only_demo_rows(connection: sa.Connection, name: str, schema: str | None = None) -> bool:
    """Whether a table holds demo rows and nothing else (what ``--replace`` may drop).

    A demo row is recognised by its ``record_uuid``, drawn from the demo's seeded generator:
    no other data carries those. An empty table is not the demo's (it may be about to be
    filled by someone else), and neither is one with a single row the demo did not write.
    """
    table = sa.Table(name, sa.MetaData(), schema=schema, autoload_with=connection)
    if "record_uuid" not in table.c:
        return False
    demo = _demo_record_uuids()
    values = connection.execute(sa.select(table.c.record_uuid).limit(len(demo) + 1)).scalars()
    found = [_uuid_hex(value) for value in values]
    return bool(found) and len(found) <= len(demo) and all(value in demo for value in found)


def _uuid_hex(value: object) -> str | None:
    """A UUID however it is stored (SQLite keeps 32 hex digits, others the hyphenated form)."""
    try:
        return uuid.UUID(str(value)).hex
    except ValueError:
        return None


@functools.cache
def _demo_record_uuids() -> frozenset[str | None]:
    return frozenset(_uuid_hex(row["record_uuid"]) for row in demo_order_rows(DEFAULT_SEED))


# --- what is written -------------------------------------------------------------------------


@dataclass(frozen=True)
class DemoSummary:
    """What ``fill_demo_orders`` wrote, counted from the rows themselves.

    Attributes:
        rows: order lines written.
        customers: rows per customer name as written in the source (aliases apart).
        greyson_po_4755_lines: GREYSON (any alias) PO 4755 order lines.
        greyson_po_4755_sizes: their non-zero size cells, i.e. the subitems they make.
    """

    rows: int
    customers: dict[str, int]
    greyson_po_4755_lines: int
    greyson_po_4755_sizes: int


def fill_demo_orders(
    engine: sa.Engine, table: sa.Table, *, seed: int = DEFAULT_SEED
) -> DemoSummary:
    """Append the demo order lines to ``table`` (use a fresh table: keys would repeat).

    Args:
        engine: the database.
        table: a table shaped by ``source_table``.
        seed: the same seed writes the same rows.

    Returns:
        Counts of what was written.
    """
    rows = demo_order_rows(seed)
    with engine.begin() as connection:
        for start in range(0, len(rows), _INSERT_CHUNK_ROWS):
            connection.execute(table.insert(), rows[start : start + _INSERT_CHUNK_ROWS])
    return summarize(rows)


def summarize(rows: Sequence[dict[str, Any]]) -> DemoSummary:
    """Count ``rows`` (as built by ``demo_order_rows``) into a ``DemoSummary``."""
    customers = Counter(row[_CUSTOMER_COLUMN] for row in rows)
    greyson = [
        row
        for row in rows
        if row[_CUSTOMER_COLUMN] in GREYSON_NAMES and row[_PO_COLUMN] == GREYSON_PO
    ]
    sizes = sum(1 for row in greyson for name in size_columns() if row[name])
    return DemoSummary(
        rows=len(rows),
        customers=dict(sorted(customers.items())),
        greyson_po_4755_lines=len(greyson),
        greyson_po_4755_sizes=sizes,
    )


def demo_order_rows(seed: int = DEFAULT_SEED) -> list[dict[str, Any]]:
    """Build the demo order lines, one dict per row keyed by every source column name."""
    rng = random.Random(seed)
    builder = _RowBuilder(rng)
    lines = [
        *_greyson_po_4755_lines(rng, builder),
        *_regular_lines(rng, builder),
        *_bad_lines(rng),
    ]
    builder.plant_emoji(lines)
    return [builder.row(line) for line in lines]


# --- customers and sizes ---------------------------------------------------------------------

_ALPHA = ("XS", "S", "M", "L", "XL", "XXL")
_WAIST_INSEAM = ("30/30", "30/32", "32/30", "32/32", "34/30", "34/32", "36/30", "36/32")
_WAIST = ("30", "32", "34", "36", "38")
_WOMENS = ("4", "6", "8", "10", "12", "14", "16")
_BRA = ("32C", "32D", "34C", "34D", "36C", "36D")
_ONE_SIZE = ("ONE SIZE",)


@dataclass(frozen=True)
class _Customer:
    canonical: str
    names: tuple[tuple[str, int], ...]  # (name as written in the source, weight)
    order_prefix: str
    style_prefix: str
    tops: tuple[str, ...]
    bottoms: tuple[str, ...]
    destination: tuple[str, str]  # DESTINATION, DESTINATION WAREHOUSE
    purchase_orders: tuple[tuple[str, int, str], ...]  # (PO NUMBER, lines, CUSTOMER SEASON)


_GREYSON = _Customer(
    "GREYSON", (("GREYSON", 3), ("GREYSON CLOTHIERS", 1)), "GRY", "GMK", _ALPHA,
    _WAIST_INSEAM, ("USA", "GREYSON DC - CARLSTADT, NJ"),
    (("4702", 28, "2025 FALL"), ("4821", 24, "2026 SPRING")),
)  # fmt: skip
_RHONE = _Customer(
    "RHONE", (("RHONE", 1),), "RHO", "RHM", _ALPHA, _WAIST,
    ("USA", "RHONE DC - STAMFORD, CT"),
    (("R-22817", 30, "2025 HOLIDAY"), ("R-23040", 26, "2026 SPRING")),
)  # fmt: skip
_CUSTOMERS = (
    _GREYSON,
    _RHONE,
    _Customer(
        "TRACK SMITH", (("TRACK SMITH", 2), ("TRACKSMITH", 1)), "TRK", "TSW", _ALPHA, _ALPHA,
        ("USA", "TRACKSMITH DC - BOSTON, MA"),
        (("TS-1043", 30, "2025 FALL"), ("4755", 6, "2026 SPRING")),
    ),
    _Customer(
        "LORNA JANE", (("LORNA JANE", 2), ("LORNA JANE (AU)", 2), ("LORNA JANE (NZ)", 1)),
        "LOJ", "LJA", _WOMENS, _WOMENS, ("AUSTRALIA", "LJ DC - BRISBANE QLD"),
        (("LJ-88120", 36, "2025 SUMMER"), ("LJ-88377", 30, "2026 WINTER")),
    ),
    _Customer(
        "B'HOOD", (("B'HOOD", 3), ("BHOOD", 1)), "BHD", "BHW", _BRA, _WOMENS,
        ("UK", "B'HOOD WAREHOUSE - LEEDS"), (("BH-3307", 30, "2025 FALL"),),
    ),
    _Customer(
        "PELOTON", (("PELOTON", 2), ("Peloton Private Label", 1)), "PEL", "PLT", _ALPHA,
        _ALPHA, ("USA", "PELOTON DC - PLAINFIELD, IN"),
        (("PTN-5521", 30, "2025 HOLIDAY"), ("PTN-5604", 24, "2026 SPRING")),
    ),
    _Customer(
        "TITLE NINE", (("TITLE NINE", 1), ("TITLE 9", 1)), "TNN", "TNX", _ALPHA, _WOMENS,
        ("USA", "TITLE NINE DC - RENO, NV"), (("T9-7710", 26, "2026 SPRING"),),
    ),
)  # fmt: skip

_AAG_SEASONS = {
    "2025 SUMMER": "25SU", "2025 FALL": "25FA", "2025 HOLIDAY": "25HO",
    "2026 SPRING": "26SP", "2026 WINTER": "26WI",
}  # fmt: skip
_COLOURS = (
    ("WHITE", "100"), ("NAVY", "410"), ("SHEPHERD", "020"), ("BLACK", "001"),
    ("MALTESE", "060"), ("ARCTIC", "450"), ("HEATHER GREY", "030"), ("SAGE", "330"),
    ("ESPRESSO", "210"), ("CORAL", "650"),
)  # fmt: skip
_DESCRIPTIONS = {
    "TOPS": (
        "Guide Sport Polo", 'Saguaro "Waffle" Hoodie', "Colonnade Quarter-Zip",
        "Café Crew Tee", "Montauk Long Sleeve", "Sequoia Henley", "Tonal Jacquard Polo",
    ),
    "BOTTOMS": (
        'Montauk "Tech" Trouser', "Flex Chino Pant", "Sequoia Jogger", "Tour Trouser",
        "Brixton Five-Pocket",
    ),
    "OUTERWEAR": (
        "Sequoia Puffer Vest", "Colonnade Rain Shell", "Mulholland Soft Shell",
        "Packable Rain Poncho",
    ),
}  # fmt: skip
_NOTES = (
    'Hang tags per "brand book" v3', "Lab dip approved - Café tone", "Ship complete",
    "Customer's own labels", "Fabric re-ordered, résumé of delay sent", "Pre-pack 1-2-2-1",
)  # fmt: skip
_HS_CODES = {
    "TOPS": ("6110.20.2075", Decimal("0.165")),
    "BOTTOMS": ("6203.42.4011", Decimal("0.166")),
    "OUTERWEAR": ("6201.93.3511", Decimal("0.071")),
}
_NUMBER_COLUMNS = (
    "CUSTOMER PRICE", "USA ONLY LSTP 75% EX WORKS", "EX WORKS (USD)", "ADMINISTRATION FEE",
    "DESIGN FEE", "FX CHARGE", "SURCHARGE FEE", "DISCOUNT", "FINAL FOB (USD)",
    "US DUTY RATE", "US DUTY", "US TARIFF RATE", "US TARIFF", "DDP US (USD)", "SMS PRICE USD",
)  # fmt: skip
_MONTHS = ("JAN", "FEB", "MAR", "APR", "MAY", "JUN", "JUL", "AUG", "SEP", "OCT", "NOV", "DEC")
_PLANNERS = ("J. ORTIZ", "M. CHEN", "S. PATEL")
_CENT = Decimal("0.01")


@dataclass
class _PurchaseOrder:
    customer: _Customer
    number: str
    season: str
    ordered: date
    ex_factory: date
    terms: str
    method: str


@dataclass
class _Line:
    po: _PurchaseOrder
    name: str  # CUSTOMER NAME as written
    category: str
    style: str
    description: str
    colour: tuple[str, str]
    order_number: str | None
    sizes: dict[str, int]
    blank: str = "null"  # how unused sizes look: "null", "zero_run" or "zero_all"
    run: tuple[str, ...] = ()
    order_type: str = "ACTIVE"
    method: str = ""
    dirty: bool = False
    overrides: dict[str, Any] = field(default_factory=dict)


def _quantity(rng: random.Random) -> int:
    """An order quantity in 6..480, mostly whole cartons of 6 or 12."""
    draw = rng.random()
    if draw < 0.6:
        return 12 * rng.randint(1, 40)
    if draw < 0.9:
        return 6 * rng.randint(1, 80)
    return rng.randint(6, 480)


def _window(rng: random.Random, run: tuple[str, ...], count: int) -> list[str]:
    start = rng.randint(0, len(run) - count)
    return list(run[start : start + count])


def _fit_counts(rng: random.Random, bounds: list[tuple[int, int]], total: int) -> list[int]:
    """Random per-line size counts within ``bounds`` that add up to exactly ``total``."""
    counts = [rng.randint(low, high) for low, high in bounds]
    while (gap := total - sum(counts)) != 0:
        step = 1 if gap > 0 else -1
        movable = [i for i, (low, high) in enumerate(bounds) if low <= counts[i] + step <= high]
        counts[rng.choice(movable)] += step
    return counts


def _purchase_order(
    rng: random.Random, customer: _Customer, number: str, season: str
) -> _PurchaseOrder:
    ordered = date(2025, 1, 2) + timedelta(days=rng.randint(0, 300))
    return _PurchaseOrder(
        customer=customer,
        number=number,
        season=season,
        ordered=ordered,
        ex_factory=ordered + timedelta(days=rng.randint(60, 120)),
        terms=rng.choice(("FOB", "FOB", "DDP")),
        method=rng.choice(("SEA", "SEA", "SEA", "AIR")),
    )


# --- the three sets of lines -----------------------------------------------------------------


def _greyson_po_4755_lines(rng: random.Random, builder: _RowBuilder) -> list[_Line]:
    """69 lines, 264 sizes: tops and outerwear in XS..XXL, bottoms in waist/inseam, one size."""
    kinds = ["TOPS"] * 46 + ["OUTERWEAR"] * 8 + ["BOTTOMS"] * 12 + ["ONE SIZE"] * 3
    runs = {"TOPS": _ALPHA, "OUTERWEAR": _ALPHA, "BOTTOMS": _WAIST_INSEAM, "ONE SIZE": _ONE_SIZE}
    bounds = [(1, 1) if kind == "ONE SIZE" else (2, len(runs[kind])) for kind in kinds]
    counts = _fit_counts(rng, bounds, GREYSON_PO_SIZES)
    po = _purchase_order(rng, _GREYSON, GREYSON_PO, "2025 FALL")
    lines = []
    for kind, count, style in zip(kinds, counts, builder.styles(_GREYSON, kinds), strict=True):
        run = runs[kind]
        picked = _window(rng, run, count) if kind != "BOTTOMS" else _sample(rng, run, count)
        category = "OUTERWEAR" if kind == "ONE SIZE" else kind
        line = builder.line(po, category, style, {size: _quantity(rng) for size in picked}, run)
        line.name = rng.choices(GREYSON_NAMES, weights=(2, 1))[0]
        line.dirty = False
        line.order_type = "ACTIVE"
        if kind == "ONE SIZE":
            line.description = "Packable Rain Poncho"
        lines.append(line)
    lines[0].name, lines[1].name = GREYSON_NAMES  # both spellings, whatever the seed
    return lines


def _sample(rng: random.Random, run: tuple[str, ...], count: int) -> list[str]:
    return sorted(rng.sample(run, count), key=run.index)


def _regular_lines(rng: random.Random, builder: _RowBuilder) -> list[_Line]:
    lines = []
    for customer in _CUSTOMERS:
        for number, count, season in customer.purchase_orders:
            po = _purchase_order(rng, customer, number, season)
            kinds = rng.choices(("TOPS", "BOTTOMS", "OUTERWEAR"), weights=(6, 3, 1), k=count)
            kinds.sort(key=("TOPS", "BOTTOMS", "OUTERWEAR").index)
            for kind, style in zip(kinds, builder.styles(customer, kinds), strict=True):
                run = customer.bottoms if kind == "BOTTOMS" else customer.tops
                picked = _window(rng, run, rng.randint(max(1, len(run) - 3), len(run)))
                sizes = {size: _quantity(rng) for size in picked}
                lines.append(builder.line(po, kind, style, sizes, run))
    return lines


def _bad_lines(rng: random.Random) -> list[_Line]:
    """RHONE PO 9001: one clean line, then each kind of bad row, then one more clean line."""
    po = _purchase_order(rng, _RHONE, BAD_ROWS_PO, "2026 SPRING")
    po.method = "SEA"
    lines = []
    for index in range(1, BAD_ROWS_LINES + 1):
        sizes = {size: _quantity(rng) for size in ("S", "M", "L", "XL")}
        lines.append(
            _Line(
                po=po, name=BAD_ROWS_CUSTOMER, category="TOPS", style=f"RHM900{index}",
                description="Reign Short Sleeve", colour=_COLOURS[index % len(_COLOURS)],
                order_number=f"RHO-9000{index}", sizes=sizes, run=_ALPHA, method="SEA",
            )
        )  # fmt: skip
    lines[1].overrides["CUSTOMER PRICE"] = BAD_ROW_TEXT_PRICE_VALUE
    lines[2].order_number = None
    lines[4].order_number = lines[3].order_number
    lines[4].style, lines[4].colour = lines[3].style, lines[3].colour
    lines[5].sizes[BAD_ROW_NEGATIVE_SIZE_COLUMN] = BAD_ROW_NEGATIVE_SIZE_QTY
    return lines


# --- from a line to a row --------------------------------------------------------------------


class _RowBuilder:
    """Hands out unique order numbers and styles, and turns lines into full rows."""

    def __init__(self, rng: random.Random) -> None:
        self._rng = rng
        self._next_order: dict[str, int] = {}
        self._next_style: dict[str, int] = {}
        self._dirty_values: Iterator[str] = itertools.cycle(DIRTY_NUMBER_VALUES)

    def order_number(self, prefix: str) -> str:
        # Numbers only grow and stay far below 90000, where the bad rows live.
        number = self._next_order.get(prefix, self._rng.randint(100, 900))
        self._next_order[prefix] = number + self._rng.randint(1, 3)
        return f"{prefix}-{number:05d}"

    def styles(self, customer: _Customer, kinds: Sequence[str]) -> Iterator[tuple[str, str]]:
        """(style, description) per line: one style covers one to four colours of a kind."""
        style, left, previous = ("", ""), 0, ""
        for kind in kinds:
            if left == 0 or kind != previous:
                style, left = self._new_style(customer, kind), self._rng.randint(1, 4)
            previous, left = kind, left - 1
            yield style

    def _new_style(self, customer: _Customer, kind: str) -> tuple[str, str]:
        prefix = customer.style_prefix
        number = self._next_style.get(prefix, self._rng.randint(1000, 1500))
        self._next_style[prefix] = number + self._rng.randint(1, 40)
        category = "OUTERWEAR" if kind == "ONE SIZE" else kind
        return f"{prefix}{number}", self._rng.choice(_DESCRIPTIONS[category])

    def line(
        self,
        po: _PurchaseOrder,
        category: str,
        style: tuple[str, str],
        sizes: dict[str, int],
        run: tuple[str, ...],
    ) -> _Line:
        rng = self._rng
        names, weights = zip(*po.customer.names, strict=True)
        return _Line(
            po=po,
            name=rng.choices(names, weights=weights)[0],
            category=category,
            style=style[0],
            description=style[1],
            colour=rng.choice(_COLOURS),
            order_number=self.order_number(po.customer.order_prefix),
            sizes=sizes,
            blank=rng.choices(("null", "zero_run", "zero_all"), weights=(5, 4, 1))[0],
            run=run,
            order_type="CANCELLED" if rng.random() < 0.04 else "ACTIVE",
            method="AIR" if rng.random() < 0.1 else po.method,
            dirty=rng.random() < 0.25,
        )

    def plant_emoji(self, lines: list[_Line]) -> None:
        first_peloton = next(line for line in lines if line.po.customer.canonical == "PELOTON")
        first_peloton.overrides["NOTES"] = "Launch colourway, rush 🚀"

    def row(self, line: _Line) -> dict[str, Any]:
        row: dict[str, Any] = dict.fromkeys((c.name for c in source_columns()), None)
        row.update(self._business(line))
        row.update(self._prices(line))
        row.update(_size_cells(line))
        row.update(line.overrides)
        row["record_uuid"] = str(uuid.UUID(int=self._rng.getrandbits(128), version=4))
        return row

    def _business(self, line: _Line) -> dict[str, Any]:
        rng, po = self._rng, line.po
        colour, colour_code = line.colour
        eta_days = rng.randint(25, 45) if line.method == "SEA" else rng.randint(5, 12)
        destination, warehouse = po.customer.destination
        return {
            "AAG ORDER NUMBER": line.order_number,
            "CUSTOMER NAME": line.name,
            "ORDER DATE PO RECEIVED": po.ordered,
            "CUSTOMER ALT PO": f"{po.number}-{rng.randint(1, 3)}",
            "AAG SEASON": _AAG_SEASONS[po.season],
            "CUSTOMER SEASON": po.season,
            "DROP": "DROP 1" if rng.random() < 0.85 else "DROP 2",
            "MONTH": _MONTHS[po.ex_factory.month - 1],
            "CATEGORY": line.category,
            "PATTERN ID": f"P-{line.style[-4:]}",
            "MAKE OR BUY": "MAKE",
            "PLANNER": rng.choice(_PLANNERS),
            "ALIAS/RELATED ITEM": f"{line.style}-{colour_code}",
            "CUSTOMER STYLE": line.style,
            "CUSTOMER'S COLOUR CODE (CUSTOM FIELD) CUSTOMER PROVIDES THIS": colour_code,
            "CUSTOMER CODE": f"C-{po.customer.order_prefix}",
            "PO NUMBER": po.number,
            "STYLE DESCRIPTION": line.description,
            "CUSTOMER COLOUR DESCRIPTION": colour,
            "UNIT OF MEASURE": rng.choices(("EACH", "PACK", "SET", "DOZEN"), (17, 1, 1, 1))[0],
            "INFOR COLOUR CODE": f"{colour[:3]}{colour_code}",
            "ORDER TYPE": line.order_type,
            "DESTINATION": destination,
            "DESTINATION WAREHOUSE": warehouse,
            "ETA CUSTOMER WAREHOUSE DATE": po.ex_factory + timedelta(days=eta_days),
            "EX FACTORY DATE": po.ex_factory,
            "DELIVERY TERMS": po.terms,
            "PLANNED DELIVERY METHOD": line.method,
            "NOTES": rng.choice(_NOTES) if rng.random() < 0.2 else None,
            "HANDLING": rng.choice(("0.10", "0.15", "INCL")),
            "FREIGHT": rng.choice(("0.45", "0.60", "TBC")),
            "FINAL PRICES Y/N": rng.choice(("Y", "Y", "N")),
        }

    def _prices(self, line: _Line) -> dict[str, str]:
        rng = self._rng
        hs_code, duty_rate = _HS_CODES[line.category]
        price = Decimal(rng.randint(24, 120)) / 2
        ex_works = price * Decimal("0.82")
        fees = {"ADMINISTRATION FEE": Decimal("0.25"), "FX CHARGE": Decimal("0.15")}
        fob = ex_works + sum(fees.values())
        tariff_rate = Decimal("0.10")
        values = {
            "CUSTOMER PRICE": price,
            "USA ONLY LSTP 75% EX WORKS": ex_works * Decimal("0.75"),
            "EX WORKS (USD)": ex_works,
            **fees,
            "DESIGN FEE": Decimal(0),
            "SURCHARGE FEE": Decimal(0),
            "DISCOUNT": Decimal(0),
            "FINAL FOB (USD)": fob,
            "US DUTY": fob * duty_rate,
            "US TARIFF": fob * tariff_rate,
            "DDP US (USD)": fob * (1 + duty_rate + tariff_rate),
            "SMS PRICE USD": price,
        }
        prices = {name: str(value.quantize(_CENT)) for name, value in values.items()}
        prices |= {"US DUTY RATE": str(duty_rate), "US TARIFF RATE": str(tariff_rate)}
        prices["HS CODE"] = hs_code
        if line.dirty:
            for name in rng.sample(_NUMBER_COLUMNS, rng.randint(1, 3)):
                prices[name] = next(self._dirty_values)
        return prices


def _size_cells(line: _Line) -> dict[str, int | None]:
    """The size cells of a line, unused ones NULL or 0 as ``line.blank`` says, and TOTAL QTY."""
    if line.blank == "zero_all":
        cells: dict[str, int | None] = dict.fromkeys(size_columns(), 0)
    elif line.blank == "zero_run":
        cells = dict.fromkeys(line.run, 0)
    else:
        cells = {}
    cells.update(line.sizes)
    cells["TOTAL QTY"] = sum(line.sizes.values())
    return cells
