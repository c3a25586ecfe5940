"""Keys found twice in scope: every row carrying the key is rejected, never merged, whether
the rows differ or are exact copies (a source that double-loaded a line)."""

from __future__ import annotations

import sqlalchemy as sa

from ordersync.config import SyncConfig
from ordersync.db import Database
from ordersync.push.plan import plan_batch
from ordersync.push.source import Scope
from ordersync.states import Action

GREYSON = Scope("GREYSON", "4755")
KEY = "AAG ORDER NUMBER"


def _source(db: Database) -> sa.Table:
    return sa.Table("ORDERS_UNIFIED", sa.MetaData(), autoload_with=db.engine)


def _insert_copy_of_first_line(db: Database, **changes: object) -> str:
    """Insert a second row for GREYSON PO 4755's first line; returns its key."""
    table = _source(db)
    with db.engine.begin() as connection:
        row = connection.execute(
            sa.select(table).where(table.c["PO NUMBER"] == "4755").order_by(table.c[KEY]).limit(1)
        ).one()
        values = {k: v for k, v in row._mapping.items() if not table.c[k].primary_key}
        connection.execute(table.insert().values({**values, **changes}))
    return str(row._mapping[KEY])


def _plan_errors(db: Database, batch_id: str) -> list[tuple[str, str]]:
    errors = db.tables.item_errors
    with db.engine.connect() as connection:
        return sorted(
            (r.order_key, r.error_code)
            for r in connection.execute(
                sa.select(errors.c.order_key, errors.c.error_code).where(
                    errors.c.batch_id == batch_id
                )
            )
        )


def _staged_keys(db: Database, batch_id: str) -> set[str]:
    staged = db.tables.staged_items
    with db.engine.connect() as connection:
        return set(
            connection.execute(
                sa.select(staged.c.order_key).where(
                    staged.c.batch_id == batch_id, staged.c.action == Action.CREATE
                )
            ).scalars()
        )


def test_two_identical_rows_under_one_key_are_both_rejected(
    db: Database, config: SyncConfig
) -> None:
    key = _insert_copy_of_first_line(db)

    result = plan_batch(db, config, GREYSON)

    assert result.batch_id is not None
    assert result.rejected == 2 and result.items == 68
    assert _plan_errors(db, result.batch_id) == [(key, "DUPLICATE_KEY")] * 2
    assert key not in _staged_keys(db, result.batch_id)


def test_two_different_rows_under_one_key_are_both_rejected(
    db: Database, config: SyncConfig
) -> None:
    key = _insert_copy_of_first_line(db, **{"CUSTOMER PRICE": "123.45"})

    result = plan_batch(db, config, GREYSON)

    assert result.batch_id is not None
    assert result.rejected == 2 and result.items == 68
    assert _plan_errors(db, result.batch_id) == [(key, "DUPLICATE_KEY")] * 2
    assert key not in _staged_keys(db, result.batch_id)
