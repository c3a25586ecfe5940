"""Webhooks as monday sends them: the challenge, each event's payload, filtering, signing,
changes made as a person (in-process and over HTTP), and delivery that never blocks the API.

Receivers are tiny WSGI apps, reached in-process through an injected httpx transport or over
real HTTP on 127.0.0.1; retries wait on a ``ManualClock``, so nothing here sleeps for them.
"""

from __future__ import annotations

import json
import re
import threading
import time
from collections.abc import Iterable, Iterator
from typing import Any

import httpx
import jwt
import pytest
from werkzeug.wrappers import Request, Response

from ordersync.clock import ManualClock
from ordersync.emulator import (
    API_USER_ID,
    CMS_BOARD_ID,
    CMS_SUBITEMS_BOARD_ID,
    PERSON_USER_ID,
    Emulator,
    WebhookPolicy,
)
from ordersync.emulator.api_errors import MondayAPIError
from ordersync.emulator.server import serve_in_thread

EPOCH = 1_767_225_600.0  # 2026-01-01T00:00:00Z, as in conftest
HOOK = "https://receiver.test/monday"
SECRET = "s3cr3t-signing-secret-of-32-bytes+"
OTHER_SECRET = "an0ther-signing-secret-of-32-bytes"
TEXT = "text_mkr5wya6"  # AAG ORDER NUMBER
ADD_TO_PLANNING = "color_mkrerxrs"  # status: YES, NO
FCST_QTY = "numeric_mkrb56rj"
FCST_CONSUMED = "numeric_mkrbty8b"
SUBITEMS = "subtasks_mkr5c0kp"
SIZE = "dropdown_mkrak7qp"
ORDER_QTY = "numeric_mkra7j8e"
LINE_STATUS = "color_mkrbezbh"  # status: NOT STARTED, IN PRODUCTION, PACKED, SHIPPED
CREATE_WEBHOOK = (
    "mutation ($b: ID!, $u: String!, $e: WebhookEventType!, $c: JSON) { create_webhook("
    "board_id: $b, url: $u, event: $e, config: $c) { id board_id event config } }"
)
TRIGGER_TIME = "2026-01-01T00:00:00.000Z"  # EPOCH on an unmoved ManualClock


class Api:
    """Posts GraphQL documents to ``/v2`` with plain httpx (like conftest's ``Poster``)."""

    def __init__(self, client: httpx.Client) -> None:
        self.client = client

    def __call__(self, query: str, variables: dict[str, Any] | None = None) -> httpx.Response:
        return self.client.post("/v2", json={"query": query, "variables": variables or {}})

    def data(self, query: str, variables: dict[str, Any] | None = None) -> dict[str, Any]:
        body = self(query, variables).json()
        assert "errors" not in body, body["errors"]
        data: dict[str, Any] = body["data"]
        return data


class Receiver:
    """A webhook endpoint: echoes challenges, records every POST (headers, JSON body).

    ``status`` is what it answers; ``echo=False`` answers challenges without echoing;
    ``hold`` (when set) keeps each event POST waiting until it is set.
    """

    def __init__(self) -> None:
        self.requests: list[tuple[dict[str, str], Any]] = []
        self.status = 200
        self.echo = True
        self.hold: threading.Event | None = None
        self.entered = threading.Event()

    def __call__(self, environ: dict[str, Any], start_response: Any) -> Iterable[bytes]:
        request = Request(environ)
        body = json.loads(request.get_data() or b"null")
        self.requests.append((dict(request.headers), body))
        if "challenge" in body:
            answer = {"challenge": body["challenge"]} if self.echo else {"ok": True}
        else:
            self.entered.set()
            if self.hold is not None:
                self.hold.wait(5)
            answer = {"ok": True}
        response = Response(json.dumps(answer), self.status, content_type="application/json")
        result: Iterable[bytes] = response(environ, start_response)
        return result

    @property
    def events(self) -> list[dict[str, Any]]:
        return [body["event"] for _, body in self.requests if "event" in body]

    @property
    def challenges(self) -> list[tuple[dict[str, str], dict[str, Any]]]:
        return [(headers, body) for headers, body in self.requests if "challenge" in body]


@pytest.fixture
def receiver() -> Receiver:
    return Receiver()


@pytest.fixture
def hooked(clock: ManualClock, receiver: Receiver) -> Iterator[Emulator]:
    """An emulator that delivers webhooks into ``receiver`` in-process."""
    transport = httpx.WSGITransport(app=receiver)
    with Emulator(clock=clock, epoch=EPOCH, webhook_transport=transport) as emulator:
        yield emulator


@pytest.fixture
def api(hooked: Emulator) -> Iterator[Api]:
    transport = hooked.transport()
    with httpx.Client(transport=transport, base_url="https://api.monday.com") as client:
        yield Api(client)


def create_webhook(
    api: Api, event: str, board_id: int = CMS_BOARD_ID, config: Any = None, url: str = HOOK
) -> dict[str, Any]:
    body: dict[str, Any] = api(
        CREATE_WEBHOOK, {"b": board_id, "u": url, "e": event, "c": config}
    ).json()
    return body


def webhook_id(api: Api, event: str, **kwargs: Any) -> int:
    body = create_webhook(api, event, **kwargs)
    assert "errors" not in body, body
    return int(body["data"]["create_webhook"]["id"])


def create_item(api: Api, name: str = "STYLE RED 1001", values: Any = None) -> str:
    data = api.data(
        "mutation ($b: ID!, $n: String!, $v: JSON) { create_item(board_id: $b, item_name: $n, "
        "column_values: $v) { id } }",
        {"b": CMS_BOARD_ID, "n": name, "v": values},
    )
    return str(data["create_item"]["id"])


def create_subitem(api: Api, parent: str, values: Any = None) -> str:
    data = api.data(
        'mutation ($p: ID!, $v: JSON) { create_subitem(parent_item_id: $p, item_name: "M", '
        "column_values: $v) { id } }",
        {"p": parent, "v": values},
    )
    return str(data["create_subitem"]["id"])


def assert_contains(event: dict[str, Any], expected: dict[str, Any]) -> None:
    assert {k: event.get(k) for k in expected} == expected


def assert_common(event: dict[str, Any], subscription: int, user_id: int = PERSON_USER_ID) -> None:
    assert event["app"] == "monday"
    assert event["subscriptionId"] == subscription
    assert event["userId"] == user_id
    assert event["originalTriggerUuid"] is None
    assert event["isRetry"] is False
    assert event["triggerTime"] == TRIGGER_TIME
    assert re.fullmatch(r"[0-9a-f]{32}", event["triggerUuid"])


# -- the challenge -------------------------------------------------------------------------


def test_challenge_handshake_then_the_webhook_is_stored(
    api: Api, hooked: Emulator, receiver: Receiver
) -> None:
    body = create_webhook(api, "change_specific_column_value", config={"columnId": FCST_QTY})
    created = body["data"]["create_webhook"]
    assert created["board_id"] == str(CMS_BOARD_ID)
    assert created["event"] == "change_specific_column_value"
    assert json.loads(created["config"]) == {"columnId": FCST_QTY}
    [(headers, challenge)] = receiver.challenges
    assert list(challenge) == ["challenge"] and len(challenge["challenge"]) >= 32
    assert "authorization" not in {k.lower() for k in headers}  # no secret, no JWT
    listed = api.data(
        "query ($b: ID!) { webhooks(board_id: $b) { id event } }", {"b": CMS_BOARD_ID}
    )
    assert listed["webhooks"] == [{"id": created["id"], "event": "change_specific_column_value"}]
    assert [w.url for w in hooked.webhooks] == [HOOK]


@pytest.mark.parametrize("failure", ["not echoed", "HTTP 500"])
def test_failed_challenge_fails_the_mutation(
    api: Api, hooked: Emulator, receiver: Receiver, failure: str
) -> None:
    if failure == "not echoed":
        receiver.echo = False
    else:
        receiver.status = 500
    body = create_webhook(api, "create_item")
    assert body["data"] == {"create_webhook": None}
    [error] = body["errors"]
    assert error["extensions"]["code"] == "InvalidArgumentException"
    assert "Failed to verify the webhook URL" in error["message"]
    assert error["extensions"]["error_data"] == {"url": HOOK}
    assert hooked.webhooks == []
    assert len(receiver.challenges) == 1


def test_create_webhook_validates_before_the_challenge(
    api: Api, hooked: Emulator, receiver: Receiver
) -> None:
    attempts = [
        create_webhook(api, "change_specific_column_value"),
        create_webhook(api, "change_specific_column_value", config={"columnId": "nope"}),
        create_webhook(api, "create_item", url="ftp://receiver.test/x"),
        create_webhook(api, "create_item", board_id=1),
    ]
    codes = [body["errors"][0]["extensions"]["code"] for body in attempts]
    assert codes == [
        "InvalidArgumentException",
        "InvalidColumnIdException",
        "InvalidArgumentException",
        "InvalidBoardIdException",
    ]
    assert receiver.requests == [] and hooked.webhooks == []


# -- payloads ------------------------------------------------------------------------------


def test_item_events_payloads(api: Api, hooked: Emulator, receiver: Receiver) -> None:
    hooks = {e: webhook_id(api, e) for e in ("create_item", "change_column_value", "change_name")}
    hooks |= {e: webhook_id(api, e) for e in ("item_archived", "item_deleted")}
    item = create_item(api, values={TEXT: "1001", FCST_QTY: "12"})
    hooked.act(item, FCST_QTY, "120")
    hooked.act(item, ADD_TO_PLANNING, {"label": "YES"})
    hooked.act(item, "name", "STYLE BLUE 1001")
    hooked.act(item, archive=True)
    api.data("mutation ($i: ID) { delete_item(item_id: $i) { id } }", {"i": item})
    hooked.flush_webhooks()

    created, qty, status, renamed, archived, deleted = receiver.events
    assert_common(created, hooks["create_item"], user_id=API_USER_ID)
    assert_contains(
        created,
        {
            "type": "create_pulse",
            "boardId": CMS_BOARD_ID,
            "pulseId": int(item),
            "pulseName": "STYLE RED 1001",
            "groupId": "topics",
            "groupName": "Topics",
            "groupColor": "#579bfc",
            "isTopGroup": True,
            "columnValues": {TEXT: {"value": "1001"}, FCST_QTY: {"value": 12}},
        },
    )
    assert_common(qty, hooks["change_column_value"])
    assert {k: qty[k] for k in qty if k not in ("triggerUuid", "triggerTime")} == {
        "app": "monday",
        "type": "update_column_value",
        "userId": PERSON_USER_ID,
        "originalTriggerUuid": None,
        "boardId": CMS_BOARD_ID,
        "groupId": "topics",
        "pulseId": int(item),
        "pulseName": "STYLE RED 1001",
        "columnId": FCST_QTY,
        "columnType": "numeric",
        "columnTitle": "FCST QTY",
        "value": {"value": 120},
        "previousValue": {"value": 12},
        "changedAt": EPOCH,
        "isTopGroup": True,
        "subscriptionId": hooks["change_column_value"],
        "isRetry": False,
    }
    assert status["columnType"] == "color" and status["previousValue"] is None
    assert status["value"]["label"]["text"] == "YES"
    assert set(status["value"]["label"]) == {"index", "text", "style", "is_done"}
    assert status["value"]["post_id"] is None
    assert_common(renamed, hooks["change_name"])
    assert renamed["type"] == "update_name"
    assert (renamed["value"], renamed["previousValue"]) == (
        {"name": "STYLE BLUE 1001"},
        {"name": "STYLE RED 1001"},
    )
    assert_common(archived, hooks["item_archived"])
    assert {k: archived[k] for k in ("type", "boardId", "itemId", "itemName")} == {
        "type": "archive_pulse",
        "boardId": CMS_BOARD_ID,
        "itemId": int(item),
        "itemName": "STYLE BLUE 1001",
    }
    assert "pulseId" not in archived and "parentItemId" not in archived
    assert_common(deleted, hooks["item_deleted"], user_id=API_USER_ID)
    assert (deleted["type"], deleted["itemId"]) == ("delete_pulse", int(item))
    assert {e.name for e in hooked.events} >= {"create_item", "item_deleted"}


def test_subitem_events_payloads(api: Api, hooked: Emulator, receiver: Receiver) -> None:
    created_hook = webhook_id(api, "create_subitem")
    changed_hook = webhook_id(api, "change_subitem_column_value")
    archived_hook = webhook_id(api, "subitem_archived")
    parent = create_item(api)
    sub = create_subitem(api, parent, {SIZE: {"labels": ["M"]}, ORDER_QTY: "24"})
    hooked.act(sub, LINE_STATUS, {"label": "SHIPPED"})
    hooked.act(sub, archive=True)
    hooked.flush_webhooks()

    created, changed, archived = receiver.events
    assert_common(created, created_hook, user_id=API_USER_ID)
    assert_contains(
        created,
        {
            "type": "create_pulse",
            "boardId": CMS_SUBITEMS_BOARD_ID,
            "pulseId": int(sub),
            "itemId": int(sub),
            "pulseName": "M",
            "groupName": "Subitems",
            "parentItemId": parent,
            "parentItemBoardId": str(CMS_BOARD_ID),
            "columnValues": {
                SIZE: {"chosenValues": [{"id": 3, "name": "M"}]},
                ORDER_QTY: {"value": 24},
            },
        },
    )
    assert_common(changed, changed_hook)
    assert_contains(
        changed,
        {
            "type": "update_column_value",
            "boardId": CMS_SUBITEMS_BOARD_ID,
            "pulseId": int(sub),
            "columnId": LINE_STATUS,
            "columnType": "color",
            "columnTitle": "ORDER LINE STATUS",
            "previousValue": None,
            "parentItemId": parent,
            "parentItemBoardId": str(CMS_BOARD_ID),
        },
    )
    assert changed["value"]["label"]["text"] == "SHIPPED"
    assert_common(archived, archived_hook)
    assert_contains(
        archived,
        {
            "type": "archive_pulse",
            "boardId": CMS_SUBITEMS_BOARD_ID,
            "itemId": int(sub),
            "pulseId": int(sub),
            "parentItemId": int(parent),
            "parentBoardId": CMS_BOARD_ID,
        },
    )


# -- which webhooks hear what --------------------------------------------------------------


def test_filtering_by_board_event_and_column(
    api: Api, hooked: Emulator, receiver: Receiver
) -> None:
    any_column = webhook_id(api, "change_column_value")
    fcst = webhook_id(api, "change_specific_column_value", config={"columnId": FCST_QTY})
    status = webhook_id(api, "change_status_column_value")
    yes_only = webhook_id(
        api,
        "change_status_column_value",
        config={"columnId": ADD_TO_PLANNING, "columnValue": {"index": 0}},
    )
    # Subitem events are heard on the parent board only: these two hear nothing.
    webhook_id(api, "change_subitem_column_value", board_id=CMS_SUBITEMS_BOARD_ID)
    webhook_id(api, "change_column_value", board_id=CMS_SUBITEMS_BOARD_ID)
    item = create_item(api)
    sub = create_subitem(api, item)
    hooked.act(item, FCST_CONSUMED, "5")
    hooked.act(item, FCST_QTY, "7")
    hooked.act(item, FCST_QTY, "7")  # unchanged: no event
    hooked.act(item, ADD_TO_PLANNING, {"label": "NO"})
    hooked.act(item, ADD_TO_PLANNING, {"label": "YES"})
    hooked.act(sub, ORDER_QTY, "3")
    hooked.flush_webhooks()

    heard = [(e["subscriptionId"], e["columnId"]) for e in receiver.events]
    assert heard == [
        (any_column, SUBITEMS),  # monday also reports the parent's subitems column
        (any_column, FCST_CONSUMED),
        (any_column, FCST_QTY),
        (fcst, FCST_QTY),
        (any_column, ADD_TO_PLANNING),
        (status, ADD_TO_PLANNING),
        (any_column, ADD_TO_PLANNING),
        (status, ADD_TO_PLANNING),
        (yes_only, ADD_TO_PLANNING),
    ]
    subtasks = receiver.events[0]
    assert subtasks["columnType"] == "subtasks"
    assert subtasks["value"]["linkedPulseIds"] == [{"linkedPulseId": int(sub)}]
    # Every POST of one change carries the same triggerUuid.
    fcst_events = [e for e in receiver.events if e["columnId"] == FCST_QTY]
    assert len({e["triggerUuid"] for e in fcst_events}) == 1
    assert [e.name for e in hooked.events][-1] == "change_subitem_column_value"


# -- signing -------------------------------------------------------------------------------


def test_signed_jwt_verifies_with_the_secret_only(receiver: Receiver) -> None:
    transport = httpx.WSGITransport(app=receiver)
    # A pinned epoch moves triggerTime, not the JWT: receivers check exp on the real clock.
    emulator = Emulator(
        clock=ManualClock(), epoch=EPOCH, webhook_secret=SECRET, webhook_transport=transport
    )
    with emulator, httpx.Client(transport=emulator.transport(), base_url="https://m") as client:
        api = Api(client)
        hook = webhook_id(api, "create_item")
        item = create_item(api)
        emulator.flush_webhooks()
    [(challenge_headers, _)] = receiver.challenges
    [(headers, body)] = [(h, b) for h, b in receiver.requests if "event" in b]
    assert body["event"]["subscriptionId"] == hook and body["event"]["pulseId"] == int(item)
    claims = jwt.decode(headers["Authorization"], SECRET, algorithms=["HS256"], audience=HOOK)
    assert set(claims) == {"accountId", "userId", "aud", "iat", "exp"}
    assert claims["userId"] == API_USER_ID and claims["aud"] == HOOK
    assert claims["exp"] - claims["iat"] == 300
    assert abs(claims["iat"] - time.time()) < 60
    jwt.decode(challenge_headers["Authorization"], SECRET, algorithms=["HS256"], audience=HOOK)
    with pytest.raises(jwt.InvalidSignatureError):
        jwt.decode(headers["Authorization"], OTHER_SECRET, algorithms=["HS256"], audience=HOOK)
    with pytest.raises(ValueError, match="32 bytes"):
        Emulator(webhook_secret="short")


# -- acting as a person --------------------------------------------------------------------


def test_act_validates_like_the_api(api: Api, hooked: Emulator, receiver: Receiver) -> None:
    webhook_id(api, "change_column_value")
    item = create_item(api)
    with pytest.raises(MondayAPIError) as bad_label:
        hooked.act(item, ADD_TO_PLANNING, {"label": "MAYBE"})
    assert bad_label.value.code == "ColumnValueException"
    with pytest.raises(MondayAPIError) as unknown:
        hooked.act(item, "no_such_column", "1")
    assert unknown.value.code == "InvalidColumnIdException"
    with pytest.raises(ValueError):
        hooked.act(item, FCST_QTY, "1", archive=True)
    assert hooked.act(item, FCST_QTY, "9") == {
        "item_id": item,
        "board_id": str(CMS_BOARD_ID),
        "state": "active",
    }
    hooked.flush_webhooks()
    assert [e["columnId"] for e in receiver.events] == [FCST_QTY]
    assert hooked.items(CMS_BOARD_ID)[0]["column_values"][ADD_TO_PLANNING] is None


def test_act_and_delivery_over_real_http(receiver: Receiver) -> None:
    with (
        serve_in_thread(receiver, "127.0.0.1", 0) as endpoint,
        Emulator(clock=ManualClock(), epoch=EPOCH) as emulator,
        emulator.serve() as server,
        httpx.Client(base_url=server.base_url, timeout=5) as http,
    ):
        url = f"{endpoint.base_url}/hooks"
        api = Api(http)
        hook = webhook_id(api, "change_subitem_column_value", url=url)
        sub = create_subitem(api, create_item(api))
        answer = http.post(
            "/emulator/act", json={"item_id": sub, "column_id": ORDER_QTY, "value": "120"}
        )
        assert answer.status_code == 200 and answer.json()["item_id"] == sub
        bad = http.post(
            "/emulator/act", json={"item_id": sub, "column_id": ORDER_QTY, "value": "x"}
        )
        assert (bad.status_code, bad.json()["code"]) == (422, "ColumnValueException")
        missing = http.post("/emulator/act", json={"item_id": 1, "archive": True})
        assert (missing.status_code, missing.json()["code"]) == (404, "ResourceNotFoundException")
        assert http.post("/emulator/act", json={"column_id": ORDER_QTY}).status_code == 400
        assert http.post("/emulator/act", json={"item_id": sub}).status_code == 400
        flushed = http.post("/emulator/webhooks/flush", json={"timeout": 5})
        assert flushed.json() == {"pending": 0}
        [delivery] = http.get("/emulator/webhooks/deliveries").json()
    assert (delivery["url"], delivery["status"], delivery["attempt"]) == (url, 200, 1)
    [event] = receiver.events
    assert delivery["body"] == {"event": event}
    assert (event["subscriptionId"], event["pulseId"], event["value"]) == (
        hook,
        int(sub),
        {"value": 120},
    )


# -- delivery never blocks the API ---------------------------------------------------------


def test_dead_receiver_does_not_block_mutations(clock: ManualClock, receiver: Receiver) -> None:
    policy = WebhookPolicy(attempts=3, retry_interval=60, timeout=2)
    with (
        Emulator(clock=clock, epoch=EPOCH, webhook_policy=policy) as emulator,
        httpx.Client(transport=emulator.transport(), base_url="https://m") as client,
    ):
        api = Api(client)
        with serve_in_thread(receiver, "127.0.0.1", 0) as endpoint:
            webhook_id(api, "create_item", url=f"{endpoint.base_url}/hooks")
        # The receiver is gone now: connections to its port are refused.
        started = time.monotonic()
        items = [create_item(api, f"x{n}") for n in range(5)]
        assert time.monotonic() - started < 2
        emulator.flush_webhooks()
        first = emulator.webhook_deliveries
        assert [(d.status, d.attempt) for d in first] == [(None, 1)] * 5
        assert all("ConnectError" in (d.error or "") for d in first)
        assert [d.body["event"]["pulseId"] for d in first] == [int(i) for i in items]
        assert emulator.pending_webhooks == 5  # retries wait for the clock
        clock.advance(60)
        emulator.flush_webhooks()
        retried = emulator.webhook_deliveries[5:]
        assert [(d.attempt, d.body["event"]["isRetry"]) for d in retried] == [(2, True)] * 5
        assert retried[0].body["event"]["triggerUuid"] == first[0].body["event"]["triggerUuid"]
        clock.advance(60)
        emulator.flush_webhooks()
        assert len(emulator.webhook_deliveries) == 15 and emulator.pending_webhooks == 0


def test_failed_delivery_is_retried_on_the_clock(
    api: Api, hooked: Emulator, receiver: Receiver, clock: ManualClock
) -> None:
    webhook_id(api, "create_item")
    receiver.status = 500
    create_item(api)
    hooked.flush_webhooks()
    clock.advance(59)
    hooked.flush_webhooks()
    assert [(d.status, d.attempt) for d in hooked.webhook_deliveries] == [(500, 1)]
    receiver.status = 200
    clock.advance(1)
    hooked.flush_webhooks()
    assert [(d.status, d.attempt) for d in hooked.webhook_deliveries] == [(500, 1), (200, 2)]
    assert hooked.webhook_deliveries[-1].ok and hooked.pending_webhooks == 0


def test_slow_receiver_does_not_block_mutations(
    api: Api, hooked: Emulator, receiver: Receiver
) -> None:
    webhook_id(api, "create_item")
    receiver.hold = threading.Event()
    try:
        create_item(api, "first")
        assert receiver.entered.wait(5)  # the worker is stuck in the receiver...
        create_item(api, "second")  # ...and the API still answers
        assert [i["name"] for i in hooked.items(CMS_BOARD_ID)] == ["first", "second"]
        with pytest.raises(TimeoutError):
            hooked.flush_webhooks(timeout=0.05)
    finally:
        receiver.hold.set()
    hooked.flush_webhooks()
    assert [e["pulseName"] for e in receiver.events] == ["first", "second"]
