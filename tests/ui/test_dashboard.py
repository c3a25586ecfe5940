"""The dashboard's pages through the WSGI app (werkzeug's test client), on SQLite and PostgreSQL:
what each page shows is what the tables hold, data is escaped, the token is enforced, and
nothing is writable."""

from __future__ import annotations

import csv
import io
import re
import uuid

import pytest
import sqlalchemy as sa
from werkzeug.test import Client

from helpers.dashboard_support import HAND_MADE, LOCK_OWNER, History, error_rows
from ordersync.config import SyncConfig
from ordersync.db import utcnow
from ordersync.emulator import CMS_BOARD_ID
from ordersync.errors import ConfigError
from ordersync.states import BatchStatus, Stage
from ordersync.ui import Dashboard, check_bind
from ordersync.ui.app import TOKEN_COOKIE


@pytest.fixture
def page(history: History, config: SyncConfig) -> Client:
    return Client(Dashboard(history.db, config))


def text(client: Client, path: str) -> str:
    response = client.get(path)
    assert response.status_code == 200, response.get_data(as_text=True)
    return response.get_data(as_text=True)


def test_the_overview_shows_what_the_tables_hold(page: Client, history: History) -> None:
    html = text(page, "/")
    greyson, rhone = history.greyson.report, history.rhone.report
    assert greyson is not None and rhone is not None
    today = f"{utcnow():%m-%d}"
    created = re.search(rf'data-series="created" data-day="{today}" data-value="(\d+)"', html)
    assert created is not None
    assert int(created[1]) == greyson.items_created + rhone.items_created
    rejected = re.search(rf'data-series="rejected" data-day="{today}" data-value="(\d+)"', html)
    assert rejected is not None and int(rejected[1]) == rhone.rows_rejected + rhone.items_failed
    assert greyson.batch_id[:8] in html and rhone.batch_id[:8] in html
    assert "COMPLETED_WITH_ERRORS" in html
    assert LOCK_OWNER in html
    assert "1 pending" in html
    assert history.drifted_key in html and "CUSTOMER PRICE" in html and "999" in html
    open_rows = len([r for r in error_rows(history.db) if not r.resolved])
    assert re.search(rf'<div class="value bad">{open_rows}</div>', html)
    assert "DUPLICATE_KEY" in html and "appears more than once in scope" in html
    pulls = html[html.index('id="pulls"') :]
    assert "1 items, 0 subitems:" in pulls  # the item made by hand, named (escaped)
    assert "Sample &lt;b&gt;rush&lt;/b&gt; order" in pulls and HAND_MADE not in html


def test_a_running_batch_shows_its_progress(page: Client, history: History) -> None:
    now = utcnow()
    with history.db.engine.begin() as connection:
        connection.execute(
            history.db.tables.batches.insert().values(
                batch_id=str(uuid.uuid4()),
                board_id=CMS_BOARD_ID,
                mode="test",
                customer="PELOTON",
                status=BatchStatus.ITEMS_COMPLETED,
                created_at=now,
                staged_at=now,
                planned_items=6,
                planned_subitems=4,
                items_created=6,
            )
        )
    html = text(page, "/")
    running = html[html.index('id="running"') :]
    assert "PELOTON" in running and "6 / 10 changes" in running and "width: 60%" in running


def test_rejected_rows_filter_group_and_export(page: Client, history: History) -> None:
    rhone = history.rhone.report
    assert rhone is not None
    html = text(page, "/rejections?code=DUPLICATE_KEY")
    assert html.count('<td class="mono">RHO-90004</td>') == 2 and "MISSING_KEY" not in html
    assert text(page, "/rejections?customer=GREYSON").count("<details") == 0
    by_po = text(page, f"/rejections?po={rhone.po_number}")
    assert {"DUPLICATE_KEY", "MISSING_KEY", "INVALID_NUMBER"} <= set(
        re.findall(r"<b>(\w+)</b>", by_po)
    )
    assert "no rejected rows match" in text(page, "/rejections?po=NO-SUCH-PO")

    response = page.get(f"/rejections.csv?batch={rhone.batch_id}")
    assert response.mimetype == "text/csv"
    assert "attachment" in response.headers["Content-Disposition"]
    rows = list(csv.DictReader(io.StringIO(response.get_data(as_text=True))))
    expected = sorted((r.order_key or "", r.error_code) for r in error_rows(history.db))
    assert sorted((r["order_key"], r["code"]) for r in rows) == expected
    assert {r["customer"] for r in rows} == {"RHONE"}


def test_every_value_is_escaped(page: Client, history: History) -> None:
    with history.db.engine.begin() as connection:
        connection.execute(
            history.db.tables.item_errors.insert().values(
                batch_id=history.rhone.report.batch_id if history.rhone.report else "",
                order_key='<img src=x onerror="alert(1)">',
                stage=Stage.PLAN,
                error_code="INVALID_DATE",
                message="<script>alert('x')</script>",
                created_at=utcnow(),
            )
        )
    for path in ("/", "/rejections"):
        html = text(page, path)
        assert "<script>alert" not in html and "<img src=x" not in html
        assert "&lt;script&gt;" in html


def test_the_token_is_required_when_set(history: History, config: SyncConfig) -> None:
    with pytest.raises(ConfigError, match="ORDERSYNC_UI_TOKEN"):
        check_bind("0.0.0.0", None)
    check_bind("0.0.0.0", "secret")
    check_bind("127.0.0.1", None)
    check_bind("::1", None)

    guarded = Client(Dashboard(history.db, config, token="s3cret"))
    assert guarded.get("/").status_code == 401
    assert guarded.get("/metrics").status_code == 401
    assert guarded.get("/", headers={"Authorization": "Bearer wrong"}).status_code == 401
    assert guarded.get("/", headers={"Authorization": "Bearer s3cret"}).status_code == 200
    assert guarded.get("/?token=wrong").status_code == 401
    login = guarded.get("/rejections?token=s3cret")
    assert login.status_code == 302 and "token" not in login.headers["Location"]
    cookie = guarded.get_cookie(TOKEN_COOKIE)
    assert cookie is not None and cookie.value == "s3cret" and cookie.http_only
    assert guarded.get("/rejections").status_code == 200  # the cookie carries it now


def test_the_dashboard_is_read_only(page: Client, history: History) -> None:
    def counts() -> list[int]:
        with history.db.engine.connect() as connection:
            return [
                connection.execute(sa.select(sa.func.count()).select_from(t)).scalar_one()
                for t in (history.db.tables.batches, history.db.tables.item_errors)
            ]

    before = counts()
    for method in ("POST", "PUT", "DELETE"):
        assert page.open("/", method=method).status_code == 405
    assert page.get("/no-such-page").status_code == 404
    assert counts() == before


def test_metrics_and_the_stylesheet_are_served(page: Client) -> None:
    metrics = page.get("/metrics")
    assert metrics.status_code == 200 and metrics.mimetype == "text/plain"
    assert "ordersync_batches{" in metrics.get_data(as_text=True)
    style = page.get("/static/style.css")
    assert style.mimetype == "text/css" and "figure.chart" in style.get_data(as_text=True)
    assert "http" not in text(page, "/").split("<body>")[0]  # no asset from elsewhere


def test_the_pages_mount_under_a_prefix(history: History, config: SyncConfig) -> None:
    """As under ``serve``: the dashboard at /ui, every other path still the receiver's."""
    from werkzeug.wrappers import Response

    from ordersync.ui import mount_dashboard

    def receiver(environ: dict, start_response: object) -> object:
        return Response("receiver")(environ, start_response)  # type: ignore[arg-type]

    both = Client(mount_dashboard(receiver, Dashboard(history.db, config)))
    html = text(both, "/ui/")
    assert 'href="/ui/rejections"' in html and 'href="/ui/static/style.css"' in html
    assert "RHONE" in text(both, "/ui/rejections")
    assert "ordersync_batches{" in text(both, "/ui/metrics")
    assert text(both, "/monday") == "receiver" and text(both, "/") == "receiver"
