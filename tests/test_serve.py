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
from collections.abc import Callable, Iterable, Iterator
from decimal import Decimal
from pathlib import Path
from typing import Any

import httpx
import jwt
import pytest
import sqlalchemy as sa
from graphql import build_schema, parse, validate

from helpers.board_support import (
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
from helpers.support import REAL_SCHEMA, require_shared
from ordersync.clock import ManualClock
from ordersync.config import SyncConfig
from ordersync.db import Database
from ordersync.db.lock import board_lock
from ordersync.emulator import CMS_BOARD_ID, Emulator, Fault
from ordersync.monday import MondayClient
from ordersync.monday.documents import WEBHOOK_DOCUMENTS
from ordersync.pull.install import WEBHOOK_EVENTS, install_webhooks
from ordersync.pull.receiver import Authentication, WebhookServer, event_key, verify_signature
from ordersync.states import MirrorState
from ordersync.sync import run_sync

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
def db(synced: Database) -> Database:
    """Tests here start from GREYSON PO 4755 synced (``synced``: the database and the board, a
    copy of the session's template); the test of the first sync's own events uses
    ``unsynced``."""
    return synced


@pytest.fixture
def unsynced(db_url: str) -> Iterator[Database]:
    """The demo database, nothing synced yet."""
    database = demo_database(db_url)
    yield database
    database.engine.dispose()


def receiver(
    db: Database, config: SyncConfig, client: MondayClient, forward: Forward
) -> WebhookServer:
    built = WebhookServer(db, config, client, CMS_BOARD_ID, Authentication(SECRET))
    forward.app = built.app
    return built


@pytest.fixture
def server(
    db: Database, config: SyncConfig, client: MondayClient, forward: Forward
) -> WebhookServer:
    """The receiver, wired in-process; its loop is not started (tests apply explicitly)."""
    return receiver(db, config, client, forward)


@pytest.fixture
def hooked(client: MondayClient, server: WebhookServer) -> WebhookServer:
    """GREYSON PO 4755 synced (``db``), then webhooks installed: people's edits come as events."""
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
    for _name, document in WEBHOOK_DOCUMENTS:
        assert validate(schema, parse(document)) == []


def test_the_sync_s_own_changes_are_neither_values_nor_drift(
    unsynced: Database,
    config: SyncConfig,
    client: MondayClient,
    emulator: Emulator,
    forward: Forward,
) -> None:
    db, server = unsynced, receiver(unsynced, config, client, forward)
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
        (lambda: None, False),
        (lambda: "", False),
        (lambda: "Bearer " + signed(), True),
        (lambda: signed(), True),
        (lambda: jwt.encode({"userId": 1}, None, "none"), False),  # the unsigned-token attack
        (lambda: signed(aud="https://elsewhere"), True),  # the host is not checked, only the path
    ],
)
def test_verify_signature(header: Callable[[], str | None], ok: bool) -> None:
    # Tokens are made when the test runs: monday's expire in minutes, and a long suite
    # collects its parameters long before it runs them.
    assert verify_signature(header(), SECRET) is ok


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
def test_webhooks_over_real_http(
    db: Database, synced_board: dict[str, Any], config: SyncConfig
) -> None:
    emulator = Emulator(webhook_secret=SECRET)  # posts over real HTTP, on the system clock
    emulator.store.load_dict(synced_board)
    with (
        emulator,
        emulator.serve() as monday,
        MondayClient(monday.url, "http-test-token") as client,
    ):
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


@pytest.mark.parametrize("signing", [True, False], ids=["app-signed", "personal-unsigned"])
def test_serve_and_webhooks_install_from_the_command_line(
    sqlite_url: str, config: SyncConfig, tmp_path: Path, signing: bool
) -> None:
    db = demo_database(sqlite_url)
    emulator = Emulator(webhook_secret=SECRET if signing else None)
    port = free_port()
    with emulator, emulator.serve() as monday:
        env = cli_environment(sqlite_url, monday.url, tmp_path)
        env["ORDERSYNC_WEBHOOK_PATH_SECRET"] = PATH
        if not signing:
            del env["ORDERSYNC_WEBHOOK_SECRET"]
        with MondayClient(monday.url, "t") as client:
            assert run_sync(db, config, client, GREYSON).exit_code == 0
        serving = subprocess.Popen(
            [*ENTRY, "--verbose", "serve", "--port", str(port)],
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        url = f"http://127.0.0.1:{port}/monday"
        try:
            assert wait_until(lambda: _answers(url)), "ordersync serve did not start"
            assert httpx.post(url, json={"challenge": "x"}).status_code == 404
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
            assert {w.url for w in emulator.webhooks} == {f"{url}/{PATH}"}
            _, item, _ = first_line(emulator)
            emulator.act(item["id"], FCST_QTY, "77")
            emulator.flush_webhooks(timeout=30)
            assert wait_until(lambda: FCST_QTY in pulled(db, item["id"]))
        finally:
            serving.terminate()
            out, err = serving.communicate(timeout=30)
    assert pulled(db, item["id"])[FCST_QTY].source == "webhook"
    assert "<path hidden>" in err  # the request log was on, and hid the path
    for text in (out, err, install.stdout, install.stderr):
        assert PATH not in text and SECRET not in text
    db.engine.dispose()


def test_serve_does_not_start_without_authentication(sqlite_url: str, tmp_path: Path) -> None:
    env = cli_environment(sqlite_url, "http://127.0.0.1:9/v2", tmp_path)
    del env["ORDERSYNC_WEBHOOK_SECRET"]
    done = subprocess.run(
        [*ENTRY, "serve", "--port", str(free_port())],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert done.returncode == 2 and "--insecure" in done.stderr
    env["ORDERSYNC_WEBHOOK_PATH_SECRET"] = "guessable"
    weak = subprocess.run(
        [*ENTRY, "serve"], env=env, capture_output=True, text=True, timeout=60, check=False
    )
    assert weak.returncode == 2 and "at least 24 characters" in weak.stderr
    assert "guessable" not in weak.stderr


def _answers(url: str) -> bool:
    try:
        return httpx.get(url, timeout=1).status_code == 200
    except httpx.HTTPError:
        return False


# ====================================================================== attacks and limits
PATH = "p4th-s3cret-0f-the-rece1ver-xyz123"
BOARD_EVENT = {"type": "update_column_value", "boardId": CMS_BOARD_ID, "pulseId": 1}


def post_to(
    server: WebhookServer,
    path: str,
    body: Any,
    token: str | None = None,
    *,
    content: bytes | None = None,
) -> httpx.Response:
    headers = {"Authorization": token} if token else {}
    with httpx.Client(transport=httpx.WSGITransport(app=server.app)) as http:
        url = f"http://ordersync.test{path}"
        if content is not None:
            return http.post(url, content=content, headers=headers)
        return http.post(url, json=body, headers=headers)


def event_body(**fields: Any) -> dict[str, Any]:
    return {"event": {**BOARD_EVENT, "triggerUuid": uuid4_hex(), **fields}}


def uuid4_hex() -> str:
    import uuid

    return uuid.uuid4().hex


def token(secret: str = SECRET, algorithm: str = "HS256", **claims: Any) -> str:
    now = int(time.time())
    base: dict[str, Any] = {"aud": RECEIVER, "iat": now, "exp": now + 300}
    payload = {k: v for k, v in {**base, **claims}.items() if v is not None}
    return jwt.encode(payload, secret, algorithm)


@pytest.fixture
def by_path(db: Database, config: SyncConfig, client: MondayClient) -> WebhookServer:
    """A receiver for personal-token webhooks: unsigned, on the secret path."""
    return WebhookServer(db, config, client, CMS_BOARD_ID, Authentication(path_secret=PATH))


NOW = int(time.time())


@pytest.mark.parametrize(
    ("case", "header"),
    [
        ("no exp", token(exp=None)),
        ("10-year exp", token(exp=NOW + 10 * 365 * 86400)),
        ("exp 2 days ahead", token(exp=NOW + 2 * 86400)),
        ("expired", token(exp=NOW - 3600, iat=NOW - 3900)),
        ("wrong secret", token(FORGER)),
        ("alg none", jwt.encode({"aud": RECEIVER, "exp": NOW + 300}, None, "none")),
        ("wrong aud path", token(aud="http://ordersync.test/elsewhere")),
        ("no aud", token(aud=None)),
        ("aud not a string", token(aud=["x"])),
        ("iat in the future", token(iat=NOW + 3600)),
        ("exp not a number", jwt.encode({"aud": RECEIVER, "exp": "soon"}, SECRET, "HS256")),
        ("garbage", "Bearer not.a.jwt"),
    ],
)
def test_bad_tokens_are_refused(
    server: WebhookServer, db: Database, case: str, header: str
) -> None:
    assert post_to(server, "/monday", event_body(), header).status_code == 401, case
    assert post_to(server, "/monday", {"challenge": "c"}, header).status_code == 401, case
    assert events(db) == []


def test_a_good_token_within_a_day_is_accepted(server: WebhookServer, db: Database) -> None:
    for header in (token(), token(exp=NOW + 86000), "Bearer " + token(iat=None)):
        assert post_to(server, "/monday", event_body(), header).json() == {"ok": True}
    assert len(events(db)) == 3


def test_unsigned_requests_need_the_secret_path(by_path: WebhookServer, db: Database) -> None:
    ok = post_to(by_path, f"/monday/{PATH}", event_body())
    assert ok.status_code == 200 and ok.json() == {"ok": True}
    assert post_to(by_path, f"/any/prefix/{PATH}/", event_body()).status_code == 200
    assert post_to(by_path, f"/monday/{PATH}", {"challenge": "c"}).json() == {"challenge": "c"}
    guesses = ["/monday", "/", f"/monday/{PATH[:-1]}", f"/monday/{PATH}x", f"/{PATH}/monday"]
    guesses += [f"/monday/{PATH.upper()}", f"/monday/x{PATH}"]
    for path in guesses:
        assert post_to(by_path, path, event_body()).status_code == 404, path
        assert post_to(by_path, path, {"challenge": "c"}).status_code == 404, path
    # no JWT secret configured: a token proves nothing, and a forged one never passes the path
    assert post_to(by_path, "/monday", event_body(), token()).status_code == 404
    assert len(events(db)) == 2


def test_on_the_secret_path_a_bad_token_is_still_refused(
    db: Database, config: SyncConfig, client: MondayClient
) -> None:
    both = WebhookServer(db, config, client, CMS_BOARD_ID, Authentication(SECRET, PATH))
    path = f"/monday/{PATH}"
    forged = token(FORGER, aud=f"http://ordersync.test{path}")
    assert post_to(both, path, event_body(), forged).status_code == 401
    assert post_to(both, "/monday", event_body()).status_code == 404  # unsigned, plain path
    assert post_to(both, "/monday", event_body(), token()).status_code == 200  # app webhook
    good = token(aud=f"https://public.example{path}")
    assert post_to(both, path, event_body(), good).status_code == 200
    assert len(events(db)) == 2


def test_serve_refuses_to_start_without_authentication() -> None:
    from ordersync.errors import ConfigError

    with pytest.raises(ConfigError, match="--insecure"):
        Authentication().check()
    for weak in ("short", "x" * 23, "has/slash-" + "x" * 20, "spaces here " + "x" * 20):
        with pytest.raises(ConfigError, match="ORDERSYNC_WEBHOOK_PATH_SECRET"):
            Authentication(path_secret=weak).check()
    Authentication(insecure=True).check()
    Authentication(SECRET).check()
    Authentication(path_secret=PATH).check()


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("pulseId", "²"),
        ("pulseId", "1e3"),
        ("pulseId", "-1"),
        ("pulseId", -1),
        ("pulseId", 0),
        ("pulseId", "1" * 30),
        ("pulseId", 10**30),
        ("pulseId", 2**63),
        ("pulseId", 1.5),
        ("pulseId", True),
        ("pulseId", " 12"),
        ("pulseId", "١٢"),  # Arabic-Indic digits: isdigit() and int() both accept them
        ("pulseId", {"id": 1}),
        ("itemId", "²"),
        ("boardId", "²"),
        ("boardId", None),
        ("parentItemBoardId", "1" * 30),
        ("parentItemId", "-1"),
        ("type", {"x": 1}),
    ],
)
def test_odd_ids_are_refused_with_400(
    by_path: WebhookServer, db: Database, field: str, value: Any
) -> None:
    response = post_to(by_path, f"/monday/{PATH}", event_body(**{field: value}))
    assert response.status_code == 400, response.text
    assert "error" in response.json() and "Traceback" not in response.text
    assert events(db) == []


def test_malformed_bodies_get_400_or_413(by_path: WebhookServer, db: Database) -> None:
    path = f"/monday/{PATH}"
    deep = b"[" * 30_000 + b"]" * 30_000  # under the size cap, far over Python's recursion
    deeper = b"[" * 100_000 + b"]" * 100_000
    deep_event = b'{"event": ' + b'{"a": ' * 40 + b"1" + b"}" * 41
    for content in (deep, deeper, deep_event, b"{not json", b"\xff\xfe", b"[1]", b'"x"', b"null"):
        response = post_to(by_path, path, None, content=content)
        assert response.status_code in (400, 413), (content[:20], response.status_code)
    assert post_to(by_path, path, None, content=deep).status_code == 400
    assert post_to(by_path, path, {"event": {"pulseId": 1}}).status_code == 400  # no boardId
    strings = json.dumps(event_body(note="[[[[{{{{" * 20, quoted='"[\\"')).encode()
    assert post_to(by_path, path, None, content=strings).status_code == 200  # in strings: fine
    huge = json.dumps(event_body(value="x" * (70 * 1024))).encode()
    assert post_to(by_path, path, None, content=huge).status_code == 413

    def chunks() -> Iterator[bytes]:
        yield b'{"event": {"boardId": 1, "pad": "'
        for _ in range(100):
            yield b"x" * 1024
        yield b'"}}'

    with by_path.running() as url, httpx.Client() as http:  # real HTTP: chunked upload
        streamed = http.post(f"{url}/{PATH}", content=chunks())
        small = http.post(f"{url}/{PATH}", content=iter([b'{"challenge": ', b'"c"}']))
    assert streamed.status_code == 413  # no Content-Length: the cap still holds
    assert small.json() == {"challenge": "c"}
    assert len(events(db)) == 1


def test_only_events_of_the_configured_boards_are_kept(
    by_path: WebhookServer, db: Database
) -> None:
    path = f"/monday/{PATH}"
    other = post_to(by_path, path, event_body(boardId=123456789))
    assert other.status_code == 200 and "ignored" in other.json()
    spoofed = event_body(boardId=123456789, parentItemBoardId=str(CMS_BOARD_ID))
    assert "ignored" in post_to(by_path, path, spoofed).json()
    from ordersync.emulator import CMS_SUBITEMS_BOARD_ID

    sub = event_body(boardId=CMS_SUBITEMS_BOARD_ID, parentItemBoardId=str(CMS_BOARD_ID))
    assert post_to(by_path, path, sub).json() == {"ok": True}
    assert post_to(by_path, path, event_body()).json() == {"ok": True}
    assert sorted(row.board_id for row in events(db)) == sorted(
        [CMS_BOARD_ID, CMS_SUBITEMS_BOARD_ID]
    )


def plant_event(
    db: Database, key: str, payload: dict[str, Any], board: int | None = CMS_BOARD_ID
) -> None:
    """An event as an older ordersync stored it (without today's checks)."""
    with db.engine.begin() as connection:
        connection.execute(
            db.tables.webhook_events.insert().values(
                event_key=key,
                board_id=board,
                event_type=str(payload.get("type", "event")),
                payload=json.dumps(payload),
                received_at=_now(),
            )
        )


def _now() -> Any:
    from ordersync.db import utcnow

    return utcnow()


def test_a_poison_event_is_quarantined_and_the_rest_flow(
    hooked: WebhookServer, db: Database, emulator: Emulator
) -> None:
    _, item, _ = first_line(emulator)
    plant_event(db, "poison-superscript", {**BOARD_EVENT, "pulseId": "²"})
    plant_event(db, "poison-30-digits", {**BOARD_EVENT, "pulseId": "1" * 30})
    plant_event(db, "poison-not-json", {})
    plant_event(db, "poison-board", {**BOARD_EVENT, "boardId": "4755559751x"}, None)
    with db.engine.begin() as connection:
        table = db.tables.webhook_events
        connection.execute(
            table.update().where(table.c.event_key == "poison-not-json").values(payload="{oops")
        )
    emulator.act(item["id"], FCST_QTY, "41")
    emulator.flush_webhooks()

    report = hooked.applier.apply_pending()

    assert report.quarantined == 4 and report.values_changed == 1 and not report.deferred
    assert pulled(db, item["id"])[FCST_QTY].number_value == Decimal(41)
    by_key = {row.event_key: row for row in events(db)}
    for key in ("poison-superscript", "poison-30-digits", "poison-not-json", "poison-board"):
        assert by_key[key].state == "QUARANTINED" and by_key[key].error, key
        assert by_key[key].applied_at is None
    assert "pulseId" in by_key["poison-superscript"].error
    assert hooked.applier.pending_count() == 0
    restarted = hooked.applier.apply_pending()  # and they never come back
    assert (restarted.events, restarted.quarantined) == (0, 0)


def test_other_boards_pending_events_are_left_to_their_receiver(
    hooked: WebhookServer, db: Database, emulator: Emulator
) -> None:
    other_board = 4755559999
    plant_event(db, "for-the-other-receiver", {**BOARD_EVENT, "boardId": other_board}, other_board)
    _, item, _ = first_line(emulator)
    emulator.act(item["id"], FCST_QTY, "42")
    emulator.flush_webhooks()

    report = hooked.applier.apply_pending()

    assert report.values_changed == 1
    (theirs,) = [row for row in events(db) if row.event_key == "for-the-other-receiver"]
    assert theirs.state == "PENDING" and theirs.applied_at is None and theirs.error is None
    assert hooked.applier.pending_count() == 0  # ours are done; theirs are not counted


def test_archive_and_restore_on_monday_never_duplicate(
    hooked: WebhookServer,
    db: Database,
    config: SyncConfig,
    client: MondayClient,
    emulator: Emulator,
) -> None:
    from ordersync.emulator.events import Context, item_restored
    from ordersync.emulator.model import ItemState

    key, item, subitems = first_line(emulator)
    emulator.act(item["id"], archive=True)
    emulator.flush_webhooks()
    assert [m.state for m in hooked.applier.apply_pending().missing] == ["archived"]
    assert mirror_item(db, key).state == MirrorState.ARCHIVED

    store = emulator.store  # a person restores it (the emulator has no "restore" action)
    for target in (item["id"], *[s["id"] for s in subitems]):
        store.item(target).state = ItemState.ACTIVE
    board = store.board(CMS_BOARD_ID)
    restored = item_restored(Context(1, time.time()), board, store.item(item["id"]))
    body = {"event": {**restored.payload, "subscriptionId": 1}}
    assert post(hooked, body, signed()).json() == {"ok": True}

    report = hooked.applier.apply_pending()

    assert {(r.order_key, r.size_label) for r in report.restored} >= {(key, None)}
    assert mirror_item(db, key).state == MirrorState.ACTIVE
    sub_states = {
        r.state for r in rows(db, db.tables.subitems, db.tables.subitems.c.order_key == key)
    }
    assert sub_states == {MirrorState.ACTIVE}
    assert [c.new_text for c in changes(db) if c.column_id == "item_state"][-1] == "active"
    before = len(active_items(emulator)), len(active_subitems(emulator))
    assert run_sync(db, config, client, GREYSON).exit_code == 0
    assert (len(active_items(emulator)), len(active_subitems(emulator))) == before
    assert active_items(emulator)[key]["id"] == item["id"]  # the restored item, not a copy


def test_a_subitem_archived_on_monday_is_created_again(
    hooked: WebhookServer,
    db: Database,
    config: SyncConfig,
    client: MondayClient,
    emulator: Emulator,
) -> None:
    key, _, subitems = first_line(emulator)
    emulator.act(subitems[0]["id"], archive=True)
    emulator.act(subitems[1]["id"], delete=True)
    emulator.flush_webhooks()

    report = hooked.applier.apply_pending()

    assert sorted(m.state for m in report.missing) == ["archived", "deleted"]
    assert run_sync(db, config, client, GREYSON).exit_code == 0
    parent = active_items(emulator)[key]["id"]
    assert len([s for s in active_subitems(emulator) if s["parent_id"] == parent]) == len(subitems)


# ---------------------------------------------------------------------- install, both ways
class Recorder:
    """Forwards to the receiver and notes whether each POST was signed."""

    def __init__(self, forward: Forward) -> None:
        self.forward, self.seen = forward, []  # type: ignore[var-annotated]

    def __call__(self, environ: dict[str, Any], start_response: Any) -> Iterable[bytes]:
        self.seen.append((environ["PATH_INFO"], "HTTP_AUTHORIZATION" in environ))
        return self.forward(environ, start_response)


@pytest.mark.parametrize(
    ("signing", "sign_challenge"), [(False, False), (True, True), (True, False)]
)
def test_install_and_receive_with_an_unsigned_or_signing_monday(
    db: Database,
    synced_board: dict[str, Any],
    config: SyncConfig,
    clock: ManualClock,
    forward: Forward,
    signing: bool,
    sign_challenge: bool,
) -> None:
    from ordersync.emulator.webhooks import WebhookPolicy

    recorder = Recorder(forward)
    policy = WebhookPolicy(sign_challenge=sign_challenge)
    with (
        Emulator(
            clock=clock,
            webhook_secret=SECRET if signing else None,
            webhook_transport=httpx.WSGITransport(app=recorder),
            webhook_policy=policy,
        ) as emu,
        MondayClient(
            "http://emulator.test/v2", "t", transport=emu.transport(), clock=clock
        ) as monday,
    ):
        emu.store.load_dict(synced_board)
        auth = Authentication(SECRET if signing else None, PATH)
        server = WebhookServer(db, config, monday, CMS_BOARD_ID, auth)
        forward.app = server.app
        report = install_webhooks(monday, CMS_BOARD_ID, RECEIVER, path_secret=PATH)
        assert report.exit_code == 0, report.refused
        assert PATH not in json.dumps(report.as_dict())
        assert {w.url for w in emu.webhooks} == {f"{RECEIVER}/{PATH}"}
        _, item, _ = first_line(emu)
        emu.act(item["id"], FCST_QTY, "88")
        emu.flush_webhooks()
        assert server.applier.apply_pending().values_changed == 1
    assert pulled(db, item["id"])[FCST_QTY].number_value == Decimal(88)
    challenges = recorder.seen[: len(WEBHOOK_EVENTS)]
    assert {signed_ for _, signed_ in challenges} == {signing and sign_challenge}
    assert recorder.seen[-1] == (f"/monday/{PATH}", signing)


def test_a_jwt_only_receiver_cannot_be_installed_by_an_unsigned_monday(
    db: Database, config: SyncConfig, clock: ManualClock, forward: Forward
) -> None:
    """Personal-token webhooks are unsigned: without the secret path, nothing gets in."""
    with (
        Emulator(clock=clock, webhook_transport=httpx.WSGITransport(app=forward)) as emu,
        (
            MondayClient("http://emulator.test/v2", "t", transport=emu.transport(), clock=clock)
        ) as monday,
    ):
        server = WebhookServer(db, config, monday, CMS_BOARD_ID, Authentication(SECRET))
        forward.app = server.app
        report = install_webhooks(monday, CMS_BOARD_ID, RECEIVER)
    assert report.exit_code == 1 and emu.webhooks == []


# ---------------------------------------------------------------------- sharing the board
def test_a_waiting_sync_gets_in_between_serve_s_short_lock_holds(
    hooked: WebhookServer,
    db: Database,
    config: SyncConfig,
    client: MondayClient,
    emulator: Emulator,
) -> None:
    from ordersync.config import ServeConfig

    hooked.applier.config = config.model_copy(update={"serve": ServeConfig(events_per_apply=2)})
    _, item, subitems = first_line(emulator)
    for n, target in enumerate([item["id"], *[s["id"] for s in subitems[:2]]]):
        emulator.act(target, CUT_QTY if target != item["id"] else FCST_QTY, str(10 + n))
    emulator.act(item["id"], FCST_QTY, "99")
    emulator.flush_webhooks()
    assert hooked.applier.pending_count() == 4

    class Gate(ManualClock):
        """The sync's waiting clock: tells the test it waits, then waits to be let go."""

        def __init__(self) -> None:
            super().__init__()
            self.waiting, self.go = threading.Event(), threading.Event()

        def sleep(self, seconds: float) -> None:
            super().sleep(seconds)
            self.waiting.set()
            assert self.go.wait(60)

    gate, outcome = Gate(), []
    sync = threading.Thread(
        target=lambda: outcome.append(run_sync(db, config, client, GREYSON, wait=600, clock=gate))
    )
    real_get = hooked.applier._get

    def get_while_a_sync_arrives(ids: list[int]) -> Any:
        if not sync.is_alive() and not outcome:
            sync.start()  # a scheduled sync starts while serve holds the board
            assert gate.waiting.wait(60)
        return real_get(ids)

    hooked.applier._get = get_while_a_sync_arrives  # type: ignore[method-assign]

    first = hooked.applier.apply_pending()

    assert first.yielded and first.events == 2 and hooked.applier.pending_count() == 2
    gate.go.set()
    sync.join(timeout=120)
    assert [o.exit_code for o in outcome] == [0]
    rest = hooked.applier.apply_pending()
    assert rest.events == 2 and not rest.deferred and hooked.applier.pending_count() == 0
    assert pulled(db, item["id"])[FCST_QTY].number_value == Decimal(99)


def test_a_refused_cli_run_names_the_holder_and_can_wait(
    sqlite_url: str, config: SyncConfig, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from click.testing import CliRunner

    from ordersync.cli import cli
    from ordersync.db import lock as lock_module
    from ordersync.db.lock import BoardBusy

    db = demo_database(sqlite_url)
    emulator = Emulator()
    with emulator, emulator.serve() as monday:
        env = cli_environment(sqlite_url, monday.url, tmp_path)
        env["COLUMNS"] = "400"
        with board_lock(db.engine, db.tables.locks, CMS_BOARD_ID, purpose="serve"):
            refused = subprocess.run(
                [*ENTRY, "pull"], env=env, capture_output=True, text=True, timeout=120, check=False
            )
            clock = ManualClock()
            monkeypatch.setattr(lock_module, "SystemClock", lambda: clock)
            waited = CliRunner().invoke(
                cli,
                ["sync", "--customer", "GREYSON", "--po-number", "4755", "--wait", "30"],
                env=env,
            )
    assert refused.returncode == 1
    holder = f"ordersync serve on host {socket.gethostname()} (pid {os.getpid()}), since "
    assert holder in refused.stderr and "--wait SECONDS" in refused.stderr
    assert "another ordersync run" not in refused.stderr
    assert isinstance(waited.exception, BoardBusy)
    assert "still busy after waiting 30 s" in str(waited.exception)
    assert sum(clock.slept) == 30  # polled on the clock, no real waiting
    db.engine.dispose()


def test_an_id_monday_refuses_for_good_is_quarantined_alone(
    hooked: WebhookServer, db: Database, emulator: Emulator
) -> None:
    from ordersync.errors import AuthError, PermanentMondayError

    _, item, _ = first_line(emulator)
    emulator.act(item["id"], FCST_QTY, "43")
    emulator.flush_webhooks()
    refused_id = 987654321987
    assert post(hooked, event_body(pulseId=refused_id), signed()).status_code == 200
    real_get = hooked.applier._get
    failure: list[Exception] = [AuthError("token revoked", code="Unauthorized")]

    def get(ids: list[int]) -> Any:
        if refused_id in ids:
            raise failure[0]
        return real_get(ids)

    hooked.applier._get = get  # type: ignore[method-assign]

    revoked = hooked.applier.apply_pending()  # the token, not the event: everything waits
    assert revoked.deferred and revoked.quarantined == 0
    assert hooked.applier.pending_count() == 2
    failure[0] = PermanentMondayError("no such item", code="InvalidArgumentException")

    report = hooked.applier.apply_pending()

    assert (report.events, report.quarantined, report.values_changed) == (1, 1, 1)
    (bad,) = [row for row in events(db) if row.state == "QUARANTINED"]
    assert json.loads(bad.payload)["pulseId"] == refused_id
    assert "InvalidArgumentException" in bad.error
    assert hooked.applier.pending_count() == 0
