"""Staged rows on their way to monday: what differs per table (items, subitems) and per
action (CREATE, UPDATE, MOVE, ARCHIVE).

``deliver`` runs one loop for all seven kinds; each kind here says how its pending rows are
read, how they may already be on monday (adoption, creates only), screened before sending,
turned into a mutation, recorded when done (``RowKind.record``: the staged row, then the
kind's ``update_mirror``) and recorded when refused (ERR table). A failed change clears its
line's hash in the mirror, so the next plan looks at the line again.
"""

from __future__ import annotations

import json
import uuid
from datetime import datetime
from enum import StrEnum, unique
from typing import Any

import sqlalchemy as sa

from ordersync.batches import add_counts
from ordersync.config import SyncConfig
from ordersync.db import Database, utcnow
from ordersync.errors import MondayError, RowRejected
from ordersync.mirror import Mirror
from ordersync.monday import MondayClient, Mutation, documents
from ordersync.push.adoption import Adoption, Differences, read_adopted
from ordersync.push.board import BoardContext
from ordersync.push.lookup import find_items, find_subitems
from ordersync.states import Action, JournalKind, RowStatus, Stage

MAX_ATTEMPTS = 5  # sends of one row without a confirmed outcome before it is given up


@unique
class AliasPrefix(StrEnum):
    """The GraphQL alias prefix of each kind of row: a request's aliases are the prefix and a
    number (``i1``, ``i2``, …). Distinct (``unique``): an alias names its kind of row
    wherever it is seen (answers, logs, the journal's aliases)."""

    CREATE_ITEM = "i"
    UPDATE_ITEM = "u"
    MOVE_ITEM = "m"
    ARCHIVE_ITEM = "a"
    CREATE_SUBITEM = "s"
    UPDATE_SUBITEM = "q"
    ARCHIVE_SUBITEM = "x"


class RowKind:
    """Shared behaviour; subclasses fill in what is specific to items or subitems."""

    journal_kind: JournalKind  # the journal's name for its requests
    alias: AliasPrefix
    succeeded: str  # the batch counter of rows done
    adopted: str
    failed: str
    field: str  # the mutation each alias calls (what monday prices per alias)
    reads_before: tuple[str, ...] = ()  # reads sent between reading a chunk and sending it
    gone_is_done = False  # archives: an item monday no longer has needs nothing more
    creates = False  # a lost answer is looked up on monday before anything is resent
    action: Action

    def __init__(
        self, db: Database, config: SyncConfig, client: MondayClient, board: BoardContext
    ) -> None:
        self.db, self.config, self.client, self.board = db, config, client, board
        self.tables = db.tables
        self.mirror = Mirror(db.tables, board.board_id)

    @property
    def phase(self) -> str:
        """What progress reports call this work (``create items``)."""
        return self.journal_kind.replace("_", " ").lower()

    @property
    def operation(self) -> str:
        """The GraphQL operation name of its requests (``CreateItems``)."""
        return "".join(word.capitalize() for word in self.journal_kind.split("_"))

    def aliases(self, rows: list[sa.Row]) -> dict[str, sa.Row]:
        """One request's rows by alias: the kind's prefix and a number from 1."""
        return {f"{self.alias}{n}": row for n, row in enumerate(rows, 1)}

    # --- to be specialised
    staged: sa.Table
    errors: sa.Table

    def _select(self) -> sa.Select:
        return sa.select(self.staged)

    def per_request(self) -> int:
        """The most aliases one request may carry (``[delivery]``)."""
        raise NotImplementedError

    def adopt(self, batch_id: str, rows: list[sa.Row], *, before_create: bool) -> list[sa.Row]:
        """Rows already on monday are recorded and left out; changes need no lookup."""
        return rows

    def problem(self, row: sa.Row) -> RowRejected | None:
        return None

    def needs_request(self, row: sa.Row) -> bool:
        return True

    def mutation(self, alias: str, row: sa.Row) -> Mutation:
        raise NotImplementedError

    def row_keys(self, row: sa.Row) -> dict[str, Any]:
        """What names the row's line (and size) in its ERR table."""
        raise NotImplementedError

    def described(self, row: sa.Row) -> dict[str, Any]:
        """What identifies the row on monday, for its ERR row's payload."""
        raise NotImplementedError

    def monday_ids(self, row: sa.Row, monday_id: int) -> dict[str, Any]:
        """The staged row's monday ids, set when it is recorded (creates and adoptions)."""
        return {}

    def update_mirror(
        self, connection: sa.Connection, row: sa.Row, monday_id: int, now: datetime
    ) -> None:
        """Bring the mirror to what monday now holds for the row."""
        raise NotImplementedError

    @property
    def resolves_errors(self) -> bool:
        """A recorded create or update resolves its line's (or size's) earlier rejections:
        the values are on the board now. Moves and archives leave them."""
        return self.action in (Action.CREATE, Action.UPDATE)

    # --- shared
    def record(
        self, connection: sa.Connection, row: sa.Row, monday_id: int, status: RowStatus
    ) -> None:
        """Mark the staged row ``status`` (DONE or ADOPTED) with its monday ids, and promote
        what monday now holds into the mirror."""
        now = utcnow()
        connection.execute(
            self.staged.update()
            .where(self.staged.c.stg_id == row.stg_id)
            .values(status=status, **self.monday_ids(row, monday_id), error=None, updated_at=now)
        )
        self.update_mirror(connection, row, monday_id, now)
        if self.resolves_errors:
            self._resolve_errors(connection, row)

    def payload(self, row: sa.Row) -> dict[str, Any]:
        """What the row asks of monday, for its ERR row."""
        return {
            "action": row.action,
            **self.described(row),
            "column_values": json.loads(row.column_values),
        }

    def pending(self, batch_id: str) -> list[sa.Row]:
        """The next chunk of PENDING rows, in key order, as many as fit monday's complexity
        budget (``monday.budget``), at most the configured chunk size."""
        limit = self.client.chunk_size(
            self.field, self.per_request(), reads_before=self.reads_before
        )
        with self.db.engine.connect() as connection:
            return list(
                connection.execute(
                    self._select()
                    .where(self._pending_in(batch_id))
                    .order_by(self.staged.c.order_key, self.staged.c.stg_id)
                    .limit(limit)
                ).all()
            )

    def rows_by_id(self, stg_ids: list[str]) -> list[sa.Row]:
        """Still-PENDING rows among ``stg_ids``."""
        with self.db.engine.connect() as connection:
            return list(
                connection.execute(
                    self._select().where(
                        self.staged.c.stg_id.in_(stg_ids), self.staged.c.status == RowStatus.PENDING
                    )
                ).all()
            )

    def count_pending(self, batch_id: str) -> int:
        with self.db.engine.connect() as connection:
            return connection.execute(
                sa.select(sa.func.count())
                .select_from(self.staged)
                .where(self._pending_in(batch_id))
            ).scalar_one()

    def _pending_in(self, batch_id: str) -> sa.ColumnElement[bool]:
        return sa.and_(
            self.staged.c.batch_id == batch_id,
            self.staged.c.status == RowStatus.PENDING,
            self.staged.c.action == self.action,
        )

    def screen(self, batch_id: str, rows: list[sa.Row]) -> list[sa.Row]:
        """Fail rows that must not be sent, record those needing no request; return the rest."""
        good = []
        with self.db.engine.begin() as connection:
            for row in rows:
                problem = self.problem(row) or _unconfirmed(row)
                if problem is not None:
                    self.fail(connection, batch_id, row, problem)
                elif not self.needs_request(row):
                    self.record(connection, row, self.known_id(row), RowStatus.DONE)
                else:
                    good.append(row)
        return good

    def known_id(self, row: sa.Row) -> int:
        """The monday id a change applies to (known at planning for updates and archives)."""
        raise NotImplementedError

    def mark_sent(self, request_id: str, stg_ids: list[str]) -> None:
        with self.db.engine.begin() as connection:
            connection.execute(
                self.staged.update()
                .where(self.staged.c.stg_id.in_(stg_ids))
                .values(request_id=request_id, attempts=self.staged.c.attempts + 1)
            )

    def fail(
        self,
        connection: sa.Connection,
        batch_id: str,
        row: sa.Row,
        error: MondayError | RowRejected,
    ) -> None:
        """Mark a row FAILED and write its ERR row (code, message, payload, HTTP status)."""
        if self.gone_is_done and error.code == "ResourceNotFoundException":
            self.record(connection, row, self.known_id(row), RowStatus.DONE)  # archived already
            return
        connection.execute(
            self.staged.update()
            .where(self.staged.c.stg_id == row.stg_id)
            .values(status=RowStatus.FAILED, error=error.message, updated_at=utcnow())
        )
        values: dict[str, Any] = {
            "batch_id": batch_id,
            "stg_id": row.stg_id,
            **self.row_keys(row),
            "stage": Stage.DELIVER,
            "error_code": error.code,
            "message": error.message,
            "payload": json.dumps(self.payload(row), ensure_ascii=False, default=str),
            "http_status": getattr(error, "http_status", None),
            "retryable": bool(getattr(error, "retryable", False)),
            "resolved": False,
            "created_at": utcnow(),
        }
        connection.execute(self.errors.insert().values(**values))
        add_counts(connection, self.tables, batch_id, {self.failed: 1})
        self.mirror.forget_hashes(connection, [row.order_key])

    def _resolve_errors(self, connection: sa.Connection, row: sa.Row) -> None:
        """Earlier rejections of a row that has now reached the board are resolved."""
        batches = self.tables.batches
        on_board = sa.select(batches.c.batch_id).where(batches.c.board_id == self.board.board_id)
        connection.execute(
            self.errors.update()
            .where(
                *(self.errors.c[name] == value for name, value in self.row_keys(row).items()),
                self.errors.c.resolved == sa.false(),
                self.errors.c.batch_id.in_(on_board),
            )
            .values(resolved=True, resolved_at=utcnow())
        )


class _Archives(RowKind):
    """Archives (items or subitems): archived on monday (history stays) and in the mirror (an
    item with its subitems); one monday no longer has needs nothing more."""

    action, field, gone_is_done = Action.ARCHIVE, "archive_item", True

    def mutation(self, alias: str, row: sa.Row) -> Mutation:
        return documents.archive_item(alias, item_id=self.known_id(row))

    def update_mirror(
        self, connection: sa.Connection, row: sa.Row, monday_id: int, now: datetime
    ) -> None:
        self.mirror.archive_row(
            connection, **self.row_keys(row), batch_id=row.batch_id, synced_at=now
        )


class _ItemKind(RowKind):
    failed, adopted = "items_failed", "items_adopted"

    def __init__(self, *args: Any) -> None:
        super().__init__(*args)
        self.staged, self.errors = self.tables.staged_items, self.tables.item_errors

    def per_request(self) -> int:
        return self.config.delivery.items_per_request

    def known_id(self, row: sa.Row) -> int:
        return int(row.monday_item_id)

    def row_keys(self, row: sa.Row) -> dict[str, Any]:
        return {"order_key": row.order_key}

    def described(self, row: sa.Row) -> dict[str, Any]:
        return {
            "item_id": row.monday_item_id,
            "item_name": row.item_name,
            "group": row.group_title,
        }


class _ItemValues(_ItemKind):
    """Creates and updates: they send column values, whose labels must be allowed."""

    def problem(self, row: sa.Row) -> RowRejected | None:
        problems = self.board.item_label_problems(json.loads(row.column_values))
        return problems[0] if problems else None

    @staticmethod
    def _line_values(row: sa.Row, now: datetime) -> dict[str, Any]:
        """What the mirror takes of a line its item now holds: name, hash, batch, and scope
        (a line moved to another PO, season or customer takes its item along, so the old
        scope's next sync does not archive it)."""
        return {
            "item_name": row.item_name,
            "row_hash": row.row_hash,
            "customer": row.customer,
            "po_number": row.po_number,
            "season": row.season,
            "batch_id": row.batch_id,
            "synced_at": now,
        }


class ItemCreates(_ItemValues):
    journal_kind, alias = JournalKind.CREATE_ITEMS, AliasPrefix.CREATE_ITEM
    succeeded, action, creates = "items_created", Action.CREATE, True
    field, reads_before = "create_item", ("ItemsByColumnValues",)  # adopt's lookup by key

    def ensure_groups(self, batch_id: str) -> None:
        """Create each missing group once (a lost answer is found by title by the client)."""
        with self.db.engine.connect() as connection:
            titles = connection.execute(
                sa.select(self.staged.c.group_title)
                .where(
                    self.staged.c.batch_id == batch_id, self.staged.c.status == RowStatus.PENDING
                )
                .distinct()
            ).scalars()
            missing = sorted(t for t in titles if t and t not in self.board.group_ids)
        for title in missing:
            key = str(uuid.uuid5(uuid.UUID(batch_id), f"group:{title}"))
            group = self.client.create_group(self.board.board_id, title, idempotency_key=key)
            self.board.group_ids[title] = group.id

    def adopt(
        self, batch_id: str, rows: list[sa.Row], *, before_create: bool, created: bool = False
    ) -> list[sa.Row]:
        """Adopt items the board already holds under these keys; return the rest.

        What an adopted item holds is read, and its differences from the staged line are
        staged in this batch (``adoption``): the batch ends with the board equal to the source.
        ``created``: the items are ours (read back after an import job): DONE and counted as
        created rather than ADOPTED.
        """
        found = find_items(
            self.client, self.board.board_id, self.config, (r.order_key for r in rows)
        )
        if not found:
            return rows
        on_board = read_adopted(self.client, self.config, list(found.values()))
        adoption = Adoption(self.db, self.config, self.board.board_id, self.board.group_ids)
        differences = Differences()
        with self.db.engine.begin() as connection:
            status = RowStatus.DONE if created else RowStatus.ADOPTED
            for row in rows:
                if row.order_key in found:
                    self.record(connection, row, found[row.order_key], status)
                    item = on_board.get(found[row.order_key])
                    if item is not None:
                        adoption.stage(connection, row, item, differences)
            counter = self.succeeded if created else self.adopted
            add_counts(connection, self.tables, batch_id, {counter: len(found)})
            add_counts(connection, self.tables, batch_id, differences.counters())
        return [row for row in rows if row.order_key not in found]

    def mutation(self, alias: str, row: sa.Row) -> Mutation:
        return documents.create_item(
            alias,
            board_id=self.board.board_id,
            item_name=row.item_name,
            group_id=self.board.group_ids.get(row.group_title),
            column_values=json.loads(row.column_values),
            create_labels_if_missing=self.board.item_creates_labels(),
        )

    def monday_ids(self, row: sa.Row, monday_id: int) -> dict[str, Any]:
        return {"monday_item_id": monday_id}

    def update_mirror(
        self, connection: sa.Connection, row: sa.Row, monday_id: int, now: datetime
    ) -> None:
        """The item, created or adopted, promoted into the mirror."""
        self.mirror.promote_item(
            connection,
            row.order_key,
            {
                "monday_item_id": monday_id,
                "group_id": self.board.group_ids.get(row.group_title),
                "group_title": row.group_title,
                "column_values": row.column_values,
                "raw_digest": row.raw_digest,  # the source row that built row_hash
                **self._line_values(row, now),
            },
        )


class ItemUpdates(_ItemValues):
    """Only the changed columns of a modified line (sizes-only changes send nothing)."""

    journal_kind, alias = JournalKind.UPDATE_ITEMS, AliasPrefix.UPDATE_ITEM
    succeeded, action, field = "items_updated", Action.UPDATE, "change_multiple_column_values"

    def needs_request(self, row: sa.Row) -> bool:
        return row.column_values not in (None, "{}")

    def mutation(self, alias: str, row: sa.Row) -> Mutation:
        return documents.change_multiple_column_values(
            alias,
            board_id=self.board.board_id,
            item_id=row.monday_item_id,
            column_values=json.loads(row.column_values),
            create_labels_if_missing=self.board.item_creates_labels(),
        )

    def update_mirror(
        self, connection: sa.Connection, row: sa.Row, monday_id: int, now: datetime
    ) -> None:
        """The mirror takes the changed values (a cleared column leaves it) and the new hash."""
        changed = json.loads(row.column_values)
        self.mirror.merge_item_values(
            connection, row.order_key, changed, **self._line_values(row, now)
        )


class ItemMoves(_ItemKind):
    """Items whose line now belongs to another group (customer or season changed): moved
    there (the group created first by ``ItemCreates.ensure_groups``). Sending a move twice
    changes nothing, so a lost answer needs no lookup."""

    journal_kind, alias = JournalKind.MOVE_ITEMS, AliasPrefix.MOVE_ITEM
    succeeded, action, field = "items_updated", Action.MOVE, "move_item_to_group"

    def problem(self, row: sa.Row) -> RowRejected | None:
        if row.group_title in self.board.group_ids:
            return None
        return RowRejected("UNKNOWN_GROUP", f"group {row.group_title!r} is not on the board")

    def mutation(self, alias: str, row: sa.Row) -> Mutation:
        return documents.move_item_to_group(
            alias, item_id=row.monday_item_id, group_id=self.board.group_ids[row.group_title]
        )

    def update_mirror(
        self, connection: sa.Connection, row: sa.Row, monday_id: int, now: datetime
    ) -> None:
        self.mirror.update_item(
            connection,
            row.order_key,
            group_title=row.group_title,
            group_id=self.board.group_ids[row.group_title],
            batch_id=row.batch_id,
            synced_at=now,
        )


class ItemArchives(_Archives, _ItemKind):
    """Lines gone from the source."""

    journal_kind, alias = JournalKind.ARCHIVE_ITEMS, AliasPrefix.ARCHIVE_ITEM
    succeeded = "items_archived"


class _SubitemKind(RowKind):
    failed, adopted = "subitems_failed", "subitems_adopted"

    def __init__(self, *args: Any) -> None:
        super().__init__(*args)
        self.staged, self.errors = self.tables.staged_subitems, self.tables.subitem_errors

    def _select(self) -> sa.Select:
        """Subitems with their parent's monday id, status and action."""
        items = self.tables.staged_items
        return sa.select(
            self.staged,
            items.c.monday_item_id.label("parent_item_id"),
            items.c.status.label("parent_status"),
            items.c.action.label("parent_action"),
        ).join(items, items.c.stg_id == self.staged.c.parent_stg_id)

    def per_request(self) -> int:
        return self.config.delivery.subitems_per_request

    def known_id(self, row: sa.Row) -> int:
        return int(row.monday_subitem_id)

    def row_keys(self, row: sa.Row) -> dict[str, Any]:
        return {"order_key": row.order_key, "size_label": row.size_label}

    def described(self, row: sa.Row) -> dict[str, Any]:
        return {
            "parent_item_id": row.parent_item_id,
            "subitem_id": row.monday_subitem_id,
            "item_name": row.size_label,
        }


class SubitemCreates(_SubitemKind):
    journal_kind, alias = JournalKind.CREATE_SUBITEMS, AliasPrefix.CREATE_SUBITEM
    succeeded, action, creates = "subitems_created", Action.CREATE, True
    field = "create_subitem"

    def fail_orphans(self, batch_id: str) -> None:
        """Subitems whose parent item failed cannot be created: recorded, not dropped."""
        items = self.tables.staged_items
        with self.db.engine.begin() as connection:
            orphans = connection.execute(
                self._select().where(
                    self.staged.c.batch_id == batch_id,
                    self.staged.c.status == RowStatus.PENDING,
                    items.c.status == RowStatus.FAILED,
                    items.c.action == Action.CREATE,
                )
            ).all()
            for row in orphans:
                problem = RowRejected(
                    "PARENT_FAILED", f"parent item {row.order_key!r} was not created"
                )
                self.fail(connection, batch_id, row, problem)

    def adopt(
        self, batch_id: str, rows: list[sa.Row], *, before_create: bool, created: bool = False
    ) -> list[sa.Row]:
        """Adopt subitems that already exist under their parent with the same size.

        Before creating, only parents that were adopted (not just created) can hold any.
        ``created``: the subitems are ours (read back after an import job): DONE, counted as
        created.
        """
        candidates = [
            r
            for r in rows
            if r.parent_item_id is not None
            and (not before_create or r.parent_status == RowStatus.ADOPTED)
        ]
        if not candidates:
            return rows
        found = find_subitems(
            self.client, (r.parent_item_id for r in candidates), self.config.subitems.size_column_id
        )
        adopted = set()
        with self.db.engine.begin() as connection:
            for row in candidates:
                subitem_id = found.get((row.parent_item_id, row.size_label))
                if subitem_id is not None:
                    status = RowStatus.DONE if created else RowStatus.ADOPTED
                    self.record(connection, row, subitem_id, status)
                    adopted.add(row.stg_id)
            counter = self.succeeded if created else self.adopted
            add_counts(connection, self.tables, batch_id, {counter: len(adopted)})
        return [row for row in rows if row.stg_id not in adopted]

    def problem(self, row: sa.Row) -> RowRejected | None:
        return self.board.size_label_problem(row.size_label)

    def mutation(self, alias: str, row: sa.Row) -> Mutation:
        return documents.create_subitem(
            alias,
            parent_item_id=row.parent_item_id,
            item_name=row.size_label,
            column_values=json.loads(row.column_values),
            create_labels_if_missing=self.config.subitems.size_labels_create_if_missing,
        )

    def monday_ids(self, row: sa.Row, monday_id: int) -> dict[str, Any]:
        return {"monday_subitem_id": monday_id, "monday_parent_item_id": row.parent_item_id}

    def update_mirror(
        self, connection: sa.Connection, row: sa.Row, monday_id: int, now: datetime
    ) -> None:
        """The subitem, created or adopted, promoted into the mirror."""
        values = {
            **self.monday_ids(row, monday_id),
            "qty": row.qty,
            "row_hash": row.row_hash,
            "batch_id": row.batch_id,
            "synced_at": now,
        }
        self.mirror.promote_subitem(connection, row.order_key, row.size_label, values)


class SubitemUpdates(_SubitemKind):
    journal_kind, alias = JournalKind.UPDATE_SUBITEMS, AliasPrefix.UPDATE_SUBITEM
    succeeded, action, field = "subitems_updated", Action.UPDATE, "change_multiple_column_values"

    def mutation(self, alias: str, row: sa.Row) -> Mutation:
        return documents.change_multiple_column_values(
            alias,
            board_id=self.board.subitems_board.id,
            item_id=row.monday_subitem_id,
            column_values=json.loads(row.column_values),
        )

    def update_mirror(
        self, connection: sa.Connection, row: sa.Row, monday_id: int, now: datetime
    ) -> None:
        self.mirror.update_subitem(
            connection,
            row.order_key,
            row.size_label,
            qty=row.qty,
            row_hash=row.row_hash,
            batch_id=row.batch_id,
            synced_at=now,
        )


class SubitemArchives(_Archives, _SubitemKind):
    """Sizes gone from their line."""

    journal_kind, alias = JournalKind.ARCHIVE_SUBITEMS, AliasPrefix.ARCHIVE_SUBITEM
    succeeded = "subitems_archived"


def _unconfirmed(row: sa.Row) -> RowRejected | None:
    """A row sent MAX_ATTEMPTS times without a confirmed outcome is not sent again."""
    if row.attempts < MAX_ATTEMPTS:
        return None
    return RowRejected(
        "DELIVERY_UNCONFIRMED",
        f"sent {row.attempts} times without a confirmed answer and not found on the board",
    )
