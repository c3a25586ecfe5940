"""Stage 1, ``plan``: find what changed in the source and stage it as one batch.

Change detection lives here and only here. The scoped source is streamed in chunks; each
chunk's keys are looked up in the mirror with one set-based query; every row is validated and
normalised by ``lines.build_order_line``. NEW order lines (key not in the mirror) become staged
item creations with one staged subitem per size with a quantity. Bad rows go to the ERR table
with every reason found. All of it is written in one transaction, or not at all.

MODIFIED and DELETED detection will join the same flow (the mirror already holds row hashes).
"""

from __future__ import annotations

import json
import uuid
from dataclasses import dataclass, field

import sqlalchemy as sa

from ordersync.config import SyncConfig
from ordersync.db import Database, utcnow
from ordersync.db.engine import max_parameters
from ordersync.errors import RowRejected
from ordersync.lines import LineProblems, OrderLine, build_order_line, row_key, source_payload
from ordersync.monday.column_values import to_monday
from ordersync.normalize import order_key
from ordersync.source import Scope, iter_chunks, reflect_source, select_scope
from ordersync.states import Action, BatchStatus, MirrorState, RowStatus, Stage

PREVIEW_LINES = 25


@dataclass
class PlanResult:
    """What a plan found; ``batch_id`` is ``None`` for a dry run or when nothing changed."""

    board_id: int
    batch_id: str | None = None
    items: int = 0
    subitems: int = 0
    rejected: int = 0
    unchanged: int = 0
    warnings: int = 0
    preview: list[OrderLine] = field(default_factory=list)

    @property
    def empty(self) -> bool:
        return self.items == 0 and self.rejected == 0


def plan_batch(
    db: Database,
    config: SyncConfig,
    scope: Scope,
    *,
    mode: str | None = None,
    dry_run: bool = False,
    limit: int | None = None,
) -> PlanResult:
    """Diff the scoped source against the mirror and stage a batch (unless ``dry_run``).

    Args:
        db: ordersync's database (the source table lives there too).
        config: the board mapping.
        scope: customer (any alias), optional PO number and season.
        mode: board set to target (default ``config.default_mode``).
        dry_run: compute everything, write nothing.
        limit: stage at most this many NEW order lines.
    """
    board_id = config.board_id(mode)
    source = reflect_source(db.engine, config)
    result = PlanResult(board_id=board_id)
    batch_id = str(uuid.uuid4())
    with db.engine.begin() as connection:
        stager = _Stager(db, config, connection, batch_id, board_id, write=not dry_run)
        statement = select_scope(source, config, scope)
        for chunk in iter_chunks(connection, statement, config.source.chunk_size):
            known = _mirror_keys(db, connection, board_id, chunk, config)
            for row in chunk:
                line = build_order_line(row, config, source.size_columns)
                if isinstance(line, LineProblems):
                    stager.reject(line)
                elif stager.is_duplicate(line, row):
                    continue
                elif line.order_key in known:
                    result.unchanged += 1
                elif limit is not None and stager.items >= limit:
                    continue
                else:
                    stager.stage_new(line)
                    if len(result.preview) < PREVIEW_LINES:
                        result.preview.append(line)
        result.items, result.subitems = stager.items, stager.subitems
        result.rejected, result.warnings = stager.rejected, stager.warnings
        if not dry_run and not result.empty:
            _insert_batch(db, connection, config, scope, mode, batch_id, board_id, result)
            result.batch_id = batch_id
        elif not dry_run:
            connection.rollback()
    return result


def _mirror_keys(
    db: Database,
    connection: sa.Connection,
    board_id: int,
    chunk: list[dict[str, object]],
    config: SyncConfig,
) -> set[str]:
    """The chunk's keys already on the board (one indexed lookup per slice of keys)."""
    keys = sorted({order_key(k) for row in chunk if (k := row_key(row, config)) is not None})
    mirror = db.tables.items
    found: set[str] = set()
    step = max(1, max_parameters(connection) - 10)
    for start in range(0, len(keys), step):
        found.update(
            connection.execute(
                sa.select(mirror.c.order_key).where(
                    mirror.c.board_id == board_id,
                    mirror.c.state == MirrorState.ACTIVE,
                    mirror.c.order_key.in_(keys[start : start + step]),
                )
            ).scalars()
        )
    return found


class _Stager:
    """Writes staged rows and rejections for one batch inside the plan's transaction."""

    def __init__(
        self,
        db: Database,
        config: SyncConfig,
        connection: sa.Connection,
        batch_id: str,
        board_id: int,
        *,
        write: bool,
    ) -> None:
        self.db, self.config, self.connection = db, config, connection
        self.batch_id, self.board_id, self.write = batch_id, board_id, write
        self.now = utcnow()
        self.items = self.subitems = self.rejected = self.warnings = 0
        # order key → staged item id (None once the key has been rejected as duplicated)
        self.seen: dict[str, str | None] = {}

    def is_duplicate(self, line: OrderLine, row: dict[str, object]) -> bool:
        """Two rows with one key in scope: both are rejected, never merged."""
        if line.order_key not in self.seen:
            return False
        first = self.seen[line.order_key]
        message = f"key {line.order_key!r} appears more than once in scope"
        problem = RowRejected("DUPLICATE_KEY", message)
        if first is not None:
            self._unstage(first, line.order_key, problem)
            self.seen[line.order_key] = None
        self.reject(LineProblems(line.key, [problem], source_payload(row, self.config)))
        return True

    def stage_new(self, line: OrderLine) -> None:
        stg_id = str(uuid.uuid4())
        self.seen[line.order_key] = stg_id
        self.items += 1
        self.subitems += len(line.sizes)
        for warning in line.warnings:
            self._record_error(line.order_key, warning, {"skipped_column": warning.column})
            self.warnings += 1
        if not self.write:
            return
        tables = self.db.tables
        self.connection.execute(
            tables.staged_items.insert().values(
                stg_id=stg_id,
                batch_id=self.batch_id,
                action=Action.CREATE,
                order_key=line.order_key,
                item_name=line.item_name,
                group_title=line.group_title,
                column_values=json.dumps(item_column_values(line, self.config), ensure_ascii=False),
                row_hash=line.row_hash,
                customer=line.customer,
                po_number=line.po_number,
                season=line.season,
                status=RowStatus.PENDING,
                created_at=self.now,
            )
        )
        if line.sizes:
            self.connection.execute(
                tables.staged_subitems.insert(),
                [
                    {
                        "stg_id": str(uuid.uuid4()),
                        "batch_id": self.batch_id,
                        "parent_stg_id": stg_id,
                        "action": Action.CREATE,
                        "order_key": line.order_key,
                        "size_label": size,
                        "qty": qty,
                        "column_values": json.dumps(
                            subitem_column_values(size, qty, self.config), ensure_ascii=False
                        ),
                        "row_hash": line.subitem_hash(size),
                        "status": RowStatus.PENDING,
                        "created_at": self.now,
                    }
                    for size, qty in line.sizes.items()
                ],
            )

    def reject(self, line: LineProblems) -> None:
        self.rejected += 1
        key = None if line.key is None else order_key(line.key)
        for problem in line.problems:
            self._record_error(key, problem, line.payload)

    def _unstage(self, stg_id: str, key: str, problem: RowRejected) -> None:
        """Take back a line staged before its duplicate showed up."""
        tables = self.db.tables
        self.items -= 1
        self.rejected += 1
        if not self.write:
            self._record_error(key, problem, {})
            return
        staged = self.connection.execute(
            sa.select(tables.staged_items.c.column_values).where(
                tables.staged_items.c.stg_id == stg_id
            )
        ).scalar_one()
        removed = self.connection.execute(
            tables.staged_subitems.delete().where(tables.staged_subitems.c.parent_stg_id == stg_id)
        ).rowcount
        self.subitems -= removed
        self.connection.execute(
            tables.staged_items.delete().where(tables.staged_items.c.stg_id == stg_id)
        )
        self._record_error(key, problem, {"column_values": json.loads(staged)})

    def _record_error(self, key: str | None, problem: RowRejected, payload: object) -> None:
        if not self.write:
            return
        self.connection.execute(
            self.db.tables.item_errors.insert().values(
                batch_id=self.batch_id,
                order_key=key,
                stage=Stage.PLAN,
                error_code=problem.code,
                message=problem.message,
                payload=json.dumps(payload, ensure_ascii=False, default=str),
                retryable=False,
                resolved=False,
                created_at=self.now,
            )
        )


def item_column_values(line: OrderLine, config: SyncConfig) -> dict[str, object]:
    """monday column values for creating the item (empty values are left off)."""
    types = {column.column_id: column.type for column in config.items.columns}
    return {
        column_id: to_monday(types[column_id], value)
        for column_id, value in line.values.items()
        if value is not None
    }


def subitem_column_values(size: str, qty: int, config: SyncConfig) -> dict[str, object]:
    return {
        config.subitems.size_column_id: to_monday("dropdown", size),
        config.subitems.qty_column_id: to_monday("numbers", qty),
    }


def _insert_batch(
    db: Database,
    connection: sa.Connection,
    config: SyncConfig,
    scope: Scope,
    mode: str | None,
    batch_id: str,
    board_id: int,
    result: PlanResult,
) -> None:
    now = utcnow()
    connection.execute(
        db.tables.batches.insert().values(
            batch_id=batch_id,
            board_id=board_id,
            mode=mode or config.default_mode,
            customer=config.canonical_customer(scope.customer),
            po_number=scope.po_number,
            season=scope.season,
            status=BatchStatus.STAGED,
            created_at=now,
            staged_at=now,
            updated_at=now,
            planned_items=result.items,
            planned_subitems=result.subitems,
            rows_rejected=result.rejected,
            config_snapshot=config.model_dump_json(),
        )
    )
