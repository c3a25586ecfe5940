"""The target board as delivery sees it: its columns checked against the mapping, its groups,
its subitems board, and the label rules per column.

Loaded once per run, dry runs too (two read requests). A board monday does not have, or a
mapping that names a column the board does not have or with another type, stops the run before
any mutation (``ConfigError``, exit code 2).
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field

import sqlalchemy as sa

from ordersync.column_types import COLUMN_TYPES, QUANTITY_COLUMN_TYPE, SIZE_COLUMN_TYPE
from ordersync.config import SyncConfig
from ordersync.db import Tables
from ordersync.errors import ConfigError, PermanentMondayError, RowRejected
from ordersync.monday import Board, MondayClient
from ordersync.monday.models import Column
from ordersync.states import Action

# What monday (or ``monday.reads``) answers for a board that is not there or not visible.
BOARD_NOT_FOUND_CODES = frozenset({"BOARD_NOT_FOUND", "InvalidBoardIdException"})


@dataclass
class BoardContext:
    """The items board, its subitems board, and what the mapping needs of them."""

    board: Board
    subitems_board: Board
    config: SyncConfig
    group_ids: dict[str, str] = field(default_factory=dict)

    @classmethod
    def load(cls, client: MondayClient, config: SyncConfig, board_id: int) -> BoardContext:
        """The board and its subitems board, checked against the mapping.

        Raises:
            ConfigError: the board is not on monday (or not visible to the token), has no
                subitems column, or does not have the mapped columns.
        """
        context = cls.read(client, config, board_id)
        context.check_mapping()
        return context

    @classmethod
    def read(cls, client: MondayClient, config: SyncConfig, board_id: int) -> BoardContext:
        """The board and its subitems board, not yet checked against the mapping
        (``ordersync check-board`` reports ``mapping_problems`` instead of stopping).

        Raises:
            ConfigError: the board is not on monday (or not visible to the token), or has no
                subitems column.
        """
        board = _get_board(client, board_id)
        if board.subitems_board_id is None:
            raise ConfigError(f"board {board_id} has no subitems column; add one on monday")
        subitems_board = _get_board(client, board.subitems_board_id)
        context = cls(board, subitems_board, config)
        context.group_ids = {group.title: group.id for group in board.groups}
        return context

    @property
    def board_id(self) -> int:
        return self.board.id

    def check_mapping(self) -> None:
        """Every mapped column exists on its board with the configured type.

        Raises:
            ConfigError: naming every column that is missing or of another type.
        """
        problems = self.mapping_problems()
        if problems:
            raise ConfigError("the mapping does not match the board: " + "; ".join(problems))

    def mapping_problems(self) -> list[str]:
        """The mapped columns (pushed, monday-owned, size and quantity) missing on their board
        or of another type than configured; one message each."""
        wanted = [(self.board, c.column_id, c.type) for c in self.config.items.columns]
        wanted += [(self.board, c.column_id, c.type) for c in self.config.items.monday_owned]
        sub = self.config.subitems
        wanted += [
            (self.subitems_board, sub.size_column_id, SIZE_COLUMN_TYPE.name),
            (self.subitems_board, sub.qty_column_id, QUANTITY_COLUMN_TYPE.name),
            *((self.subitems_board, c.column_id, c.type) for c in sub.monday_owned),
        ]
        problems = []
        for board, column_id, column_type in wanted:
            column = board.columns.get(column_id)
            if column is None:
                problems.append(f"column {column_id} is not on board {board.id}")
            elif column.type != column_type:
                problems.append(
                    f"column {column_id} on board {board.id} is {column.type}, "
                    f"configured as {column_type}"
                )
        return problems

    def item_label_problems(self, column_values: dict[str, object]) -> list[RowRejected]:
        """Labels missing on the board for columns where creating labels is not allowed, and
        deactivated labels (never a valid target, as if missing)."""
        problems = []
        for column in self.config.items.columns:
            value = column_values.get(column.column_id)
            for label in COLUMN_TYPES[column.type].labels_in(value):
                if not label_usable(
                    self.board.columns[column.column_id], label, column.create_labels_if_missing
                ):
                    problems.append(
                        _unknown_label(column.source, label, column.column_id, self.board)
                    )
        return problems

    def size_label_problem(self, size: str) -> RowRejected | None:
        sub = self.config.subitems
        column = self.subitems_board.columns[sub.size_column_id]
        if label_usable(column, size, sub.size_labels_create_if_missing):
            return None
        return _unknown_label("Size", size, column.id, self.subitems_board)

    def staged_label_problems(
        self, connection: sa.Connection, tables: Tables, batch_id: str
    ) -> int:
        """How many staged rows of a batch delivery would refuse for their labels.

        The same checks delivery makes (``item_label_problems``, ``size_label_problem``), for
        a dry run to count: an item refused counts once (its subitems would fail with it), a
        subitem of an item that passes counts for its own size label.
        """
        items, subitems = tables.staged_items, tables.staged_subitems
        refused: set[str] = set()
        for stg_id, values in connection.execute(
            sa.select(items.c.stg_id, items.c.column_values).where(
                items.c.batch_id == batch_id,
                items.c.action.in_([Action.CREATE, Action.UPDATE]),
            )
        ):
            if values and self.item_label_problems(json.loads(values)):
                refused.add(stg_id)
        sizes = connection.execute(
            sa.select(subitems.c.parent_stg_id, subitems.c.size_label).where(
                subitems.c.batch_id == batch_id, subitems.c.action == Action.CREATE
            )
        )
        return len(refused) + sum(
            1
            for parent, size in sizes
            if parent not in refused and self.size_label_problem(size) is not None
        )

    def item_creates_labels(self) -> bool:
        """create_labels_if_missing for item mutations: on when any mapped column allows it."""
        return any(column.create_labels_if_missing for column in self.config.items.columns)


def _get_board(client: MondayClient, board_id: int) -> Board:
    try:
        return client.get_board(board_id)
    except PermanentMondayError as error:
        if error.code not in BOARD_NOT_FOUND_CODES:
            raise
        raise ConfigError(
            f"board {board_id} is not on monday, or the token cannot see it: check the board "
            "ids in the configuration (boards.<mode>) and the token's access"
        ) from None


def label_usable(column: Column, label: str, may_create: bool) -> bool:
    """Whether monday takes ``label`` in ``column``: active, or missing where it may be created
    (a deactivated label never is a valid target)."""
    if label in column.deactivated_labels:
        return False
    return may_create or label in column.labels


def _unknown_label(source: str, label: str, column_id: str, board: Board) -> RowRejected:
    column = board.columns[column_id]
    known = ", ".join(column.labels) or "none"
    state = "is deactivated" if label in column.deactivated_labels else "does not exist"
    return RowRejected(
        "UNKNOWN_LABEL",
        f"{source}: label {label!r} {state} on board {board.id} column {column_id} "
        f"(labels: {known}); add it on monday or allow create_labels_if_missing",
        column=source,
    )
