"""Stage 1, ``plan``: find what changed in the source and stage it as one batch.

Change detection lives here and only here, set-based:

1. The scoped source is streamed in chunks; each row becomes an order line (``lines``) whose
   row hash covers everything the board shows of it. Lines go into the scan table (key, hash,
   line); bad rows go to the ERR table with every reason found (their keys are still marked
   present, so a bad row never looks deleted). A row whose raw digest (``raw_digest``) says
   it built the line the mirror holds is not built again: it goes into the scan table with the
   mirror's hash, so the steps below find it unchanged. The digests of what was built are kept
   in the mirror (``record_digests``; creates take theirs on delivery).
2. Keys found twice in scope are rejected, both rows (one GROUP BY).
3. The scan is joined with the mirror: no mirror row (or an archived one) → CREATE the item and
   a subitem per size; a different hash → UPDATE only the changed columns and, per size,
   create / update / archive subitems; same hash → nothing.
   A line whose key the mirror holds under another scope (customer, PO, season) has moved
   there: an UPDATE of the same item, which takes the new scope into the mirror. Unless the
   source still holds that key in its old scope too: keys are unique per board, so the line
   that is not on the board yet is rejected (``DUPLICATE_KEY``), never delivered over the other.
4. Mirror rows of the scope whose key is not in the scan → ARCHIVE (DELETED lines), unless
   the key is still in the source under another scope (the line moved; its new scope's sync
   updates the item). More than ``delivery.max_archive_share`` of a scope's items (and more
   than ``MASS_ARCHIVE_FLOOR``) gone at once is refused (an emptied or half-reloaded source
   table), unless ``allow_mass_archive``: nothing is staged.

Everything happens in one transaction: the batch is staged whole or not at all, and a dry run
rolls it all back.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

import sqlalchemy as sa

from ordersync.batch_counters import Tally, counters, plan_counts
from ordersync.batches import create_batch
from ordersync.collector import bulk_collection
from ordersync.column_types import QUANTITY_COLUMN_TYPE, SIZE_COLUMN_TYPE
from ordersync.config import SyncConfig
from ordersync.db import Database, utcnow
from ordersync.db.engine import insert_rows, prepare_bulk, refresh_statistics, vacuum
from ordersync.errors import RowRejected
from ordersync.push.board import BoardContext
from ordersync.push.lines import (
    LineBuilder,
    LineProblems,
    OrderLine,
    read_line_json,
    split_line_json,
    subitem_hash,
)
from ordersync.push.lookup import first_key_part
from ordersync.push.normalize import clean_text, order_key
from ordersync.push.raw_digest import ROW_DIGEST, RawDigests
from ordersync.push.source import (
    Scope,
    SourceTable,
    iter_chunks,
    reflect_source,
    scope_condition,
    select_scope,
)
from ordersync.states import Action, MirrorState, RowStatus, Stage

PREVIEW_LINES = 25
PAGE = 500  # rows per keyset page of the scan ⋈ mirror join (a bound parameter each)
REJECTED = "REJECTED"  # scan row_hash of a key present in the source but not stageable
SCAN_COLUMNS = ("batch_id", "order_key", "row_hash", "line", "raw_digest")  # a scan row
UNBUILT = "{}"  # scan line of a row skipped by its raw digest (unchanged: never staged)
MASS_ARCHIVE_FLOOR = 5  # archiving up to this many items of a scope is never refused
KEY_CHUNK = 500  # keys per IN (...) when looking keys up in the source (SQL Server: < 2100)
# PostgreSQL guesses the scope filter (an expression of the source: no statistics) keeps 1 %
# of the rows, so it joins the unchanged rows to the mirror one index probe per row; they are
# all of the scope's rows, and one hash join of the two tables costs a quarter less server CPU
# (100,000 unchanged lines: 3.3 s against 4.4 s for ``scan_unchanged``'s statement).
UNCHANGED_SETTINGS: dict[str, tuple[tuple[str, str], ...]] = {
    "postgresql": (
        ("enable_nestloop", "off"),
        # the same 1 % guess makes a parallel plan look dearer than a serial one
        ("parallel_setup_cost", "0"),
        ("parallel_tuple_cost", "0"),
    )
}
# PostgreSQL runs no INSERT … SELECT in parallel, but it does a CREATE TABLE … AS SELECT: the
# unchanged rows (a row digest each, most of the step's work) are found by the plan's server
# process and its parallel workers into a temporary table, then scanned from it (100,000
# unchanged lines on 2 busy cores: 2.1-2.4 s of wall for ``scan_unchanged``, against 3.0 s).
PARALLEL_UNCHANGED = {"postgresql"}
UNCHANGED_TABLE = "ordersync_unchanged"  # the temporary table (dropped at once)
# A plan that scanned at least this many lines vacuums the scan table when it ends: a plan
# deletes its scan rows as it ends, and left there (autovacuum off, or not run yet) they are
# read past by every later plan (500,000 lines, after four plans: 1.3 GB of dead rows, a
# no-change plan 11.9 s against 8.8 s on the table vacuumed; vacuuming those took 1.8 s).
SCAN_VACUUM_ROWS = 10_000
SUBITEM_MEMO = 65_536  # (action, size, quantity) whose staged JSON and hash are remembered
# the columns of a staged row as staging buffers it (a tuple, not a dict, per row)
STAGED_ITEM_COLUMNS = (
    "stg_id",
    "batch_id",
    "action",
    "order_key",
    "item_name",
    "group_title",
    "column_values",
    "row_hash",
    "customer",
    "po_number",
    "season",
    "status",
    "monday_item_id",
    "raw_digest",
    "created_at",
)
STAGED_SUBITEM_COLUMNS = (
    "stg_id",
    "batch_id",
    "parent_stg_id",
    "action",
    "order_key",
    "size_label",
    "qty",
    "column_values",
    "row_hash",
    "status",
    "monday_subitem_id",
    "created_at",
)

ScopeKey = tuple[str, str | None, str | None]  # (canonical customer, PO number, season)


@dataclass
class LineChange:
    """One staged change, as the dry-run diff shows it."""

    action: Action
    order_key: str
    item_name: str
    columns: list[tuple[str, Any, Any]] = field(default_factory=list)  # (title, old, new)
    sizes: list[tuple[Action, str, int | None, int | None]] = field(default_factory=list)


def _tally() -> Any:
    """A ``PlanResult`` tally: a field named as ``batch_counters.COUNTERS`` declares it."""
    return field(default=0, metadata={"tally": True})


@dataclass
class PlanResult:
    """What a plan found; ``batch_id`` is ``None`` for a dry run or when nothing changed.

    Its tallies (``_tally()``) are exactly the names the counters' ``plan`` declare (a test
    holds them to it): typed fields, so a misspelt tally is a type error, not a new counter.
    """

    board_id: int
    batch_id: str | None = None
    items: int = _tally()  # items to create
    subitems: int = _tally()  # subitems to create
    item_updates: int = _tally()
    item_moves: int = _tally()  # items moved to another group (their group inputs changed)
    item_archives: int = _tally()
    subitem_updates: int = _tally()
    subitem_archives: int = _tally()
    rejected: int = _tally()
    unchanged: int = 0
    warnings: int = 0
    preview: list[LineChange] = field(default_factory=list)
    refused: str | None = None  # why nothing was staged (a mass archive), if it was refused
    rejections: list[tuple[str | None, str, str]] = field(default_factory=list)  # key, code, msg

    @property
    def changes(self) -> int:
        """Every change staged: the sum of the planned counters."""
        return sum(counter.shown_in(self) for counter in counters(Tally.PLANNED))

    @property
    def empty(self) -> bool:
        return self.changes == 0 and self.rejected == 0


def plan_batch(
    db: Database,
    config: SyncConfig,
    scope: Scope,
    *,
    mode: str | None = None,
    dry_run: bool = False,
    limit: int | None = None,
    board: BoardContext | None = None,
    allow_mass_archive: bool = False,
) -> PlanResult:
    """Diff the scoped source against the mirror and stage a batch (unless ``dry_run``).

    Args:
        db: ordersync's database (the source table lives there too).
        config: the board mapping.
        scope: customer (any alias), optional PO number and season.
        mode: board set to target (default ``config.default_mode``).
        dry_run: compute everything, keep nothing.
        limit: stage changes for at most this many order lines.
        board: the loaded board; a dry run counts the rows it would refuse (labels).
        allow_mass_archive: archive even more than ``delivery.max_archive_share`` of the
            scope's items (else such a plan is refused: ``PlanResult.refused``).
    """
    board_id = config.board_id(mode)
    source = reflect_source(db.engine, config)
    result = PlanResult(board_id=board_id)
    batch_id = str(uuid.uuid4())
    with bulk_collection(), db.engine.begin() as connection:
        prepare_bulk(connection)
        builder = LineBuilder(config, source.size_columns)
        digests = RawDigests(config, source.size_columns, db.engine.dialect.name)
        planner = _Planner(db, config, connection, batch_id, board_id, scope, result, limit)
        planner.elsewhere = _SourceKeys(connection, config, source, builder)
        scoped = select_scope(source, config, scope)
        statement: sa.Select | None = scoped
        if digests.in_database:  # unchanged rows never leave the database
            unchanged = planner.scan_unchanged(source, digests)
            if unchanged and unchanged == planner.scope_rows(source):
                statement = None  # every row of the scope is unchanged: none to read
            else:
                statement = planner.changed_rows(scoped, source, digests)
        if statement is not None:
            for chunk in iter_chunks(connection, statement, config.source.chunk_size):
                planner.scan_rows(chunk, builder, digests)
        refresh_statistics(connection, db.tables.scan)
        planner.reject_duplicates()
        planner.stage_changes()
        planner.stage_archives()
        if not allow_mass_archive:
            planner.refuse_mass_archive()
        if not dry_run:
            planner.record_digests()
        connection.execute(db.tables.scan.delete().where(db.tables.scan.c.batch_id == batch_id))
        if dry_run and board is not None:
            result.rejected += board.staged_label_problems(connection, db.tables, batch_id)
        if dry_run or result.refused:
            connection.rollback()
        elif result.empty:  # no batch: only the digests are kept (warnings go with the plan)
            planner.forget_errors()
        else:
            create_batch(
                connection,
                db.tables,
                batch_id,
                board_id=board_id,
                mode=mode or config.default_mode,
                customer=config.canonical_customer(scope.customer),
                po_number=scope.po_number,
                season=scope.season,
                counts=plan_counts(result),
                config_snapshot=config.model_dump_json(),
            )
            result.batch_id = batch_id
    if planner.scanned >= SCAN_VACUUM_ROWS:
        vacuum(db.engine, (db.tables.scan,), "the plan is kept")
    return result


class _Planner:
    """The steps of one plan, inside its transaction."""

    def __init__(
        self,
        db: Database,
        config: SyncConfig,
        connection: sa.Connection,
        batch_id: str,
        board_id: int,
        scope: Scope,
        result: PlanResult,
        limit: int | None,
    ) -> None:
        self.db, self.config, self.connection = db, config, connection
        self.batch_id, self.board_id, self.scope = batch_id, board_id, scope
        self.result, self.limit = result, limit
        self.tables = db.tables
        self.now = utcnow()
        self.titles = {c.column_id: c.title or c.source for c in config.items.columns}
        self.titles["name"] = "Name"
        self.archive_cancelled = config.items.cancelled.action == "archive"
        self.customer = config.canonical_customer(scope.customer)
        self.elsewhere: _SourceKeys  # set by plan_batch
        self.scope_items = 0  # active mirror items of the scope (for the mass-archive rule)
        self.scanned = 0  # rows written to the scan table
        self._item_rows: list[tuple[Any, ...]] = []  # in STAGED_ITEM_COLUMNS order
        self._subitem_rows: list[tuple[Any, ...]] = []  # in STAGED_SUBITEM_COLUMNS order
        self._subitem_memo: dict[tuple[Action, str, int | None], tuple[str, str | None]] = {}
        self._item_ids = StagedIds(batch_id)

    # ------------------------------------------------------------------------ scanning
    def scan_rows(
        self, chunk: list[dict[str, object]], builder: LineBuilder, digests: RawDigests
    ) -> None:
        """Build the lines of a chunk of source rows, except those their raw digest proves
        unchanged (the mirror's hash goes into the scan for them), and scan them.

        Where the database takes the row digests (``digests.in_database``), the unchanged
        rows were scanned by ``scan_unchanged`` and ``changed_rows`` reads only the others,
        each with its row digest: every row of the chunk is built."""
        lines: list[tuple[OrderLine | LineProblems, str | None]] = []
        if digests.in_database:
            for row in chunk:
                row_digest = str(row.pop(ROW_DIGEST))
                lines.append(_with_digest(builder.build(row), digests, row_digest))
            self.scan(lines)
            return
        keys = [digests.order_key(row) for row in chunk]
        held = self._mirror_digests({key for key in keys if key is not None})
        unbuilt: list[dict[str, str | None]] = []
        for key, row in zip(keys, chunk, strict=True):
            values = digests.values(row)
            if key is not None and key in held:
                row_hash, digest = held[key]
                if digests.digest(values, row_hash) == digest:
                    unbuilt.append(self._scan_row(key, row_hash, UNBUILT, digest))
                    continue
            lines.append(_with_digest(builder.build(row), digests, values))
        self.scan(lines, unbuilt)

    def scan_unchanged(self, source: SourceTable, digests: RawDigests) -> int | None:
        """Scan the rows of the scope whose raw digest, taken by the database, matches their
        mirror item's (one INSERT … SELECT: nothing of them is read into Python), joined as
        ``UNCHANGED_SETTINGS`` says; where ``PARALLEL_UNCHANGED``, found by several server
        processes into a temporary table first. Returns how many rows it scanned (``None``
        when the driver does not say)."""
        connection = self.connection
        with _local_settings(connection, UNCHANGED_SETTINGS):
            if connection.dialect.name not in PARALLEL_UNCHANGED:
                scanned = _rowcount(connection, self.unchanged_insert(source, digests))
                self.scanned += scanned or 0
                return scanned
            compiled = self.unchanged_select(source, digests).compile(
                connection, compile_kwargs={"render_postcompile": True}
            )
            found = connection.dialect.identifier_preparer.quote(UNCHANGED_TABLE)
            connection.exec_driver_sql(
                f"CREATE TEMPORARY TABLE {found} AS {compiled}", compiled.params
            )
        table = sa.table(UNCHANGED_TABLE, *(sa.column(name) for name in SCAN_COLUMNS))
        scanned = _rowcount(
            connection, self.tables.scan.insert().from_select(SCAN_COLUMNS, table.select())
        )
        connection.exec_driver_sql(f"DROP TABLE {found}")
        self.scanned += scanned or 0
        return scanned

    def scope_rows(self, source: SourceTable) -> int:
        """How many rows of the source are in this plan's scope.

        When ``scan_unchanged`` scanned as many, ``changed_rows`` has none to give: a row
        matches one mirror item at most (one per board and key), so each row was scanned,
        its digest held (a re-plan with nothing changed reads no row at all)."""
        return self.connection.execute(
            sa.select(sa.func.count())
            .select_from(source.table)
            .where(scope_condition(source, self.config, self.scope))
        ).scalar_one()

    def unchanged_insert(self, source: SourceTable, digests: RawDigests) -> sa.Insert:
        """``scan_unchanged``'s statement (but where ``PARALLEL_UNCHANGED``)."""
        return self.tables.scan.insert().from_select(
            SCAN_COLUMNS, self.unchanged_select(source, digests)
        )

    def unchanged_select(self, source: SourceTable, digests: RawDigests) -> sa.Select:
        """The scan rows of the scope's unchanged rows (``SCAN_COLUMNS``)."""
        scan, mirror = self.tables.scan, self.tables.items
        return (
            sa.select(
                sa.literal(self.batch_id, scan.c.batch_id.type).label("batch_id"),
                mirror.c.order_key,
                mirror.c.row_hash,
                sa.literal(UNBUILT, scan.c.line.type).label("line"),
                mirror.c.raw_digest,
            )
            .select_from(source.table.join(mirror, sa.and_(*self._digest_held(source, digests))))
            .where(scope_condition(source, self.config, self.scope))
        )

    def changed_rows(
        self, statement: sa.Select, source: SourceTable, digests: RawDigests
    ) -> sa.Select:
        """The scope's rows that ``scan_unchanged`` did not scan, each with its row digest: the
        rows of the keys it did not scan, and of a key the scope holds twice (a duplicate, to
        be rejected), the rows whose digest missed. So the database digests each row once."""
        scan = self.tables.scan
        key = _source_key(source, self.config)
        scanned = sa.exists().where(scan.c.batch_id == self.batch_id, scan.c.order_key == key)
        twice = (
            sa.select(key)
            .where(scope_condition(source, self.config, self.scope))
            .group_by(key)
            .having(sa.func.count() > 1)
            .correlate(None)
        )
        held = sa.exists().where(*self._digest_held(source, digests))
        return statement.add_columns(_row_digest(source, digests).label(ROW_DIGEST)).where(
            sa.or_(~scanned, sa.and_(key.in_(twice), ~held))
        )

    def _digest_held(
        self, source: SourceTable, digests: RawDigests
    ) -> list[sa.ColumnElement[bool]]:
        """A source row's mirror item (same key, this scope) holds the row's raw digest."""
        mirror = self.tables.items
        row_digest = _row_digest(source, digests)
        return [
            mirror.c.board_id == self.board_id,
            mirror.c.order_key == _source_key(source, self.config),
            mirror.c.state == MirrorState.ACTIVE,
            mirror.c.row_hash.is_not(None),
            mirror.c.raw_digest.is_not(None),
            *self._in_scope(mirror),
            mirror.c.raw_digest == digests.digest_sql(row_digest, mirror.c.row_hash),
        ]

    def _mirror_digests(self, keys: set[str]) -> dict[str, tuple[str, str]]:
        """order key → (row hash, raw digest) of the active mirror items of this scope."""
        mirror = self.tables.items
        wanted = sorted(keys)
        conditions = [
            mirror.c.board_id == self.board_id,
            mirror.c.state == MirrorState.ACTIVE,
            mirror.c.row_hash.is_not(None),
            mirror.c.raw_digest.is_not(None),
            *self._in_scope(mirror),
        ]
        held: dict[str, tuple[str, str]] = {}
        for start in range(0, len(wanted), KEY_CHUNK):
            rows = self.connection.execute(
                sa.select(mirror.c.order_key, mirror.c.row_hash, mirror.c.raw_digest).where(
                    mirror.c.order_key.in_(wanted[start : start + KEY_CHUNK]), *conditions
                )
            )
            held.update((key, (row_hash, digest)) for key, row_hash, digest in rows)
        return held

    def scan(
        self,
        lines: list[tuple[OrderLine | LineProblems, str | None]],
        unbuilt: list[dict[str, str | None]] | None = None,
    ) -> None:
        """Write a chunk of lines (each with its raw digest) and of rows skipped unbuilt to
        the scan table; record bad rows."""
        rows = list(unbuilt or ())
        for line, digest in lines:
            if isinstance(line, LineProblems):
                self._reject(line)
                if line.key is not None:  # present in the source: never "deleted"
                    rows.append(self._scan_row(order_key(line.key), REJECTED, "{}", None))
                continue
            if line.cancelled and self.archive_cancelled:
                continue  # treated as gone from the source: archived if on the board
            for warning in line.warnings:
                self._record_error(line.order_key, warning, {"skipped_column": warning.column})
                self.result.warnings += 1
            rows.append(self._scan_row(line.order_key, line.row_hash, line.to_json(), digest))
        self._insert(self.tables.scan, rows)
        self.scanned += len(rows)

    def _scan_row(
        self, key: str, row_hash: str, line: str, digest: str | None
    ) -> dict[str, str | None]:
        return {
            "batch_id": self.batch_id,
            "order_key": key,
            "row_hash": row_hash,
            "line": line,
            "raw_digest": digest,
        }

    def record_digests(self) -> None:
        """Keep the raw digests of the lines built in the mirror items that hold their keys
        (one UPDATE; a digest binds its row to the hash it built, so one kept for a change
        not delivered yet is valid only once the mirror holds that hash)."""
        scan, mirror = self.tables.scan, self.tables.items
        scanned = sa.and_(
            scan.c.batch_id == self.batch_id,
            scan.c.order_key == mirror.c.order_key,
            scan.c.row_hash != REJECTED,
        )
        newer = sa.exists().where(
            scanned,
            scan.c.raw_digest.is_not(None),
            _built(scan),  # an unbuilt row carries the mirror's digest already
            sa.or_(mirror.c.raw_digest.is_(None), mirror.c.raw_digest != scan.c.raw_digest),
        )
        self.connection.execute(
            mirror.update()
            .where(mirror.c.board_id == self.board_id, newer)
            .values(raw_digest=sa.select(scan.c.raw_digest).where(scanned).scalar_subquery())
        )

    def reject_duplicates(self) -> None:
        """Two rows with one key in scope: both are rejected, never merged."""
        scan = self.tables.scan
        duplicated = (
            sa.select(scan.c.order_key)
            .where(scan.c.batch_id == self.batch_id)
            .group_by(scan.c.order_key)
            .having(sa.func.count() > 1)
        )
        rows = self.connection.execute(
            sa.select(scan.c.order_key, scan.c.row_hash, scan.c.line).where(
                scan.c.batch_id == self.batch_id, scan.c.order_key.in_(duplicated)
            )
        ).all()
        for key, row_hash, line in rows:
            problem = RowRejected("DUPLICATE_KEY", f"key {key!r} appears more than once in scope")
            self._record_error(key, problem, read_line_json(line))
            if row_hash != REJECTED:  # a row rejected for its own reasons is counted once
                self.result.rejected += 1
        if rows:
            self.connection.execute(
                scan.update()
                .where(scan.c.batch_id == self.batch_id, scan.c.order_key.in_(duplicated))
                .values(row_hash=REJECTED)
            )

    # ------------------------------------------------------------------------ diffing
    def stage_changes(self) -> None:
        """Lines that are new, re-appearing, moved, or whose hash differs from the mirror's."""
        staged_lines = 0
        for page in self._changed_pages():
            duplicates = self._owned_by_another_scope(page)
            modified_keys = [
                r.order_key for r in page if r.monday_item_id and r.state == MirrorState.ACTIVE
            ]
            old_sizes = self._mirror_sizes(modified_keys)
            for row in page:
                if self.limit is not None and staged_lines >= self.limit:
                    self._flush()
                    return
                if row.order_key in duplicates:
                    self._reject_duplicate_key(row, read_line_json(row.line))
                    continue
                if row.monday_item_id is None or row.state != MirrorState.ACTIVE:
                    self._stage_create(row.order_key, row.row_hash, row.line, row.raw_digest)
                else:
                    line = read_line_json(row.line)
                    self._stage_update(row, line, old_sizes.get(row.order_key, {}))
                staged_lines += 1
            self._flush()

    def _owned_by_another_scope(self, page: list[sa.Row]) -> set[str]:
        """Keys of the page on the board under another scope that the source still holds
        there: one key, two lines (a moved line is no longer in its old scope)."""
        foreign = {
            row.order_key: _mirror_scope(row)
            for row in page
            if row.monday_item_id is not None
            and row.state == MirrorState.ACTIVE
            and _mirror_scope(row) != _line_scope(split_line_json(row.line)[0])
        }
        if not foreign:
            return set()
        held = self.elsewhere.scopes(foreign)
        return {key for key, scope in foreign.items() if scope in held.get(key, ())}

    def _reject_duplicate_key(self, row: sa.Row, line: dict[str, Any]) -> None:
        owner = _describe(_mirror_scope(row))
        problem = RowRejected(
            "DUPLICATE_KEY",
            f"key {row.order_key!r} is already on board {self.board_id} for {owner}; this row "
            f"is {_describe(_line_scope(line))}. Keys are unique per board: correct one of "
            "the two rows in the source",
        )
        self._record_error(row.order_key, problem, line)
        self.result.rejected += 1

    def _flush(self) -> None:
        """Write the staged rows buffered so far: one COPY or executemany per table."""
        self._insert(self.tables.staged_items, self._item_rows, STAGED_ITEM_COLUMNS)
        self._insert(self.tables.staged_subitems, self._subitem_rows, STAGED_SUBITEM_COLUMNS)
        self._item_rows, self._subitem_rows = [], []

    def _insert(
        self, table: sa.Table, rows: list[Any], columns: tuple[str, ...] | None = None
    ) -> None:
        # one COPY or executemany per table and page: staging 100k lines is 400 statements;
        # plan's rows hold values of their columns' types (binary COPY)
        insert_rows(self.connection, table, rows, columns, typed=True)

    def _changed_pages(self) -> Iterator[list[sa.Row]]:
        scan, mirror = self.tables.scan, self.tables.items
        joined = scan.outerjoin(
            mirror,
            sa.and_(mirror.c.board_id == self.board_id, mirror.c.order_key == scan.c.order_key),
        )
        present = sa.and_(scan.c.batch_id == self.batch_id, scan.c.row_hash != REJECTED)
        changed = sa.and_(
            _built(scan),  # a row left unbuilt holds its mirror item's hash: never changed
            sa.or_(
                mirror.c.order_key.is_(None),
                mirror.c.state != MirrorState.ACTIVE,
                mirror.c.row_hash.is_(None),
                mirror.c.row_hash != scan.c.row_hash,
                *self._outside_scope(mirror),  # moved here from another scope, or a duplicate
            ),
        )
        # every present row counts once (one mirror row a key at most): no join to count them
        total, changed_total = (
            self.connection.execute(
                sa.select(sa.func.count()).select_from(table).where(present, *where)
            ).scalar_one()
            for table, where in ((scan, ()), (joined, (changed,)))
        )
        self.result.unchanged = total - changed_total  # known before paging: --limit stops it
        last = ""
        while True:
            page: list[sa.Row] = list(
                self.connection.execute(
                    sa.select(
                        scan.c.order_key,
                        scan.c.row_hash,
                        scan.c.line,
                        scan.c.raw_digest,
                        mirror.c.monday_item_id,
                        mirror.c.state,
                        mirror.c.item_name.label("old_name"),
                        mirror.c.column_values.label("old_values"),
                        mirror.c.customer.label("old_customer"),
                        mirror.c.po_number.label("old_po_number"),
                        mirror.c.season.label("old_season"),
                        mirror.c.group_title.label("old_group"),
                    )
                    .select_from(joined)
                    .where(present, scan.c.order_key > last, changed)
                    .order_by(scan.c.order_key)
                    .limit(PAGE)
                ).all()
            )
            if not page:
                break
            last = page[-1].order_key
            yield page

    def _outside_scope(self, mirror: sa.Table) -> list[sa.ColumnElement[bool]]:
        """Mirror rows whose scope is not this run's (every scanned line is in it)."""
        conditions = [sa.or_(mirror.c.customer.is_(None), mirror.c.customer != self.customer)]
        for column, wanted in (
            (mirror.c.po_number, self.scope.po_number),
            (mirror.c.season, self.scope.season),
        ):
            if wanted is not None:
                conditions.append(sa.or_(column.is_(None), column != wanted.strip()))
        return conditions

    def _in_scope(self, mirror: sa.Table) -> list[sa.ColumnElement[bool]]:
        """Mirror rows whose scope is this run's: none of ``_outside_scope`` holds."""
        conditions = [mirror.c.customer == self.customer]
        for column, wanted in (
            (mirror.c.po_number, self.scope.po_number),
            (mirror.c.season, self.scope.season),
        ):
            if wanted is not None:
                conditions.append(column == wanted.strip())
        return conditions

    def _mirror_sizes(self, keys: list[str]) -> dict[str, dict[str, tuple[int | None, int]]]:
        """order key → size → (quantity, subitem id) of the active subitems on the board."""
        if not keys:
            return {}
        subitems = self.tables.subitems
        rows = self.connection.execute(
            sa.select(
                subitems.c.order_key,
                subitems.c.size_label,
                subitems.c.qty,
                subitems.c.monday_subitem_id,
            ).where(
                subitems.c.board_id == self.board_id,
                subitems.c.order_key.in_(keys),
                subitems.c.state == MirrorState.ACTIVE,
            )
        ).all()
        sizes: dict[str, dict[str, tuple[int | None, int]]] = {}
        for key, size, qty, subitem_id in rows:
            sizes.setdefault(key, {})[size] = (qty, subitem_id)
        return sizes

    # ------------------------------------------------------------------------ staging
    def _stage_create(
        self, key: str, row_hash: str, line_json: str, raw_digest: str | None = None
    ) -> None:
        """A new (or re-appearing) line (``OrderLine.to_json``'s text, its monday values staged
        as they are encoded there); its raw digest goes into the mirror with it."""
        line, values_json = split_line_json(line_json)
        create = Action.CREATE  # an enum member read once, not once a size (0.4 µs each)
        stg_id = self._stage_item_json(create, key, row_hash, line, values_json, None, raw_digest)
        sizes = line["sizes"]
        self._stage_subitems(
            stg_id, key, [(create, size, qty, None) for size, qty in sizes.items()]
        )
        self.result.items += 1
        self.result.subitems += len(sizes)
        if self._previewing():
            changes: list[tuple[Action, str, int | None, int | None]] = [
                (create, size, None, qty) for size, qty in sizes.items()
            ]
            self._preview(LineChange(create, key, line["item_name"], sizes=changes))

    def _stage_update(
        self, row: sa.Row, line: dict[str, Any], old_sizes: dict[str, tuple[int | None, int]]
    ) -> None:
        old = json.loads(row.old_values or "{}")
        diff = diff_line(
            line, old, row.old_name, row.old_group, {s: q for s, (q, _) in old_sizes.items()}
        )
        stg_id = self._stage_item(
            Action.UPDATE, row.order_key, row.row_hash, line, diff.columns, row.monday_item_id
        )
        columns = [
            (self.titles.get(c, c), old.get(c) if c != "name" else row.old_name, v)
            for c, v in diff.columns.items()
        ]
        if diff.moved:  # customer or season changed: the group too
            self._stage_item(Action.MOVE, row.order_key, None, line, {}, row.monday_item_id)
            self.result.item_moves += 1
            columns.append(("Group", row.old_group, line["group_title"]))
        self._stage_subitems(
            stg_id,
            row.order_key,
            [(a, s, q, old_sizes.get(s, (None, None))[1]) for a, s, _, q in diff.sizes],
        )
        if diff.columns:
            self.result.item_updates += 1
        for action, *_ in diff.sizes:
            if action == Action.CREATE:
                self.result.subitems += 1
            elif action == Action.UPDATE:
                self.result.subitem_updates += 1
            else:
                self.result.subitem_archives += 1
        self._preview(
            LineChange(Action.UPDATE, row.order_key, line["item_name"], columns, diff.sizes)
        )

    def stage_archives(self) -> None:
        """Mirror lines of this scope that are gone from the source (DELETED); a line whose
        key the source holds under another scope has moved there and is left alone."""
        scan, mirror = self.tables.scan, self.tables.items
        in_scan = sa.select(scan.c.order_key).where(
            scan.c.batch_id == self.batch_id, scan.c.order_key == mirror.c.order_key
        )
        conditions = [
            mirror.c.board_id == self.board_id,
            mirror.c.state == MirrorState.ACTIVE,
            *self._in_scope(mirror),
        ]
        # one pass counts the scope's items and those the scan holds (the scan's keys hashed
        # once, not probed per item): when it holds them all, nothing is archived
        scanned = sa.select(scan.c.order_key).where(scan.c.batch_id == self.batch_id)
        held = sa.case((mirror.c.order_key.in_(scanned), 1), else_=0).label("held")
        items = sa.select(held).where(*conditions).subquery()  # SQL Server: no subquery in SUM
        self.scope_items, kept = self.connection.execute(
            sa.select(sa.func.count(), sa.func.coalesce(sa.func.sum(items.c.held), 0))
        ).one()
        if kept == self.scope_items:
            return
        last = ""
        while True:
            page = self.connection.execute(
                sa.select(mirror)
                .where(*conditions, ~sa.exists(in_scan), mirror.c.order_key > last)
                .order_by(mirror.c.order_key)
                .limit(PAGE)
            ).all()
            if not page:
                return
            last = page[-1].order_key
            moved = self.elsewhere.scopes(r.order_key for r in page)
            for row in page:
                if moved.get(row.order_key):
                    continue
                line = {
                    "item_name": row.item_name,
                    "group_title": row.group_title,
                    "customer": row.customer,
                    "po_number": row.po_number,
                    "season": row.season,
                }
                self._stage_item(Action.ARCHIVE, row.order_key, None, line, {}, row.monday_item_id)
                self.result.item_archives += 1
                self._preview(LineChange(Action.ARCHIVE, row.order_key, row.item_name or ""))
            self._flush()

    def refuse_mass_archive(self) -> None:
        """Refuse the plan when most of the scope's items would be archived at once."""
        archives, items = self.result.item_archives, self.scope_items
        share = self.config.delivery.max_archive_share
        if archives <= MASS_ARCHIVE_FLOOR or archives <= share * items:
            return
        scope = _describe((self.customer, self.scope.po_number, self.scope.season))
        self.result.refused = (
            f"refusing to archive {archives} of the {items} items of {scope} on board "
            f"{self.board_id} (more than {share:.0%}; [delivery] max_archive_share): their "
            "lines are gone from the source. Is the source table empty or half reloaded? "
            "Nothing was staged or sent. If these lines really are gone, run the same sync "
            "with --allow-mass-archive"
        )

    def _stage_item(
        self,
        action: Action,
        key: str,
        row_hash: str | None,
        line: dict[str, Any],
        column_values: dict[str, Any],
        item_id: int | None,
        raw_digest: str | None = None,
    ) -> str:
        column_values_json = json.dumps(column_values, ensure_ascii=False)
        return self._stage_item_json(
            action, key, row_hash, line, column_values_json, item_id, raw_digest
        )

    def _stage_item_json(
        self,
        action: Action,
        key: str,
        row_hash: str | None,
        line: dict[str, Any],
        column_values: str,
        item_id: int | None,
        raw_digest: str | None = None,
    ) -> str:
        """Buffer a staged item (``column_values``: its JSON text); returns its id."""
        stg_id = self._item_ids.next()
        self._item_rows.append(
            (
                stg_id,
                self.batch_id,
                action,
                key,
                line["item_name"],
                line["group_title"],
                column_values,
                row_hash,
                line["customer"],
                line["po_number"],
                line["season"],
                RowStatus.PENDING,
                item_id,
                raw_digest,
                self.now,
            )
        )
        return stg_id

    def _stage_subitems(
        self, parent: str, key: str, changes: list[tuple[Action, str, int | None, int | None]]
    ) -> None:
        """Stage (action, size, new quantity, existing subitem id) under a staged item."""
        if not changes:
            return
        # a first plan stages ~5 subitems a line: what is the same for all is read once
        append, columns = self._subitem_rows.append, self._subitem_columns
        batch_id, pending, now = self.batch_id, RowStatus.PENDING, self.now
        for position, (action, size, qty, subitem_id) in enumerate(changes):
            column_values, row_hash = columns(action, size, qty)
            stg_id = subitem_stg_id(parent, position)
            row = (stg_id, batch_id, parent, action, key, size, qty, column_values, row_hash)
            append((*row, pending, subitem_id, now))

    def _subitem_columns(
        self, action: Action, size: str, qty: int | None
    ) -> tuple[str, str | None]:
        """(column values JSON, row hash) of a staged subitem. They depend on the action,
        size and quantity alone, and those repeat: a first sync stages ~5 subitems a line."""
        memo_key = (action, size, qty)
        known = self._subitem_memo.get(memo_key)
        if known is None:
            sub = self.config.subitems
            values = _subitem_values(action, size, qty, sub.size_column_id, sub.qty_column_id)
            known = (
                json.dumps(values, ensure_ascii=False),
                subitem_hash(size, qty) if qty is not None else None,
            )
            if len(self._subitem_memo) < SUBITEM_MEMO:
                self._subitem_memo[memo_key] = known
        return known

    # ------------------------------------------------------------------------ errors
    def forget_errors(self) -> None:
        """Remove what this plan recorded in the ERR table (a plan that stages no batch)."""
        errors = self.tables.item_errors
        self.connection.execute(errors.delete().where(errors.c.batch_id == self.batch_id))

    def _reject(self, line: LineProblems) -> None:
        self.result.rejected += 1
        key = None if line.key is None else order_key(line.key)
        for problem in line.problems:
            self._record_error(key, problem, line.payload)

    def _record_error(self, key: str | None, problem: RowRejected, payload: object) -> None:
        if len(self.result.rejections) < PREVIEW_LINES:  # what a dry run shows of its ERR rows
            self.result.rejections.append((key, problem.code, problem.message))
        self.connection.execute(
            self.tables.item_errors.insert().values(
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

    def _previewing(self) -> bool:
        """The preview takes more changes (else none is described: most lines are not)."""
        return len(self.result.preview) < PREVIEW_LINES

    def _preview(self, change: LineChange) -> None:
        if self._previewing():
            self.result.preview.append(change)


@dataclass(frozen=True)
class LineDiff:
    """What an update changes of a line on the board (``diff_line``)."""

    columns: dict[str, Any]  # column id ("name": the item name) → new monday value, sorted
    sizes: list[tuple[Action, str, int | None, int | None]]  # (action, size, old, new qty)
    moved: bool  # the group changed (customer or season): the item moves


def diff_line(
    line: Mapping[str, Any],
    old_values: Mapping[str, Any],
    old_name: str | None,
    old_group: str | None,
    old_sizes: Mapping[str, int | None],
) -> LineDiff:
    """Change detection of one line against what the mirror holds of it (pure).

    Args:
        line: the line as staged (``OrderLine.to_json``'s fields: ``monday_values``,
            ``item_name``, ``group_title``, ``sizes``).
        old_values: the mirror's column values (monday JSON by column id).
        old_name: the mirror's item name.
        old_group: the mirror's group title.
        old_sizes: size label → quantity of the line's active subitems in the mirror.

    Returns:
        Only the columns whose value differs (a column gone from the line clears it: its new
        value is ``None``), the item name if it differs, and per size a CREATE (new size),
        UPDATE (other quantity) or ARCHIVE (size gone), sizes of the line first in its order.
    """
    new = line["monday_values"]
    columns = {
        c: new.get(c) for c in sorted(set(old_values) | set(new)) if new.get(c) != old_values.get(c)
    }
    if line["item_name"] != old_name:
        columns["name"] = line["item_name"]
    sizes: list[tuple[Action, str, int | None, int | None]] = []
    for size, qty in line["sizes"].items():
        if size not in old_sizes:
            sizes.append((Action.CREATE, size, None, qty))
        elif old_sizes[size] != qty:
            sizes.append((Action.UPDATE, size, old_sizes[size], qty))
    for size, qty in old_sizes.items():
        if size not in line["sizes"]:
            sizes.append((Action.ARCHIVE, size, qty, None))
    return LineDiff(columns, sizes, line["group_title"] != old_group)


def _subitem_values(
    action: Action, size: str, qty: int | None, size_column: str, qty_column: str
) -> dict[str, Any]:
    """A staged subitem's column values: size and quantity for a create, and for an update
    too (the size puts back one changed by hand on monday); nothing for an archive."""
    if action not in (Action.CREATE, Action.UPDATE):
        return {}
    return {
        size_column: SIZE_COLUMN_TYPE.to_monday(size),
        qty_column: QUANTITY_COLUMN_TYPE.to_monday(qty),
    }


@contextmanager
def _local_settings(
    connection: sa.Connection, settings: Mapping[str, tuple[tuple[str, str], ...]]
) -> Iterator[None]:
    """Run a statement with the planner settings of its dialect (``settings``), then put back
    what they were: the rest of the plan's transaction plans as before. Three statements
    whatever the number of settings: read them, set them, put them back. (A failing
    statement aborts the transaction, settings and all: nothing to put back then.)"""
    changed = settings.get(connection.dialect.name, ())
    if not changed:
        yield
        return
    names = [name for name, _ in changed]
    before = connection.execute(sa.select(*map(sa.func.current_setting, names))).one()
    _set_local(connection, changed)
    yield
    _set_local(connection, zip(names, before, strict=True))


def _set_local(connection: sa.Connection, settings: Iterable[tuple[str, str]]) -> None:
    """Set PostgreSQL settings (name, value) for the rest of the transaction, in one statement."""
    connection.execute(
        sa.select(*(sa.func.set_config(name, value, True) for name, value in settings))
    )


def _rowcount(connection: sa.Connection, insert: sa.Insert) -> int | None:
    """Run an INSERT; the rows it wrote, as the driver counts them (``None`` when it does
    not; SQLAlchemy keeps an INSERT's count only when asked)."""
    count = connection.execute(insert, execution_options={"preserve_rowcount": True}).rowcount
    return count if count >= 0 else None


def _row_digest(source: SourceTable, digests: RawDigests) -> sa.ColumnElement[str]:
    """The row digest of a source row as the database takes it (the columns a plan reads)."""
    return digests.row_digest_sql([source.readable(name) for name in source.read_columns])


def _source_key(source: SourceTable, config: SyncConfig) -> sa.ColumnElement[str]:
    """A source row's order key as the database spells it (one key column: its trimmed text).

    TRIM takes only spaces where ``clean_text`` strips all whitespace, so a key with a tab
    around it finds no mirror item and is built; a digest that matches proves the row built
    its mirror item's key anyway."""
    key = source.column(config.source.key_columns[0])
    return sa.func.trim(key if isinstance(key.type, sa.String) else sa.cast(key, sa.Unicode()))


def _with_digest(
    line: OrderLine | LineProblems, digests: RawDigests, row_digest: str
) -> tuple[OrderLine | LineProblems, str | None]:
    """A built line with the raw digest to keep for it (none for a bad row or a warned line:
    those are built on every plan, so their problems are recorded every time)."""
    if isinstance(line, OrderLine) and not line.warnings:
        return line, digests.digest(row_digest, line.row_hash)
    return line, None


def _built(scan: sa.Table) -> sa.ColumnElement[bool]:
    """A scan row whose line was built (not skipped as unchanged by its raw digest)."""
    return scan.c.line != UNBUILT


def _mirror_scope(row: sa.Row) -> ScopeKey:
    return (row.old_customer, row.old_po_number, row.old_season)


def _line_scope(line: dict[str, Any]) -> ScopeKey:
    return (line["customer"], line["po_number"], line["season"])


def _describe(scope: ScopeKey) -> str:
    customer, po_number, season = scope
    parts = [f"customer {customer}", f"PO {po_number or '(none)'}"]
    if season:
        parts.append(f"season {season}")
    return " ".join(parts)


class _SourceKeys:
    """Where in the whole source (any scope) order keys appear: for lines that moved between
    scopes and for one key under two scopes. Only rows whose key is looked up are read."""

    def __init__(
        self,
        connection: sa.Connection,
        config: SyncConfig,
        source: SourceTable,
        builder: LineBuilder,
    ) -> None:
        self.connection, self.config = connection, config
        self.source, self.builder = source, builder
        self.archive_cancelled = config.items.cancelled.action == "archive"

    def scopes(self, keys: Iterable[str]) -> dict[str, set[ScopeKey]]:
        """Order key → scopes of the source rows holding it (a line cancelled under the
        ``archive`` rule is gone; a bad row still holds its key)."""
        wanted = set(keys)
        src = self.config.source
        first = sa.func.trim(self.source.column(src.key_columns[0]))
        columns = [self.source.column(name) for name in self.source.read_columns]
        found: dict[str, set[ScopeKey]] = {}
        parts = sorted({first_key_part(key, self.config) for key in wanted})
        for start in range(0, len(parts), KEY_CHUNK):
            rows = self.connection.execute(
                sa.select(*columns).where(first.in_(parts[start : start + KEY_CHUNK]))
            ).mappings()
            for row in rows:
                line = self.builder.build(dict(row))
                if isinstance(line, OrderLine):
                    if line.cancelled and self.archive_cancelled:
                        continue
                    key = line.order_key
                elif line.key is not None:
                    key = order_key(line.key)
                else:
                    continue
                if key in wanted:
                    found.setdefault(key, set()).add(
                        (
                            self.config.canonical_customer(str(row[src.customer_column] or "")),
                            clean_text(row[src.po_column]),
                            clean_text(row[src.season_column]),
                        )
                    )
        return found


class StagedIds:
    """The ids of a batch's staged items, in the order they are staged.

    ``<16 hex digits of the batch id><counter, 8 hex digits>-00000000000`` (36 characters):
    each id sorts after the one before, and so do their subitems' (``subitem_stg_id``), so
    the staged tables' indexes (primary key, parent) take each COPY at their right-hand end,
    not at random places (uuid4 ids: a third more of the server's CPU to stage a first plan).
    Unique across batches as long as no two batch ids share their first 16 hex digits (60
    random bits); within a batch, the first 24 characters are unique (2**32 items at most),
    which is what a subitem's id keeps of its parent's. Never equal to a subitem's id (the
    ``-`` where those have digits), nor to a uuid4 (hex digits where those have ``-``).
    """

    def __init__(self, batch_id: str) -> None:
        self.prefix = batch_id.replace("-", "")[:16].ljust(16, "0")
        self.count = 0

    def next(self) -> str:
        self.count += 1
        return f"{self.prefix}{self.count:08x}-{0:011d}"


def subitem_stg_id(parent_stg_id: str, position: int) -> str:
    """A staged subitem's id: its parent's id, then its place among the line's size changes.

    Delivery sends pending rows in ``(order_key, stg_id)`` order, so these ids make a line's
    subitems go to monday (and appear under their item) in the source's size-column order
    (``XS, S, M, L, XL``), not in a random one. Unique: one staged item per parent id (whose
    first 24 characters are unique: ``StagedIds``).
    """
    return f"{parent_stg_id[:24]}{position:012d}"
