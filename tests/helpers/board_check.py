"""The board must show exactly what the source says (importable as ``helpers.board_check``)."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

from ordersync.config import SyncConfig
from ordersync.db import Database
from ordersync.emulator import CMS_BOARD_ID, CMS_SUBITEMS_BOARD_ID, Emulator
from ordersync.push.lines import LineBuilder, OrderLine
from ordersync.push.source import Scope, reflect_source, select_scope

KEY_COLUMN = "text_mkr5wya6"


def shown(value: object) -> str:
    """How monday's text rendering shows a normalised value."""
    if value is None:
        return ""
    if isinstance(value, Decimal):
        text = format(value, "f")
        return text.rstrip("0").rstrip(".") if "." in text else text
    if isinstance(value, date):
        return value.isoformat()
    return str(value)


def assert_board_matches_source(
    db: Database, config: SyncConfig, emulator: Emulator, scope: Scope
) -> None:
    """Active items of the scope == the source's lines: names, every pushed column, sizes."""
    source = reflect_source(db.engine, config)
    builder = LineBuilder(config, source.size_columns)
    with db.engine.connect() as connection:
        lines = [
            builder.build(r)
            for r in connection.execute(select_scope(source, config, scope)).mappings()
        ]
    expected = {line.order_key: line for line in lines if isinstance(line, OrderLine)}
    customer = config.canonical_customer(scope.customer)
    items = [
        i
        for i in emulator.items(CMS_BOARD_ID)
        if i["state"] == "active"
        and i["texts"]["dropdown_mkr542p2"] == customer
        and (scope.po_number is None or i["texts"]["text_mkr5ej2x"] == scope.po_number)
    ]
    keys = [i["texts"][KEY_COLUMN] for i in items]
    assert len(keys) == len(set(keys)), "duplicate active items"
    assert set(keys) == set(expected)
    by_id = {i["id"]: i for i in items}
    subitems: dict[str, dict[str, str]] = {}
    for sub in emulator.items(CMS_SUBITEMS_BOARD_ID):
        if sub["state"] == "active" and sub["parent_id"] in by_id:
            key = by_id[sub["parent_id"]]["texts"][KEY_COLUMN]
            size = sub["texts"]["dropdown_mkrak7qp"]
            assert size not in subitems.setdefault(key, {}), f"duplicate subitem {key} {size}"
            subitems[key][size] = sub["texts"]["numeric_mkra7j8e"]
    for item in items:
        line = expected[item["texts"][KEY_COLUMN]]
        assert item["name"] == line.item_name
        assert item["group_title"] == line.group_title
        for column_id, value in line.values.items():
            assert item["texts"][column_id] == shown(value), (line.order_key, column_id)
        assert subitems.get(line.order_key, {}) == {s: str(q) for s, q in line.sizes.items()}
