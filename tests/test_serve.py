"""serve end to end: monday's webhooks (sent by the emulator, signed, in-process and over real
HTTP) reach the database on SQLite and PostgreSQL; the same event twice, a forged one, a busy
board, monday down and a restart lose nothing and change nothing twice."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterable, Iterator
from decimal import Decimal
from pathlib import Path
from typing import Any

import httpx
import jwt
import pytest
import sqlalchemy as sa
from graphql import build_schema, parse, validate

from board_support import (
    CUT_QTY,
    FCST_QTY,
    GREYSON,
    LINE_STATUS,
    PRICE,
    active_items,
    active_subitems,
    demo_database,
    mirror_item,
    pushed_columns,
    rows,
)
from ordersync.clock import ManualClock
from ordersync.config import SyncConfig
from ordersync.db import Database
from ordersync.db.lock import board_lock
from ordersync.emulator import CMS_BOARD_ID, Emulator, Fault
from ordersync.monday import MondayClient
from ordersync.serve import Authentication, WebhookServer, event_key, verify_signature
from ordersync.states import MirrorState
from ordersync.sync import run_sync
from ordersync.webhooks import DOCUMENTS, WEBHOOK_EVENTS, install_webhooks
from support import REAL_SCHEMA, require_shared

SECRET = "s3cr3t-signing-secret-of-32-bytes+"
FORGER = "an0ther-signing-secret-of-32-bytes"
RECEIVER = "http://ordersync.test/monday"


class Forward:
    """A WSGI app that forwards to one set later (the emulator is made before the server)."""

    app: Any = None

    def __call__(self, environ: dict[str, Any], start_response: Any) -> Iterable[bytes]:
        return self.app(environ, start_response)  # type: ignore[no-any-return]


@pytest.fixture
def forward() -> Forward:
    return Forward()


@pytest.fixture
def emulator(clock: ManualClock, forward: Forward) -> Iterator[Emulator]:
    transport = httpx.WSGITransport(app=forward)
    with Emulator(clock=clock, webhook_secret=SECRET, webhook_transport=transport) as emu:
        yield emu


@pytest.fixture
def server(
    db: Database, config: SyncConfig, client: MondayClient, forward: Forward
) -> WebhookServer:
    """The receiver, wired in-process; its loop is not started (tests apply explicitly)."""
    built = WebhookServer(db, config, client, CMS_BOARD_ID, Authentication(SECRET))
    forward.app = built.app
    return built


@pytest.fixture
def hooked(
    db: Database, config: SyncConfig, client: MondayClient, server: WebhookServer
) -> WebhookServer:
    """GREYSON PO 4755 synced, webhooks installed, the events of the sync itself applied."""
    assert run_sync(db, config, client, GREYSON).exit_code == 0
    assert install_webhooks(client, CMS_BOARD_ID, RECEIVER).exit_code == 0
    return server


def first_line(emulator: Emulator) -> tuple[str, dict[str, Any], list[dict[str, Any]]]:
    items = active_items(emulator)
    key = sorted(items)[0]
    subitems = [s for s in active_subitems(emulator) if s["parent_id"] == items[key]["id"]]
    return key, items[key], subitems


def events(db: Database) -> list[sa.Row]:
    return rows(db, db.tables.webhook_events)


def changes(db: Database, source: str | None = None) -> list[sa.Row]:
    table = db.tables.value_changes
    return rows(db, table, *([table.c.source == source] if source else []))


def pulled(db: Database, monday_id: int) -> dict[str, sa.Row]:
    table = db.tables.pulled_values
    return {r.column_id: r for r in rows(db, table, table.c.monday_id == monday_id)}


def values(db: Database, monday_id: int) -> dict[str, tuple[Any, ...]]:
    """Pulled values without ``pulled_at`` (which only says when monday was last read)."""
    return {
        column: (r.text_value, r.number_value, r.source, r.changed_at)
        for column, r in pulled(db, monday_id).items()
    }


def post(server: WebhookServer, body: dict[str, Any], token: str | None) -> httpx.Response:
    headers = {"Authorization": token} if token else {}
    with httpx.Client(transport=httpx.WSGITransport(app=server.app)) as http:
        return http.post(RECEIVER, json=body, headers=headers)


def signed(secret: str = SECRET, **claims: Any) -> str:
    now = int(time.time())
    return jwt.encode({"aud": RECEIVER, "iat": now, "exp": now + 300, **claims}, secret, "HS256")


# ---------------------------------------------------------------------- install and receive
def test_install_answers_the_challenge_and_registers_every_event(
    db: Database, client: MondayClient, emulator: Emulator, server: WebhookServer
) -> None:
    report = install_webhooks(client, CMS_BOARD_ID, RECEIVER)
    assert report.exit_code == 0 and set(report.installed) == set(WEBHOOK_EVENTS)
    assert {(w.event, w.url, w.board_id) for w in emulator.webhooks} == {
        (event, RECEIVER, str(CMS_BOARD_ID)) for event in WEBHOOK_EVENTS
    }
    again = install_webhooks(client, CMS_BOARD_ID, RECEIVER)
    assert again.existing == dict.fromkeys(WEBHOOK_EVENTS, 1)
    assert events(db) == []  # a challenge is answered, never stored


def test_install_reports_an_event_monday_refuses(
    client: MondayClient, server: WebhookServer
) -> None:
    report = install_webhooks(client, CMS_BOARD_ID, RECEIVER, ("create_item", "no_such_event"))
    assert report.installed.keys() == {"create_item"} and "no_such_event" in report.refused
    assert report.exit_code == 3


@pytest.mark.schema
def test_webhook_documents_are_valid_against_monday_schema() -> None:
    require_shared(REAL_SCHEMA)
    schema = build_schema(REAL_SCHEMA.read_text(encoding="utf-8"))
    for _name, document in DOCUMENTS:
        assert validate(schema, parse(document)) == []


def test_the_sync_s_own_changes_are_neither_values_nor_drift(
    db: Database,
    config: SyncConfig,
    client: MondayClient,
    emulator: Emulator,
    server: WebhookServer,
) -> None:
    install_webhooks(client, CMS_BOARD_ID, RECEIVER)
    assert run_sync(db, config, client, GREYSON).exit_code == 0
    emulator.flush_webhooks()
    stored = len(events(db))
    assert stored >= 69 + 264  # every item and subitem created

    report = server.applier.apply_pending()

    assert report.events == stored and not report.deferred
    assert report.values_changed == 0 and report.drifts == [] and report.unknown == 0
    assert server.applier.pending_count() == 0 and changes(db) == []


def test_people_s_edits_reach_the_database_by_webhook(
    hooked: WebhookServer, db: Database, emulator: Emulator
) -> None:
    key, item, subitems = first_line(emulator)
    emulator.act(subitems[0]["id"], CUT_QTY, "12")
    emulator.act(subitems[0]["id"], LINE_STATUS, {"label": "IN PRODUCTION"})
    emulator.act(item["id"], FCST_QTY, "300")
    emulator.flush_webhooks()
    assert [d.status for d in emulator.webhook_deliveries[-3:]] == [200, 200, 200]
    assert len(events(db)) == 3 and hooked.applier.pending_count() == 3  # stored, then applied

    report = hooked.applier.apply_pending()

    assert (report.events, report.values_changed, report.drifts) == (3, 3, [])
    sub = pulled(db, subitems[0]["id"])
    assert sub[CUT_QTY].number_value == Decimal(12) and sub[CUT_QTY].source == "webhook"
    assert sub[LINE_STATUS].text_value == "IN PRODUCTION"
    assert pulled(db, item["id"])[FCST_QTY].number_value == Decimal(300)
    assert json.loads(mirror_item(db, key).monday_values) == {FCST_QTY: "300"}
    keys = {row.event_key for row in events(db)}
    assert {c.event_key for c in changes(db, "webhook")} <= keys
    assert all(row.applied_at is not None for row in events(db))


def test_a_hand_edit_of_a_database_owned_column_by_webhook_is_drift(
    hooked: WebhookServer,
    db: Database,
    config: SyncConfig,
    client: MondayClient,
    emulator: Emulator,
) -> None:
    key, item, _ = first_line(emulator)
    price = item["texts"][PRICE]
    emulator.act(item["id"], PRICE, "999")
    emulator.flush_webhooks()

    report = hooked.applier.apply_pending()

    assert [(d.column_id, d.pushed, d.on_board) for d in report.drifts] == [(PRICE, price, "999")]
    assert [(c.column_id, c.new_text) for c in changes(db, "drift")] == [(PRICE, "999")]
    assert PRICE not in pushed_columns(db, key) and mirror_item(db, key).row_hash is None
    assert run_sync(db, config, client, GREYSON).exit_code == 0
    assert active_items(emulator)[key]["texts"][PRICE] == price
    emulator.flush_webhooks()  # the sync's own correction comes back as an event
    assert hooked.applier.apply_pending().drifts == []
    assert len(changes(db, "drift")) == 1


def test_an_item_deleted_on_monday_follows_the_policy(
    hooked: WebhookServer,
    db: Database,
    config: SyncConfig,
    client: MondayClient,
    emulator: Emulator,
) -> None:
    key, item, _ = first_line(emulator)
    emulator.act(item["id"], delete=True)
    emulator.flush_webhooks()

    report = hooked.applier.apply_pending()

    assert [(m.order_key, m.state) for m in report.missing] == [(key, "deleted")]
    assert mirror_item(db, key).state == MirrorState.ARCHIVED
    assert run_sync(db, config, client, GREYSON).exit_code == 0
    assert key in active_items(emulator)  # re-created


# ---------------------------------------------------------------------- never twice, never forged
def test_the_same_event_twice_changes_nothing(
    hooked: WebhookServer, db: Database, emulator: Emulator
) -> None:
    _, _, subitems = first_line(emulator)
    emulator.act(subitems[0]["id"], CUT_QTY, "12")
    emulator.flush_webhooks()
    body = emulator.webhook_deliveries[-1].body
    hooked.applier.apply_pending()
    before = (len(events(db)), len(changes(db)), values(db, subitems[0]["id"]))

    again = post(hooked, body, signed())
    retried = post(hooked, {"event": {**body["event"], "isRetry": True}}, signed())

    assert again.status_code == retried.status_code == 200
    assert again.json() == {"ok": True, "duplicate": True}
    assert hooked.applier.pending_count() == 0
    assert hooked.applier.apply_pending().events == 0
    with db.engine.begin() as connection:  # and applying a stored event again is a no-op
        connection.execute(db.tables.webhook_events.update().values(applied_at=None))
    assert hooked.applier.apply_pending().values_changed == 0
    assert (len(events(db)), len(changes(db)), values(db, subitems[0]["id"])) == before


def test_a_forged_or_unsigned_webhook_is_refused(
    hooked: WebhookServer, db: Database, emulator: Emulator
) -> None:
    _, item, _ = first_line(emulator)
    event = {
        "event": {
            "type": "update_column_value",
            "boardId": CMS_BOARD_ID,
            "pulseId": item["id"],
            "columnId": FCST_QTY,
            "value": {"value": 1},
            "triggerUuid": "forged-1",
        }
    }
    expired = jwt.encode({"exp": int(time.time()) - 3600}, SECRET, "HS256")
    for token in (None, signed(FORGER), expired, "not-a-jwt", signed(algorithm_none=1)[:-5]):
        response = post(hooked, event, token)
        assert response.status_code == 401, token
    assert post(hooked, {"challenge": "abc"}, signed(FORGER)).status_code == 401
    assert events(db) == [] and changes(db) == []
    assert post(hooked, {"challenge": "abc"}, signed()).json() == {"challenge": "abc"}


def test_insecure_stores_unsigned_events(
    db: Database, config: SyncConfig, client: MondayClient
) -> None:
    open_server = WebhookServer(db, config, client, CMS_BOARD_ID, Authentication(insecure=True))
    event = {"event": {"type": "create_pulse", "boardId": CMS_BOARD_ID, "pulseId": 1}}
    assert post(open_server, event, None).json() == {"ok": True}
    assert post(open_server, event, None).json() == {"ok": True, "duplicate": True}
    assert len(events(db)) == 1
    report = open_server.applier.apply_pending()  # an id monday does not know: nothing to do
    assert (report.events, report.values_changed, report.unknown) == (1, 0, 0)


@pytest.mark.parametrize(
    ("header", "ok"),
    [
        (None, False),
        ("", False),
        ("Bearer " + signed(), True),
        (signed(), True),
        (jwt.encode({"userId": 1}, None, "none"), False),  # the unsigned-token attack
        (signed(aud="https://elsewhere"), True),  # the host is not checked, only the path
    ],
)
def test_verify_signature(header: str | None, ok: bool) -> None:
    assert verify_signature(header, SECRET) is ok


def test_bad_requests_are_refused_and_health_is_reported(server: WebhookServer) -> None:
    with httpx.Client(transport=httpx.WSGITransport(app=server.app)) as http:
        token = {"Authorization": signed()}
        assert http.post(RECEIVER, content=b"{not json", headers=token).status_code == 400
        assert http.post(RECEIVER, json=[1], headers=token).status_code == 400
        assert http.post(RECEIVER, content=b"x" * (2 << 20), headers=token).status_code == 413
        assert http.put(RECEIVER, json={}, headers=token).status_code == 405
        assert http.get(RECEIVER).json() == {"status": "ok", "pending_events": 0}


def test_event_keys_come_from_monday_or_from_the_payload() -> None:
    assert event_key({"triggerUuid": "abc", "pulseId": 1}) == "abc"
    first = event_key({"pulseId": 1, "subscriptionId": 5, "isRetry": False})
    assert first == event_key({"pulseId": 1, "subscriptionId": 6, "isRetry": True})
    assert first != event_key({"pulseId": 2}) and first.startswith("sha256:")


# ---------------------------------------------------------------------- never lost
def test_events_wait_while_a_sync_or_pull_holds_the_board(
    hooked: WebhookServer, db: Database, emulator: Emulator
) -> None:
    _, item, _ = first_line(emulator)
    emulator.act(item["id"], FCST_QTY, "5")
    emulator.flush_webhooks()
    with board_lock(db.engine, db.tables.locks, CMS_BOARD_ID):
        waiting = hooked.applier.apply_pending()
    assert waiting.deferred and waiting.events == 0 and hooked.applier.pending_count() == 1
    assert hooked.applier.apply_pending().values_changed == 1


def test_events_survive_monday_being_down_and_a_restart(
    hooked: WebhookServer,
    db: Database,
    config: SyncConfig,
    client: MondayClient,
    emulator: Emulator,
) -> None:
    _, item, _ = first_line(emulator)
    emulator.act(item["id"], FCST_QTY, "5")
    emulator.flush_webhooks()
    emulator.inject(Fault(kind="status", status=500, match="items", times=100))

    down = hooked.applier.apply_pending()

    assert down.deferred and hooked.applier.pending_count() == 1
    assert "500" in (events(db)[0].error or "")
    emulator.faults.clear()
    restarted = WebhookServer(db, config, client, CMS_BOARD_ID, Authentication(SECRET))
    restarted.start()
    try:
        assert restarted.wait_idle(timeout=30)
    finally:
        restarted.stop()
    assert pulled(db, item["id"])[FCST_QTY].number_value == Decimal(5)


# ---------------------------------------------------------------------- over real HTTP
def test_webhooks_over_real_http(db: Database, config: SyncConfig) -> None:
    emulator = Emulator(webhook_secret=SECRET)  # posts over real HTTP, on the system clock
    with (
        emulator,
        emulator.serve() as monday,
        MondayClient(monday.url, "http-test-token") as client,
    ):
        assert run_sync(db, config, client, GREYSON).exit_code == 0
        server = WebhookServer(db, config, client, CMS_BOARD_ID, Authentication(SECRET))
        with server.running() as url:
            assert install_webhooks(client, CMS_BOARD_ID, url).exit_code == 0
            _, item, subitems = first_line(emulator)
            emulator.act(subitems[1]["id"], CUT_QTY, "9")
            emulator.act(item["id"], PRICE, "1")
            emulator.flush_webhooks(timeout=30)
            assert server.wait_idle(timeout=30)
    assert pulled(db, subitems[1]["id"])[CUT_QTY].number_value == Decimal(9)
    assert [c.column_id for c in changes(db, "drift")] == [PRICE]


# ---------------------------------------------------------------------- the command line
ENTRY = [sys.executable, "-c", "from ordersync.cli import main; main()"]


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def cli_environment(database_url: str, api_url: str, tmp_path: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("ORDERSYNC_", "MONDAY_"))}
    env.update(
        ORDERSYNC_DATABASE_URL=database_url,
        MONDAY_API_URL=api_url,
        MONDAY_API_TOKEN="cli-test-token",
        ORDERSYNC_WEBHOOK_SECRET=SECRET,
        HOME=str(tmp_path),
        COLUMNS="120",
    )
    return env


def wait_until(check: Any, timeout: float = 30.0) -> bool:
    """Poll ``check`` (a subprocess's progress: nothing in this process to wait on)."""
    deadline = time.monotonic() + timeout
    pause = threading.Event()
    while time.monotonic() < deadline:
        if check():
            return True
        pause.wait(0.05)
    return False


def test_serve_and_webhooks_install_from_the_command_line(
    sqlite_url: str, config: SyncConfig, tmp_path: Path
) -> None:
    db = demo_database(sqlite_url)
    emulator = Emulator(webhook_secret=SECRET)
    port = free_port()
    with emulator, emulator.serve() as monday:
        env = cli_environment(sqlite_url, monday.url, tmp_path)
        with MondayClient(monday.url, "t") as client:
            assert run_sync(db, config, client, GREYSON).exit_code == 0
        serving = subprocess.Popen(
            [*ENTRY, "serve", "--port", str(port)],
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        url = f"http://127.0.0.1:{port}/monday"
        try:
            assert wait_until(lambda: _answers(url)), "ordersync serve did not start"
            install = subprocess.run(
                [*ENTRY, "webhooks", "install", "--url", url, "--json"],
                env=env,
                capture_output=True,
                text=True,
                timeout=120,
                check=False,
            )
            assert install.returncode == 0, install.stderr
            assert set(json.loads(install.stdout)["installed"]) == set(WEBHOOK_EVENTS)
            _, item, _ = first_line(emulator)
            emulator.act(item["id"], FCST_QTY, "77")
            emulator.flush_webhooks(timeout=30)
            assert wait_until(lambda: FCST_QTY in pulled(db, item["id"]))
        finally:
            serving.terminate()
            serving.communicate(timeout=30)
    assert pulled(db, item["id"])[FCST_QTY].source == "webhook"
    db.engine.dispose()


def _answers(url: str) -> bool:
    try:
        return httpx.get(url, timeout=1).status_code == 200
    except httpx.HTTPError:
        return False
