"""monday's bulk import in the emulator, over real HTTP: ``ingest_items``, ``backfill_items``,
``fetch_job_status``, the pre-signed upload URL, the CSV rules, every state and failure
reason, the limits, the report, the undocumented switches and the faults (FACTS.md "Bulk
import"; developer.monday.com "Importing items in bulk")."""

from __future__ import annotations

import csv
import hashlib
import io
import json
from collections.abc import Iterator
from typing import Any
from urllib.parse import parse_qs, urlencode, urlsplit

import httpx
import pytest
from click.testing import CliRunner
from graphql import parse, validate

from emulator.conftest import EPOCH
from ordersync import cli
from ordersync.clock import ManualClock
from ordersync.emulator import (
    CMS_BOARD_ID,
    CMS_SUBITEMS_BOARD_ID,
    Emulator,
    Fault,
    Limits,
    RunningServer,
    Undocumented,
)
from ordersync.emulator.execution import load_schema
from ordersync.emulator.limits import parse_undocumented

KEY = "text_mkr5wya6"  # AAG ORDER NUMBER (text)
PO = "text_mkr5ej2x"  # PO NUMBER (text)
UNIT = "color_mkr5yf27"  # status: EACH PACK SET DOZEN
ORDER_TYPE = "dropdown_mkr518fc"  # dropdown: RECEIVED CANCELLED
ORDER_DATE = "date_mkr5zp5"
PRICE = "numeric_mkr5cact"
NOTES = "long_text_mkr5hass"
ITEM_ID = "pulse_id_mkr5pb5q"
SIZE = "dropdown_mkrak7qp"  # subitem dropdown: XS S M L XL
QTY = "numeric_mkra7j8e"  # subitem numbers
LINE_STATUS = "color_mkrbezbh"  # subitem status
GROUP = "topics"

INGEST = """mutation Ingest($board: ID!, $group: ID!, $match: OnMatchInput) {
  ingest_items(board_id: $board, group_id: $group, on_match: $match) { job_id upload_url }
}"""
BACKFILL = """mutation Backfill($board: ID!, $group: ID!) {
  backfill_items(board_id: $board, group_id: $group) { job_id upload_url }
}"""
STATUS = """query Status($job: ID!) {
  fetch_job_status(job_id: $job) {
    ... on ItemsJobStatus {
      status
      counts { submitted invalid skipped created updated failed }
      progress_percentage failure_reason failure_message fully_imported report_created report_url
    }
  }
}"""
BY_KEY = """query ByKey($board: ID!, $column: String!, $value: String!) {
  items_page_by_column_values(
    board_id: $board, limit: 50, columns: [{column_id: $column, column_values: [$value]}]
  ) {
    items {
      id name group { id }
      column_values { id text }
      subitems { id name column_values { id text } }
    }
  }
}"""
PAGE = """query Page($board: ID!) {
  boards(ids: [$board]) { items_page(limit: 500) { items { id name } } }
}"""
DOCUMENTS = (INGEST, BACKFILL, STATUS, BY_KEY, PAGE)


# -- fixtures and helpers -----------------------------------------------------------------


class Bulk:
    """A plain HTTP client of the emulator's bulk import, as monday's docs describe it."""

    def __init__(self, http: httpx.Client, clock: ManualClock, emu: Emulator) -> None:
        self.http = http
        self.clock = clock
        self.emu = emu

    def post(self, query: str, variables: dict[str, Any]) -> httpx.Response:
        return self.http.post("/v2", json={"query": query, "variables": variables})

    def data(self, query: str, variables: dict[str, Any]) -> dict[str, Any]:
        response = self.post(query, variables)
        body = response.json()
        assert response.status_code == 200 and "errors" not in body, body
        data: dict[str, Any] = body["data"]
        return data

    def ingest(
        self, on_match: dict[str, str] | None = None, board: int = CMS_BOARD_ID
    ) -> dict[str, str]:
        variables = {"board": board, "group": GROUP, "match": on_match}
        job: dict[str, str] = self.data(INGEST, variables)["ingest_items"]
        return job

    def backfill(self) -> dict[str, str]:
        job: dict[str, str] = self.data(BACKFILL, {"board": CMS_BOARD_ID, "group": GROUP})[
            "backfill_items"
        ]
        return job

    def put(self, job: dict[str, str], text: str | bytes, **headers: str) -> httpx.Response:
        body = text.encode() if isinstance(text, str) else text
        return self.http.put(
            job["upload_url"], content=body, headers={"Content-Type": "text/csv", **headers}
        )

    def status(self, job: dict[str, str]) -> dict[str, Any]:
        status: dict[str, Any] = self.data(STATUS, {"job": job["job_id"]})["fetch_job_status"]
        return status

    def run(self, text: str, on_match: dict[str, str] | None = None) -> dict[str, Any]:
        """Ingest ``text`` and wait (on the emulator's clock) until the job has ended."""
        job = self.ingest(on_match)
        assert self.put(job, text).status_code == 200
        return self.wait(job)

    def wait(self, job: dict[str, str]) -> dict[str, Any]:
        for _ in range(100):
            status = self.status(job)
            if status["status"] in ("COMPLETED", "FAILED", "REJECTED"):
                return status
            self.clock.advance(10)
        raise AssertionError(f"job {job['job_id']} did not end: {status}")

    def report(self, status: dict[str, Any]) -> list[dict[str, str]]:
        response = self.http.get(status["report_url"])
        assert response.status_code == 200, response.text
        assert response.headers["content-type"].startswith("text/csv")
        return list(csv.DictReader(io.StringIO(response.text)))

    def by_key(self, value: str, column: str = KEY) -> list[dict[str, Any]]:
        variables = {"board": CMS_BOARD_ID, "column": column, "value": value}
        items: list[dict[str, Any]] = self.data(BY_KEY, variables)["items_page_by_column_values"][
            "items"
        ]
        return items

    def names(self, board: int = CMS_BOARD_ID) -> list[str]:
        return sorted(i["name"] for i in self.emu.items(board) if i["state"] == "active")


def make_csv(header: list[str], *rows: list[str]) -> str:
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\r\n")
    writer.writerow(header)
    writer.writerows(rows)
    return buffer.getvalue()


def cells(item: dict[str, Any]) -> dict[str, str]:
    return {value["id"]: value["text"] for value in item["column_values"]}


def counts(status: dict[str, Any]) -> dict[str, int]:
    result: dict[str, int] = status["counts"]
    return result


@pytest.fixture
def make_bulk(clock: ManualClock) -> Iterator[Any]:
    """``make_bulk(**emulator_kwargs)``: an emulator on the manual clock served over HTTP."""
    stack: list[Any] = []

    def make(**kwargs: Any) -> Bulk:
        emu = Emulator(clock=clock, epoch=EPOCH, **kwargs)
        serving = emu.serve()
        server: RunningServer = serving.__enter__()
        http = httpx.Client(base_url=server.base_url, timeout=5.0)
        stack.append((serving, http, emu))
        return Bulk(http, clock, emu)

    yield make
    for serving, http, emu in reversed(stack):
        http.close()
        serving.__exit__(None, None, None)
        emu.close()


@pytest.fixture
def bulk(make_bulk: Any) -> Bulk:
    result: Bulk = make_bulk()
    return result


# -- the documents ------------------------------------------------------------------------


def test_the_documents_are_valid_on_monday_s_schema() -> None:
    schema = load_schema()
    for document in DOCUMENTS:
        assert validate(schema, parse(document)) == [], document


def test_a_document_monday_would_refuse_is_refused(bulk: Bulk) -> None:
    bad = (
        'mutation { ingest_items(board_id: 1, group_id: "g", '
        'on_match: {behaviour: MERGE, match_column_id: "x"}) { job_id } }'
    )
    body = bulk.post(bad, {}).json()
    assert body["errors"][0]["extensions"]["code"] == "GRAPHQL_VALIDATION_FAILED"
    missing = "mutation { backfill_items(board_id: 1) { job_id } }"
    assert bulk.post(missing, {}).json()["errors"][0]["extensions"]["code"] == (
        "GRAPHQL_VALIDATION_FAILED"
    )


# -- the whole way: start, upload, processing, completed ------------------------------------


def test_an_ingest_job_goes_through_every_state(make_bulk: Any) -> None:
    bulk: Bulk = make_bulk(limits=Limits(bulk_job_seconds=5.0, bulk_rows_per_second=1.0))
    job = bulk.ingest()
    assert job["job_id"].isdigit()
    assert job["upload_url"].startswith(str(bulk.http.base_url).rstrip("/") + "/emulator/uploads/")
    pending = bulk.status(job)
    assert pending == {
        "status": "UPLOAD_PENDING",
        "counts": dict.fromkeys(
            ("submitted", "invalid", "skipped", "created", "updated", "failed"), 0
        ),
        "progress_percentage": 0,
        "failure_reason": None,
        "failure_message": None,
        "fully_imported": False,
        "report_created": False,
        "report_url": None,
    }
    text = make_csv(
        ["name", KEY, "name.subitem", f"{QTY}.subitem"],
        ["Line 1", "K-1", "", ""],
        ["", "", "Size S", "3"],
        ["Line 2", "K-2", "", ""],
        ["", "", "Size M", "4"],
    )
    upload = bulk.put(job, text)
    assert upload.status_code == 200
    assert upload.headers["ETag"] == f'"{hashlib.md5(text.encode()).hexdigest()}"'
    started = bulk.status(job)
    assert started["status"] == "PROCESSING" and started["progress_percentage"] == 0
    assert counts(started)["submitted"] == 4 and counts(started)["created"] == 0
    bulk.clock.advance(5 + 2.5)  # set-up, then two rows at one a second
    halfway = bulk.status(job)
    assert halfway["status"] == "PROCESSING" and halfway["progress_percentage"] == 50
    assert counts(halfway)["created"] == 2
    assert [i["name"] for i in bulk.by_key("K-1")] == ["Line 1"]  # readable while processing
    assert bulk.by_key("K-2") == []
    bulk.clock.advance(2)
    done = bulk.status(job)
    assert done["status"] == "COMPLETED" and done["fully_imported"] is True
    assert done["progress_percentage"] == 100 and done["report_created"] is True
    assert counts(done) == {
        "submitted": 4,
        "invalid": 0,
        "skipped": 0,
        "created": 4,
        "updated": 0,
        "failed": 0,
    }
    line_2 = bulk.by_key("K-2")[0]
    assert line_2["group"]["id"] == GROUP
    assert [(s["name"], cells(s)[QTY]) for s in line_2["subitems"]] == [("Size M", "4")]
    page = bulk.data(PAGE, {"board": CMS_BOARD_ID})["boards"][0]["items_page"]["items"]
    assert sorted(i["name"] for i in page) == ["Line 1", "Line 2"]
    assert bulk.names(CMS_SUBITEMS_BOARD_ID) == ["Size M", "Size S"]


def test_processing_can_be_instant(make_bulk: Any) -> None:
    bulk: Bulk = make_bulk(limits=Limits(bulk_job_seconds=0.0, bulk_rows_per_second=None))
    job = bulk.ingest()
    bulk.put(job, make_csv(["name"], *[[f"N{n}"] for n in range(50)]))
    status = bulk.status(job)  # no time has passed
    assert status["status"] == "COMPLETED" and counts(status)["created"] == 50


def test_backfill_creates_items_without_webhook_events_and_ingest_with_them(bulk: Bulk) -> None:
    text = make_csv(["name", KEY], ["B1", "K-B1"], ["B2", "K-B2"])
    job = bulk.backfill()
    assert bulk.put(job, text).status_code == 200
    assert bulk.wait(job)["status"] == "COMPLETED"
    assert bulk.names() == ["B1", "B2"]
    assert bulk.emu.events == []  # backfill runs no automations, no activity
    assert bulk.run(make_csv(["name", KEY], ["I1", "K-I1"]))["status"] == "COMPLETED"
    assert [e.name for e in bulk.emu.events].count("create_item") == 1


# -- the CSV rules --------------------------------------------------------------------------


def test_names_and_values_survive_quoting(bulk: Bulk) -> None:
    hard = ['He said "yes", then left', "two\nlines, one item", " emoji 😀🧵 ", "B'HOOD"]
    rows = [[name, f"K-{n}", "", ""] for n, name in enumerate(hard)]
    rows.insert(1, ["", "", 'sub "quoted", with comma\nand newline 👕', "XS"])
    rows.append(["", "", "B'HOOD, Jr.", "XL"])
    text = make_csv(["name", KEY, "name.subitem", f"{SIZE}.subitem"], *rows)
    status = bulk.run(text)
    assert counts(status)["created"] == 6, bulk.report(status)
    assert [bulk.by_key(f"K-{n}")[0]["name"] for n in range(4)] == hard
    first = bulk.by_key("K-0")[0]["subitems"]
    assert [(s["name"], cells(s)[SIZE]) for s in first] == [
        ('sub "quoted", with comma\nand newline 👕', "XS")
    ]
    last = bulk.by_key("K-3")[0]["subitems"]
    assert [(s["name"], cells(s)[SIZE]) for s in last] == [("B'HOOD, Jr.", "XL")]


def test_a_byte_order_mark_and_blank_lines_are_accepted(bulk: Bulk) -> None:
    text = "\ufeff" + make_csv(["name", KEY], ["BOM", "K-BOM"]) + "\r\n\r\n"
    status = bulk.run(text)
    assert status["status"] == "COMPLETED" and counts(status)["submitted"] == 1
    assert bulk.names() == ["BOM"]


def test_values_in_the_import_formats(bulk: Bulk) -> None:
    header = ["name", KEY, UNIT, ORDER_TYPE, ORDER_DATE, PRICE, NOTES]
    text = make_csv(
        header,
        ["Good", "K-G", "PACK", "RECEIVED, CANCELLED", "2026-03-31", "-12.50", "multi\nline"],
        ["Bad status", "K-S", "PALLET", "", "", "", ""],
        ["Bad dropdown", "K-D", "", "RECEIVED, LOST", "", "", ""],
        ["Bad date", "K-T", "", "", "31/03/2026", "", ""],
        ["Bad datetime", "K-U", "", "", "2026-03-31 10:00", "", ""],
        ["Bad number", "K-N", "", "", "", "1,5", ""],
    )
    status = bulk.run(text)
    assert status["status"] == "COMPLETED"
    assert counts(status) == {
        "submitted": 6,
        "invalid": 5,
        "skipped": 0,
        "created": 1,
        "updated": 0,
        "failed": 0,
    }
    good = cells(bulk.by_key("K-G")[0])
    assert good[UNIT] == "PACK" and good[ORDER_TYPE] == "RECEIVED, CANCELLED"
    assert good[ORDER_DATE] == "2026-03-31" and good[PRICE] == "-12.50"
    assert good[NOTES] == "multi\nline"
    assert bulk.names() == ["Good"]
    report = bulk.report(status)
    assert [(r["row"], r["status"]) for r in report] == [
        ("1", "created"),
        *((str(n), "invalid") for n in range(2, 7)),
    ]
    assert all(r["reason"] for r in report[1:])


def test_a_deactivated_status_label_fails_its_row(bulk: Bulk) -> None:
    bulk.emu.deactivate_label(CMS_BOARD_ID, UNIT, "SET")
    status = bulk.run(make_csv(["name", UNIT], ["Set", "SET"], ["Each", "EACH"]))
    assert counts(status)["invalid"] == 1 and counts(status)["created"] == 1
    assert bulk.names() == ["Each"]


def test_an_unsupported_column_fails_the_rows_that_fill_it(bulk: Bulk) -> None:
    status = bulk.run(make_csv(["name", ITEM_ID], ["Filled", "123"], ["Empty", ""]))
    assert [(r["name"], r["status"]) for r in bulk.report(status)] == [
        ("Filled", "invalid"),
        ("Empty", "created"),
    ]


def test_row_rules_both_names_neither_orphans_and_failed_parents(bulk: Bulk) -> None:
    header = ["name", UNIT, "name.subitem", f"{QTY}.subitem"]
    text = make_csv(
        header,
        ["", "", "Orphan", "1"],  # a subitem before any item: rejected
        ["Parent A", "EACH", "", ""],
        ["", "", "A1", "1"],
        [" ", "", "  ", ""],  # neither name (blanks): skipped
        ["", "", "A2", "2"],  # still belongs to Parent A (nearest item row above)
        ["Both", "", "Both sub", ""],  # both names: rejected
        ["", "", "After both", "1"],  # its item row was not created
        ["Parent B", "NO SUCH LABEL", "", ""],  # fails validation
        ["", "", "B1", "1"],  # a failed parent's subitems are not created
        ["Parent C", "", "", ""],
        ["", "", "C1", "not a number"],
    )
    status = bulk.run(text)
    assert status["status"] == "COMPLETED" and status["fully_imported"] is True
    assert counts(status) == {
        "submitted": 11,
        "invalid": 4,
        "skipped": 1,
        "created": 4,
        "updated": 0,
        "failed": 2,
    }
    report = bulk.report(status)
    assert [(r["row"], r["name"], r["status"]) for r in report] == [
        ("1", "Orphan", "invalid"),
        ("2", "Parent A", "created"),
        ("3", "A1", "created"),
        ("4", "", "skipped"),
        ("5", "A2", "created"),
        ("6", "Both", "invalid"),
        ("7", "After both", "failed"),
        ("8", "Parent B", "invalid"),
        ("9", "B1", "failed"),
        ("10", "Parent C", "created"),
        ("11", "C1", "invalid"),
    ]
    assert bulk.names() == ["Parent A", "Parent C"]
    assert bulk.names(CMS_SUBITEMS_BOARD_ID) == ["A1", "A2"]
    parent = next(i for i in bulk.emu.items(CMS_BOARD_ID) if i["name"] == "Parent A")
    subitems = bulk.emu.items(CMS_SUBITEMS_BOARD_ID)
    assert {s["parent_id"] for s in subitems} == {parent["id"]}


@pytest.mark.parametrize(
    ("text", "why"),
    [
        (make_csv([KEY, "name"], ["K", "N"]), "first header"),
        (make_csv(["name", "no_such_column"], ["N", "x"]), "no_such_column"),
        (make_csv(["name", "name.subitem", "no_such.subitem"], ["N", "", ""]), "no_such.subitem"),
        (make_csv(["name", f"{QTY}.subitem"], ["N", "1"]), "name.subitem"),
        (make_csv(["name", KEY, KEY], ["N", "a", "b"]), "twice"),
        (make_csv(["name", KEY], ["N"]), "fields"),
        (make_csv(["name", "name"], ["N", "N"]), "twice"),
        ("", "empty"),
        ('name\n"unterminated\n', "CSV"),
    ],
)
def test_a_bad_file_is_rejected_as_invalid_upload(bulk: Bulk, text: str, why: str) -> None:
    job = bulk.ingest()
    assert bulk.put(job, text).status_code == 200
    status = bulk.status(job)
    assert status["status"] == "REJECTED" and status["failure_reason"] == "INVALID_UPLOAD"
    assert why in status["failure_message"]
    assert status["report_created"] is False and status["report_url"] is None
    assert bulk.names() == []


def test_a_file_that_is_not_utf8_is_rejected(bulk: Bulk) -> None:
    job = bulk.ingest()
    assert bulk.put(job, "name\nCaf\xe9\n".encode("latin-1")).status_code == 200
    status = bulk.status(job)
    assert (status["status"], status["failure_reason"]) == ("REJECTED", "INVALID_UPLOAD")
    assert "UTF-8" in status["failure_message"]


def test_subitem_files_are_create_only(bulk: Bulk) -> None:
    on_match = {"match_column_id": KEY, "behaviour": "UPSERT"}
    job = bulk.ingest(on_match)
    bulk.put(job, make_csv(["name", KEY, "name.subitem"], ["N", "K", ""]))
    status = bulk.status(job)
    assert (status["status"], status["failure_reason"]) == ("REJECTED", "INVALID_UPLOAD")
    assert "create-only" in status["failure_message"]


def test_a_subitem_header_on_a_board_without_subitems_is_rejected(bulk: Bulk) -> None:
    board = bulk.data(
        'mutation { create_board(board_name: "Plain", board_kind: public) { id } }', {}
    )
    job = bulk.ingest(board=int(board["create_board"]["id"]))
    bulk.put(job, make_csv(["name", "name.subitem"], ["N", ""]))
    assert bulk.status(job)["failure_reason"] == "INVALID_UPLOAD"


# -- on_match --------------------------------------------------------------------------------


def seed_item(bulk: Bulk, name: str, key: str, group: str = GROUP, **values: Any) -> str:
    document = """mutation Seed($board: ID!, $group: String, $name: String!, $values: JSON) {
      create_item(
        board_id: $board, group_id: $group, item_name: $name, column_values: $values
      ) { id }
    }"""
    variables = {
        "board": CMS_BOARD_ID,
        "group": group,
        "name": name,
        "values": json.dumps({KEY: key, **values}),
    }
    item_id: str = bulk.data(document, variables)["create_item"]["id"]
    return item_id


def test_upsert_updates_matches_anywhere_on_the_board_and_creates_the_rest(bulk: Bulk) -> None:
    other_group = bulk.data(
        f'mutation {{ create_group(board_id: {CMS_BOARD_ID}, group_name: "Other") {{ id }} }}', {}
    )["create_group"]["id"]
    old = seed_item(bulk, "Old name", "K-1", other_group, **{PO: "PO-1", PRICE: "5"})
    text = make_csv(
        ["name", KEY, PO, PRICE],
        ["New name", "K-1", "", "<NULL>"],  # empty keeps PO, <NULL> clears the price
        ["Fresh", "K-2", "PO-2", "7"],
    )
    status = bulk.run(text, {"match_column_id": KEY, "behaviour": "UPSERT"})
    assert counts(status)["updated"] == 1 and counts(status)["created"] == 1
    updated = bulk.by_key("K-1")
    assert [i["id"] for i in updated] == [old]
    assert updated[0]["name"] == "New name" and updated[0]["group"]["id"] == other_group
    assert cells(updated[0])[PO] == "PO-1" and cells(updated[0])[PRICE] == ""
    fresh = bulk.by_key("K-2")[0]
    assert fresh["group"]["id"] == GROUP and cells(fresh)[PRICE] == "7"
    assert [r["status"] for r in bulk.report(status)] == ["updated", "created"]


def test_a_row_matches_an_item_made_earlier_in_the_same_file(bulk: Bulk) -> None:
    text = make_csv(["name", KEY, PO], ["First", "K-1", "PO-1"], ["Second", "K-1", ""])
    status = bulk.run(text, {"match_column_id": KEY, "behaviour": "UPSERT"})
    assert counts(status)["created"] == 1 and counts(status)["updated"] == 1
    [item] = bulk.by_key("K-1")
    assert item["name"] == "Second" and cells(item)[PO] == "PO-1"


def test_skip_leaves_matches_alone(bulk: Bulk) -> None:
    seed_item(bulk, "Kept", "K-1", **{PO: "PO-1"})
    text = make_csv(["name", KEY, PO], ["Ignored", "K-1", "PO-X"], ["New", "K-9", "PO-9"])
    status = bulk.run(text, {"match_column_id": KEY, "behaviour": "SKIP"})
    assert counts(status)["skipped"] == 1 and counts(status)["created"] == 1
    kept = bulk.by_key("K-1")
    assert len(kept) == 1 and kept[0]["name"] == "Kept" and cells(kept[0])[PO] == "PO-1"


def test_a_match_column_missing_from_the_file_is_an_invalid_upload(bulk: Bulk) -> None:
    job = bulk.ingest({"match_column_id": PO, "behaviour": "UPSERT"})
    bulk.put(job, make_csv(["name", KEY], ["N", "K"]))
    assert bulk.status(job)["failure_reason"] == "INVALID_UPLOAD"


# -- starting errors ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("variables", "code"),
    [
        ({"board": 1, "group": GROUP}, "InvalidBoardIdException"),
        ({"board": CMS_BOARD_ID, "group": "no_group"}, "ResourceNotFoundException"),
        ({"board": CMS_SUBITEMS_BOARD_ID, "group": GROUP}, "InvalidBoardIdException"),
        (
            {
                "board": CMS_BOARD_ID,
                "group": GROUP,
                "match": {"match_column_id": "nope", "behaviour": "SKIP"},
            },
            "InvalidColumnIdException",
        ),
    ],
)
def test_a_job_for_a_wrong_board_group_or_column_is_refused(
    bulk: Bulk, variables: dict[str, Any], code: str
) -> None:
    body = bulk.post(INGEST, variables).json()
    assert body["data"] == {"ingest_items": None}
    assert body["errors"][0]["extensions"]["code"] == code


def test_an_unknown_job_is_not_found(bulk: Bulk) -> None:
    body = bulk.post(STATUS, {"job": "123"}).json()
    assert body["errors"][0]["extensions"]["code"] == "ResourceNotFoundException"


# -- the pre-signed URL ----------------------------------------------------------------------


def test_the_upload_url_takes_one_put_of_text_csv(bulk: Bulk) -> None:
    job = bulk.ingest()
    url = job["upload_url"]
    text = make_csv(["name"], ["N"])
    for method in ("GET", "POST", "DELETE", "HEAD"):
        assert bulk.http.request(method, url, content=text).status_code == 403, method
    wrong_type = bulk.http.put(url, content=text, headers={"Content-Type": "application/json"})
    assert wrong_type.status_code == 403 and "SignatureDoesNotMatch" in wrong_type.text
    query = parse_qs(urlsplit(url).query)
    query["X-Amz-Signature"] = ["0" * 64]
    forged = url.split("?")[0] + "?" + urlencode({k: v[0] for k, v in query.items()})
    assert (
        bulk.http.put(forged, content=text, headers={"Content-Type": "text/csv"}).status_code == 403
    )
    assert bulk.status(job)["status"] == "UPLOAD_PENDING"
    assert bulk.put(job, text, **{"Content-Type": "text/csv; charset=utf-8"}).status_code == 200
    again = bulk.put(job, text)
    assert again.status_code == 403 and "AccessDenied" in again.text
    assert bulk.wait(job)["status"] == "COMPLETED"
    assert bulk.names() == ["N"]


def test_the_presigned_urls_refuse_an_authorization_header(bulk: Bulk) -> None:
    """S3 allows one auth mechanism: a client that sends monday's token there is refused
    (and would have leaked the token to the storage host)."""
    job = bulk.ingest()
    leaked = bulk.put(job, make_csv(["name"], ["A"]), Authorization="monday-token")
    assert leaked.status_code == 400 and "<Code>InvalidArgument</Code>" in leaked.text
    assert bulk.status(job)["status"] == "UPLOAD_PENDING"
    assert bulk.put(job, make_csv(["name"], ["A"])).status_code == 200
    status = bulk.wait(job)
    report = bulk.http.get(status["report_url"], headers={"Authorization": "monday-token"})
    assert report.status_code == 400


def test_the_upload_url_expires_after_ten_minutes(bulk: Bulk) -> None:
    job = bulk.ingest()
    bulk.clock.advance(600.5)
    expired = bulk.put(job, make_csv(["name"], ["N"]))
    assert expired.status_code == 403
    assert "<Code>AccessDenied</Code>" in expired.text and "expired" in expired.text
    assert bulk.status(job)["status"] == "UPLOAD_PENDING"
    fresh = bulk.ingest()
    bulk.clock.advance(599)
    assert bulk.put(fresh, make_csv(["name"], ["N"])).status_code == 200


# -- the report --------------------------------------------------------------------------------


def test_the_report_url_lives_ten_minutes_and_each_status_gives_a_fresh_one(bulk: Bulk) -> None:
    status = bulk.run(make_csv(["name"], ["A"], [""]))
    assert bulk.report(status) == [
        {"row": "1", "name": "A", "status": "created", "reason": ""},
        {
            "row": "2",
            "name": "",
            "status": "skipped",
            "reason": "neither name nor name.subitem is filled",
        },
    ]
    bulk.clock.advance(601)
    assert bulk.http.get(status["report_url"]).status_code == 403
    assert bulk.http.put(status["report_url"], content=b"x").status_code == 403
    again = bulk.status({"job_id": urlsplit(status["report_url"]).path.rsplit("/", 1)[1]})
    assert again["report_url"] != status["report_url"]
    assert len(bulk.report(again)) == 2


# -- limits --------------------------------------------------------------------------------------


def test_rows_per_job_ingest_and_backfill(make_bulk: Any) -> None:
    bulk: Bulk = make_bulk(limits=Limits(bulk_ingest_rows=3, bulk_backfill_rows=4))
    four = make_csv(["name", "name.subitem"], ["I1", ""], ["", "S1"], ["I2", ""], ["", "S2"])
    job = bulk.ingest()
    bulk.put(job, four)
    status = bulk.status(job)
    assert (status["status"], status["failure_reason"]) == ("REJECTED", "INVALID_UPLOAD")
    assert "at most 3" in status["failure_message"]
    backfill = bulk.backfill()
    bulk.put(backfill, four)
    assert bulk.wait(backfill)["status"] == "COMPLETED"
    assert bulk.names() == ["I1", "I2"]


def test_monday_s_row_limits_are_the_defaults() -> None:
    limits = Limits()
    assert (limits.bulk_ingest_rows, limits.bulk_backfill_rows) == (10_000, 20_000)
    assert limits.bulk_max_file_bytes == 150 * 1024 * 1024
    assert (limits.bulk_starts_per_hour, limits.bulk_items_per_hour) == (100, 19_000)
    assert limits.bulk_url_ttl == 600


def test_a_file_over_the_size_limit_is_file_too_large(make_bulk: Any) -> None:
    bulk: Bulk = make_bulk(limits=Limits(bulk_max_file_bytes=30))
    job = bulk.ingest()
    assert bulk.put(job, make_csv(["name"], ["x" * 40])).status_code == 200
    status = bulk.status(job)
    assert (status["status"], status["failure_reason"]) == ("REJECTED", "FILE_TOO_LARGE")
    small = bulk.ingest()
    bulk.put(small, make_csv(["name"], ["x"]))
    assert bulk.wait(small)["status"] == "COMPLETED"


def test_job_starts_per_hour_answer_429_with_retry_after_ms(make_bulk: Any) -> None:
    bulk: Bulk = make_bulk(limits=Limits(bulk_starts_per_hour=3))
    bulk.ingest()
    bulk.clock.advance(100)
    two = (
        f'mutation {{ a: ingest_items(board_id: {CMS_BOARD_ID}, group_id: "topics") {{ job_id }}'
        f' b: backfill_items(board_id: {CMS_BOARD_ID}, group_id: "topics") {{ job_id }} }}'
    )
    assert "errors" not in bulk.post(two, {}).json()
    refused = bulk.post(INGEST, {"board": CMS_BOARD_ID, "group": GROUP})
    assert refused.status_code == 429
    error = refused.json()["errors"][0]
    assert error["extensions"]["code"] == "RATE_LIMIT_EXCEEDED"
    assert error["extensions"]["retryAfterMs"] == 3_500_000
    assert refused.headers["Retry-After"] == "3500"
    assert len(bulk.emu.bulk.jobs) == 3  # the refused request started nothing
    assert bulk.emu.stats.throttled["RATE_LIMIT_EXCEEDED"] == 1
    bulk.clock.advance(3_500)
    assert bulk.ingest()["job_id"]


def test_ingest_reserves_the_hourly_item_budget_up_front_and_backfill_does_not(
    make_bulk: Any,
) -> None:
    bulk: Bulk = make_bulk(limits=Limits(bulk_items_per_hour=5))
    first = make_csv(["name", "name.subitem"], ["A", ""], ["", "A1"], ["B", ""], ["", ""])
    assert bulk.run(first)["status"] == "COMPLETED"  # 3 items reserved (the blank row is not)
    over = bulk.ingest()
    bulk.put(over, make_csv(["name"], ["C"], ["D"], ["E"]))
    status = bulk.status(over)
    assert (status["status"], status["failure_reason"]) == ("REJECTED", "ACCOUNT_CAPACITY_EXCEEDED")
    assert "2 are left" in status["failure_message"]
    backfill = bulk.backfill()
    bulk.put(backfill, make_csv(["name"], *[[f"F{n}"] for n in range(8)]))
    assert bulk.wait(backfill)["status"] == "COMPLETED"
    assert bulk.run(make_csv(["name"], ["G"], ["H"]))["status"] == "COMPLETED"
    bulk.clock.advance(3_600)
    assert bulk.run(make_csv(["name"], *[[f"J{n}"] for n in range(5)]))["status"] == "COMPLETED"
    assert len(bulk.names()) == 2 + 8 + 2 + 5


def test_a_board_that_would_overflow_rejects_the_job(make_bulk: Any) -> None:
    bulk: Bulk = make_bulk(limits=Limits(items_per_board=3))
    seed_item(bulk, "Existing", "K-0")
    job = bulk.ingest()
    bulk.put(job, make_csv(["name"], ["A"], ["B"], ["C"]))
    status = bulk.status(job)
    assert (status["status"], status["failure_reason"]) == ("REJECTED", "BOARD_CAPACITY_EXCEEDED")
    assert bulk.run(make_csv(["name"], ["A"], ["B"]))["status"] == "COMPLETED"


def test_upserts_that_match_do_not_count_against_the_board(make_bulk: Any) -> None:
    bulk: Bulk = make_bulk(limits=Limits(items_per_board=2))
    seed_item(bulk, "One", "K-1")
    seed_item(bulk, "Two", "K-2")
    text = make_csv(["name", KEY], ["One again", "K-1"], ["Two again", "K-2"])
    status = bulk.run(text, {"match_column_id": KEY, "behaviour": "UPSERT"})
    assert status["status"] == "COMPLETED" and counts(status)["updated"] == 2


def test_a_board_filling_up_while_the_job_runs_fails_it(make_bulk: Any) -> None:
    limits = Limits(items_per_board=4, bulk_job_seconds=10.0, bulk_rows_per_second=1.0)
    bulk: Bulk = make_bulk(limits=limits)
    job = bulk.ingest()
    rows = [["A", ""], ["", "A1"], ["B", ""], ["C", ""], ["D", ""], ["", "D1"]]
    bulk.put(job, make_csv(["name", "name.subitem"], *rows))  # 4 items fit when uploaded
    seed_item(bulk, "Meanwhile", "K-M")  # by mutation, during the set-up time
    status = bulk.wait(job)
    assert (status["status"], status["failure_reason"]) == ("FAILED", "BOARD_CAPACITY_EXCEEDED")
    assert status["fully_imported"] is False and status["report_created"] is True
    assert counts(status)["created"] == 4 and counts(status)["failed"] == 1
    report = [(r["name"], r["status"]) for r in bulk.report(status)]
    created = [(name, "created") for name in ("A", "A1", "B", "C")]
    assert report == [*created, ("D", "failed")]
    assert status["progress_percentage"] == 83  # the job stopped: D1 was never processed
    assert bulk.names() == ["A", "B", "C", "Meanwhile"]


def test_backfill_needs_an_account_admin(make_bulk: Any) -> None:
    bulk: Bulk = make_bulk(account_admin=False)
    job = bulk.backfill()
    status = bulk.status(job)
    assert (status["status"], status["failure_reason"]) == ("REJECTED", "PERMISSION_DENIED")
    assert bulk.put(job, make_csv(["name"], ["A"])).status_code == 403
    assert bulk.names() == []
    assert bulk.run(make_csv(["name"], ["A"]))["status"] == "COMPLETED"  # ingest needs no admin


# -- undocumented: switches, tested both ways -----------------------------------------------------


@pytest.mark.parametrize("counted", [False, True])
def test_create_item_uses_the_import_budget_only_when_switched_on(
    make_bulk: Any, counted: bool
) -> None:
    bulk: Bulk = make_bulk(
        limits=Limits(bulk_items_per_hour=3),
        undocumented=Undocumented(bulk_budget_counts_mutations=counted),
    )
    seed_item(bulk, "By mutation 1", "K-1")
    seed_item(bulk, "By mutation 2", "K-2")
    status = bulk.run(make_csv(["name"], ["A"], ["B"]))
    if counted:
        assert (status["status"], status["failure_reason"]) == (
            "REJECTED",
            "ACCOUNT_CAPACITY_EXCEEDED",
        )
    else:
        assert status["status"] == "COMPLETED"


@pytest.mark.parametrize("slots", [0, 1])
def test_parallel_jobs_run_together_or_wait_for_a_slot(make_bulk: Any, slots: int) -> None:
    limits = Limits(bulk_job_seconds=0.0, bulk_rows_per_second=1.0)
    bulk: Bulk = make_bulk(limits=limits, undocumented=Undocumented(bulk_parallel_jobs=slots))
    first, second = bulk.ingest(), bulk.ingest()
    bulk.put(first, make_csv(["name"], ["A1"], ["A2"], ["A3"], ["A4"]))
    bulk.put(second, make_csv(["name"], ["B1"], ["B2"]))
    bulk.clock.advance(2)
    assert bulk.status(first)["progress_percentage"] == 50
    waiting = bulk.status(second)
    if slots == 1:
        assert waiting["status"] == "PROCESSING" and waiting["progress_percentage"] == 0
        bulk.clock.advance(2)
        assert bulk.status(first)["status"] == "COMPLETED"
        assert bulk.status(second)["progress_percentage"] == 0
        bulk.clock.advance(2)
    assert bulk.status(second)["status"] == "COMPLETED"
    assert bulk.names() == ["A1", "A2", *(["A3", "A4"] if slots else []), "B1", "B2"]


def test_the_emulator_command_takes_not_admin(monkeypatch: pytest.MonkeyPatch) -> None:
    served: list[dict[str, Any]] = []
    monkeypatch.setattr(
        "ordersync.emulator.serve_forever", lambda *args, **kwargs: served.append(kwargs)
    )
    assert CliRunner().invoke(cli.cli, ["emulator"]).exit_code == 0
    assert CliRunner().invoke(cli.cli, ["emulator", "--not-admin"]).exit_code == 0
    assert [s["account_admin"] for s in served] == [True, False]


def test_the_switches_parse_from_the_command_line() -> None:
    parsed = parse_undocumented(["bulk_budget_counts_mutations=true", "bulk_parallel_jobs=2"])
    assert parsed.bulk_budget_counts_mutations is True and parsed.bulk_parallel_jobs == 2
    with pytest.raises(ValueError):
        Undocumented(bulk_parallel_jobs=-1)


# -- faults for crash tests ------------------------------------------------------------------


def test_a_lost_answer_of_ingest_items_leaves_a_pending_job(bulk: Bulk) -> None:
    bulk.emu.inject(Fault("lost_response", match="ingest_items"))
    with pytest.raises(httpx.RemoteProtocolError):
        bulk.post(INGEST, {"board": CMS_BOARD_ID, "group": GROUP})
    [job] = bulk.emu.bulk.jobs.values()
    assert job.status == "UPLOAD_PENDING"
    bulk.clock.advance(601)
    assert bulk.status({"job_id": job.id})["status"] == "UPLOAD_PENDING"  # expired, never ends


def test_a_retry_with_the_idempotency_key_gets_the_same_job(bulk: Bulk) -> None:
    payload = {"query": INGEST, "variables": {"board": CMS_BOARD_ID, "group": GROUP}}
    first = bulk.http.post("/v2", json=payload, headers={"Idempotency-Key": "job-1"})
    again = bulk.http.post("/v2", json=payload, headers={"Idempotency-Key": "job-1"})
    assert again.headers["Idempotency-Replayed"] == "true"
    assert again.json()["data"] == first.json()["data"]
    jobs = bulk.http.get("/emulator/bulk/jobs").json()
    assert [(j["job_id"], j["status"]) for j in jobs] == [
        (first.json()["data"]["ingest_items"]["job_id"], "UPLOAD_PENDING")
    ]


def test_a_refused_upload_stores_nothing_and_can_be_retried(bulk: Bulk) -> None:
    job = bulk.ingest()
    bulk.emu.inject(Fault("status", status=503, match="upload"))
    assert bulk.put(job, make_csv(["name"], ["A"])).status_code == 503
    assert bulk.status(job)["status"] == "UPLOAD_PENDING"
    assert bulk.put(job, make_csv(["name"], ["A"])).status_code == 200
    assert bulk.wait(job)["status"] == "COMPLETED"


def test_a_lost_upload_answer_still_stores_the_file(bulk: Bulk) -> None:
    job = bulk.ingest()
    bulk.emu.inject(Fault("lost_response", match="upload"))
    with pytest.raises(httpx.RemoteProtocolError):
        bulk.put(job, make_csv(["name"], ["A"]))
    assert bulk.put(job, make_csv(["name"], ["A"])).status_code == 403  # already uploaded
    assert bulk.wait(job)["status"] == "COMPLETED"
    assert bulk.names() == ["A"]


def test_a_graphql_fault_does_not_strike_the_upload(bulk: Bulk) -> None:
    job = bulk.ingest()
    bulk.emu.inject(Fault("status", status=500))
    assert bulk.put(job, make_csv(["name"], ["A"])).status_code == 200


@pytest.mark.parametrize("reason", ["INTERNAL_ERROR", "AUTHORIZATION_FAILED"])
def test_an_injected_failure_stops_the_job_after_some_rows(bulk: Bulk, reason: str) -> None:
    armed = bulk.http.post("/emulator/bulk/fail", json={"reason": reason, "after_rows": 2})
    assert armed.status_code == 200
    status = bulk.run(make_csv(["name"], ["A"], ["B"], ["C"]))
    assert (status["status"], status["failure_reason"]) == ("FAILED", reason)
    assert status["fully_imported"] is False and status["progress_percentage"] == 66
    assert counts(status)["created"] == 2 and len(bulk.report(status)) == 2
    assert bulk.names() == ["A", "B"]
    assert bulk.run(make_csv(["name"], ["D"]))["status"] == "COMPLETED"  # fires once


def test_an_injected_failure_before_any_row_makes_no_report(bulk: Bulk) -> None:
    bulk.emu.bulk.fail_next_job("INTERNAL_ERROR")
    status = bulk.run(make_csv(["name"], ["A"]))
    assert (status["status"], status["failure_reason"]) == ("FAILED", "INTERNAL_ERROR")
    assert status["report_created"] is False and bulk.names() == []


def test_the_fail_endpoint_checks_its_input(bulk: Bulk) -> None:
    assert bulk.http.post("/emulator/bulk/fail", json={"reason": "NOPE"}).status_code == 400
    assert bulk.http.post("/emulator/bulk/fail", json={"when": 1}).status_code == 400


@pytest.mark.parametrize(
    ("version", "known"), [("2026-04", False), ("2026-07", True), (None, True)]
)
def test_the_bulk_fields_exist_from_api_2026_07(
    bulk: Bulk, version: str | None, known: bool
) -> None:
    headers = {"API-Version": version} if version else {}
    payload = {"query": STATUS, "variables": {"job": "1"}}
    body = bulk.http.post("/v2", json=payload, headers=headers).json()
    code = body["errors"][0]["extensions"]["code"]
    assert code == ("ResourceNotFoundException" if known else "GRAPHQL_VALIDATION_FAILED")
