"""The command line of issue 14 through its real entry point (emulator over real HTTP): whole-book
syncs, check-board, customer typos, batch id prefixes, JSON errors, dry-run plans, -v/-vv,
init-db with custom table names, and output that fits 80 columns or a file."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import sqlalchemy as sa
from rich.console import Console

from ordersync import cli
from ordersync.batches import BatchReport
from ordersync.demo_data import BAD_ROW_DUPLICATE_ORDER, BAD_ROWS_PO
from ordersync.emulator import CMS_BOARD_ID, RunningServer
from ordersync.settings import TablesConfig, builtin_config_text
from test_cli import environment, run, server  # noqa: F401 - the fixture

GREYSON_4755 = ("--customer", "GREYSON", "--po-number", "4755")


def _ready(env: dict[str, str]) -> dict[str, str]:
    for args in (["init-db"], ["demo-data"]):
        done = run(env, *args)
        assert done.returncode == 0, done.stderr
    return env


@pytest.fixture
def env(server: RunningServer, db_url: str, tmp_path: Path) -> dict[str, str]:  # noqa: F811
    """The CLI's environment on SQLite and PostgreSQL: ordersync's tables, the demo source."""
    return _ready(environment(server, db_url, tmp_path))


@pytest.fixture
def sqlite_env(server: RunningServer, sqlite_url: str, tmp_path: Path) -> dict[str, str]:  # noqa: F811
    """The same on SQLite only."""
    return _ready(environment(server, sqlite_url, tmp_path))


def test_sync_all_and_repeated_customers(env: dict[str, str]) -> None:
    dry = run(env, "sync", "--all", "--dry-run", "--json")
    assert dry.returncode == 3, dry.stderr  # RHONE's bad rows: the worst of them
    book = json.loads(dry.stdout)
    names = [c["customer"] for c in book["customers"]]
    # every customer of the source once, under its canonical name (GREYSON CLOTHIERS → GREYSON)
    assert names == sorted(names) and len(names) == 7 and "GREYSON" in names
    assert "GREYSON CLOTHIERS" not in names and "TRACKSMITH" not in names
    assert {c["status"] for c in book["customers"]} == {"DRY_RUN"}
    rhone = next(c for c in book["customers"] if c["customer"] == "RHONE")
    assert rhone["exit_code"] == 3 and rhone["rows_rejected"] > 0

    two = run(env, "sync", "--customer", "GREYSON", "--customer", "TRACKSMITH", "--po-number",
              "4755")  # fmt: skip
    assert two.returncode == 0, two.stderr
    assert "sync of 2 customers" in two.stdout
    lines = two.stdout.splitlines()
    assert any(line.split()[:2] == ["GREYSON", "ok"] for line in lines), two.stdout
    assert any(line.split()[:3] == ["TRACK", "SMITH", "ok"] for line in lines), two.stdout


def test_a_book_sync_lists_each_customers_first_rejected_rows(env: dict[str, str]) -> None:
    """After the summary, each customer's first rejected rows under its name, as a
    single-customer sync prints them: the plan's in a dry run, the batch's ERR rows after it."""
    args = ("sync", "--customer", "RHONE", "--customer", "GREYSON", "--po-number", BAD_ROWS_PO)
    for dry in (True, False):
        done = run(env, *args, *(["--dry-run"] if dry else []))
        assert done.returncode == 3, done.stderr
        summary, _, after = done.stdout.partition("RHONE: rejected rows")
        assert "sync of 2 customers" in summary or "dry run of 2 customers" in summary
        assert "GREYSON: rejected rows" not in done.stdout  # nothing rejected: no table
        assert BAD_ROW_DUPLICATE_ORDER in after, done.stdout
        for code in ("MISSING_KEY", "INVALID_NUMBER", "NEGATIVE_QUANTITY", "DUPLICATE_KEY"):
            assert code in after, done.stdout


def test_an_unknown_customer_is_an_error_naming_the_closest(sqlite_env: dict[str, str]) -> None:
    env = sqlite_env
    typo = run(env, "sync", "--customer", "GRAYSON")
    assert typo.returncode == 2
    assert "unknown customer 'GRAYSON'" in typo.stderr and "GREYSON" in typo.stderr
    as_json = run(env, "sync", "--customer", "GRAYSON", "--dry-run", "--json")
    assert as_json.returncode == 2
    error = json.loads(as_json.stdout)
    assert error["code"] == 2 and "did you mean GREYSON" in error["error"]
    usage = run(env, "status", "--limit", "0", "--json")
    assert usage.returncode == 2 and json.loads(usage.stdout)["code"] == 2
    # an alias from the configuration is known even without lines in the source
    alias = run(env, "sync", "--customer", "AJE ATHLETICA (AU)", "--dry-run", "--json")
    assert alias.returncode == 0, alias.stderr


def test_dry_run_json_carries_the_plan(sqlite_env: dict[str, str]) -> None:
    env = sqlite_env
    dry = run(env, "sync", *GREYSON_4755, "--dry-run", "--json")
    assert dry.returncode == 0, dry.stderr
    plan = json.loads(dry.stdout)["plan"]
    assert plan and all(line["action"] == "CREATE" for line in plan)
    first = plan[0]
    assert first["key"].startswith("GRY-") and first["item_name"]
    assert first["sizes"] and all(s["action"] == "CREATE" and s["new"] for s in first["sizes"])
    assert first["columns"] == []  # a create has no old → new columns


def test_status_takes_any_unique_prefix_and_fits_80_columns(
    env: dict[str, str], db_url: str
) -> None:
    synced = run(env, "sync", *GREYSON_4755, "--json")
    batch_id = json.loads(synced.stdout)["batch_id"]
    for prefix in (batch_id[:8], batch_id[:3], batch_id):
        shown = run(env, "status", prefix, "--json")
        assert shown.returncode == 0, shown.stderr
        assert json.loads(shown.stdout)["batch_id"] == batch_id
    # a second batch so that a one-character prefix may be ambiguous; make it so
    engine = sa.create_engine(db_url)
    with engine.begin() as connection:
        batches = sa.Table("MON_BatchProcessing", sa.MetaData(), autoload_with=connection)
        row = dict(connection.execute(sa.select(batches)).mappings().one())
        row["batch_id"] = batch_id[:2] + "zz" + batch_id[4:]
        connection.execute(batches.insert().values(**row))
    engine.dispose()
    ambiguous = run(env, "status", batch_id[:2])
    assert ambiguous.returncode == 2 and "ambiguous" in ambiguous.stderr
    missing = run(env, "retry", "--batch", "ffffffff-nope")
    assert missing.returncode == 2 and "no batch" in missing.stderr

    env80 = {**env, "COLUMNS": "80"}
    listed = run(env80, "status")  # not a terminal: one unwrapped line per batch
    assert listed.returncode == 0, listed.stderr
    row_lines = [line for line in listed.stdout.splitlines() if line.strip().startswith(
        batch_id[:8])]  # fmt: skip
    assert len(row_lines) == 1 and str(CMS_BOARD_ID) in row_lines[0]
    assert "…" not in listed.stdout


def test_tables_fit_80_columns_on_a_terminal() -> None:
    report = BatchReport.__new__(BatchReport)
    values = {
        "batch_id": "50637a98-c5c4-4339-9e97-3877c71557bf",
        "board_id": CMS_BOARD_ID,
        "customer": "LORNA JANE",
        "po_number": "LJ-88120",
        "status": "COMPLETED_WITH_ERRORS",
        "rows_rejected": 12,
        "requests": 13,
        "retries": 0,
        "throttled": 2,
        "complexity_spent": 1_234_567,
        "error": None,
    }
    from datetime import datetime

    values["created_at"] = datetime(2026, 12, 1, 23, 5)
    for kind in ("item", "subitem"):
        for name in ("created", "adopted", "updated", "archived", "failed"):
            values[f"{kind}s_{name}"] = 10_000
        for name in ("s", "_updates", "_archives"):
            values[f"planned_{kind}{name}"] = 100_000
    report.__dict__.update(values)
    console = Console(width=80, force_terminal=True, markup=False, highlight=False, record=True)
    console.print(cli._batches_table([report, report], width=80))
    old, cli.console = cli.console, console
    try:
        cli._print_report(report)
    finally:
        cli.console = old
    text = console.export_text()
    assert "…" not in text
    assert all(len(line) <= 80 for line in text.splitlines())
    assert "errors" in text and "create (done/planned)" in text and "archive" in text
    assert "10000/100000" in text and str(CMS_BOARD_ID) in text
    assert "2 answered 429" in text and "1,234,567 complexity points" in text


def test_check_board_from_the_command_line(sqlite_env: dict[str, str], sqlite_url: str) -> None:
    env = sqlite_env
    fine = run(env, "check-board", "--customer", "GREYSON")
    assert fine.returncode == 0, fine.stdout + fine.stderr
    assert "ok: the board takes everything" in fine.stdout and "would be created" in fine.stdout
    engine = sa.create_engine(sqlite_url)
    with engine.begin() as connection:
        changed = connection.execute(
            sa.text(
                'UPDATE "ORDERS_UNIFIED" SET "UNIT OF MEASURE" = :uom WHERE "PO NUMBER" = :po '
                'AND "CUSTOMER NAME" IN (:a, :b)'
            ),
            {"uom": "PCE", "po": "4755", "a": "GREYSON", "b": "GREYSON CLOTHIERS"},
        ).rowcount
    engine.dispose()
    bad = run(env, "check-board", "--customer", "GREYSON", "--json")
    assert bad.returncode == 1
    report = json.loads(bad.stdout)
    problems = [f for f in report["findings"] if f["level"] == "problem"]
    assert changed > 0 and report["problems"] == len(problems) == 1
    assert problems[0]["lines"] == changed
    assert "'PCE' is not on the board" in problems[0]["message"]
    mode = run(env, "check-board", "--mode", "production")
    assert mode.returncode == 2 and "boards.production" in mode.stderr


def test_verbose_levels(sqlite_env: dict[str, str]) -> None:
    env = sqlite_env
    quiet = run(env, "sync", *GREYSON_4755, "--dry-run")
    one = run(env, "-v", "sync", *GREYSON_4755, "--dry-run")
    two = run(env, "-vv", "sync", *GREYSON_4755, "--dry-run")
    assert "ordersync." not in quiet.stderr
    assert "ordersync." in one.stderr and "httpcore" not in one.stderr
    assert "httpx" not in one.stderr
    assert "httpcore" in two.stderr and "ordersync." in two.stderr


def test_init_db_creates_a_custom_table_set(
    env: dict[str, str], db_url: str, tmp_path: Path
) -> None:
    """``env`` holds the default table set; a second, custom set is created beside it."""
    config = tmp_path / "custom.toml"

    names = TablesConfig().names()
    tables = "".join(f'{field} = "B2_{name}"\n' for field, name in names.items())
    config.write_text(builtin_config_text() + "\n[tables]\n" + tables)
    custom = {**env, "ORDERSYNC_CONFIG": str(config)}
    created = run(custom, "init-db")
    assert created.returncode == 0, created.stderr
    engine = sa.create_engine(db_url)
    inspector = sa.inspect(engine)
    assert {f"B2_{name}" for name in names.values()} <= set(inspector.get_table_names())
    engine.dispose()
    synced = run(custom, "sync", *GREYSON_4755, "--json")
    assert synced.returncode == 0, synced.stderr
    assert run(custom, "init-db").returncode == 0  # again: nothing to do
    assert json.loads(run(env, "status", "--json").stdout) == []  # the default set untouched
