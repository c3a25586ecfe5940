"""Stage 2, ``deliver``: push a staged batch to monday exactly once and record every answer.

The protocol (DESIGN.md, "Delivery protocol"):

1. Requests still SENDING in the journal for this board are resolved first, by looking their
   rows up on monday and adopting what exists.
2. Missing groups are created once. Items go in aliased chunks; before each chunk, items the
   board already holds under the same key are adopted instead of created.
3. Each request is journalled (SENDING, committed) before it is sent. Its answer is recorded
   in one transaction: each alias's result on its staged row, successes promoted into the
   mirror, failures written to the ERR table, the journal entry closed. Results are mapped by
   alias, never by position; an alias whose fate the answer does not tell is looked up.
4. Subitems follow under their parents' ids, the same way.
5. The batch moves STAGED → ITEMS_COMPLETED → SUBITEMS_COMPLETED → BATCH_COMPLETED (or
   COMPLETED_WITH_ERRORS), stamping each stage; it is never completed before its subitems.

Retryable failures are retried inside the client with the same ``Idempotency-Key``; when
retries run out the run stops with the batch resumable, and the next ``sync`` finishes it.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Callable, Sequence
from typing import Any

import sqlalchemy as sa

from ordersync.batches import BatchReport, load_report
from ordersync.board import BoardContext
from ordersync.config import SyncConfig
from ordersync.db import Database, upsert, utcnow
from ordersync.errors import MondayError, RowRejected
from ordersync.journal import JournalEntry, close_entry, open_entries, open_entry
from ordersync.lookup import find_items, find_subitems
from ordersync.monday import AliasResult, MondayClient, Mutation, documents
from ordersync.states import (
    Action,
    BatchStatus,
    MirrorState,
    RowStatus,
    Stage,
)

Progress = Callable[[str, int, int], None]  # (phase, done, total)
MAX_ATTEMPTS = 5  # sends of one row whose outcome stays unknown before it is given up


class Delivery:
    """Delivers batches of one board through one client."""

    def __init__(
        self,
        db: Database,
        config: SyncConfig,
        client: MondayClient,
        board: BoardContext,
        *,
        progress: Progress | None = None,
    ) -> None:
        self.db, self.config, self.client, self.board = db, config, client, board
        self.progress = progress or (lambda phase, done, total: None)
        self.tables = db.tables

    # ----------------------------------------------------------------------------- batch
    def deliver(self, batch_id: str) -> BatchReport:
        """Deliver (or finish delivering) one batch; returns its record."""
        requests_before, retries_before = self.client.stats.requests, self.client.stats.retries
        try:
            self.resolve_open_requests()
            status = self._status(batch_id)
            if status == BatchStatus.STAGED:
                self._deliver_items(batch_id)
                self._advance(batch_id, BatchStatus.ITEMS_COMPLETED, "items_completed_at")
                status = BatchStatus.ITEMS_COMPLETED
            if status == BatchStatus.ITEMS_COMPLETED:
                self._deliver_subitems(batch_id)
                self._advance(batch_id, BatchStatus.SUBITEMS_COMPLETED, "subitems_completed_at")
                status = BatchStatus.SUBITEMS_COMPLETED
            if status == BatchStatus.SUBITEMS_COMPLETED:
                self._finish(batch_id)
        except MondayError as error:
            self._note_error(batch_id, error)
            raise
        finally:
            self._count_requests(
                batch_id,
                self.client.stats.requests - requests_before,
                self.client.stats.retries - retries_before,
            )
        report = load_report(self.db, batch_id)
        assert report is not None
        return report

    def _status(self, batch_id: str) -> BatchStatus:
        batches = self.tables.batches
        with self.db.engine.connect() as connection:
            status = connection.execute(
                sa.select(batches.c.status).where(batches.c.batch_id == batch_id)
            ).scalar_one()
        return BatchStatus(status)

    def _advance(self, batch_id: str, status: BatchStatus, stamp: str) -> None:
        now = utcnow()
        with self.db.engine.begin() as connection:
            connection.execute(
                self.tables.batches.update()
                .where(self.tables.batches.c.batch_id == batch_id)
                .values(status=status, updated_at=now, **{stamp: now})
            )

    def _finish(self, batch_id: str) -> None:
        batches = self.tables.batches
        with self.db.engine.connect() as connection:
            row = connection.execute(
                sa.select(
                    batches.c.rows_rejected, batches.c.items_failed, batches.c.subitems_failed
                ).where(batches.c.batch_id == batch_id)
            ).one()
        clean = row.rows_rejected == 0 and row.items_failed == 0 and row.subitems_failed == 0
        status = BatchStatus.BATCH_COMPLETED if clean else BatchStatus.COMPLETED_WITH_ERRORS
        self._advance(batch_id, status, "completed_at")

    def _note_error(self, batch_id: str, error: MondayError) -> None:
        status = None if error.retryable else BatchStatus.FAILED
        values: dict[str, Any] = {"error": str(error), "updated_at": utcnow()}
        if status is not None:
            values.update(status=status, completed_at=utcnow())
        with self.db.engine.begin() as connection:
            connection.execute(
                self.tables.batches.update()
                .where(self.tables.batches.c.batch_id == batch_id)
                .values(**values)
            )

    def _count(self, connection: sa.Connection, batch_id: str, **increments: int) -> None:
        batches = self.tables.batches
        values = {name: batches.c[name] + n for name, n in increments.items() if n}
        if values:
            connection.execute(
                batches.update().where(batches.c.batch_id == batch_id).values(**values)
            )

    def _count_requests(self, batch_id: str, requests: int, retries: int) -> None:
        with self.db.engine.begin() as connection:
            self._count(connection, batch_id, requests=requests, retries=retries)

    # ----------------------------------------------------------------------------- items
    def _deliver_items(self, batch_id: str) -> None:
        staged = self.tables.staged_items
        total = self._count_pending(staged, batch_id)
        self._ensure_groups(batch_id)
        while rows := self._pending(staged, batch_id, self.config.delivery.items_per_request):
            rows = self._adopt_items(batch_id, rows)
            rows = self._reject_items(batch_id, rows)
            if rows:
                self._send_items(batch_id, rows)
            self.progress("items", total - self._count_pending(staged, batch_id), total)

    def _ensure_groups(self, batch_id: str) -> None:
        """Create each missing group once (a lost answer is found by title next time)."""
        staged = self.tables.staged_items
        with self.db.engine.connect() as connection:
            titles = connection.execute(
                sa.select(staged.c.group_title)
                .where(staged.c.batch_id == batch_id, staged.c.status == RowStatus.PENDING)
                .distinct()
            ).scalars()
            missing = sorted(t for t in titles if t and t not in self.board.group_ids)
        for title in missing:
            group = self.client.create_group(
                self.board.board_id, title, idempotency_key=_group_key(batch_id, title)
            )
            self.board.group_ids[title] = group.id

    def _adopt_items(self, batch_id: str, rows: Sequence[sa.Row]) -> list[sa.Row]:
        """Adopt items the board already holds under these keys; return the rest."""
        found = find_items(
            self.client, self.board.board_id, self.config, (r.order_key for r in rows)
        )
        if not found:
            return list(rows)
        with self.db.engine.begin() as connection:
            for row in rows:
                if row.order_key in found:
                    self._record_item(connection, row, found[row.order_key], RowStatus.ADOPTED)
            self._count(connection, batch_id, items_adopted=len(found))
        return [row for row in rows if row.order_key not in found]

    def _reject_items(self, batch_id: str, rows: Sequence[sa.Row]) -> list[sa.Row]:
        """Fail rows that must not be sent (unknown labels, unconfirmed too often)."""
        good = []
        with self.db.engine.begin() as connection:
            for row in rows:
                problems = self.board.item_label_problems(json.loads(row.column_values))
                problem = problems[0] if problems else _unconfirmed(row)
                if problem is not None:
                    self._fail_item(connection, batch_id, row, problem, _item_payload(row))
                else:
                    good.append(row)
        return good

    def _item_mutation(self, alias: str, row: sa.Row) -> Mutation:
        return documents.create_item(
            alias,
            board_id=self.board.board_id,
            item_name=row.item_name,
            group_id=self.board.group_ids.get(row.group_title),
            column_values=json.loads(row.column_values),
            create_labels_if_missing=self.board.item_creates_labels(),
        )

    def _send_items(self, batch_id: str, rows: Sequence[sa.Row]) -> None:
        by_alias = {f"i{n}": row for n, row in enumerate(rows, start=1)}
        mutations = [self._item_mutation(alias, row) for alias, row in by_alias.items()]
        entry = self._journal(batch_id, "CREATE_ITEMS", self.tables.staged_items, by_alias)
        results = self.client.mutate(
            mutations, idempotency_key=entry.request_id, operation_name="CreateItems"
        )
        unknown = []
        with self.db.engine.begin() as connection:
            created = failed = 0
            for alias, row in by_alias.items():
                result = results.get(alias) or AliasResult(alias, "unknown")
                if result.outcome == "ok" and result.data:
                    self._record_item(connection, row, int(result.data["id"]), RowStatus.DONE)
                    created += 1
                elif result.outcome == "failed" and result.error is not None:
                    self._fail_item(connection, batch_id, row, result.error, _item_payload(row))
                    failed += 1
                else:
                    unknown.append(row)
            self._count(connection, batch_id, items_created=created)
            close_entry(connection, self.db, entry.request_id)
        if unknown:
            self._adopt_items(batch_id, unknown)

    def _record_item(
        self, connection: sa.Connection, row: sa.Row, item_id: int, status: RowStatus
    ) -> None:
        """Record an item's id on its staged row and promote it into the mirror."""
        now = utcnow()
        staged = self.tables.staged_items
        connection.execute(
            staged.update()
            .where(staged.c.stg_id == row.stg_id)
            .values(status=status, monday_item_id=item_id, error=None, updated_at=now)
        )
        upsert(
            connection,
            self.tables.items,
            {"board_id": self.board.board_id, "order_key": row.order_key},
            {
                "monday_item_id": item_id,
                "item_name": row.item_name,
                "group_id": self.board.group_ids.get(row.group_title),
                "group_title": row.group_title,
                "column_values": row.column_values,
                "row_hash": row.row_hash,
                "customer": row.customer,
                "po_number": row.po_number,
                "season": row.season,
                "state": MirrorState.ACTIVE,
                "batch_id": row.batch_id,
                "synced_at": now,
            },
        )

    def _fail_item(
        self,
        connection: sa.Connection,
        batch_id: str,
        row: sa.Row,
        error: MondayError | RowRejected,
        payload: dict[str, Any],
    ) -> None:
        staged = self.tables.staged_items
        connection.execute(
            staged.update()
            .where(staged.c.stg_id == row.stg_id)
            .values(status=RowStatus.FAILED, error=_message(error), updated_at=utcnow())
        )
        self._record_error(connection, self.tables.item_errors, batch_id, row, error, payload)
        self._count(connection, batch_id, items_failed=1)

    # ----------------------------------------------------------------------------- subitems
    def _deliver_subitems(self, batch_id: str) -> None:
        staged = self.tables.staged_subitems
        self._fail_orphans(batch_id)
        total = self._count_pending(staged, batch_id)
        while rows := self._pending_subitems(batch_id):
            rows = self._adopt_subitems(batch_id, rows, only_adopted_parents=True)
            rows = self._reject_subitems(batch_id, rows)
            if rows:
                self._send_subitems(batch_id, rows)
            self.progress("subitems", total - self._count_pending(staged, batch_id), total)

    def _pending_subitems(self, batch_id: str) -> list[sa.Row]:
        """Pending subitems with their parent's monday id and status."""
        sub, items = self.tables.staged_subitems, self.tables.staged_items
        with self.db.engine.connect() as connection:
            return list(
                connection.execute(
                    sa.select(
                        sub,
                        items.c.monday_item_id.label("parent_item_id"),
                        items.c.status.label("parent_status"),
                    )
                    .join(items, items.c.stg_id == sub.c.parent_stg_id)
                    .where(sub.c.batch_id == batch_id, sub.c.status == RowStatus.PENDING)
                    .order_by(sub.c.order_key, sub.c.stg_id)
                    .limit(self.config.delivery.subitems_per_request)
                ).all()
            )

    def _fail_orphans(self, batch_id: str) -> None:
        """Subitems whose parent item failed cannot be created: recorded, not dropped."""
        sub, items = self.tables.staged_subitems, self.tables.staged_items
        with self.db.engine.begin() as connection:
            orphans = connection.execute(
                sa.select(sub)
                .join(items, items.c.stg_id == sub.c.parent_stg_id)
                .where(
                    sub.c.batch_id == batch_id,
                    sub.c.status == RowStatus.PENDING,
                    items.c.status == RowStatus.FAILED,
                )
            ).all()
            for row in orphans:
                problem = RowRejected(
                    "PARENT_FAILED", f"parent item {row.order_key!r} was not created"
                )
                self._fail_subitem(connection, batch_id, row, problem, _subitem_payload(row))

    def _adopt_subitems(
        self, batch_id: str, rows: Sequence[sa.Row], *, only_adopted_parents: bool
    ) -> list[sa.Row]:
        """Adopt subitems that already exist under their parent with the same size."""
        candidates = [
            r for r in rows if not only_adopted_parents or r.parent_status == RowStatus.ADOPTED
        ]
        if not candidates:
            return list(rows)
        found = find_subitems(
            self.client, (r.parent_item_id for r in candidates), self.config.subitems.size_column_id
        )
        adopted = set()
        with self.db.engine.begin() as connection:
            for row in candidates:
                subitem_id = found.get((row.parent_item_id, row.size_label))
                if subitem_id is not None:
                    self._record_subitem(connection, row, subitem_id, RowStatus.ADOPTED)
                    adopted.add(row.stg_id)
            self._count(connection, batch_id, subitems_adopted=len(adopted))
        return [row for row in rows if row.stg_id not in adopted]

    def _reject_subitems(self, batch_id: str, rows: Sequence[sa.Row]) -> list[sa.Row]:
        good = []
        with self.db.engine.begin() as connection:
            for row in rows:
                problem = self.board.size_label_problem(row.size_label) or _unconfirmed(row)
                if problem is not None:
                    self._fail_subitem(connection, batch_id, row, problem, _subitem_payload(row))
                else:
                    good.append(row)
        return good

    def _send_subitems(self, batch_id: str, rows: Sequence[sa.Row]) -> None:
        by_alias = {f"s{n}": row for n, row in enumerate(rows, start=1)}
        mutations = [
            documents.create_subitem(
                alias,
                parent_item_id=row.parent_item_id,
                item_name=row.size_label,
                column_values=json.loads(row.column_values),
                create_labels_if_missing=self.config.subitems.size_labels_create_if_missing,
            )
            for alias, row in by_alias.items()
        ]
        entry = self._journal(batch_id, "CREATE_SUBITEMS", self.tables.staged_subitems, by_alias)
        results = self.client.mutate(
            mutations, idempotency_key=entry.request_id, operation_name="CreateSubitems"
        )
        unknown = []
        with self.db.engine.begin() as connection:
            created = 0
            for alias, row in by_alias.items():
                result = results.get(alias) or AliasResult(alias, "unknown")
                if result.outcome == "ok" and result.data:
                    self._record_subitem(connection, row, int(result.data["id"]), RowStatus.DONE)
                    created += 1
                elif result.outcome == "failed" and result.error is not None:
                    self._fail_subitem(
                        connection, batch_id, row, result.error, _subitem_payload(row)
                    )
                else:
                    unknown.append(row)
            self._count(connection, batch_id, subitems_created=created)
            close_entry(connection, self.db, entry.request_id)
        if unknown:
            self._adopt_subitems(batch_id, unknown, only_adopted_parents=False)

    def _record_subitem(
        self, connection: sa.Connection, row: sa.Row, subitem_id: int, status: RowStatus
    ) -> None:
        now = utcnow()
        staged = self.tables.staged_subitems
        connection.execute(
            staged.update()
            .where(staged.c.stg_id == row.stg_id)
            .values(
                status=status,
                monday_subitem_id=subitem_id,
                monday_parent_item_id=row.parent_item_id,
                error=None,
                updated_at=now,
            )
        )
        upsert(
            connection,
            self.tables.subitems,
            {
                "board_id": self.board.board_id,
                "order_key": row.order_key,
                "size_label": row.size_label,
            },
            {
                "monday_subitem_id": subitem_id,
                "monday_parent_item_id": row.parent_item_id,
                "qty": row.qty,
                "row_hash": row.row_hash,
                "state": MirrorState.ACTIVE,
                "batch_id": row.batch_id,
                "synced_at": now,
            },
        )

    def _fail_subitem(
        self,
        connection: sa.Connection,
        batch_id: str,
        row: sa.Row,
        error: MondayError | RowRejected,
        payload: dict[str, Any],
    ) -> None:
        staged = self.tables.staged_subitems
        connection.execute(
            staged.update()
            .where(staged.c.stg_id == row.stg_id)
            .values(status=RowStatus.FAILED, error=_message(error), updated_at=utcnow())
        )
        self._record_error(connection, self.tables.subitem_errors, batch_id, row, error, payload)
        self._count(connection, batch_id, subitems_failed=1)

    # ----------------------------------------------------------------------------- journal
    def resolve_open_requests(self) -> None:
        """Settle requests left SENDING by a crash or a lost answer: adopt what monday holds.

        Rows not found on monday stay PENDING and are sent again, with a new request.
        """
        for entry in open_entries(self.db, self.board.board_id):
            table = (
                self.tables.staged_items
                if entry.kind == "CREATE_ITEMS"
                else self.tables.staged_subitems
            )
            ids = list(entry.aliases.values())
            if entry.kind == "CREATE_ITEMS":
                rows = self._rows_by_id(table, ids)
                self._adopt_items(entry.batch_id, rows)
            else:
                rows = self._subitem_rows_by_id(ids)
                self._adopt_subitems(entry.batch_id, rows, only_adopted_parents=False)
            with self.db.engine.begin() as connection:
                close_entry(connection, self.db, entry.request_id, error="resolved by lookup")

    def _journal(
        self, batch_id: str, kind: str, table: sa.Table, by_alias: dict[str, sa.Row]
    ) -> JournalEntry:
        aliases = {alias: row.stg_id for alias, row in by_alias.items()}
        entry = open_entry(self.db, batch_id, self.board.board_id, kind, aliases)
        with self.db.engine.begin() as connection:
            connection.execute(
                table.update()
                .where(table.c.stg_id.in_(list(aliases.values())))
                .values(request_id=entry.request_id, attempts=table.c.attempts + 1)
            )
        return entry

    # ----------------------------------------------------------------------------- helpers
    def _pending(self, table: sa.Table, batch_id: str, limit: int) -> list[sa.Row]:
        with self.db.engine.connect() as connection:
            return list(
                connection.execute(
                    sa.select(table)
                    .where(table.c.batch_id == batch_id, table.c.status == RowStatus.PENDING)
                    .order_by(table.c.order_key, table.c.stg_id)
                    .limit(limit)
                ).all()
            )

    def _count_pending(self, table: sa.Table, batch_id: str) -> int:
        with self.db.engine.connect() as connection:
            return connection.execute(
                sa.select(sa.func.count())
                .select_from(table)
                .where(table.c.batch_id == batch_id, table.c.status == RowStatus.PENDING)
            ).scalar_one()

    def _rows_by_id(self, table: sa.Table, ids: list[str]) -> list[sa.Row]:
        with self.db.engine.connect() as connection:
            return list(
                connection.execute(
                    sa.select(table).where(
                        table.c.stg_id.in_(ids), table.c.status == RowStatus.PENDING
                    )
                ).all()
            )

    def _subitem_rows_by_id(self, ids: list[str]) -> list[sa.Row]:
        sub, items = self.tables.staged_subitems, self.tables.staged_items
        with self.db.engine.connect() as connection:
            return list(
                connection.execute(
                    sa.select(
                        sub,
                        items.c.monday_item_id.label("parent_item_id"),
                        items.c.status.label("parent_status"),
                    )
                    .join(items, items.c.stg_id == sub.c.parent_stg_id)
                    .where(sub.c.stg_id.in_(ids), sub.c.status == RowStatus.PENDING)
                ).all()
            )

    def _record_error(
        self,
        connection: sa.Connection,
        table: sa.Table,
        batch_id: str,
        row: sa.Row,
        error: MondayError | RowRejected,
        payload: dict[str, Any],
    ) -> None:
        values: dict[str, Any] = {
            "batch_id": batch_id,
            "stg_id": row.stg_id,
            "order_key": row.order_key,
            "stage": Stage.DELIVER,
            "error_code": error.code,
            "message": _message(error),
            "payload": json.dumps(payload, ensure_ascii=False, default=str),
            "http_status": getattr(error, "http_status", None),
            "retryable": bool(getattr(error, "retryable", False)),
            "resolved": False,
            "created_at": utcnow(),
        }
        if "size_label" in table.c:
            values["size_label"] = row.size_label
        connection.execute(table.insert().values(**values))


def _message(error: MondayError | RowRejected) -> str:
    return error.message


def _unconfirmed(row: sa.Row) -> RowRejected | None:
    """A row sent MAX_ATTEMPTS times without a confirmed outcome is not sent again."""
    if row.attempts < MAX_ATTEMPTS:
        return None
    return RowRejected(
        "DELIVERY_UNCONFIRMED",
        f"sent {row.attempts} times without a confirmed answer and not found on the board",
    )


def _group_key(batch_id: str, title: str) -> str:
    return str(uuid.uuid5(uuid.UUID(batch_id), f"group:{title}"))


def _item_payload(row: sa.Row) -> dict[str, Any]:
    return {
        "action": Action.CREATE,
        "item_name": row.item_name,
        "group": row.group_title,
        "column_values": json.loads(row.column_values),
    }


def _subitem_payload(row: sa.Row) -> dict[str, Any]:
    return {
        "action": Action.CREATE,
        "parent_item_id": getattr(row, "parent_item_id", None),
        "item_name": row.size_label,
        "column_values": json.loads(row.column_values),
    }
