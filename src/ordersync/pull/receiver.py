"""``ordersync serve``: receive monday's webhooks and apply them, never losing one.

The receiver is a WSGI app (werkzeug). A POST is authenticated first (``Authentication``):

- a JWT in ``Authorization`` (webhooks made with an integration app's token; signed with the
  app's signing secret, ``ORDERSYNC_WEBHOOK_SECRET``): HS256, ``exp`` required and at most
  ``MAX_TOKEN_LIFETIME`` ahead, ``aud`` naming the path called. A present but bad token is
  refused (401) wherever it arrives;
- or no token, on the secret path (webhooks made with a personal token arrive unsigned, so
  ``webhooks install`` registers ``URL/<ORDERSYNC_WEBHOOK_PATH_SECRET>``): the path's last
  segment is the secret (compared in constant time; the request log never shows the path);
- or ``--insecure`` (local testing). Anything else: 404 when a secret path is configured (the
  receiver does not confirm it exists), else 401. Without any of the three ``serve`` does not
  start.

Then the body: at most ``[serve] max_body_bytes`` (413), JSON nesting at most 32 levels and
ids that are ids (400, see ``webhook_events``). monday's challenge (``{"challenge": ...}``) is
echoed. An event of another board than the items board and its subitems board is answered
200 and not stored. An event is stored (PENDING) in its own committed transaction, and only
then answered 200; one monday sends again (same ``triggerUuid``, or the same payload) is
stored once. A database that cannot store it (after a few quick retries) is answered 503, and
monday sends the event again (once a minute for 30 minutes).

Applying comes after the answer, in the server loop (``WebhookServer``): this board's pending
events (another receiver's board is never touched), oldest first, ``[serve] events_per_apply``
per hold of the board's lock (released between batches; a run waiting for the board, e.g.
``sync --wait``, goes first). The items a batch names are read from monday by id and recorded
by ``recorder.ValueRecorder`` exactly as a pull records them (source ``webhook``; a
database-owned column changed by hand is drift); items archived or deleted there go through
``[pull] missing_item_policy``, items restored there are active again in the mirror
(``missing.restore_rows``). Applying reads monday's current state instead of trusting the
payload, so an event applied twice, late or out of order changes nothing, and a forged one
could at most cause a read. An event that can never be applied (unparseable, or an id monday
refuses for good) is QUARANTINED with the reason in ``error``; the others go on. Events stay
pending while another run holds the board, while monday cannot be reached, while the
database fails (a batch's recording is retried whole first: ``db.retry``), and across
restarts; the loop retries them every ``[serve] retry_seconds`` and at start.

Payload shapes (FACTS.md "Webhooks"): ``update_column_value``/``create_pulse`` are
documented; ``archive_pulse``, ``delete_pulse`` and ``item_restored`` are not. We assume what
is seen in the wild: ``boardId`` plus ``itemId`` (or ``pulseId``), and on subitem events
``parentBoardId``/``parentItemBoardId`` naming the items board. Only the ids are trusted;
what happened is read from monday.
"""

from __future__ import annotations

import hmac
import json
import logging
import re
import threading
import time
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from functools import partial
from typing import Any
from urllib.parse import urlsplit

import jwt
import sqlalchemy as sa
from werkzeug.exceptions import RequestEntityTooLarge
from werkzeug.serving import BaseWSGIServer, WSGIRequestHandler, make_server
from werkzeug.wrappers import Request, Response

from ordersync.config import SyncConfig
from ordersync.db import Database, utcnow
from ordersync.db.lock import DEFAULT_POLL_SECONDS, board_lock
from ordersync.db.retry import is_transient, retry_transient
from ordersync.errors import (
    AuthError,
    ConfigError,
    DatabaseUnavailableError,
    LockedError,
    MondayError,
    PermanentMondayError,
)
from ordersync.monday import Item, MondayClient
from ordersync.pull.events import (
    ERROR_CHARS,
    Event,
    EventError,
    event_key,
    parse_body,
    parse_event,
    quarantine,
    store_event,
)
from ordersync.pull.missing import (
    MissingRow,
    archived_subitems_of,
    restore_rows,
    rows_of,
    settle_missing,
)
from ordersync.pull.recorder import Drift, ValueRecorder, item_columns, subitem_columns
from ordersync.states import EventState, Source

logger = logging.getLogger("ordersync.pull.receiver")

JWT_LEEWAY_SECONDS = 60
YIELD_SECONDS = 2 * DEFAULT_POLL_SECONDS
"""After letting a waiting run in, the loop keeps off the board this long (it polls faster)."""
MAX_TOKEN_LIFETIME = 24 * 3600
"""A JWT whose ``exp`` is further ahead than this is refused (monday's live 5 minutes)."""
MIN_PATH_SECRET = 24
PATH_SECRET_CHARS = re.compile(r"[A-Za-z0-9_-]+")
__all__ = ["Authentication", "EventApplier", "WebhookReceiver", "WebhookServer", "event_key"]


# ---------------------------------------------------------------------------- receiving
@dataclass(frozen=True)
class Authentication:
    """How the receiver knows a request comes from monday (see the module docstring).

    Attributes:
        secret: the signing secret of an integration app's webhooks (JWT, HS256).
        path_secret: the unguessable last segment of the URL ``webhooks install`` registers.
        insecure: accept anything (local testing only).
    """

    secret: str | None = None
    path_secret: str | None = None
    insecure: bool = False

    def check(self) -> None:
        """Refuse a receiver anyone could feed.

        Raises:
            ConfigError: no secret and no secret path without ``insecure``, or a secret
                path too short to be unguessable.
        """
        if self.path_secret is not None:
            check_path_secret(self.path_secret)
        if self.secret is None and self.path_secret is None and not self.insecure:
            raise ConfigError(
                "serve needs authentication: set ORDERSYNC_WEBHOOK_PATH_SECRET (webhooks made "
                "with a personal token arrive unsigned) and/or ORDERSYNC_WEBHOOK_SECRET (an "
                "app's signing secret); --insecure accepts anything, for local testing only"
            )


def check_path_secret(path_secret: str) -> None:
    """``ConfigError`` unless the secret path is long and URL-safe."""
    if len(path_secret) < MIN_PATH_SECRET or not PATH_SECRET_CHARS.fullmatch(path_secret):
        raise ConfigError(
            f"ORDERSYNC_WEBHOOK_PATH_SECRET must be at least {MIN_PATH_SECRET} characters of "
            "A-Z a-z 0-9 _ - (e.g. python -c 'import secrets; print(secrets.token_urlsafe(32))')"
        )


def verify_signature(
    authorization: str | None, secret: str, path: str | None = None, now: float | None = None
) -> bool:
    """Whether ``Authorization`` holds a JWT monday signed for this receiver.

    HS256 with ``secret`` only (``alg: none`` and other algorithms are refused); ``exp``
    required, not past, and at most ``MAX_TOKEN_LIFETIME`` ahead (monday's run 5 minutes);
    ``iat``, when present, not in the future; ``aud`` (the URL monday called) required and,
    when ``path`` is given, naming that path (the host is not checked: behind a proxy the
    receiver does not know its public name). ``JWT_LEEWAY_SECONDS`` of clock skew allowed.
    """
    if not authorization:
        return False
    token = authorization.removeprefix("Bearer ").strip()
    now = time.time() if now is None else now
    try:
        claims = jwt.decode(
            token,
            secret,
            algorithms=["HS256"],
            leeway=JWT_LEEWAY_SECONDS,
            options={"require": ["exp", "aud"], "verify_aud": False},
        )
    except jwt.PyJWTError:
        return False
    exp, iat, aud = claims.get("exp"), claims.get("iat"), claims.get("aud")
    if not isinstance(exp, int | float) or exp > now + MAX_TOKEN_LIFETIME + JWT_LEEWAY_SECONDS:
        return False
    if iat is not None and (not isinstance(iat, int | float) or iat > now + JWT_LEEWAY_SECONDS):
        return False
    if not isinstance(aud, str):
        return False
    return path is None or _same_path(urlsplit(aud).path, path)


def _same_path(left: str, right: str) -> bool:
    return hmac.compare_digest(left.rstrip("/").encode(), right.rstrip("/").encode())


class WebhookReceiver:
    """The WSGI app monday POSTs to: authenticate, check, store, answer; applying is the loop's.

    Args:
        db: ordersync's database.
        auth: how requests are authenticated.
        boards: the boards whose events are kept (the items board and its subitems board).
        on_stored: called after the answer to a newly stored event has been sent.
        pending: counts unapplied events (for ``GET`` health checks).
        max_body_bytes: larger bodies are refused (413).
    """

    def __init__(
        self,
        db: Database,
        auth: Authentication,
        boards: Callable[[], set[int]],
        on_stored: Callable[[], None] | None = None,
        pending: Callable[[], int] | None = None,
        max_body_bytes: int = 64 * 1024,
    ) -> None:
        self.db, self.auth, self.boards = db, auth, boards
        self.on_stored = on_stored or (lambda: None)
        self.pending = pending
        self.max_body_bytes = max_body_bytes

    def __call__(self, environ: dict[str, Any], start_response: Any) -> Iterable[bytes]:
        request = Request(environ)
        # werkzeug cuts a body without Content-Length at the limit silently: one byte more
        # than allowed is read, so a cut body is seen (``_handle``).
        request.max_content_length = self.max_body_bytes + 1
        response = self._handle(request)
        return response(environ, start_response)

    def _handle(self, request: Request) -> Response:
        if request.method == "GET":
            pending = self.pending() if self.pending else None
            return _json({"status": "ok", "pending_events": pending})
        if request.method != "POST":
            return _json({"error": "POST monday webhooks here"}, 405)
        refused = self._refusal(request)
        if refused is not None:
            return refused
        too_large = _json({"error": f"body larger than {self.max_body_bytes} bytes"}, 413)
        try:
            raw = request.get_data(cache=False)
            if len(raw) > self.max_body_bytes:
                return too_large
            body = parse_body(raw)
        except RequestEntityTooLarge:
            return too_large
        except EventError as error:
            return _json({"error": str(error)}, 400)
        if isinstance(body, dict) and "challenge" in body:
            return _json({"challenge": body["challenge"]})
        event = body.get("event") if isinstance(body, dict) else None
        try:
            parsed = parse_event(event)
        except EventError as error:
            return _json({"error": str(error)}, 400)
        assert isinstance(event, dict)
        if not self._ours(parsed):
            return _json({"ok": True, "ignored": "not an event of this receiver's boards"})
        store = partial(store_event, self.db, event, parsed)  # a duplicate is refused: repeatable
        try:
            stored = retry_transient(store, self.db.engine, "storing a webhook event", attempts=3)
        except DatabaseUnavailableError as error:
            logger.warning("%s; answered 503: monday sends the event again", error)
            return _json({"error": "the database is unavailable; send the event again"}, 503)
        if not stored:
            return _json({"ok": True, "duplicate": True})
        response = _json({"ok": True})
        response.call_on_close(self.on_stored)
        return response

    def _refusal(self, request: Request) -> Response | None:
        """``None`` when the request is authenticated, else the answer (401 or 404)."""
        auth, header = self.auth, request.headers.get("Authorization")
        if header and auth.secret is not None:
            if verify_signature(header, auth.secret, request.path):
                return None
            return _json({"error": "invalid signature"}, 401)
        if auth.path_secret is not None and _ends_with_secret(request.path, auth.path_secret):
            return None
        if auth.insecure:
            return None
        if auth.path_secret is not None:
            return _json({"error": "not found"}, 404)  # do not confirm a receiver is here
        return _json({"error": "invalid or missing signature"}, 401)

    def _ours(self, event: Event) -> bool:
        boards = self.boards()
        return event.board_id in boards and (
            event.parent_board_id is None or event.parent_board_id in boards
        )


def _ends_with_secret(path: str, secret: str) -> bool:
    last = path.rstrip("/").rpartition("/")[2]
    return hmac.compare_digest(last.encode(), secret.encode())


def _json(body: dict[str, Any], status: int = 200) -> Response:
    return Response(json.dumps(body), status=status, mimetype="application/json")


class _QuietRequests(WSGIRequestHandler):
    """werkzeug's request log without the path: it holds the secret path."""

    def log_request(self, code: int | str = "-", size: int | str = "-") -> None:
        self.log("info", '"%s <path hidden>" %s %s', self.command, code, size)

    def log_error(self, format: str, *args: Any) -> None:
        self.log("error", "request refused (details hidden: they may hold the secret path)")


# ---------------------------------------------------------------------------- applying
@dataclass
class ApplyReport:
    """What one ``apply_pending`` call did."""

    events: int = 0
    deferred: bool = False
    yielded: bool = False
    values_changed: int = 0
    drifts: list[Drift] = field(default_factory=list)
    unknown: int = 0
    missing: list[MissingRow] = field(default_factory=list)
    restored: list[MissingRow] = field(default_factory=list)
    quarantined: int = 0

    def add(self, other: ApplyReport) -> None:
        """Count in what one recording transaction did."""
        self.values_changed += other.values_changed
        self.unknown += other.unknown
        self.drifts.extend(other.drifts)
        self.missing.extend(other.missing)
        self.restored.extend(other.restored)


class EventApplier:
    """Applies stored events to the database (see the module docstring).

    Args:
        db: ordersync's database.
        config: the mapping (``[serve]``, ``[pull] missing_item_policy``).
        client: the monday client (used from one thread at a time).
        board_id: the items board this server keeps.
        subitems_board_id: its subitems board (``None``: asked of monday when first needed).
    """

    def __init__(
        self,
        db: Database,
        config: SyncConfig,
        client: MondayClient,
        board_id: int,
        subitems_board_id: int | None = None,
    ) -> None:
        self.db, self.config, self.client, self.board_id = db, config, client, board_id
        self.recorder = ValueRecorder(db, config, board_id, Source.WEBHOOK)
        self.column_ids = sorted({*item_columns(config).ids, *subitem_columns(config).ids})
        self._subitems_board_id = subitems_board_id
        self._lock = threading.Lock()
        self._boards_lock = threading.Lock()

    def boards(self) -> set[int]:
        """The items board and, once known, its subitems board."""
        if self._subitems_board_id is None:
            with self._boards_lock:
                if self._subitems_board_id is None:
                    try:
                        board = self.client.get_board(self.board_id)
                    except MondayError as error:
                        logger.warning("the subitems board is not known yet (%s)", error)
                        return {self.board_id}
                    self._subitems_board_id = board.subitems_board_id
        return {self.board_id, *([self._subitems_board_id] if self._subitems_board_id else [])}

    def pending_count(self) -> int:
        table = self.db.tables.webhook_events
        with self.db.engine.connect() as connection:
            return connection.execute(
                sa.select(sa.func.count())
                .select_from(table)
                .where(table.c.state == EventState.PENDING, table.c.board_id.in_(self.boards()))
            ).scalar_one()

    def apply_pending(self) -> ApplyReport:
        """Apply pending events, a batch per lock hold, until none is left or one must wait.

        Each batch holds the board's lock only while it reads monday and records; a run
        waiting for the board (``sync --wait``) gets it before the next batch.
        """
        report = ApplyReport()
        with self._lock:
            while events := self._pending(report):
                outcome = self._apply(events, report)
                if outcome != "applied":
                    report.deferred = True
                    report.yielded = outcome == "yielded"
                    break
        return report

    def _pending(self, report: ApplyReport) -> list[Event]:
        """The next batch of this board's pending events; unparseable ones are quarantined."""
        table = self.db.tables.webhook_events
        while True:
            with self.db.engine.connect() as connection:
                rows = connection.execute(
                    sa.select(table.c.event_key, table.c.payload)
                    .where(
                        table.c.state == EventState.PENDING,
                        # no board: stored by an older version from an odd boardId; it fails
                        # parsing and is quarantined by whichever receiver sees it first
                        sa.or_(table.c.board_id.in_(self.boards()), table.c.board_id.is_(None)),
                    )
                    .order_by(table.c.received_at, table.c.event_key)
                    .limit(self.config.serve.events_per_apply)
                ).all()
            events, bad = [], []
            for row in rows:
                try:
                    events.append(parse_event(json.loads(row.payload), row.event_key))
                except (EventError, ValueError, RecursionError) as error:
                    bad.append((row.event_key, str(error)))
            for key, reason in bad:
                with self.db.engine.begin() as connection:
                    quarantine(connection, self.db, [key], reason)
                logger.warning("webhook event %s quarantined: %s", key, reason)
            report.quarantined += len(bad)
            if events or not bad:
                return events

    def _apply(self, events: list[Event], report: ApplyReport) -> str:
        """Apply one batch: ``applied``, ``deferred`` (board busy, monday unreachable) or
        ``yielded`` (applied, and a run waits for the board)."""
        try:
            with board_lock(
                self.db.engine, self.db.tables.locks, self.board_id, purpose="serve"
            ) as lock:
                found, bad = self._fetch(events)
                good = [e for e in events if e.key not in bad]
                record = partial(self._record_all, bad, good, found)
                report.add(retry_transient(record, self.db.engine, "applying webhook events"))
                waiter = lock.has_waiter()
        except LockedError as error:
            logger.info("%s; %d events wait", error, len(events))
            return "deferred"
        except DatabaseUnavailableError as error:
            logger.warning("%s; %d events wait", error, len(events))
            return "deferred"
        except MondayError as error:
            logger.warning("monday could not be read (%s); %d events wait", error, len(events))
            self._note_error(events, str(error))
            return "deferred"
        report.events += len(events) - len(bad)
        report.quarantined += len(bad)
        return "yielded" if waiter else "applied"

    def _record_all(self, bad: dict[str, str], good: list[Event], found: list[Item]) -> ApplyReport:
        """One transaction: the refused events quarantined, the others recorded and closed
        (repeated whole after a transient database failure, so it counts into its own report).
        """
        report = ApplyReport()
        with self.db.engine.begin() as connection:
            for key, reason in bad.items():
                quarantine(connection, self.db, [key], reason)
            self._record(connection, good, found, report)
            self._close(connection, good)
        return report

    def _fetch(self, events: list[Event]) -> tuple[list[Item], dict[str, str]]:
        """The items the events name, as monday holds them now; and the events monday
        refuses for good (by key, with the reason), found by asking for each on its own."""
        ids = sorted({e.monday_id for e in events if e.monday_id is not None})
        if not ids:
            return [], {}
        refused: dict[int, str] = {}
        try:
            return self._get(ids), {}
        except AuthError:
            raise  # the token, not the events: they wait
        except PermanentMondayError as error:
            if len(ids) == 1:
                refused[ids[0]] = f"monday refused it: {error}"
        found: list[Item] = []
        for monday_id in ids if not refused else []:
            try:
                found.extend(self._get([monday_id]))
            except AuthError:
                raise
            except PermanentMondayError as error:
                refused[monday_id] = f"monday refused it: {error}"
        bad = {e.key: refused[e.monday_id] for e in events if e.monday_id in refused}
        return found, bad

    def _get(self, ids: list[int]) -> list[Item]:
        return self.client.get_items(ids, column_ids=self.column_ids, include_archived=True)

    def _record(
        self,
        connection: sa.Connection,
        events: list[Event],
        found: list[Item],
        report: ApplyReport,
    ) -> None:
        now = utcnow()
        keys = {e.monday_id: e.key for e in events if e.monday_id is not None}
        found = [item for item in found if item.id in keys]
        active = [item for item in found if item.state == "active"]
        report.restored.extend(self._restore(connection, [i.id for i in active], now))
        recorded = self.recorder.record(connection, active, now, keys)
        report.values_changed += recorded.values_changed
        report.drifts.extend(recorded.drifts)
        report.unknown += len(recorded.unknown_items) + len(recorded.unknown_subitems)
        states = {item.id: item.state for item in found}
        gone = [i for i in keys if states.get(i) != "active"]
        report.missing.extend(self._missing(connection, gone, states, now))

    def _restore(self, connection: sa.Connection, ids: list[int], now: Any) -> list[MissingRow]:
        """Items monday holds active again (``item_restored``), and their subitems monday
        restored with them (asked of monday: one may have been deleted on its own)."""
        restored = restore_rows(connection, self.db, self.board_id, ids, now)
        parents = [row.monday_id for row in restored if row.size_label is None]
        subitem_ids = archived_subitems_of(connection, self.db, self.board_id, parents)
        if subitem_ids:
            back = [s.id for s in self._get(subitem_ids) if s.state == "active"]
            restored.extend(restore_rows(connection, self.db, self.board_id, back, now))
        return restored

    def _missing(
        self, connection: sa.Connection, ids: list[int], states: dict[int, str], now: Any
    ) -> list[MissingRow]:
        """Mirror rows of items monday archived or deleted: the missing-item policy."""
        items, subitems = settle_missing(
            connection,
            self.db,
            self.board_id,
            *rows_of(connection, self.db, self.board_id, ids, states),
            policy=self.config.pull.missing_item_policy,
            source=Source.WEBHOOK,
            now=now,
        )
        return [*items, *subitems]

    def _close(self, connection: sa.Connection, events: list[Event]) -> None:
        table = self.db.tables.webhook_events
        keys = [e.key for e in events]
        if keys:
            connection.execute(
                table.update()
                .where(table.c.event_key.in_(keys))
                .values(applied_at=utcnow(), error=None, state=EventState.APPLIED)
            )

    def _note_error(self, events: list[Event], message: str) -> None:
        table = self.db.tables.webhook_events
        with self.db.engine.begin() as connection:
            connection.execute(
                table.update()
                .where(table.c.event_key.in_([e.key for e in events]))
                .values(error=message[:ERROR_CHARS])
            )


# ---------------------------------------------------------------------------- the server
class WebhookServer:
    """The receiver, and the loop that applies what it stores.

    Args:
        db: ordersync's database.
        config: the mapping.
        client: the monday client (used by the loop only).
        board_id: the items board.
        auth: how requests are authenticated (``Authentication.check`` is the caller's).
        subitems_board_id: the items board's subitems board (``None``: asked of monday).

    Example:
        >>> server = WebhookServer(db, config, client, 4755559751, Authentication(secret))
        >>> server.serve("127.0.0.1", 8080)  # blocks; Ctrl+C stops
    """

    def __init__(
        self,
        db: Database,
        config: SyncConfig,
        client: MondayClient,
        board_id: int,
        auth: Authentication,
        subitems_board_id: int | None = None,
    ) -> None:
        self.config = config
        self.applier = EventApplier(db, config, client, board_id, subitems_board_id)
        self.app = WebhookReceiver(
            db,
            auth,
            self.applier.boards,
            self.wake,
            self.applier.pending_count,
            config.serve.max_body_bytes,
        )
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
            yielded = False
            try:
                report = self.applier.apply_pending()
                yielded = report.yielded
                if report.events or report.quarantined:
                    logger.info(
                        "applied %d webhook events: %d values changed, %d drifted columns; "
                        "%d quarantined",
                        report.events,
                        report.values_changed,
                        len(report.drifts),
                        report.quarantined,
                    )
            except Exception as error:  # the loop must outlive any failure; events stay pending
                if isinstance(error, DatabaseUnavailableError) or is_transient(error):
                    logger.warning("the database failed (%s); events stay pending", error)
                else:
                    logger.exception("applying webhook events failed; they stay pending")
            with self._idle:
                self._idle.notify_all()
            if yielded:  # a run waits for the board: new events must not wake us before it polls
                self._stop.wait(YIELD_SECONDS)
            self._wake.wait(self.config.serve.retry_seconds)

    def serve(self, host: str, port: int) -> None:
        """Receive on ``host:port`` until interrupted, applying in the background."""
        server = make_server(host, port, self.app, threaded=True, request_handler=_QuietRequests)
        self.start()
        try:
            server.serve_forever()
        finally:
            server.server_close()
            self.stop()

    @contextmanager
    def running(self, host: str = "127.0.0.1", port: int = 0) -> Iterator[str]:
        """Receive and apply in background threads; yields the URL to register."""
        server: BaseWSGIServer = make_server(
            host, port, self.app, threaded=True, request_handler=_QuietRequests
        )
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
