"""The configuration: the built-in mapping, and bad configurations failing with a clear name."""

from __future__ import annotations

import copy
import re
import tomllib
from pathlib import Path

import pytest

from helpers.support import SHARED, require_shared
from ordersync.config import SyncConfig, load_config, parse_config
from ordersync.errors import ConfigError
from ordersync.settings import builtin_config_text, load_settings, load_table_names

BUILTIN = tomllib.loads(builtin_config_text())


def test_builtin_holds_the_real_mapping(config: SyncConfig) -> None:
    by_source = {c.source: c for c in config.items.columns}
    assert config.board_id("test") == 4755559751
    assert by_source["AAG ORDER NUMBER"].column_id == "text_mkr5wya6"
    assert by_source["ORDER TYPE"].value_map == {"ACTIVE": "RECEIVED", "CANCELLED": "CANCELLED"}
    assert by_source["CUSTOMER NAME"].transform == "canonical_customer"
    assert by_source["UNIT OF MEASURE"].type == "status"
    assert config.subitems.size_column_id == "dropdown_mkrak7qp"
    assert config.subitems.qty_column_id == "numeric_mkra7j8e"
    assert {c.title for c in config.subitems.monday_owned} >= {"Cut Qty", "ORDER LINE STATUS"}


def test_builtin_matches_shared_mapping_csv(config: SyncConfig) -> None:
    mapping = SHARED / "domain" / "cms_board_mapping.csv"
    require_shared(mapping)
    import csv

    with mapping.open() as handle:
        rows = [r for r in csv.DictReader(handle) if r["board"] == "items"]
    expected = {(r["source_column"], r["monday_column_id"], r["monday_type"]) for r in rows}
    expected = {e for e in expected if e[1] != "name"}
    assert {(c.source, c.column_id, c.type) for c in config.items.columns} == expected


@pytest.mark.parametrize(
    ("spelling", "canonical"),
    [
        ("GREYSON", "GREYSON"),
        ("greyson clothiers", "GREYSON"),
        ("  TRACKSMITH ", "TRACK SMITH"),
        ("B'HOOD", "B'HOOD"),
        ("Peloton Private Label", "PELOTON"),
        ("SOMEONE NEW", "SOMEONE NEW"),
    ],
)
def test_customer_aliases(config: SyncConfig, spelling: str, canonical: str) -> None:
    assert config.canonical_customer(spelling) == canonical
    assert spelling.strip().upper() in config.customer_names(canonical)


def test_customer_names_cover_every_alias(config: SyncConfig) -> None:
    assert config.customer_names("GREYSON CLOTHIERS") == ["GREYSON", "GREYSON CLOTHIERS"]
    assert set(config.customer_names("LORNA JANE")) == {
        "LORNA JANE",
        "LORNA JANE (AU)",
        "LORNA JANE (NZ)",
    }


def _broken(mutate) -> dict:  # type: ignore[no-untyped-def]
    data = copy.deepcopy(BUILTIN)
    mutate(data)
    return data


@pytest.mark.parametrize(
    ("mutate", "named"),
    [
        (lambda d: d["items"]["columns"][0].update(type="decimal"), "items.columns.0.type"),
        (lambda d: d["items"]["columns"][0].update(colour="x"), "colour"),
        (lambda d: d["source"].update(chunk_size=0), "source.chunk_size"),
        (lambda d: d.update(default_mode="staging"), "default_mode"),
        (
            lambda d: d["items"]["columns"].append(dict(d["items"]["columns"][0])),
            "repeated",
        ),
        (
            lambda d: d["items"]["columns"].append(
                {"source": "X", "column_id": "color_mkrerxrs", "type": "status"}
            ),
            "both pushed and monday-owned",
        ),
        (
            lambda d: d["source"].update(key_columns=["NOT MAPPED"]),
            "not mapped to a board column",
        ),
    ],
)
def test_bad_configuration_names_the_problem(mutate, named: str) -> None:  # type: ignore[no-untyped-def]
    with pytest.raises(ConfigError, match=re.escape(named)):
        parse_config(_broken(mutate))


def test_production_board_must_be_configured(config: SyncConfig) -> None:
    with pytest.raises(ConfigError, match=r"boards\.production\.items_board_id"):
        config.board_id("production")
    with pytest.raises(ConfigError, match="unknown mode"):
        config.board_id("nope")


def test_config_file_from_environment(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    text = builtin_config_text().replace("items_board_id = 4755559751", "items_board_id = 42")
    path = tmp_path / "mine.toml"
    path.write_text(text)
    monkeypatch.setenv("ORDERSYNC_CONFIG", str(path))
    assert load_config().board_id(None) == 42
    path.write_text("this is [not toml")
    with pytest.raises(ConfigError, match="not valid TOML"):
        load_config()
    monkeypatch.setenv("ORDERSYNC_CONFIG", str(tmp_path / "missing.toml"))
    with pytest.raises(ConfigError, match="cannot read configuration"):
        load_config()


def test_settings_need_a_token_for_a_real_url() -> None:
    real = load_settings({"MONDAY_API_URL": "https://api.monday.com/v2"})
    with pytest.raises(ConfigError, match="MONDAY_API_TOKEN"):
        real.require_token()
    load_settings({"MONDAY_API_URL": "http://127.0.0.1:8765/v2"}).require_token()
    with pytest.raises(ConfigError, match="http"):
        load_settings({"MONDAY_API_URL": "ftp://example"})


def test_settings_never_show_the_token() -> None:
    settings = load_settings({"MONDAY_API_TOKEN": "secret-token-123"})
    assert "secret-token-123" not in repr(settings)
    assert "secret-token-123" not in str(settings)


def test_table_names_are_read_alone_as_the_mapping_names_them(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """``status`` reads ``[tables]`` without validating the mapping: the same names as
    ``load_config`` finds, and the same refusals of unknown or empty names."""
    file = tmp_path / "ordersync.toml"
    file.write_text(builtin_config_text() + '\n[tables]\nbatches = "ACME_Batches"\n')
    monkeypatch.setenv("ORDERSYNC_CONFIG", str(file))
    names = load_table_names()
    assert names == load_config().tables
    assert (names.batches, names.journal) == ("ACME_Batches", "MON_DeliveryJournal")
    assert load_table_names(tmp_path / "ordersync.toml").names()["batches"] == "ACME_Batches"
    for bad, problem in (('batchez = "X"', "tables.batchez"), ("batches = 5", "tables.batches")):
        file.write_text(f"[tables]\n{bad}\n")
        with pytest.raises(ConfigError, match=problem):
            load_table_names()
        with pytest.raises(ConfigError, match=problem):
            load_config()
