"""``Emulator``: one emulated monday.com account, served in-process or over HTTP.

It wires the pieces together (store, limits, faults, GraphQL service, WSGI app, webhook
delivery) and offers what tests and the CLI need: a transport, a server, fault injection, stats,
a view of the items, webhooks sent like monday's (``flush_webhooks``, ``webhook_deliveries``),
changes made "as a person" (``act``) and a state file that keeps the boards between runs.
"""

from __future__ import annotations

import json
import os
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import httpx

from ordersync.clock import Clock, SystemClock
from ordersync.emulator.app import EmulatorApp
from ordersync.emulator.bulk import BulkImports
from ordersync.emulator.events import PERSON_USER_ID, BoardEvent
from ordersync.emulator.execution import GraphQLService, Outcome
from ordersync.emulator.faults import Fault, FaultPlan
from ordersync.emulator.limits import (
    ComplexityBudget,
    ConcurrencyGate,
    IdempotencyCache,
    Limits,
    RequestLimiter,
    Undocumented,
)
from ordersync.emulator.model import ItemState, WallClock, Webhook
from ordersync.emulator.paging import CursorRegistry
from ordersync.emulator.seed import CMS_BOARDS
from ordersync.emulator.server import (
    InProcessTransport,
    RunningServer,
    make_http_server,
    serve_in_thread,
)
from ordersync.emulator.stats import EmulatorStats
from ordersync.emulator.store import Store
from ordersync.emulator.webhooks import (
    FLUSH_TIMEOUT,
    WebhookDelivery,
    WebhookDispatcher,
    WebhookPolicy,
    matches,
)
from ordersync.errors import ConfigError


class StateFileError(ConfigError, ValueError):
    """The ``--state`` file cannot be read (a configuration error for the command line)."""


class Emulator:
    """A local monday.com GraphQL API.

    Args:
        clock: time for every limit, cursor, cache and timestamp (default: the system clock).
        limits: the account's limits (default: a Pro account).
        state_file: JSON file holding the boards; loaded when it exists, written after every
            request that changed something.
        seed: create the Customer Master Schedule boards when not loading a state file.
        token: when set, requests must send ``Authorization: <token>`` exactly.
        legacy_errors: answer errors in monday's pre-2024-10 format.
        require_api_version: refuse requests without ``API-Version`` (400
            ``API_VERSION_REQUIRED``), as monday announced it will; off by default, as today.
        epoch: wall-clock seconds at start (default: now); fixes timestamps for tests.
        webhook_secret: when set, every webhook POST carries ``Authorization: <JWT>`` signed
            HS256 with it, as monday signs an integration app's webhooks (at least 32 bytes;
            ``iat``/``exp`` on the real clock, so a pinned ``epoch`` doesn't expire them).
        webhook_transport: an httpx transport for webhook POSTs (default: real HTTP), e.g.
            ``httpx.WSGITransport(app=receiver)`` to deliver into a WSGI app in-process.
        webhook_policy: attempts, retry interval and timeout (default: monday's, once a
            minute for 30 minutes).
        undocumented: the switches for what monday's docs leave open (``Undocumented``;
            default: the emulator's behaviour before they were switches).
        account_admin: whether the token's user is an account admin (``backfill_items``
            needs one; otherwise its job is ``REJECTED`` / ``PERMISSION_DENIED``).

    Example:
        >>> emu = Emulator(clock=ManualClock())
        >>> client = httpx.Client(transport=emu.transport(), base_url="https://api.monday.com")
    """

    def __init__(
        self,
        clock: Clock | None = None,
        limits: Limits | None = None,
        state_file: str | os.PathLike[str] | None = None,
        seed: bool = True,
        token: str | None = None,
        *,
        legacy_errors: bool = False,
        require_api_version: bool = False,
        epoch: float | None = None,
        webhook_secret: str | None = None,
        webhook_transport: httpx.BaseTransport | None = None,
        webhook_policy: WebhookPolicy | None = None,
        undocumented: Undocumented | None = None,
        account_admin: bool = True,
    ) -> None:
        self.clock: Clock = clock or SystemClock()
        self.limits = limits or Limits()
        self.undocumented = undocumented or Undocumented()
        self.token = token
        self.legacy_errors = legacy_errors
        self.require_api_version = require_api_version
        self.state_file = Path(state_file) if state_file is not None else None
        self.events: list[BoardEvent] = []
        self.stats = EmulatorStats()
        self.faults = FaultPlan(fired=self.stats.faults)
        wall = WallClock(self.clock, time.time() if epoch is None else epoch)
        self.dispatcher = WebhookDispatcher(
            self.clock, webhook_policy or WebhookPolicy(), webhook_secret, webhook_transport
        )
        self.store = Store(now=wall, on_event=self._emit, verify_url=self._verify_webhook_url)
        # monday's 10,000 items per board unless the limits say otherwise (None: no limit).
        self.store.items_per_board = self.limits.items_per_board
        self.store.archived_in_lookups = self.undocumented.archived_in_lookups
        self._load_or_seed(seed)
        self.budget = ComplexityBudget(
            self.clock, self.limits.complexity_budget, self.limits.complexity_window
        )
        self.requests = RequestLimiter(
            self.clock,
            self.limits.requests_per_minute,
            self.limits.daily_calls,
            wall,
            per_ip=self.limits.ip_requests_per_window,
            ip_window=self.limits.ip_window,
        )
        self.bulk = BulkImports(
            self.store, self.clock, self.limits, self.undocumented, account_admin=account_admin
        )
        self.concurrency = ConcurrencyGate(self.limits.max_concurrency)
        self.idempotency = IdempotencyCache(self.clock, self.limits.idempotency_ttl)
        cursors = CursorRegistry(self.clock, self.limits.cursor_ttl, self.limits.max_page_size)
        self.service = GraphQLService(
            self.store,
            cursors,
            self.budget,
            self.limits.max_query_complexity,
            legacy_errors=legacy_errors,
            bulk=self.bulk,
        )
        self.wsgi_app = EmulatorApp(self)

    # -- serving -------------------------------------------------------------------------

    def transport(self) -> httpx.BaseTransport:
        """An httpx transport that runs requests through this emulator in-process."""
        return InProcessTransport(self.wsgi_app)

    @contextmanager
    def serve(
        self, host: str = "127.0.0.1", port: int = 0, *, latency: float = 0.0
    ) -> Iterator[RunningServer]:
        """Serve over real HTTP from a background thread; ``server.url`` ends in ``/v2``."""
        with serve_in_thread(self.wsgi_app, host, port, latency) as server:
            yield server

    # -- test controls -------------------------------------------------------------------

    def inject(self, fault: Fault) -> None:
        """Arm a fault (see ``ordersync.emulator.faults``)."""
        self.faults.inject(fault)

    def reset_stats(self) -> None:
        self.stats.reset()

    def forget_idempotency_keys(self, *, remember: bool | None = None) -> None:
        """Drop every cached ``Idempotency-Key`` answer, as a restarted monday would.

        Args:
            remember: when given, whether answers are cached from now on (``False``: none
                is, as for answers over 1 MB or a spent cache budget).
        """
        self.idempotency.forget()
        if remember is not None:
            self.idempotency.remember = remember

    def record(self, outcome: Outcome) -> None:
        """Add one executed request to the stats."""
        with self.stats.lock:
            self.stats.mutations.update(outcome.applied)
            self.stats.complexity_used += outcome.charged
            self.stats.errors.update(outcome.error_codes)
            if outcome.throttled is not None:
                self.stats.throttled[outcome.throttled] += 1
        self.bulk.count_mutation_creates(
            outcome.applied["create_item"] + outcome.applied["create_subitem"]
        )

    @property
    def webhooks(self) -> list[Webhook]:
        return list(self.store.webhooks.values())

    def items(self, board_id: int | str) -> list[dict[str, Any]]:
        """Every item of a board (any state), for assertions.

        Each is ``{"id", "name", "group_id", "group_title", "state", "parent_id",
        "column_values": {column_id: decoded JSON value or None}, "texts": {column_id: text}}``
        over all columns but ``name``. Import rows due by now are applied first (``bulk``).
        """
        self.bulk.advance()
        with self.store.lock:
            board = self.store.board(board_id)
            columns = [c for c in board.columns.values() if c.type != "name"]
            snapshot = []
            for item in self.store.board_items(board.id):
                cells = {c.id: self.store.cell(item, c) for c in columns}
                group = board.groups.get(item.group_id)
                snapshot.append(
                    {
                        "id": item.id,
                        "name": item.name,
                        "group_id": item.group_id,
                        "group_title": group.title if group else None,
                        "state": item.state.value,
                        "parent_id": item.parent_id,
                        "column_values": {
                            cid: None if value is None else json.loads(value)
                            for cid, (_, value) in cells.items()
                        },
                        "texts": {cid: text for cid, (text, _) in cells.items()},
                    }
                )
            return snapshot

    # -- persistence ---------------------------------------------------------------------

    def save(self, path: str | os.PathLike[str] | None = None) -> None:
        """Write the boards and items as JSON (atomically) to ``path`` or the state file."""
        target = Path(path) if path is not None else self.state_file
        if target is None:
            raise ValueError("no path given and no state_file set")
        data = json.dumps(self.store.to_dict(), indent=1)
        target.parent.mkdir(parents=True, exist_ok=True)
        fd, temporary = tempfile.mkstemp(dir=target.parent, prefix=f".{target.name}.")
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            handle.write(data)
        os.replace(temporary, target)

    def _load_or_seed(self, seed: bool) -> None:
        if self.state_file is not None and self.state_file.exists():
            try:
                self.store.load_dict(json.loads(self.state_file.read_text("utf-8")))
            except (OSError, ValueError, KeyError, TypeError, AttributeError) as error:
                raise StateFileError(
                    f"emulator state file {self.state_file} cannot be read "
                    f"({type(error).__name__}: {str(error)[:200]}); repair it, or move it "
                    "away to start from the seeded board"
                ) from None
            return
        if seed:
            self.store.seed(CMS_BOARDS)
        if self.state_file is not None:
            self.save()

    # -- webhooks and people ---------------------------------------------------------------

    def act(
        self,
        item_id: int | str,
        column_id: str | None = None,
        value: Any = None,
        *,
        archive: bool = False,
        delete: bool = False,
        user_id: int = PERSON_USER_ID,
    ) -> dict[str, Any]:
        """Change an item as a person would on the board, and send the webhooks.

        Exactly one of: set ``column_id`` (``"name"`` renames) to ``value``, a column value
        as written through the API (``"120"``, ``{"label": "SHIPPED"}``, ``None`` clears);
        ``archive``; ``delete``. Validation is the API's: a bad value raises
        ``MondayAPIError`` (e.g. ``ColumnValueException``) and changes nothing. Events carry
        ``userId`` ``user_id`` (the API's changes carry ``me``'s id, 70000001).

        Returns:
            ``{"item_id", "board_id", "state"}`` of the item.
        """
        if sum((column_id is not None, archive, delete)) != 1:
            raise ValueError("act needs exactly one of column_id, archive or delete")
        with self.store.acting_as(user_id):
            if column_id is not None:
                target = self.store.item(item_id)
                item = self.store.change_values(
                    target.board_id, target.id, {column_id: value}, False
                )
            else:
                state = ItemState.ARCHIVED if archive else ItemState.DELETED
                item = self.store.set_state(item_id, state)
            result = {"item_id": item.id, "board_id": item.board_id, "state": item.state.value}
        if self.state_file is not None:
            self.save()
        return result

    def deactivate_label(
        self, board_id: int | str, column_id: str, label: str, *, deactivated: bool = True
    ) -> None:
        """Deactivate (``deactivated=False``: reactivate) a status or dropdown label, as a
        person does in the column's settings: it stays in ``settings`` with ``is_deactivated``
        and is no longer a valid target (``column_settings``)."""
        self.store.set_label_deactivated(board_id, column_id, label, deactivated)
        if self.state_file is not None:
            self.save()

    def flush_webhooks(self, timeout: float = FLUSH_TIMEOUT) -> None:
        """Wait (real seconds, at most ``timeout``) until every webhook POST due now is done.

        Retries scheduled for later (on the emulator's clock) stay queued; advance a
        ``ManualClock`` past ``WebhookPolicy.retry_interval`` and flush again to send them.
        Raises ``TimeoutError`` when deliveries are still running after ``timeout``.
        """
        self.dispatcher.flush(timeout)

    @property
    def webhook_deliveries(self) -> list[WebhookDelivery]:
        """Every event POST so far (``url``, ``status``, ``body``, ``attempt``, ...), in order."""
        return self.dispatcher.deliveries

    @property
    def pending_webhooks(self) -> int:
        """Event POSTs queued, in flight or waiting to be retried."""
        return self.dispatcher.pending

    def close(self) -> None:
        """Stop the webhook worker and close its HTTP client (queued events are dropped)."""
        self.dispatcher.close()

    def __enter__(self) -> Emulator:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    def _verify_webhook_url(self, url: str) -> None:
        self.dispatcher.challenge(url, self.store.actor)

    def _emit(self, event: BoardEvent) -> None:
        """Record a board event and queue it for the webhooks that hear it."""
        self.events.append(event)
        listening = [w for w in self.store.webhooks.values() if matches(w, event)]
        if listening:
            self.dispatcher.dispatch(listening, event)


def serve_forever(
    host: str,
    port: int,
    state_file: str | os.PathLike[str] | None = None,
    limits: Limits | None = None,
    latency: float = 0.0,
    *,
    token: str | None = None,
    quiet: bool = False,
    webhook_secret: str | None = None,
    undocumented: Undocumented | None = None,
    account_admin: bool = True,
) -> None:
    """Run an emulator over HTTP until interrupted (``ordersync emulator``).

    ``latency`` adds real seconds to every request, for benchmarks; ``webhook_secret`` signs
    webhooks (see ``Emulator``); ``limits``, ``undocumented`` and ``account_admin`` as
    ``Emulator``'s.
    """
    emulator = Emulator(
        state_file=state_file,
        limits=limits,
        token=token,
        webhook_secret=webhook_secret,
        undocumented=undocumented,
        account_admin=account_admin,
    )
    server = make_http_server(emulator.wsgi_app, host, port, latency=latency, quiet=quiet)
    try:
        server.serve_forever()
    finally:
        server.server_close()
        emulator.close()
