"""The ``ordersync`` command line. Each command loads settings, calls one library function and
prints the result; library errors become exit codes in one place (``main``).

Exit codes (``errors.ExitCode``): 0 completed, 3 completed with rejected rows, 1 failed, 2 usage
or config error.

Everything printed goes through two consoles that read no markup: names, values, ids, paths
and messages are data and are printed as they are (``Tee [/x]`` stays ``Tee [/x]``). Styles
are given as ``Text`` pieces, ``(text, style)``, never as markup inside a string.
"""

from __future__ import annotations

import json
import logging
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING, Any

import click

from ordersync import __version__
from ordersync.batch_counters import KINDS, Tally, counters, report_rows
from ordersync.errors import ExitCode

if TYPE_CHECKING:
    from rich.console import Console
    from rich.table import Table
    from rich.text import Text

    from ordersync.batches import BatchReport
    from ordersync.check import BoardCheck
    from ordersync.config import SyncConfig
    from ordersync.db import Database
    from ordersync.pull.pull import PullReport
    from ordersync.push.plan import LineChange, PlanResult
    from ordersync.settings import Settings, TablesConfig
    from ordersync.sync import BookOutcome, SyncOutcome

# Heavy modules (sqlalchemy, alembic, httpx, graphql, rich) are imported inside the commands,
# so `ordersync --help`, `--version` and `status` start fast (bench/cli_startup.py).


class _LazyConsole:
    """A Rich console made on first use. No markup, no highlighting: what is printed is data,
    shown exactly as it is. Not a terminal (a file, a pipe, a cron log): lines are not wrapped
    at 80 columns, tables take the width they need."""

    def __init__(self, *, stderr: bool) -> None:
        self._stderr = stderr
        self._console: Console | None = None

    def __getattr__(self, name: str) -> Any:
        return getattr(self.real(), name)

    def real(self) -> Console:
        """The Rich console itself (made now if not yet), for Rich objects that want one."""
        if self._console is None:
            from rich.console import Console

            console = Console(stderr=self._stderr, markup=False, highlight=False)
            if not console.is_terminal:
                console = Console(
                    stderr=self._stderr,
                    markup=False,
                    highlight=False,
                    width=UNWRAPPED_WIDTH,
                    soft_wrap=True,
                )
            self._console = console
        return self._console


UNWRAPPED_WIDTH = 1000  # the width of a file or a pipe: nothing is wrapped or cut
console: Any = _LazyConsole(stderr=False)
errors: Any = _LazyConsole(stderr=True)

STATUS_LIMIT = 1000  # most batches `status` lists


def load_config() -> SyncConfig:
    from ordersync.config import load_config as load

    return load()


def load_settings() -> Settings:
    from ordersync.settings import load_settings as load

    return load()


def _text(*parts: str | tuple[str, str]) -> Text:
    """Styled text from pieces, ``(text, style)``: never markup inside a string."""
    from rich.text import Text

    return Text.assemble(*parts)


def _database(names: TablesConfig, *, ordersync_tables: bool = True) -> Database:
    """The configured database; with ``ordersync_tables``, checked to hold ordersync's tables
    (named by the mapping's ``[tables]``)."""
    import sqlalchemy as sa

    from ordersync.db import Database
    from ordersync.errors import ConfigError
    from ordersync.settings import load_settings

    db = Database.connect(load_settings().database_url, names)
    if ordersync_tables and not sa.inspect(db.engine).has_table(names.batches):
        raise ConfigError(
            f"ordersync's tables are not in the database {db.engine.url!r}: "
            "run `ordersync init-db` first"
        )
    return db


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.option(
    "--verbose",
    "-v",
    count=True,
    help="-v: ordersync's own log (stages, requests) on stderr; -vv: the HTTP log too.",
)
@click.version_option(version=__version__)  # not the package metadata: ~0.05 s to read
def cli(verbose: int) -> None:
    """Keep monday.com boards true to an order database, exactly once.

    \b
    Example:
      ordersync init-db && ordersync demo-data && ordersync sync --customer GREYSON --po-number 4755
    """
    configure_logging(verbose)


HTTP_LOGGERS = ("httpx", "httpcore")


def configure_logging(verbose: int) -> None:
    """0: warnings only; 1: ordersync's own log at DEBUG; 2 and more: httpx/httpcore too."""
    logging.basicConfig(
        level=logging.WARNING, format="%(asctime)s %(levelname)s %(name)s: %(message)s"
    )
    logging.getLogger("ordersync").setLevel(logging.DEBUG if verbose >= 1 else logging.NOTSET)
    for name in HTTP_LOGGERS:
        logging.getLogger(name).setLevel(logging.DEBUG if verbose >= 2 else logging.WARNING)


@cli.command("init-db")
def init_db() -> None:
    """Create or upgrade ordersync's tables (Alembic migrations).

    \b
    Example:
      ORDERSYNC_DATABASE_URL=postgresql://postgres@127.0.0.1/orders ordersync init-db
    """
    from ordersync.db.migrate import upgrade

    config = load_config()
    db = _database(config.tables, ordersync_tables=False)
    revision = upgrade(db.engine, config.tables)
    console.print(
        _text("ordersync tables at revision ", (revision, "bold"), f" in {db.engine.url!r}")
    )


@cli.command("demo-data")
@click.option(
    "--replace",
    is_flag=True,
    help="Rebuild the table if it holds demo data only (any other table is never touched).",
)
def demo_data(replace: bool) -> None:
    """Create and fill a sample ORDERS_UNIFIED (GREYSON PO 4755 → 264 sizes).

    It writes only the configured source table, and only when that table does not exist yet
    (or, with --replace, holds nothing but demo rows): a table of real orders is never touched.

    \b
    Example:
      ordersync demo-data
    """
    from ordersync.demo_data import create_source_table, fill_demo_orders

    config = load_config()
    db = _database(config.tables, ordersync_tables=False)
    source = config.source
    where = f"{source.db_schema}.{source.table}" if source.db_schema else source.table
    verb = "rebuilding (if it holds demo data only)" if replace else "creating"
    console.print(f"demo-data: {verb} table {where} in {db.engine.url!r}")
    table = create_source_table(db.engine, source.table, source.db_schema, replace=replace)
    summary = fill_demo_orders(db.engine, table)
    console.print(
        f"{table.name}: {summary.rows} order lines for {len(summary.customers)} customer names; "
        f"GREYSON PO 4755: {summary.greyson_po_4755_lines} lines, "
        f"{summary.greyson_po_4755_sizes} sizes with a quantity"
    )


WAIT_OPTION = click.option(
    "--wait",
    "wait",
    type=click.FloatRange(min=0, max=86_400),
    default=0,
    show_default=True,
    metavar="SECONDS",
    help="Wait up to SECONDS for a board another run (sync, pull, serve) holds.",
)


CUSTOMER_OPTION = click.option(
    "--customer",
    "customers",
    multiple=True,
    help="Canonical customer name or any alias (repeat for several).",
)
ALL_OPTION = click.option(
    "--all", "all_customers", is_flag=True, help="Every customer with lines in the source."
)


@cli.command()
@CUSTOMER_OPTION
@ALL_OPTION
@click.option("--po-number", help="Only this PO number.")
@click.option("--season", help="Only this customer season.")
@click.option("--mode", help="Board set from the configuration (default: test).")
@click.option("--dry-run", is_flag=True, help="Plan and print; write nothing, send nothing.")
@click.option("--limit", type=click.IntRange(min=1), help="Stage at most N new order lines.")
@click.option("--json", "as_json", is_flag=True, help="Print one JSON object.")
@click.option(
    "--pull", "pull_first", is_flag=True, help="Pull monday-owned columns (and drift) first."
)
@WAIT_OPTION
@click.option(
    "--allow-mass-archive",
    is_flag=True,
    help="Archive even more than [delivery] max_archive_share of the scope's items.",
)
@click.option(
    "--bulk",
    type=click.Choice(["never", "auto", "always"]),
    help="Import jobs for item creates: above [delivery.bulk] threshold (auto), always, never.",
)
@click.option(
    "--backfill",
    is_flag=True,
    help="Import with backfill_items (an admin's first load: no automations, no activity log).",
)
def sync(
    customers: tuple[str, ...],
    all_customers: bool,
    po_number: str | None,
    season: str | None,
    mode: str | None,
    dry_run: bool,
    limit: int | None,
    as_json: bool,
    pull_first: bool,
    wait: float,
    allow_mass_archive: bool,
    bulk: str | None,
    backfill: bool,
) -> None:
    """Plan and deliver the changes of one customer (and PO), several, or all, to monday.

    Several customers (repeated --customer, or --all): one batch each, under one lock for the
    board; a customer that fails does not stop the others (a refused token, monday's daily
    limit or monday out of reach stops the rest). The exit code is the worst of them.

    \b
    Example:
      ordersync sync --customer GREYSON --po-number 4755 --dry-run
      ordersync sync --all --json                   # the whole order book, one summary
      ordersync sync --pull --customer GREYSON     # both directions, one scheduled command
      ordersync sync --customer GREYSON --wait 300  # a scheduled run waits for a busy board
      ordersync sync --all --bulk always --backfill # an admin's first load, import jobs
    """
    from ordersync.push.source import Scope
    from ordersync.sync import make_client, run_book, run_sync

    if pull_first and dry_run:
        raise click.UsageError("--pull writes what it reads; it cannot be used with --dry-run")
    if bool(customers) == all_customers:
        raise click.UsageError("give --customer (one or more) or --all")
    config = load_config().with_bulk(bulk, backfill=backfill)
    settings = load_settings()
    config.board_id(mode)  # an unknown mode, a missing board id or token: said first
    settings.require_token()
    db = _database(config.tables)
    names = _customers(db, config, customers, all_customers)
    scopes = [Scope(customer=name, po_number=po_number, season=season) for name in names]
    single = len(customers) == 1 and not all_customers
    pulled = None
    with make_client(settings, config) as client, _progress(enabled=not as_json) as progress:
        if pull_first:
            from ordersync.pull.pull import pull_board

            pulled = pull_board(db, config, client, mode=mode, wait=wait)
        run = run_sync if single else run_book
        outcome: Any = run(
            db,
            config,
            client,
            scopes[0] if single else scopes,  # type: ignore[arg-type]
            mode=mode,
            dry_run=dry_run,
            limit=limit,
            allow_mass_archive=allow_mass_archive,
            progress=progress,
            wait=wait,
        )
    if as_json:
        payload = outcome.as_dict()
        if pulled is not None:
            payload["pull"] = pulled.as_dict()
        click.echo(json.dumps(payload, default=str))
    else:
        if pulled is not None:
            _print_pull(pulled)
        if single:
            _print_outcome(outcome)
            _print_first_rejections(db, config, outcome)
        else:
            _print_book(outcome)
            for customer in outcome.customers:
                if customer.outcome is not None:
                    _print_first_rejections(db, config, customer.outcome, customer.customer)
    sys.exit(outcome.exit_code)


def _customers(
    db: Database, config: SyncConfig, customers: tuple[str, ...], all_customers: bool
) -> list[str]:
    """The canonical names to sync or check: every customer of the source (``--all``), or
    those given, each checked to be known (a typo is an error naming the closest names)."""
    from ordersync.push.source import known_customers, reflect_source, source_customers

    source = reflect_source(db.engine, config)
    with db.engine.connect() as connection:
        if all_customers:
            return source_customers(connection, source, config)
        return known_customers(connection, source, config, customers)


@cli.command("check-board")
@CUSTOMER_OPTION
@ALL_OPTION
@click.option("--mode", help="Board set from the configuration (default: test).")
@click.option("--json", "as_json", is_flag=True, help="Print one JSON object.")
def check_board_command(
    customers: tuple[str, ...], all_customers: bool, mode: str | None, as_json: bool
) -> None:
    """Check the board against the mapping and the data, before anything is sent.

    Columns (items and subitems boards), labels the lines would send (status, dropdown,
    sizes) and groups. Without --customer, every line of the source is checked (as --all).
    Exit codes: 0 fine, 3 warnings, 1 problems, 2 configuration.

    \b
    Example:
      ordersync check-board --customer GREYSON
      ordersync check-board --all --mode production --json
    """
    from ordersync.check import check_board
    from ordersync.sync import make_client

    if customers and all_customers:
        raise click.UsageError("give --customer (one or more) or --all, not both")
    config = load_config()
    settings = load_settings()
    db = _database(config.tables, ordersync_tables=False)
    names = _customers(db, config, customers, all_customers=False) if customers else None
    with make_client(settings, config) as client:
        report = check_board(db, config, client, mode=mode, customers=names)
    if as_json:
        click.echo(json.dumps(report.as_dict(), default=str))
    else:
        _print_check(report)
    sys.exit(report.exit_code)


@cli.command()
@click.option(
    "--batch", "batch_id", help="The batch whose rejected rows to retry (default: latest)."
)
@click.option("--json", "as_json", is_flag=True, help="Print one JSON object.")
def retry(batch_id: str | None, as_json: bool) -> None:
    """Re-plan and re-deliver the rejected rows of a batch, after the data was fixed.

    \b
    Example:
      ordersync retry --batch 50637a98-c5c4-4339-9e97-3877c71557bf
    """
    from ordersync.sync import make_client, run_retry

    config = load_config()
    settings = load_settings()
    db = _database(config.tables)
    with make_client(settings, config) as client, _progress(enabled=not as_json) as progress:
        outcome = run_retry(db, config, client, batch_id, progress=progress)
    if as_json:
        click.echo(json.dumps(outcome.as_dict(), default=str))
    else:
        console.print(
            f"retried batch {outcome.retried_batch}: {outcome.resolved} rejected rows now on "
            f"the board, {outcome.still_open} still rejected"
        )
        _print_outcome(outcome.sync)
    sys.exit(outcome.sync.exit_code)


@cli.command()
@click.argument("batch_id", required=False, metavar="[BATCH]")
@click.option(
    "--limit",
    default=10,
    show_default=True,
    type=click.IntRange(min=1, max=STATUS_LIMIT),
    help="How many recent batches to list.",
)
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
def status(batch_id: str | None, limit: int, as_json: bool) -> None:
    """Show one batch (any unique prefix of its id), or the most recent batches.

    \b
    Example:
      ordersync status --json
    """
    from ordersync.batches import latest_batches, load_report, resolve_batch_id
    from ordersync.settings import load_table_names

    db = _database(load_table_names())  # [tables] alone: no mapping validation (a fast start)
    if batch_id:
        report = load_report(db, resolve_batch_id(db, batch_id))
        assert report is not None
        reports = [report]
    else:
        reports = latest_batches(db, limit)
    if as_json:
        payload: Any = reports[0].as_dict() if batch_id else [r.as_dict() for r in reports]
        click.echo(json.dumps(payload, default=str))
        return
    if not reports:
        console.print("no batches yet")
    for report in reports if batch_id else []:
        _print_report(report)
    if not batch_id and reports:
        console.print(_batches_table(reports))


@cli.command("errors")
@click.argument("batch_id", required=False)
@click.option("--code", help="Only rows rejected with this error code.")
@click.option("--open", "open_only", is_flag=True, help="Leave out rows a later run resolved.")
@click.option("--limit", type=click.IntRange(min=1), help="At most N rows.")
@click.option("--json", "as_json", is_flag=True, help="Print one JSON object.")
def errors_command(
    batch_id: str | None, code: str | None, open_only: bool, limit: int | None, as_json: bool
) -> None:
    """List the rejected rows of a batch (default: the latest with any): key, code, message.

    BATCH is a batch id or any unique prefix of one (the 8 characters `status` shows).

    \b
    Example:
      ordersync errors 50637a98 --code UNKNOWN_LABEL
    """
    from ordersync.batches import latest_batch_with_errors, resolve_batch_id
    from ordersync.rejections import rejected_rows

    config = load_config()
    db = _database(config.tables)
    batch = resolve_batch_id(db, batch_id) if batch_id else latest_batch_with_errors(db)
    rows = (
        rejected_rows(db, config, batch_id=batch, code=code, open_only=open_only, limit=limit)
        if batch
        else []
    )
    if as_json:
        payload = {"batch_id": batch, "rows": [r.as_dict() for r in rows]}
        click.echo(json.dumps(payload, default=str))
        return
    if batch is None:
        console.print("no batch has rejected rows")
        return
    with_code = f" with code {code}" if code else ""
    console.print(f"batch {batch}: {len(rows)} rejected rows{with_code}")
    if rows:
        console.print(_rejections_table([(r.shown_key, r.code, r.message) for r in rows]))


@cli.command()
@click.option("--since", default="7d", show_default=True, help="A span (7d, 24h, 2w) or a date.")
@click.option("--customer", help="Only this customer (canonical name or any alias).")
@click.option(
    "--format",
    "output_format",
    type=click.Choice(["md", "html", "json"]),
    default="md",
    show_default=True,
)
@click.option(
    "--fail-over",
    type=click.FloatRange(min=0, max=100),
    metavar="PCT",
    help="Exit 1 when the share of rejected order lines passes PCT percent.",
)
def report(since: str, customer: str | None, output_format: str, fail_over: float | None) -> None:
    """Per customer: lines synced by action, rejections by code, drift, runs and durations.

    \b
    Example:
      ordersync report --since 7d --format html > week.html
      ordersync report --since 24h --fail-over 5     # exit 1 above 5% rejected lines
    """
    from ordersync.db import utcnow
    from ordersync.report import build_report, exceeds, parse_since, render_html, render_markdown

    config = load_config()
    db = _database(config.tables)
    now = utcnow()
    result = build_report(db, config, parse_since(since, now), now, customer=customer)
    if output_format == "json":
        click.echo(json.dumps(result.as_dict(), default=str))
    else:
        click.echo(render_html(result) if output_format == "html" else render_markdown(result))
    if exceeds(result, fail_over):
        errors.print(
            f"rejected lines {result.total.rejected_share:.1f}% passed --fail-over {fail_over}%"
        )
        sys.exit(ExitCode.FAILED)


@cli.command()
@click.option("--port", default=8050, show_default=True, help="Port to listen on.")
@click.option("--host", default="127.0.0.1", show_default=True, help="Address to listen on.")
def ui(port: int, host: str) -> None:
    """Serve the read-only dashboard (and /metrics); beyond loopback ORDERSYNC_UI_TOKEN is needed.

    \b
    Example:
      ordersync ui --port 8050        # then open http://127.0.0.1:8050/
    """
    import os

    from ordersync.ui import Dashboard, check_bind, serve_dashboard

    token = os.environ.get("ORDERSYNC_UI_TOKEN") or None
    check_bind(host, token)
    config = load_config()
    dashboard = Dashboard(_database(config.tables), config, token=token)
    console.print(f"ordersync dashboard on http://{host}:{port}/ (Ctrl+C to stop)")
    serve_dashboard(dashboard, host, port)


@cli.command()
@click.option("--port", default=8765, show_default=True, help="Port on 127.0.0.1.")
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--state", "state_file", type=click.Path(dir_okay=False), help="Keep boards in FILE.")
@click.option("--latency", default=0.0, show_default=True, help="Seconds added to every answer.")
@click.option(
    "--plan",
    type=click.Choice(["trial", "free", "basic", "standard", "pro", "enterprise"]),
    help="monday's limits for this plan (default: the emulator's own, no daily cap).",
)
@click.option(
    "--undocumented",
    "switches",
    multiple=True,
    metavar="NAME=VALUE",
    help="An undocumented behaviour (docs/monday-errors.md), e.g. cache_error_answers=true.",
)
@click.option(
    "--not-admin",
    is_flag=True,
    help="The token's user is no account admin (backfill_items jobs: PERMISSION_DENIED).",
)
def emulator(
    port: int,
    host: str,
    state_file: str | None,
    latency: float,
    plan: str | None,
    switches: tuple[str, ...],
    not_admin: bool,
) -> None:
    """Serve the monday.com emulator (board 4755559751 seeded) at http://HOST:PORT/v2.

    \b
    Example:
      ordersync emulator --port 8765 --state board.json --plan standard
    """
    from ordersync.emulator import Limits, serve_forever
    from ordersync.emulator.limits import parse_undocumented

    try:
        undocumented = parse_undocumented(switches)
    except ValueError as exc:
        raise click.BadParameter(str(exc), param_hint="--undocumented") from None
    limits = Limits.for_plan(plan) if plan else None
    console.print(f"monday emulator on http://{host}:{port}/v2 (Ctrl+C to stop)")
    serve_forever(
        host,
        port,
        state_file=state_file,
        latency=latency,
        limits=limits,
        undocumented=undocumented,
        account_admin=not not_admin,
    )


@cli.command()
def demo() -> None:
    """Everything end to end: an embedded SQLite file and an in-process monday emulator.

    \b
    Example:
      ordersync demo
    """
    from pathlib import Path

    from ordersync.demo import run_demo

    run_demo(console.real(), workdir=Path.cwd())  # its database is kept there for `ordersync ui`


@cli.command()
@click.option("--board", "board_id", type=int, help="The items board (default: from --mode).")
@click.option("--mode", help="Board set from the configuration (default: test).")
@click.option("--json", "as_json", is_flag=True, help="Print one JSON object.")
@WAIT_OPTION
def pull(board_id: int | None, mode: str | None, as_json: bool, wait: float) -> None:
    """Read the columns people own on monday back into the database; report drift.

    \b
    Example:
      ordersync pull --json --wait 120
    """
    from ordersync.pull.pull import pull_board
    from ordersync.sync import make_client

    config = load_config()
    settings = load_settings()
    db = _database(config.tables)
    with make_client(settings, config) as client:
        report = pull_board(db, config, client, mode=mode, board_id=board_id, wait=wait)
    if as_json:
        click.echo(json.dumps(report.as_dict(), default=str))
    else:
        _print_pull(report)


@cli.command()
@click.option("--port", default=8080, show_default=True, help="Port to listen on.")
@click.option("--host", default="127.0.0.1", show_default=True, help="Address to listen on.")
@click.option("--board", "board_id", type=int, help="The items board (default: from --mode).")
@click.option("--mode", help="Board set from the configuration (default: test).")
@click.option(
    "--insecure", is_flag=True, help="Accept unauthenticated requests (local testing only)."
)
def serve(port: int, host: str, board_id: int | None, mode: str | None, insecure: bool) -> None:
    """Receive monday's webhooks and apply them.

    Authentication: ORDERSYNC_WEBHOOK_PATH_SECRET (unsigned webhooks on URL/<secret path>,
    as `webhooks install` registers them) and/or ORDERSYNC_WEBHOOK_SECRET (an app's signing
    secret: JWT). Without either, serve refuses to start unless --insecure.

    \b
    Example:
      ORDERSYNC_WEBHOOK_PATH_SECRET=$(openssl rand -hex 24) ordersync serve --port 8080
    """
    import os

    from ordersync.pull.receiver import Authentication, WebhookServer
    from ordersync.sync import make_client
    from ordersync.ui import Dashboard, mount_dashboard
    from ordersync.ui.app import is_loopback

    config = load_config()
    settings = load_settings()
    auth = Authentication(settings.webhook_secret, settings.webhook_path_secret, insecure)
    auth.check()
    db = _database(config.tables)
    board = board_id or config.board_id(mode)
    if insecure:
        errors.print(
            _text(
                ("warning:", "yellow"),
                " --insecure: unauthenticated requests are accepted (local testing only)",
            )
        )
    with make_client(settings, config) as client:
        server = WebhookServer(db, config, client, board, auth)
        server.applier.boards()  # the subitems board, asked now (else when first needed)
        ui_token = os.environ.get("ORDERSYNC_UI_TOKEN") or None
        if ui_token or is_loopback(host):  # the dashboard at /ui and /metrics, as `ui` has them
            server.app = mount_dashboard(server.app, Dashboard(db, config, token=ui_token))
        where = "/<secret path>" if auth.path_secret else ""
        console.print(f"receiving monday webhooks for board {board} on http://{host}:{port}{where}")
        server.serve(host, port)


@cli.group()
def webhooks() -> None:
    """monday webhooks for `ordersync serve`."""


@webhooks.command("install")
@click.option("--url", required=True, help="The public URL of `ordersync serve`.")
@click.option("--board", "board_id", type=int, help="The items board (default: from --mode).")
@click.option("--mode", help="Board set from the configuration (default: test).")
@click.option("--json", "as_json", is_flag=True, help="Print one JSON object.")
def webhooks_install(url: str, board_id: int | None, mode: str | None, as_json: bool) -> None:
    """Register the webhooks `ordersync serve` applies (the receiver must be running).

    With ORDERSYNC_WEBHOOK_PATH_SECRET set, monday is given URL/<secret path> (never printed).

    \b
    Example:
      ordersync webhooks install --url https://sync.example.com/monday
    """
    from ordersync.pull.install import install_webhooks
    from ordersync.pull.receiver import check_path_secret
    from ordersync.sync import make_client

    config = load_config()
    settings = load_settings()
    path_secret = settings.webhook_path_secret
    if path_secret is not None:
        check_path_secret(path_secret)
    elif settings.webhook_secret is None:
        errors.print(
            _text(
                ("warning:", "yellow"),
                " ORDERSYNC_WEBHOOK_PATH_SECRET is not set: monday sends the webhooks a "
                "personal token makes unsigned, and `serve` refuses them",
            )
        )
    with make_client(settings, config) as client:
        board = board_id or config.board_id(mode)
        report = install_webhooks(client, board, url, path_secret=path_secret)
    if as_json:
        click.echo(json.dumps(report.as_dict(), default=str))
    else:
        for event, hook in report.installed.items():
            console.print(_text(("installed", "green"), f" {event} (webhook {hook})"))
        for event, reason in report.refused.items():
            console.print(_text(("refused", "red"), f" {event}: {reason}"))
        for event, count in report.existing.items():
            console.print(f"note: {count} {event} webhook(s) were already on the board")
    sys.exit(report.exit_code)


# ------------------------------------------------------------------------------------ output
@contextmanager
def _progress(*, enabled: bool) -> Iterator[Any]:
    if not enabled or not console.is_terminal:
        yield None
        return
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

    columns = (
        TextColumn("{task.description:>9}", markup=False),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
    )
    with Progress(*columns, console=console.real(), transient=True) as bar:
        tasks: dict[str, Any] = {}

        def update(phase: str, done: int, total: int) -> None:
            if phase not in tasks:
                tasks[phase] = bar.add_task(phase, total=total)
            bar.update(tasks[phase], completed=done, total=total)

        yield update


def _print_outcome(outcome: SyncOutcome) -> None:
    from ordersync.push.plan import PREVIEW_LINES

    plan = outcome.plan
    for report in outcome.resumed:
        console.print(f"finished interrupted batch {report.batch_id}: {report.status}")
    if outcome.dry_run:
        console.print(
            _text(("dry run", "bold"), f" for board {plan.board_id}: nothing was written or sent")
        )
        for change in plan.preview:
            _print_change(change)
        if plan.changes and len(plan.preview) == PREVIEW_LINES:
            console.print("  … (first lines only)")
        console.print(_plan_totals(plan))
        if plan.refused:
            errors.print(_text(("refused:", "red"), f" {plan.refused}"))
        return
    if plan.refused:
        errors.print(_text(("refused:", "red"), f" {plan.refused}"))
        return
    if outcome.report is None:
        console.print(
            f"nothing to do: {plan.unchanged} order lines already on board {plan.board_id}"
        )
        return
    _print_report(outcome.report)
    console.print(f"{outcome.requests} requests to monday")


MARKS = {"CREATE": ("+", "green"), "UPDATE": ("~", "yellow"), "ARCHIVE": ("-", "red")}


def _print_change(change: LineChange) -> None:
    """One line of the dry-run diff: + create, ~ update (old → new), - archive."""
    console.print(_text(MARKS[change.action], f" {change.order_key}  {change.item_name}"))
    for title, old, new in change.columns:
        console.print(f"    {title}: {_shown(old)} → {_shown(new)}")
    for action, size, old_qty, new_qty in change.sizes:
        quantities = {
            "CREATE": f"{new_qty}",
            "UPDATE": f"{old_qty} → {new_qty}",
            "ARCHIVE": f"(was {old_qty})",
        }[action]
        console.print(_text("    ", MARKS[action], f" size {size} {quantities}"))


def _shown(value: object) -> str:
    """A monday column value as a planner reads it."""
    from ordersync.column_types import shown

    return "∅" if value is None else shown(value)


def _plan_totals(plan: PlanResult) -> str:
    moved = f" ({plan.item_moves} moved to another group)" if plan.item_moves else ""
    items, subitems = (_planned_marks(plan, kind) for kind in KINDS)
    return (
        f"items: {items}{moved}; subitems: {subitems}; "
        f"{plan.unchanged} unchanged; {plan.rejected} rejected"
    )


def _planned_marks(plan: PlanResult, kind: str) -> str:
    """A plan's changes of one kind: ``+creates ~updates -archives``."""
    return " ".join(
        f"{MARKS[c.action][0]}{c.shown_in(plan)}"
        for c in counters(Tally.PLANNED, kind=kind)
        if c.action is not None
    )


def _print_pull(report: PullReport) -> None:
    """A pull's report: what was read, changed, drifted, and found on one side only."""
    console.print(
        f"pulled board {report.board_id}: {report.items_read} items and {report.subitems_read} "
        f"subitems read in {report.pages} pages ({report.requests} requests, "
        f"{report.paging} subitems, {report.restarts} cursor restarts); "
        f"{report.values_changed} monday-owned values changed"
    )
    if report.drifted:
        console.print(
            _text(
                (f"{report.drifted} database-owned columns changed by hand on monday", "yellow"),
                " (the next sync puts them back):",
            )
        )
        for drift in report.drifts:
            size = f" size {drift.size_label}" if drift.size_label else ""
            console.print(
                f"  {drift.order_key}{size} {drift.title}: pushed {drift.pushed!r}, "
                f"on monday {drift.on_board!r}"
            )
    if report.unknown_items or report.unknown_subitems:
        console.print(
            f"{report.unknown_items} items and {report.unknown_subitems} subitems on monday "
            "are not ordersync's (made by hand?)"
        )
    missing = [*report.missing_items, *report.missing_subitems]
    if missing:
        action = {"recreate": "the next sync re-creates them", "flag": "left as they are"}
        gone = (
            f"{len(report.missing_items)} items and {len(report.missing_subitems)} "
            "subitems are gone from monday"
        )
        console.print(_text((gone, "yellow"), f" ({action[report.policy]}):"))
        for row in missing[:50]:
            size = f" size {row.size_label}" if row.size_label else ""
            console.print(f"  {row.order_key}{size}: {row.state}")


FIRST_REJECTIONS = 5  # rejected rows `sync` lists after its summary


def _print_first_rejections(
    db: Database, config: SyncConfig, outcome: SyncOutcome, customer: str | None = None
) -> None:
    """The first rejected rows (key, code, message): the plan's for a dry run, else ERR rows.
    In a whole-book sync each customer's come after the summary, under its name."""
    batch = None
    if outcome.dry_run:
        rows = [
            (key or "(no key)", code, message) for key, code, message in outcome.plan.rejections
        ]
        more = outcome.plan.rejected > FIRST_REJECTIONS
    elif outcome.report is not None:
        from ordersync.rejections import rejected_rows

        batch = outcome.report.batch_id
        rows = [(r.shown_key, r.code, r.message) for r in rejected_rows(db, config, batch_id=batch)]
        more = len(rows) > FIRST_REJECTIONS
    else:
        return
    if not rows:
        return
    title = f"{customer}: rejected rows" if customer else "rejected rows"
    console.print(_rejections_table(rows[:FIRST_REJECTIONS], title))
    if more or len(rows) > FIRST_REJECTIONS:
        hint = f": all of them with `ordersync errors {batch[:8]}`" if batch else ""
        console.print(f"  … the first {FIRST_REJECTIONS} only{hint}", highlight=False)


def _rejections_table(rows: list[tuple[str, str, str]], title: str = "rejected rows") -> Table:
    from rich.text import Text

    table = _table(title)
    for name in ("key", "code", "message"):
        table.add_column(name, overflow="fold")
    for key, code, message in rows:  # data, never markup
        table.add_row(Text(key), Text(code), Text(message))
    return table


def _table(title: str | None = None) -> Table:
    """A plain table that fits 80 columns: no box, short headers."""
    from rich import box
    from rich.table import Table

    return Table(title=title, box=box.SIMPLE_HEAD, pad_edge=False, title_justify="left")


def _print_report(report: BatchReport) -> None:
    """One batch: per action, done/planned for items and subitems (stacked, any width), what
    was adopted and failed; then its status, rows rejected at planning and requests' cost."""
    table = _table(f"batch {report.batch_id}")
    table.add_column("")
    for kind in KINDS:
        table.add_column(f"{kind}s", justify="right", no_wrap=True)
    for label, cells in report_rows():
        table.add_row(
            label,
            *(
                f"{getattr(report, done.column)}/{getattr(report, planned.column)}"
                if planned is not None
                else str(getattr(report, done.column))
                for done, planned in cells
            ),
        )
    console.print(table)
    at_planning, usage = (
        [c.label.format(getattr(report, c.column)) for c in counters(tally)]
        for tally in (Tally.REJECTED, Tally.USAGE)
    )
    figures = "; ".join([*at_planning, ", ".join(usage)])
    console.print(_text("status ", (report.status, "bold"), f"; {figures}"))
    if report.error:
        console.print(f"last error: {report.error}")


def _done_of_planned(report: BatchReport, kind: str) -> str:
    """Changes done / planned (creates, updates and archives together; adopted as done)."""
    return f"{report.applied(kind)}/{report.planned(kind)}"


SHORT_STATUS = {  # distinct at a glance, short enough for 80 columns
    "STAGED": "staged",
    "ITEMS_COMPLETED": "items done",
    "SUBITEMS_COMPLETED": "subitems done",
    "BATCH_COMPLETED": "ok",
    "COMPLETED_WITH_ERRORS": "errors",
    "FAILED": "FAILED",
}


WIDE = 100  # below this many columns, the batch list is stacked: two lines per batch


def _batches_table(reports: list[BatchReport], width: int | None = None) -> Table:
    """Recent batches. The id column shows 8 characters: any unique prefix works in `status`.

    On a narrow terminal each batch takes two lines (created under the id, the board under the
    scope), so nothing is cut; a file or a pipe gets one unwrapped line per batch."""
    width = console.width if width is None else width
    stacked = width < WIDE
    table = _table("recent batches")
    names = ["batch", "created", "board", "scope", "status", "items", "subitems", "rej"]
    if stacked:
        names[:4] = ["batch/created", "scope/board"]
    for name in names:
        table.add_column(name, no_wrap=not name.startswith("scope"), overflow="fold")
    for r in reports:
        scope = f"{r.customer} {r.po_number or ''}".strip()
        when = f"{r.created_at:%m-%d %H:%M}"
        figures = (
            SHORT_STATUS.get(r.status, r.status),
            _done_of_planned(r, "item"),
            _done_of_planned(r, "subitem"),
            str(r.rejected_rows()),
        )
        if stacked:
            table.add_row(f"{r.batch_id[:8]}\n{when}", f"{scope}\n{r.board_id}", *figures)
        else:
            table.add_row(r.batch_id[:8], when, str(r.board_id), scope, *figures)
    return table


def _print_book(book: BookOutcome) -> None:
    """A whole-book sync: one row per customer, then what stopped it, if anything."""
    for resumed in book.resumed:
        console.print(f"finished interrupted batch {resumed.batch_id}: {resumed.status}")
    title = f"{'dry run' if book.dry_run else 'sync'} of {len(book.customers)} customers"
    table = _table(f"{title} to board {book.board_id}")
    for name in ("customer", "status", "items", "subitems", "rej", "batch"):
        table.add_column(name, no_wrap=name != "customer", overflow="fold")
    for c in book.customers:
        outcome = c.outcome
        if outcome is None:
            table.add_row(c.customer, c.status, "", "", "", "")
            continue
        plan, report = outcome.plan, outcome.report
        if report is not None:
            items, subitems = _done_of_planned(report, "item"), _done_of_planned(report, "subitem")
            rejected_rows = report.rejected_rows()
        else:
            items, subitems = (_planned_marks(plan, kind) for kind in KINDS)
            rejected_rows = plan.rejected
        batch = report.batch_id[:8] if report else ""
        status = SHORT_STATUS.get(c.status, c.status.lower().replace("_", " "))
        table.add_row(c.customer, status, items, subitems, str(rejected_rows), batch)
    console.print(table)
    for c in book.customers:
        if c.error:
            console.print(f"{c.customer}: {c.error}")
    if book.stopped_by:
        console.print(
            _text(
                ("stopped:", "red"),
                " the customers after it were not run (monday refuses "
                "every further call, or the lock was lost)",
            )
        )


LEVEL_STYLES = {"problem": ("problem", "red"), "warning": ("warning", "yellow")}


def _print_check(report: BoardCheck) -> None:
    """check-board's report: problems, warnings, then what would be created."""
    scope = ", ".join(report.customers) if report.customers else "all customers"
    console.print(
        f"board {report.board_id} (subitems board {report.subitems_board_id}) against the "
        f"mapping and {report.lines} lines of {scope}"
    )
    for finding in report.findings:
        lines = f" ({finding.lines} lines)" if finding.lines is not None else ""
        label, style = LEVEL_STYLES.get(finding.level, ("note", ""))
        console.print(_text((f"{label}:", style), f" {finding.message}{lines}"))
    problems, warnings = len(report.of("problem")), len(report.of("warning"))
    if not problems and not warnings:
        console.print(_text(("ok:", "green"), " the board takes everything these lines send"))
    else:
        console.print(f"{problems} problems, {warnings} warnings")


# ------------------------------------------------------------------------------ entry point
def _command_name(args: list[str]) -> str | None:
    """The command named on the command line (the group's own options take no value)."""
    for arg in args:
        if not arg.startswith("-"):
            return arg if arg in cli.commands else None
    return None


def _again(command: str | None) -> str:
    """What to run once the cause is fixed, for the command that failed."""
    if command in ("sync", "retry"):
        return (
            f"run the same `ordersync {command}` again: it first finishes any batch left unfinished"
        )
    if command == "serve":
        return "start `ordersync serve` again: stored events are applied then"
    return f"run the same `ordersync {command}` again" if command else "run the command again"


def _error(label: str, style: str, message: str) -> None:
    errors.print(_text((label, style), " ", message))


def main() -> None:
    """Console entry point: library errors become messages and exit codes here, once. With
    ``--json``, an error is also one JSON object on stdout: ``{"error": ..., "code": N}``."""
    args = sys.argv[1:]
    command = _command_name(args)
    try:
        cli.main(standalone_mode=False)
    except click.exceptions.Exit as exit_:
        sys.exit(exit_.exit_code)
    except click.exceptions.Abort:
        errors.print("aborted")
        sys.exit(ExitCode.FAILED)
    except Exception as exc:
        failure = _failure(exc, command)
        if failure is None:
            raise
        code, label, style, message, hint = failure
        if "--json" in args:
            click.echo(json.dumps({"error": message, "code": code, "kind": label.rstrip(":")}))
        if isinstance(exc, click.ClickException):
            exc.show()
        else:
            _error(label, style, message)
            if hint:
                errors.print(hint)
        sys.exit(code)


def _failure(exc: Exception, command: str | None) -> tuple[ExitCode, str, str, str, str] | None:
    """(exit code, label, style, message, what to do) for an error main() reports; ``None``
    for a bug (its traceback is shown)."""
    from ordersync.errors import (
        AuthError,
        ConfigError,
        DatabaseUnavailableError,
        LockedError,
        MondayError,
        OrderSyncError,
        SourceError,
    )

    if isinstance(exc, click.ClickException):
        return ExitCode.USAGE, "usage:", "red", exc.format_message(), ""
    if isinstance(exc, ConfigError | SourceError):
        return ExitCode.USAGE, "error:", "red", str(exc), ""
    if isinstance(exc, LockedError):
        return ExitCode.FAILED, "busy:", "yellow", str(exc), ""
    if isinstance(exc, DatabaseUnavailableError):
        return ExitCode.FAILED, "database error:", "red", str(exc), _again(command)
    if "sqlalchemy" in sys.modules:
        import sqlalchemy as sa

        from ordersync.db.retry import first_line, is_transient

        if isinstance(exc, sa.exc.SQLAlchemyError):
            if is_transient(exc):  # where no retry wraps it: the work is resumable all the same
                message = f"the database connection failed ({first_line(exc)})"
                return ExitCode.FAILED, "database error:", "red", message, _again(command)
            return ExitCode.FAILED, "database error:", "red", str(exc).splitlines()[0], ""
    if isinstance(exc, AuthError):
        message = f"monday refused the API token ({exc}); check MONDAY_API_TOKEN"
        return ExitCode.USAGE, "error:", "red", message, ""
    if isinstance(exc, MondayError):
        if exc.retryable:
            what = "monday could not be reached or did not answer in time"
            fix = "check the network and MONDAY_API_URL, then "
        else:
            what, fix = "monday refused a request", "once the cause is fixed, "
        return ExitCode.FAILED, "failed:", "red", f"{what}: {exc}", fix + _again(command)
    if isinstance(exc, OrderSyncError):
        return ExitCode.FAILED, "failed:", "red", str(exc), _again(command)
    return None


if __name__ == "__main__":
    main()
