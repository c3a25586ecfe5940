"""The boards the emulator starts with: the Customer Master Schedule and its subitems board.

Column ids, titles and types are those of the real board (``domain/cms_board_mapping.csv``,
written out here so the project runs without ``../shared``; a test compares the two). Both
boards also have monday's built-in ``name`` column, and the subitems board is linked from the
parent's ``subtasks`` column settings (``{"boardIds": [...]}``), as on monday.

Status and dropdown settings use monday's 2025-10 shape (``column_settings``: a list of labels
``{"id", "label", "is_deactivated", ...}``). Only a few labels are seeded; the
client adds the rest with ``create_labels_if_missing``. Only the default group ``topics``
exists: groups such as ``GREYSON 2025 FALL`` are the client's to create.
"""

from __future__ import annotations

from dataclasses import dataclass, field

CMS_BOARD_ID = 4755559751
CMS_SUBITEMS_BOARD_ID = 4755559779
CMS_BOARD_NAME = "Customer Master Schedule"
DEFAULT_GROUP_ID = "topics"


@dataclass(frozen=True)
class ColumnSpec:
    """One column of a seeded board; ``labels`` seed a status or dropdown column."""

    id: str
    title: str
    type: str
    labels: tuple[str, ...] = ()


@dataclass(frozen=True)
class BoardSpec:
    """A seeded board with its columns and groups (``(id, title)`` pairs)."""

    id: int
    name: str
    columns: tuple[ColumnSpec, ...]
    groups: tuple[tuple[str, str], ...] = field(default=((DEFAULT_GROUP_ID, "Topics"),))
    subitems_board_id: int | None = None
    parent_board_id: int | None = None


def _column(column_id: str, title: str, column_type: str, *labels: str) -> ColumnSpec:
    return ColumnSpec(column_id, title, column_type, tuple(labels))


# monday lists the name column first; the rest follow the mapping CSV's order.
CMS_COLUMNS: tuple[ColumnSpec, ...] = (
    _column("name", "Name (item name)", "name"),
    _column("text_mkr5wya6", "AAG ORDER NUMBER", "text"),
    _column("dropdown_mkr58de6", "AAG SEASON", "dropdown"),
    _column("text_mkrh94rx", "CUSTOMER ALT PO", "text"),
    _column("dropdown_mkr5rgs6", "CUSTOMER SEASON", "dropdown"),
    _column("date_mkr5zp5", "ORDER DATE PO RECEIVED", "date"),
    _column("dropdown_mkr5w5e", "DROP", "dropdown"),
    _column("text_mkr5ej2x", "PO NUMBER", "text"),
    _column("text_mkr5cz8m", "PATTERN ID", "text"),
    _column("long_text_mkr5p0cf", "STYLE DESCRIPTION", "long_text"),
    _column("dropdown_mkr5s5n3", "CATEGORY", "dropdown"),
    _column("color_mkr5yf27", "UNIT OF MEASURE", "status", "EACH", "PACK", "SET", "DOZEN"),
    _column("dropdown_mkr518fc", "ORDER TYPE", "dropdown", "RECEIVED", "CANCELLED"),
    _column("text_mkr5kbc6", "DESTINATION", "text"),
    _column("text_mkr5ps35", "DESTINATION WAREHOUSE", "text"),
    _column("dropdown_mkr5kk5", "DELIVERY TERMS", "dropdown"),
    _column("text_mkr5wcpw", "PLANNED DELIVERY METHOD", "text"),
    _column("long_text_mkr5hass", "NOTES", "long_text"),
    _column("numeric_mkr5cact", "CUSTOMER PRICE", "numbers"),
    _column("numeric_mkr5yne4", "USA ONLY LSTP 75% EX WORKS", "numbers"),
    _column("numeric_mkr5erhv", "EX WORKS (USD)", "numbers"),
    _column("numeric_mkr5k68", "ADMINISTRATION FEE", "numbers"),
    _column("numeric_mkr5h612", "DESIGN FEE", "numbers"),
    _column("numeric_mkr5gp6a", "FX CHARGE", "numbers"),
    _column("text_mkr5s3tm", "HANDLING", "text"),
    _column("numeric_mkr57cem", "SURCHARGE FEE", "numbers"),
    _column("numeric_mkr56xx8", "DISCOUNT", "numbers"),
    _column("numeric_mkr5nhr7", "FINAL FOB (USD)", "numbers"),
    _column("dropdown_mkr5k8yn", "HS CODE", "dropdown"),
    _column("numeric_mkr5r6at", "US DUTY RATE", "numbers"),
    _column("numeric_mkr5ev2q", "US DUTY", "numbers"),
    _column("text_mkr5kyf4", "FREIGHT", "text"),
    _column("numeric_mkr55zg1", "US TARIFF RATE", "numbers"),
    _column("numeric_mkr51ndy", "US TARIFF", "numbers"),
    _column("numeric_mkr5js0x", "DDP US (USD)", "numbers"),
    _column("numeric_mkr58nvp", "SMS PRICE USD", "numbers"),
    _column("text_mkr5ptvg", "FINAL PRICES Y/N", "text"),
    _column("long_text_mkr5znxn", "NOTES FOR PRICE", "long_text"),
    _column("dropdown_mkr542p2", "CUSTOMER", "dropdown"),
    _column("dropdown_mkr5tgaa", "STYLE", "dropdown"),
    _column("text_mkrhra2c", "ALIAS RELATED ITEM", "text"),
    _column("dropdown_mkr5677f", "COLOR", "dropdown"),
    _column("date_mkr554yz", "CUSTOMER REQ IN DC DATE", "date"),
    _column("date_mkr57811", "CUSTOMER EX FACTORY DATE", "date"),
    _column("subtasks_mkr5c0kp", "Subitems", "subtasks"),
    _column("color_mkrerxrs", "ADD TO PLANNING", "status", "YES", "NO"),
    _column("numeric_mkrbty8b", "FCST CONSUMED QTY", "numbers"),
    _column("numeric_mkrb56rj", "FCST QTY", "numbers"),
    _column("pulse_id_mkr5pb5q", "Item ID", "item_id"),
    _column("text_mkr61hpz", "matchAlias", "text"),
)

CMS_SUBITEM_COLUMNS: tuple[ColumnSpec, ...] = (
    _column("dropdown_mkrak7qp", "Size", "dropdown", "XS", "S", "M", "L", "XL"),
    _column("numeric_mkra7j8e", "Order Qty", "numbers"),
    _column("numeric_mkrbgdat", "Cut Qty", "numbers"),
    _column("numeric_mkrc5ryb", "Sew Qty", "numbers"),
    _column("numeric_mkrc7jfj", "Finishing Qty", "numbers"),
    _column("numeric_mkrcq53k", "Received not Shipped Qty", "numbers"),
    _column("numeric_mkraepx7", "Packed Qty", "numbers"),
    _column("numeric_mkrapgwv", "Shipped Qty", "numbers"),
    _column(
        "color_mkrbezbh",
        "ORDER LINE STATUS",
        "status",
        "NOT STARTED",
        "IN PRODUCTION",
        "PACKED",
        "SHIPPED",
    ),
    _column("pulse_id_mkrag4a3", "Item ID", "item_id"),
)

# monday's own column on every board, not a row of the mapping CSV for the subitems board.
SUBITEM_NAME_COLUMN = ColumnSpec("name", "Name", "name")

CMS_BOARDS: tuple[BoardSpec, ...] = (
    BoardSpec(
        id=CMS_BOARD_ID,
        name=CMS_BOARD_NAME,
        columns=CMS_COLUMNS,
        subitems_board_id=CMS_SUBITEMS_BOARD_ID,
    ),
    BoardSpec(
        id=CMS_SUBITEMS_BOARD_ID,
        name=f"Subitems of {CMS_BOARD_NAME}",
        columns=(SUBITEM_NAME_COLUMN, *CMS_SUBITEM_COLUMNS),
        groups=((DEFAULT_GROUP_ID, "Subitems"),),
        parent_board_id=CMS_BOARD_ID,
    ),
)
