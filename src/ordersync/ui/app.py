"""The dashboard's WSGI app (werkzeug): pages, a CSV export, ``/metrics``, and the token check.

Read-only: every route is a GET that reads ordersync's tables. Bound to loopback it needs no
token; on any other address ``ORDERSYNC_UI_TOKEN`` must be set (``check_bind`` refuses to
start without it) and every request must carry it: ``Authorization: Bearer TOKEN``, the
``ordersync_ui_token`` cookie, or ``?token=TOKEN`` once (which sets the cookie).
"""

from __future__ import annotations

import csv
import hmac
import io
import ipaddress
from collections.abc import Callable, Iterable
from datetime import datetime
from typing import Any

from werkzeug.exceptions import HTTPException
from werkzeug.routing import Map, Rule
from werkzeug.serving import make_server
from werkzeug.utils import redirect
from werkzeug.wrappers import Request, Response

from ordersync.config import SyncConfig
from ordersync.db import Database, utcnow
from ordersync.errors import ConfigError
from ordersync.metrics import CONTENT_TYPE, metrics_text
from ordersync.rejections import RejectedRow, count_by_code, rejected_rows
from ordersync.ui.chart import build_chart
from ordersync.ui.data import SERIES, column_titles, overview, stage_times
from ordersync.ui.render import render_page, stylesheet

TOKEN_COOKIE = "ordersync_ui_token"
TOKEN_VARIABLE = "ORDERSYNC_UI_TOKEN"
REJECTIONS_SHOWN = 500
CSV_COLUMNS = ("batch_id", "customer", "po_number", "order_key", "size_label", "stage", "code")


def is_loopback(host: str) -> bool:
    """``localhost`` or a loopback address (127.0.0.0/8, ::1)."""
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


def check_bind(host: str, token: str | None) -> None:
    """Refuse to listen beyond loopback without a token.

    Raises:
        ConfigError: ``host`` is not loopback and ``token`` is empty.
    """
    if not is_loopback(host) and not token:
        raise ConfigError(
            f"the dashboard on {host} would be open to the network: set {TOKEN_VARIABLE} "
            "(requests then need it) or bind 127.0.0.1"
        )


class Dashboard:
    """The dashboard as a WSGI app.

    Args:
        db: ordersync's database (read only).
        config: the mapping (customer aliases, the source's PO column).
        token: required on every request when set.
        now: the clock (naive UTC), injected in tests.
    """

    def __init__(
        self,
        db: Database,
        config: SyncConfig,
        *,
        token: str | None = None,
        now: Callable[[], datetime] = utcnow,
    ) -> None:
        self.db, self.config, self.token, self.now = db, config, token, now
        self.routes = Map(
            [
                Rule("/", endpoint="overview"),
                Rule("/rejections", endpoint="rejections"),
                Rule("/rejections.csv", endpoint="rejections_csv"),
                Rule("/metrics", endpoint="metrics"),
                Rule("/static/style.css", endpoint="style"),
            ]
        )

    def __call__(self, environ: dict[str, Any], start_response: Any) -> Iterable[bytes]:
        request = Request(environ)
        try:
            response = self._handle(request)
        except HTTPException as exc:
            response = exc.get_response(environ)
        return response(environ, start_response)

    def _handle(self, request: Request) -> Response:
        if self.token is not None:
            given = request.args.get("token")
            if given is not None and hmac.compare_digest(given, self.token):
                response = redirect(request.base_url)  # the token leaves the address bar
                response.set_cookie(TOKEN_COOKIE, given, httponly=True, samesite="Strict")
                return response
            if not self._authorised(request):
                return Response(
                    f"a token is needed ({TOKEN_VARIABLE})\n", 401, mimetype="text/plain"
                )
        if request.method not in ("GET", "HEAD"):
            return Response("the dashboard is read-only\n", 405, mimetype="text/plain")
        endpoint, _ = self.routes.bind_to_environ(request.environ).match()
        handler: Callable[[Request], Response] = getattr(self, f"_{endpoint}")
        response = handler(request)
        response.headers.setdefault("Cache-Control", "no-store")
        return response

    def _authorised(self, request: Request) -> bool:
        assert self.token is not None
        header = request.headers.get("Authorization", "")
        candidates = [request.cookies.get(TOKEN_COOKIE, "")]
        if header.startswith("Bearer "):
            candidates.append(header.removeprefix("Bearer ").strip())
        return any(c and hmac.compare_digest(c, self.token) for c in candidates)

    # ---------------------------------------------------------------------------- pages
    def _overview(self, request: Request) -> Response:
        page = overview(self.db, self.config, self.now())
        return _html(
            render_page(
                "overview.html",
                page=page,
                chart=build_chart(page.days),
                series=SERIES,
                stage_times=stage_times,
                titles=column_titles(self.config),
                base=_base(request),
            )
        )

    def _rejections(self, request: Request) -> Response:
        filters = _filters(request)
        rows = self._rejected(filters)
        return _html(
            render_page(
                "rejections.html",
                filters=filters,
                groups=count_by_code(rows),
                rows=rows[:REJECTIONS_SHOWN],
                total=len(rows),
                shown=REJECTIONS_SHOWN,
                base=_base(request),
                query=request.query_string.decode("latin-1"),
            )
        )

    def _rejections_csv(self, request: Request) -> Response:
        rows = self._rejected(_filters(request))
        out = io.StringIO()
        writer = csv.writer(out)
        writer.writerow([*CSV_COLUMNS, "message", "resolved", "created_at"])
        for r in rows:
            when = f"{r.created_at:%Y-%m-%d %H:%M:%S}"
            cells = [getattr(r, name) or "" for name in CSV_COLUMNS]
            writer.writerow([*cells, r.message, r.resolved, when])
        response = Response(out.getvalue(), mimetype="text/csv")
        response.headers["Content-Disposition"] = 'attachment; filename="rejected-rows.csv"'
        return response

    def _metrics(self, request: Request) -> Response:
        return Response(metrics_text(self.db, self.now), content_type=CONTENT_TYPE)

    def _style(self, request: Request) -> Response:
        return Response(stylesheet(), mimetype="text/css")

    def _rejected(self, filters: dict[str, str]) -> list[RejectedRow]:
        return rejected_rows(
            self.db,
            self.config,
            customer=filters["customer"] or None,
            po_number=filters["po"] or None,
            code=filters["code"] or None,
            batch_id=filters["batch"] or None,
            open_only=filters["state"] != "all",
        )


def _filters(request: Request) -> dict[str, str]:
    return {
        name: request.args.get(name, "").strip()
        for name in ("customer", "po", "code", "batch", "state")
    }


def _base(request: Request) -> str:
    """The path the dashboard is mounted at (``""`` at the root, ``/ui`` under ``serve``)."""
    return request.script_root.rstrip("/")


def _html(body: str) -> Response:
    return Response(body, mimetype="text/html")


def mount_dashboard(app: Any, dashboard: Dashboard, prefix: str = "/ui") -> Any:
    """``app`` (a WSGI app, e.g. ``serve``'s receiver) with the dashboard under ``prefix``.

    Its pages and CSV export answer at ``{prefix}/…``, and ``/metrics`` at the root too;
    every other path still goes to ``app``. The token rules are the dashboard's own.
    """
    from werkzeug.middleware.dispatcher import DispatcherMiddleware

    dispatcher = DispatcherMiddleware(app, {prefix: dashboard})

    def mounted(environ: dict[str, Any], start_response: Any) -> Iterable[bytes]:
        if environ.get("PATH_INFO") == "/metrics":
            return dashboard(environ, start_response)
        return dispatcher(environ, start_response)

    return mounted


def serve_dashboard(dashboard: Dashboard, host: str, port: int) -> None:
    """Serve ``dashboard`` on ``host:port`` until interrupted.

    Raises:
        ConfigError: a non-loopback ``host`` without a token.
    """
    check_bind(host, dashboard.token)
    server = make_server(host, port, dashboard, threaded=True)
    try:
        server.serve_forever()
    finally:
        server.server_close()
