"""``ordersync serve``: receive monday's webhooks and apply them, never losing one.

The receiver is a WSGI app (werkzeug). It answers monday's challenge (``{"challenge": ...}``
echoed), verifies the JWT monday signs an integration app's webhooks with when a signing secret
is set (``ORDERSYNC_WEBHOOK_SECRET``; anything else gets 401, the challenge included), stores
each event in ``webhook_events`` in its own committed transaction, and only then answers 200.
An event monday sends again (a retry carries the same ``triggerUuid``; without one, the same
payload hashes the same) is stored once.

Applying comes after the answer, in the server loop (``WebhookServer``): pending events
(``applied_at`` NULL), oldest first, a batch at a time. The items a batch names are read from
monday by id and recorded by ``pulled.ValueRecorder`` exactly as a pull records them (source
``webhook``; a database-owned column changed by hand is drift); items archived or deleted there
go through ``[pull] missing_item_policy``. Applying reads monday's current state instead of
trusting the payload, so an event applied twice, late or out of order changes nothing, and a
forged one could at most cause a read. Events stay pending while a sync or a pull holds the
board's lock (so ordersync's own pushes are never mistaken for drift), while monday cannot be
reached, and across restarts; the loop retries them every ``[serve] retry_seconds`` and at
start.
"""

from __future__ import annotations

import hashlib
import json
import logging
import threading
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

import jwt
import sqlalchemy as sa
from werkzeug.exceptions import RequestEntityTooLarge
from werkzeug.serving import BaseWSGIServer, make_server
from werkzeug.wrappers import Request, Response

from ordersync.config import SyncConfig
from ordersync.db import Database, utcnow
from ordersync.db.lock import board_lock
from ordersync.errors import LockedError, MondayError
from ordersync.missing import MissingRow, handle_missing
from ordersync.monday import Item, MondayClient
from ordersync.pulled import (
    Drift,
    Source,
    ValueRecorder,
    item_columns,
    mirror_rows,
    subitem_columns,
)

logger = logging.getLogger("ordersync.serve")

MAX_BODY_BYTES = 1024 * 1024
JWT_LEEWAY_SECONDS = 60


# ---------------------------------------------------------------------------- receiving
def event_key(event: dict[str, Any]) -> str:
    """monday's ``triggerUuid``, else a hash of the event without per-delivery fields."""
    trigger = event.get("triggerUuid")
    if isinstance(trigger, str) and 0 < len(trigger) <= 120:
        return trigger
    stable = {k: v for k, v in event.items() if k not in ("subscriptionId", "isRetry")}
    text = json.dumps(stable, sort_keys=True, separators=(",", ":"), default=str)
    return "sha256:" + hashlib.sha256(text.encode()).hexdigest()


def store_event(db: Database, event: dict[str, Any]) -> bool:
    """Store one event in its own transaction; ``False`` when it was already stored."""
    table = db.tables.webhook_events
    board = str(event.get("boardId") or "")
    try:
        with db.engine.begin() as connection:
            connection.execute(
                table.insert().values(
                    event_key=event_key(event),
                    board_id=int(board) if board.isdigit() else None,
                    event_type=str(event.get("type") or "event")[:64],
                    payload=json.dumps(event, ensure_ascii=False, default=str),
                    received_at=utcnow(),
                )
            )
    except sa.exc.IntegrityError:
        return False
    return True


def verify_signature(authorization: str | None, secret: str) -> bool:
    """Whether ``Authorization`` holds a JWT signed HS256 with ``secret`` and not expired.

    The audience (the webhook URL monday called) is not checked: behind a proxy the receiver
    cannot know the public URL.
    """
    if not authorization:
        return False
    token = authorization.removeprefix("Bearer ").strip()
    try:
        jwt.decode(
            token,
            secret,
            algorithms=["HS256"],
            leeway=JWT_LEEWAY_SECONDS,
            options={"verify_aud": False, "verify_iat": False},
        )
    except jwt.PyJWTError:
        return False
    return True


class _LimitedRequest(Request):
    max_content_length = MAX_BODY_BYTES


class WebhookReceiver:
    """The WSGI app monday POSTs to: check, store, answer; applying is the loop's job.

    Args:
        db: ordersync's database.
        secret: the signing secret; ``None`` accepts unsigned requests.
        on_stored: called after the answer to a newly stored event has been sent.
        pending: counts unapplied events (for ``GET`` health checks).
    """

    def __init__(
        self,
        db: Database,
        secret: str | None,
        on_stored: Callable[[], None] | None = None,
        pending: Callable[[], int] | None = None,
    ) -> None:
        self.db, self.secret = db, secret
        self.on_stored = on_stored or (lambda: None)
        self.pending = pending

    def __call__(self, environ: dict[str, Any], start_response: Any) -> Iterable[bytes]:
        response = self._handle(_LimitedRequest(environ))
        return response(environ, start_response)

    def _handle(self, request: Request) -> Response:
        if request.method == "GET":
            pending = self.pending() if self.pending else None
            return _json({"status": "ok", "pending_events": pending})
        if request.method != "POST":
            return _json({"error": "POST monday webhooks here"}, 405)
        if self.secret is not None and not verify_signature(
            request.headers.get("Authorization"), self.secret
        ):
            return _json({"error": "invalid or missing signature"}, 401)
        try:
            body = json.loads(request.get_data(cache=False) or b"null")
        except RequestEntityTooLarge:
            return _json({"error": "body too large"}, 413)
        except ValueError:
            return _json({"error": "body is not JSON"}, 400)
        if isinstance(body, dict) and "challenge" in body:
            return _json({"challenge": body["challenge"]})
        event = body.get("event") if isinstance(body, dict) else None
        if not isinstance(event, dict):
            return _json({"error": "expected {'event': {...}} or {'challenge': ...}"}, 400)
        if not store_event(self.db, event):
            return _json({"ok": True, "duplicate": True})
        response = _json({"ok": True})
        response.call_on_close(self.on_stored)
        return response


def _json(body: dict[str, Any], status: int = 200) -> Response:
    return Response(json.dumps(body), status=status, mimetype="application/json")


# ---------------------------------------------------------------------------- applying
@dataclass
class ApplyReport:
    """What one ``apply_pending`` call did."""

    events: int = 0
    ignored: int = 0
    deferred: bool = False
    values_changed: int = 0
    drifts: list[Drift] = field(default_factory=list)
    unknown: int = 0
    missing: list[MissingRow] = field(default_factory=list)


@dataclass(frozen=True)
class _Event:
    key: str
    monday_id: int | None
    board_id: int | None
    parent_board_id: int | None


def _parse(key: str, payload: str) -> _Event:
    event = json.loads(payload)
    ids = [event.get(name) for name in ("pulseId", "itemId", "boardId")]
    parent_board = event.get("parentItemBoardId") or event.get("parentBoardId")
    pulse, item, board = (int(v) if str(v or "").isdigit() else None for v in ids)
    parent = int(parent_board) if str(parent_board or "").isdigit() else None
    return _Event(key, pulse or item, board, parent)


class EventApplier:
    """Applies stored events to the database (see the module docstring).

    Args:
        db: ordersync's database.
        config: the mapping (``[serve]``, ``[pull] missing_item_policy``).
        client: the monday client (used from one thread at a time).
        board_id: the items board this server keeps.
    """

    def __init__(
        self, db: Database, config: SyncConfig, client: MondayClient, board_id: int
    ) -> None:
        self.db, self.config, self.client, self.board_id = db, config, client, board_id
        self.recorder = ValueRecorder(db, config, board_id, Source.WEBHOOK)
        self.column_ids = sorted({*item_columns(config).ids, *subitem_columns(config).ids})
        self._subitems_board_id: int | None = None
        self._lock = threading.Lock()

    def pending_count(self) -> int:
        table = self.db.tables.webhook_events
        with self.db.engine.connect() as connection:
            return connection.execute(
                sa.select(sa.func.count()).select_from(table).where(table.c.applied_at.is_(None))
            ).scalar_one()

    def apply_pending(self) -> ApplyReport:
        """Apply every pending event, a batch at a time, until none is left or one must wait."""
        report = ApplyReport()
        with self._lock:
            while events := self._pending():
                if not self._apply(events, report):
                    report.deferred = True
                    break
        return report

    def _pending(self) -> list[_Event]:
        table = self.db.tables.webhook_events
        with self.db.engine.connect() as connection:
            rows = connection.execute(
                sa.select(table.c.event_key, table.c.payload)
                .where(table.c.applied_at.is_(None))
                .order_by(table.c.received_at, table.c.event_key)
                .limit(self.config.serve.events_per_apply)
            ).all()
        return [_parse(row.event_key, row.payload) for row in rows]

    def _apply(self, events: list[_Event], report: ApplyReport) -> bool:
        """Apply one batch; ``False`` when it has to wait (board busy, monday unreachable)."""
        try:
            ours = [e for e in events if e.monday_id is not None and self._is_ours(e)]
            with board_lock(self.db.engine, self.db.tables.locks, self.board_id):
                found = self._fetch(ours)
                with self.db.engine.begin() as connection:
                    self._record(connection, ours, found, report)
                    self._close(connection, events, ours)
        except LockedError:
            logger.info("board %s is busy; %d events wait", self.board_id, len(events))
            return False
        except MondayError as error:
            logger.warning("monday could not be read (%s); %d events wait", error, len(events))
            self._note_error(events, str(error))
            return False
        report.events += len(events)
        report.ignored += len(events) - len(ours)
        return True

    def _is_ours(self, event: _Event) -> bool:
        boards = {self.board_id, self._subitems_board()}
        return event.board_id in boards or event.parent_board_id == self.board_id

    def _subitems_board(self) -> int | None:
        if self._subitems_board_id is None:
            self._subitems_board_id = self.client.get_board(self.board_id).subitems_board_id
        return self._subitems_board_id

    def _fetch(self, events: list[_Event]) -> list[Item]:
        ids = sorted({e.monday_id for e in events if e.monday_id is not None})
        if not ids:
            return []
        return self.client.get_items(ids, column_ids=self.column_ids, include_archived=True)

    def _record(
        self,
        connection: sa.Connection,
        events: list[_Event],
        found: list[Item],
        report: ApplyReport,
    ) -> None:
        now = utcnow()
        keys = {e.monday_id: e.key for e in events if e.monday_id is not None}
        active = [item for item in found if item.state == "active"]
        recorded = self.recorder.record(connection, active, now, keys)
        report.values_changed += recorded.values_changed
        report.drifts.extend(recorded.drifts)
        report.unknown += len(recorded.unknown_items) + len(recorded.unknown_subitems)
        states = {item.id: item.state for item in found}
        gone = [i for i in keys if states.get(i) != "active"]
        report.missing.extend(self._missing(connection, gone, states, now))

    def _missing(
        self, connection: sa.Connection, ids: list[int], states: dict[int, str], now: Any
    ) -> list[MissingRow]:
        """Mirror rows of items monday archived or deleted: the missing-item policy."""
        tables, policy = self.db.tables, self.config.pull.missing_item_policy
        items = mirror_rows(connection, tables.items, "monday_item_id", self.board_id, ids)
        subitems = mirror_rows(connection, tables.subitems, "monday_subitem_id", self.board_id, ids)
        missing_items = [_missing_row(row, row.monday_item_id, states) for row in items.values()]
        gone_keys = {row.order_key for row in missing_items}
        missing_subitems = [
            _missing_row(row, row.monday_subitem_id, states)
            for row in subitems.values()
            if row.order_key not in gone_keys
        ]
        for rows, is_subitem in ((missing_items, False), (missing_subitems, True)):
            handle_missing(
                connection,
                self.db,
                self.board_id,
                rows,
                subitems=is_subitem,
                policy=policy,
                source=Source.WEBHOOK,
                now=now,
            )
        return [*missing_items, *missing_subitems]

    def _close(self, connection: sa.Connection, events: list[_Event], ours: list[_Event]) -> None:
        """Mark a batch applied; events for other boards are closed with a note."""
        table = self.db.tables.webhook_events
        mine = {e.key for e in ours}
        now = utcnow()
        for keys, note in (
            ([e.key for e in events if e.key in mine], None),
            ([e.key for e in events if e.key not in mine], "not an item of the synced board"),
        ):
            if keys:
                connection.execute(
                    table.update()
                    .where(table.c.event_key.in_(keys))
                    .values(applied_at=now, error=note)
                )

    def _note_error(self, events: list[_Event], message: str) -> None:
        table = self.db.tables.webhook_events
        with self.db.engine.begin() as connection:
            connection.execute(
                table.update()
                .where(table.c.event_key.in_([e.key for e in events]))
                .values(error=message[:2000])
            )


def _missing_row(row: sa.Row, monday_id: int, states: dict[int, str]) -> MissingRow:
    size = getattr(row, "size_label", None)
    return MissingRow(monday_id, row.order_key, size, states.get(monday_id, "deleted"))


# ---------------------------------------------------------------------------- the server
class WebhookServer:
    """The receiver, and the loop that applies what it stores.

    Args:
        db: ordersync's database.
        config: the mapping.
        client: the monday client (used by the loop only).
        board_id: the items board.
        secret: the signing secret (``None``: unsigned requests are accepted).

    Example:
        >>> server = WebhookServer(db, config, client, 4755559751, secret)
        >>> server.serve("127.0.0.1", 8080)  # blocks; Ctrl+C stops
    """

    def __init__(
        self,
        db: Database,
        config: SyncConfig,
        client: MondayClient,
        board_id: int,
        secret: str | None,
    ) -> None:
        self.config = config
        self.applier = EventApplier(db, config, client, board_id)
        self.app = WebhookReceiver(db, secret, self.wake, self.applier.pending_count)
        self._wake = threading.Event()
        self._stop = threading.Event()
        self._idle = threading.Condition()
        self._thread: threading.Thread | None = None

    def wake(self) -> None:
        """Ask the loop to apply now (called after each newly stored event)."""
        self._wake.set()

    def start(self) -> None:
        """Start the apply loop in a background thread (it first applies what is pending)."""
        self._stop.clear()
        self._thread = threading.Thread(target=self._loop, name="ordersync-apply", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        self._wake.set()
        if self._thread is not None:
            self._thread.join(timeout=30)
            self._thread = None

    def wait_idle(self, timeout: float = 10.0) -> bool:
        """Block until no event is pending (``False`` if ``timeout`` real seconds pass)."""
        with self._idle:
            return self._idle.wait_for(lambda: self.applier.pending_count() == 0, timeout)

    def _loop(self) -> None:
        while not self._stop.is_set():
            self._wake.clear()
            try:
                report = self.applier.apply_pending()
                if report.events:
                    logger.info(
                        "applied %d webhook events: %d values changed, %d drifted columns",
                        report.events,
                        report.values_changed,
                        len(report.drifts),
                    )
            except Exception:  # the loop must outlive any failure; the events stay pending
                logger.exception("applying webhook events failed; they stay pending")
            with self._idle:
                self._idle.notify_all()
            self._wake.wait(self.config.serve.retry_seconds)

    def serve(self, host: str, port: int) -> None:
        """Receive on ``host:port`` until interrupted, applying in the background."""
        server = make_server(host, port, self.app, threaded=True)
        self.start()
        try:
            server.serve_forever()
        finally:
            server.server_close()
            self.stop()

    @contextmanager
    def running(self, host: str = "127.0.0.1", port: int = 0) -> Iterator[str]:
        """Receive and apply in background threads; yields the URL to register."""
        server: BaseWSGIServer = make_server(host, port, self.app, threaded=True)
        thread = threading.Thread(
            target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
        )
        thread.start()
        self.start()
        try:
            yield f"http://{host}:{server.server_port}/monday"
        finally:
            server.shutdown()
            server.server_close()
            thread.join(timeout=10)
            self.stop()
