"""``check-board``: the board against the mapping and the data, before anything is sent (SQLite
and PostgreSQL, the emulator in-process; the command line in tests/test_cli_book.py)."""

from __future__ import annotations

import tomllib

import pytest
import sqlalchemy as sa

from ordersync.check import check_board
from ordersync.config import SyncConfig, parse_config
from ordersync.db import Database
from ordersync.emulator import CMS_BOARD_ID, Emulator
from ordersync.errors import ConfigError
from ordersync.monday import MondayClient
from ordersync.push.source import Scope
from ordersync.settings import builtin_config_text
from ordersync.sync import run_sync

UOM = "color_mkr5yf27"


def _set_uom(db: Database, po: str, value: str, lines: int) -> None:
    table = sa.Table("ORDERS_UNIFIED", sa.MetaData(), autoload_with=db.engine)
    key = table.c["AAG ORDER NUMBER"]
    with db.engine.begin() as connection:
        keys = connection.execute(
            sa.select(key).where(table.c["PO NUMBER"] == po).order_by(key).limit(lines)
        ).scalars()
        connection.execute(
            table.update().where(key.in_(list(keys))).values({"UNIT OF MEASURE": value})
        )


def test_a_fresh_board_takes_greyson_and_lists_what_it_would_create(
    db: Database, config: SyncConfig, client: MondayClient, emulator: Emulator
) -> None:
    report = check_board(db, config, client, customers=["GREYSON"])
    assert report.exit_code == 0, report.findings
    assert report.lines >= 69  # GREYSON's lines, every PO
    notes = {(f.kind, f.message) for f in report.of("note")}
    assert any(kind == "group" and "'GREYSON " in message for kind, message in notes)
    assert not emulator.stats.mutations  # nothing was sent


def test_a_label_the_board_lacks_is_a_problem_naming_the_lines(
    db: Database, config: SyncConfig, client: MondayClient, emulator: Emulator
) -> None:
    _set_uom(db, "4755", "PCE", lines=3)
    emulator.deactivate_label(CMS_BOARD_ID, UOM, "PACK")
    _set_uom(db, "TS-1043", "PACK", lines=2)  # TRACK SMITH: out of GREYSON's scope
    report = check_board(db, config, client, customers=["GREYSON CLOTHIERS"])
    assert report.exit_code == 1
    problems = [f for f in report.of("problem") if f.kind == "label"]
    pce = [f.lines for f in problems if "'PCE' is not on the board" in f.message]
    assert pce == [3]
    pack = [f.lines or 0 for f in problems if "'PACK' is deactivated" in f.message]
    assert len(pack) == 1 and len(problems) == 2

    whole = check_board(db, config, client)  # every customer: TRACK SMITH's PACK lines too
    table = sa.Table("ORDERS_UNIFIED", sa.MetaData(), autoload_with=db.engine)
    with db.engine.connect() as connection:
        packs = connection.execute(
            sa.select(sa.func.count()).where(table.c["UNIT OF MEASURE"] == "PACK")
        ).scalar_one()
    assert [f.lines for f in whole.of("problem") if "'PACK'" in f.message] == [packs]

    # the run agrees: exactly those lines are rejected as UNKNOWN_LABEL
    outcome = run_sync(db, config, client, Scope("GREYSON"))
    assert outcome.report is not None and outcome.report.items_failed == 3 + pack[0]


def test_skip_value_columns_warn_and_missing_columns_are_problems(
    db: Database, client: MondayClient
) -> None:
    data = tomllib.loads(builtin_config_text())
    for column in data["items"]["columns"]:
        if column["column_id"] == UOM:
            column["on_invalid"] = "skip_value"
        if column["source"] == "PATTERN ID":
            column["column_id"] = "text_not_on_board"
    config = parse_config(data)
    _set_uom(db, "4755", "PCE", lines=1)
    report = check_board(db, config, client, customers=["GREYSON"])
    assert report.exit_code == 1
    assert [f.message for f in report.of("problem")] == [
        f"column text_not_on_board is not on board {CMS_BOARD_ID}"
    ]
    assert [f.lines for f in report.of("warning")] == [1]

    without_missing = parse_config(
        {**data, "items": {**data["items"], "columns": [
            c for c in data["items"]["columns"] if c["column_id"] != "text_not_on_board"
        ]}}
    )  # fmt: skip
    assert check_board(db, without_missing, client, customers=["GREYSON"]).exit_code == 3


def test_labels_are_read_set_based_with_bound_parameters(
    db: Database, config: SyncConfig, client: MondayClient
) -> None:
    statements: list[str] = []

    def record(conn, cursor, statement, parameters, context, executemany):  # type: ignore[no-untyped-def]
        statements.append(statement)

    sa.event.listen(db.engine, "before_cursor_execute", record)
    try:
        check_board(db, config, client, customers=["GREYSON"])
    finally:
        sa.event.remove(db.engine, "before_cursor_execute", record)
    reads = [s for s in statements if "ORDERS_UNIFIED" in s and "count(" in s.lower()]
    label_columns = [c for c in config.items.columns if c.type in ("status", "dropdown")]
    # one statement per label column, the groups, the sizes and the line count: not per line
    assert len(reads) == len(label_columns) + 3
    assert sum("GROUP BY" in s.upper() for s in reads) == len(label_columns) + 1
    assert not any("GREYSON" in s for s in statements)  # names are bound, never inlined


def test_sync_stops_before_sending_on_the_same_column_problem(
    db: Database, client: MondayClient, emulator: Emulator
) -> None:
    data = tomllib.loads(builtin_config_text())
    for column in data["items"]["columns"]:
        if column["source"] == "PATTERN ID":
            column["column_id"] = "text_not_on_board"
    config = parse_config(data)
    found = check_board(db, config, client, customers=["GREYSON"]).of("problem")
    for dry_run in (True, False):
        with pytest.raises(ConfigError) as stopped:
            run_sync(db, config, client, Scope("GREYSON", "4755"), dry_run=dry_run)
        assert found[0].message in str(stopped.value)  # one check, one message
    assert not emulator.stats.mutations
    with db.engine.connect() as connection:
        assert not connection.execute(sa.select(db.tables.batches)).first()
