"""``board``: the target board checked against the mapping (one message per missing or
mistyped column, on the items board and the subitems board, pushed and monday-owned columns
alike) and the label rules delivery applies (missing labels only where they may be created,
deactivated labels never)."""

from __future__ import annotations

import dataclasses

import pytest

from ordersync.config import SyncConfig
from ordersync.emulator import CMS_BOARD_ID, CMS_SUBITEMS_BOARD_ID, Emulator
from ordersync.emulator.seed import BoardSpec, ColumnSpec
from ordersync.errors import ConfigError
from ordersync.monday import MondayClient
from ordersync.monday.models import Board, Column
from ordersync.push.board import BoardContext, label_usable

UOM = "color_mkr5yf27"  # UNIT OF MEASURE: status, labels may not be created
CATEGORY = "dropdown_mkr5s5n3"  # CATEGORY: dropdown, labels may be created
PRICE = "numeric_mkr5cact"  # CUSTOMER PRICE: numbers
OWNED = "color_mkrerxrs"  # ADD TO PLANNING: monday-owned status on the items board
SUB_OWNED = "numeric_mkrbgdat"  # Cut Qty: monday-owned numbers on the subitems board
SIZE, QTY = "dropdown_mkrak7qp", "numeric_mkra7j8e"


@pytest.fixture
def seeded(client: MondayClient, config: SyncConfig) -> BoardContext:
    return BoardContext.load(client, config, CMS_BOARD_ID)


def _without(board: Board, column_id: str) -> Board:
    columns = {k: v for k, v in board.columns.items() if k != column_id}
    return dataclasses.replace(board, columns=columns)


def _changed(board: Board, column_id: str, **values: object) -> Board:
    columns = dict(board.columns)
    columns[column_id] = dataclasses.replace(columns[column_id], **values)  # type: ignore[arg-type]
    return dataclasses.replace(board, columns=columns)


def _context(
    seeded: BoardContext, board: Board | None = None, subitems: Board | None = None
) -> BoardContext:
    return BoardContext(
        board or seeded.board, subitems or seeded.subitems_board, seeded.config, seeded.group_ids
    )


def test_the_seeded_board_matches_the_mapping(seeded: BoardContext) -> None:
    assert seeded.mapping_problems() == []
    assert (seeded.board_id, seeded.subitems_board.id) == (CMS_BOARD_ID, CMS_SUBITEMS_BOARD_ID)
    assert seeded.group_ids == {g.title: g.id for g in seeded.board.groups}


@pytest.mark.parametrize(
    ("on_subitems", "column_id"),
    [
        pytest.param(False, PRICE, id="pushed"),
        pytest.param(False, OWNED, id="monday-owned"),
        pytest.param(True, SIZE, id="size"),
        pytest.param(True, QTY, id="quantity"),
        pytest.param(True, SUB_OWNED, id="subitem-monday-owned"),
    ],
)
def test_a_missing_column_is_named_with_its_board(
    seeded: BoardContext, on_subitems: bool, column_id: str
) -> None:
    if on_subitems:
        context = _context(seeded, subitems=_without(seeded.subitems_board, column_id))
        board_id = CMS_SUBITEMS_BOARD_ID
    else:
        context = _context(seeded, board=_without(seeded.board, column_id))
        board_id = CMS_BOARD_ID

    assert context.mapping_problems() == [f"column {column_id} is not on board {board_id}"]
    with pytest.raises(ConfigError, match=column_id):
        context.check_mapping()


@pytest.mark.parametrize(
    ("on_subitems", "column_id", "configured"),
    [
        pytest.param(False, PRICE, "numbers", id="pushed"),
        pytest.param(False, UOM, "status", id="label-column"),
        pytest.param(False, OWNED, "status", id="monday-owned"),
        pytest.param(True, SIZE, "dropdown", id="size"),
        pytest.param(True, QTY, "numbers", id="quantity"),
    ],
)
def test_a_column_of_another_type_is_named_with_both_types(
    seeded: BoardContext, on_subitems: bool, column_id: str, configured: str
) -> None:
    if on_subitems:
        context = _context(seeded, subitems=_changed(seeded.subitems_board, column_id, type="text"))
        board_id = CMS_SUBITEMS_BOARD_ID
    else:
        context = _context(seeded, board=_changed(seeded.board, column_id, type="text"))
        board_id = CMS_BOARD_ID

    assert context.mapping_problems() == [
        f"column {column_id} on board {board_id} is text, configured as {configured}"
    ]


def test_every_problem_is_reported_at_once(seeded: BoardContext) -> None:
    board = _changed(_without(seeded.board, PRICE), UOM, type="text")
    context = _context(seeded, board=board, subitems=_without(seeded.subitems_board, QTY))

    assert len(context.mapping_problems()) == 3
    with pytest.raises(ConfigError) as raised:
        context.check_mapping()
    for column_id in (PRICE, UOM, QTY):
        assert column_id in str(raised.value)


def test_load_refuses_a_mapping_that_does_not_match(
    emulator: Emulator, client: MondayClient, config: SyncConfig
) -> None:
    columns = tuple(
        ColumnSpec(c.id, c.title, c.type, c.labels)
        for c in BoardContext.read(client, config, CMS_BOARD_ID).board.columns.values()
        if c.id != PRICE
    )
    emulator.store.add_board(
        BoardSpec(77, "copy", columns, subitems_board_id=CMS_SUBITEMS_BOARD_ID)
    )

    assert PRICE in " ".join(BoardContext.read(client, config, 77).mapping_problems())
    with pytest.raises(ConfigError, match=PRICE):
        BoardContext.load(client, config, 77)


def test_a_board_without_subitems_or_not_on_monday_stops_the_run(
    emulator: Emulator, client: MondayClient, config: SyncConfig
) -> None:
    emulator.store.add_board(BoardSpec(78, "flat", (ColumnSpec("name", "Name", "name"),)))

    with pytest.raises(ConfigError, match="no subitems column"):
        BoardContext.read(client, config, 78)
    with pytest.raises(ConfigError, match="not on monday"):
        BoardContext.read(client, config, 99999)


# ------------------------------------------------------------------------------ labels
@pytest.mark.parametrize(
    ("label", "may_create", "usable"),
    [
        ("EACH", False, True),  # active
        ("GROSS", False, False),  # missing, may not be created
        ("GROSS", True, True),  # missing, created by monday
        ("OLD", True, False),  # deactivated: never a valid target
        ("OLD", False, False),
    ],
)
def test_label_usable(label: str, may_create: bool, usable: bool) -> None:
    column = Column("c", "C", "status", labels=("EACH", "PACK"), deactivated_labels=("OLD",))
    assert label_usable(column, label, may_create) is usable


def test_item_label_problems_follow_each_columns_create_setting(seeded: BoardContext) -> None:
    board = _changed(seeded.board, CATEGORY, labels=("TOPS",), deactivated_labels=("RETIRED",))
    context = _context(seeded, board=board)

    assert (
        context.item_label_problems({UOM: {"label": "EACH"}, CATEGORY: {"labels": ["NEW"]}}) == []
    )
    assert context.item_label_problems({PRICE: "12.5", "text_mkr5wya6": "GROSS"}) == []

    [refused] = context.item_label_problems({UOM: {"label": "GROSS"}})
    assert refused.code == "UNKNOWN_LABEL" and refused.column == "UNIT OF MEASURE"
    assert "does not exist" in refused.message and "EACH" in refused.message

    [deactivated] = context.item_label_problems({CATEGORY: {"labels": ["RETIRED"]}})
    assert deactivated.column == "CATEGORY" and "is deactivated" in deactivated.message
    [second] = context.item_label_problems({CATEGORY: {"labels": ["TOPS", "RETIRED"]}})
    assert "'RETIRED' is deactivated" in second.message  # every label of a dropdown is checked

    both = context.item_label_problems({UOM: {"label": "GROSS"}, CATEGORY: {"labels": ["RETIRED"]}})
    assert sorted(p.column for p in both) == ["CATEGORY", "UNIT OF MEASURE"]


def test_size_label_problem_follows_the_subitems_setting(seeded: BoardContext) -> None:
    subitems = _changed(seeded.subitems_board, SIZE, deactivated_labels=("XXS",))
    context = _context(seeded, subitems=subitems)
    assert seeded.config.subitems.size_labels_create_if_missing

    assert context.size_label_problem("M") is None
    assert context.size_label_problem("5XL") is None  # created by monday
    refused = context.size_label_problem("XXS")
    assert refused is not None and refused.code == "UNKNOWN_LABEL" and refused.column == "Size"

    strict = seeded.config.subitems.model_copy(update={"size_labels_create_if_missing": False})
    config = seeded.config.model_copy(update={"subitems": strict})
    strict_context = BoardContext(seeded.board, subitems, config, seeded.group_ids)
    assert strict_context.size_label_problem("M") is None
    assert strict_context.size_label_problem("5XL") is not None


def test_item_creates_labels_when_any_mapped_column_allows_it(seeded: BoardContext) -> None:
    assert seeded.item_creates_labels()  # CATEGORY and others allow it
    columns = [
        c.model_copy(update={"create_labels_if_missing": False})
        for c in seeded.config.items.columns
    ]
    items = seeded.config.items.model_copy(update={"columns": columns})
    config = seeded.config.model_copy(update={"items": items})
    assert not BoardContext(seeded.board, seeded.subitems_board, config).item_creates_labels()
