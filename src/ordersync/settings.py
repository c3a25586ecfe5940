"""What every command needs before the mapping, without pydantic (so `status` and the
database layer start fast): the runtime settings from the environment, where the mapping file
is, and the names of ordersync's own tables (the mapping's ``[tables]``).

The whole mapping is validated by ``config.py``; ``load_table_names`` reads ``[tables]`` on
its own for commands that need nothing else.
"""

from __future__ import annotations

import ipaddress
import os
import tomllib
from dataclasses import dataclass, fields
from importlib import resources
from pathlib import Path
from typing import Any, ClassVar
from urllib.parse import urlsplit

from ordersync.errors import ConfigError

DEFAULT_API_URL = "https://api.monday.com/v2"
DEFAULT_DATABASE_URL = "sqlite:///ordersync.db"


@dataclass(frozen=True)
class TablesConfig:
    """Names of ordersync's own tables (defaults follow the original system)."""

    # validated as part of the mapping (config.py), where an unknown name is an error
    __pydantic_config__: ClassVar[dict[str, str]] = {"extra": "forbid"}

    batches: str = "MON_BatchProcessing"
    staged_items: str = "STG_MON_CustMasterSchedule"
    staged_subitems: str = "STG_MON_CustMasterSchedule_Subitems"
    items: str = "MON_CustMasterSchedule"
    subitems: str = "MON_CustMasterSchedule_Subitems"
    item_errors: str = "ERR_MON_CustMasterSchedule"
    subitem_errors: str = "ERR_MON_CustMasterSchedule_Subitems"
    journal: str = "MON_DeliveryJournal"
    locks: str = "MON_SyncLock"
    scan: str = "MON_SyncScan"
    pulled_values: str = "MON_PulledValues"
    value_changes: str = "MON_ValueChanges"
    webhook_events: str = "MON_WebhookEvents"
    pull_runs: str = "MON_PullRuns"
    bulk_jobs: str = "MON_BulkJobs"

    def names(self) -> dict[str, str]:
        """Every table's role → its name."""
        return {field.name: getattr(self, field.name) for field in fields(self)}


def load_table_names(path: str | Path | None = None) -> TablesConfig:
    """The mapping's ``[tables]`` alone (found as ``config.load_config`` finds the mapping).

    Raises:
        ConfigError: the file is missing or not TOML, or ``[tables]`` names an unknown table
            or gives a name that is not a non-empty string.
    """
    source, text = read_config_text(path)
    try:
        tables: Any = tomllib.loads(text).get("tables", {})
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{source}: not valid TOML: {exc}") from exc
    known = {field.name for field in fields(TablesConfig)}
    if not isinstance(tables, dict):
        raise ConfigError(f"{source}: tables: must be a table of names")
    for key, name in tables.items():
        if key not in known:
            raise ConfigError(
                f"{source}: tables.{key}: not one of ordersync's tables: {sorted(known)}"
            )
        if not isinstance(name, str) or not name.strip():
            raise ConfigError(f"{source}: tables.{key}: must be a non-empty string")
    return TablesConfig(**tables)


def builtin_config_text() -> str:
    return resources.files("ordersync.builtin").joinpath("cms.toml").read_text("utf-8")


def read_config_text(path: str | Path | None) -> tuple[str, str]:
    """``(where from, text)`` of the mapping: ``path``, else ``ORDERSYNC_CONFIG``, else
    ``./ordersync.toml``, else the built-in configuration."""
    if path is None:
        env = os.environ.get("ORDERSYNC_CONFIG")
        if env:
            path = env
        elif Path("ordersync.toml").is_file():
            path = "ordersync.toml"
        else:
            return "built-in configuration", builtin_config_text()
    file = Path(path)
    try:
        return str(file), file.read_text("utf-8")
    except OSError as exc:
        raise ConfigError(f"cannot read configuration {file}: {exc.strerror}") from exc


@dataclass(frozen=True)
class Settings:
    """Runtime settings from the environment. The token is kept out of ``repr``."""

    database_url: str
    api_url: str
    api_token: str | None
    webhook_secret: str | None = None
    webhook_path_secret: str | None = None

    def __repr__(self) -> str:
        token = "<set>" if self.api_token else None
        secret = "<set>" if self.webhook_secret else None
        path = "<set>" if self.webhook_path_secret else None
        return (
            f"Settings(database_url={self.database_url!r}, api_url={self.api_url!r}, "
            f"token={token}, webhook_secret={secret}, webhook_path_secret={path})"
        )

    def require_token(self) -> None:
        """A real monday URL needs a token; a loopback emulator does not."""
        if not self.api_token and not is_loopback_url(self.api_url):
            raise ConfigError(
                f"MONDAY_API_TOKEN is not set; it is required to reach {self.api_url}"
            )


def load_settings(environ: dict[str, str] | None = None) -> Settings:
    """Read ``ORDERSYNC_DATABASE_URL``, ``MONDAY_API_URL``, ``MONDAY_API_TOKEN``,
    ``ORDERSYNC_WEBHOOK_SECRET`` and ``ORDERSYNC_WEBHOOK_PATH_SECRET``."""
    env = os.environ if environ is None else environ
    api_url = env.get("MONDAY_API_URL") or DEFAULT_API_URL
    if urlsplit(api_url).scheme not in ("http", "https"):
        raise ConfigError(f"MONDAY_API_URL must be an http(s) URL, got {api_url!r}")
    return Settings(
        database_url=env.get("ORDERSYNC_DATABASE_URL") or DEFAULT_DATABASE_URL,
        api_url=api_url,
        api_token=env.get("MONDAY_API_TOKEN") or None,
        webhook_secret=env.get("ORDERSYNC_WEBHOOK_SECRET") or None,
        webhook_path_secret=env.get("ORDERSYNC_WEBHOOK_PATH_SECRET") or None,
    )


def is_loopback_url(url: str) -> bool:
    host = urlsplit(url).hostname or ""
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False
