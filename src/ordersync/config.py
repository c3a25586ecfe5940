"""Configuration: the board mapping (a TOML file) and the runtime settings (the environment).

Where the mapping comes from, first match wins: the ``ORDERSYNC_CONFIG`` environment variable,
``./ordersync.toml``, else the built-in Customer Master Schedule configuration
(``ordersync/builtin/cms.toml``). Every problem is reported before any work starts, as a
``ConfigError`` that names the key at fault (the CLI turns it into exit code 2).
"""

from __future__ import annotations

import tomllib
from functools import cached_property
from pathlib import Path
from typing import Annotated, Any, Literal

from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    Field,
    ValidationError,
    model_validator,
)

from ordersync.column_types import column_type_named
from ordersync.errors import ConfigError
from ordersync.settings import TablesConfig, builtin_config_text, read_config_text
from ordersync.timeouts import API_VERSION, REQUEST_TIMEOUT, SERVER_TIMEOUT

TypeName = Annotated[str, AfterValidator(lambda name: column_type_named(name).name)]
"""A column type's name, one of ``column_types.COLUMN_TYPES`` (else an error naming them)."""
DEFAULT_API_VERSION = API_VERSION


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class ColumnMapping(_Model):
    """One source column pushed into one board column (owned by the database)."""

    source: str
    column_id: str
    type: TypeName
    title: str | None = None
    create_labels_if_missing: bool = False
    value_map: dict[str, str] = Field(default_factory=dict)
    transform: Literal["canonical_customer"] | None = None
    on_invalid: Literal["reject_row", "skip_value"] = "reject_row"


class MondayOwnedColumn(_Model):
    """A board column people own: pulled back, never pushed."""

    title: str
    column_id: str
    type: TypeName


class SizeRange(_Model):
    after: str
    before: str


class SourceConfig(_Model):
    table: str = "ORDERS_UNIFIED"
    db_schema: str | None = Field(default=None, alias="schema")
    key_columns: list[str] = Field(default_factory=lambda: ["AAG ORDER NUMBER"], min_length=1)
    customer_column: str = "CUSTOMER NAME"
    po_column: str = "PO NUMBER"
    season_column: str = "CUSTOMER SEASON"
    size_columns: list[str] | None = None
    size_range: SizeRange | None = SizeRange(after="UNIT OF MEASURE", before="TOTAL QTY")
    chunk_size: int = Field(default=1000, ge=1, le=50_000)

    @model_validator(mode="after")
    def _one_size_rule(self) -> SourceConfig:
        if self.size_columns is None and self.size_range is None:
            raise ValueError("set either source.size_columns or source.size_range")
        return self


class CancelledRule(_Model):
    """What a cancelled order line does to its item: ``update`` (the board shows the new
    ORDER TYPE, the item stays) or ``archive`` (the item is archived like a deleted line)."""

    column: str = "ORDER TYPE"
    values: list[str] = Field(default_factory=lambda: ["CANCELLED"])
    action: Literal["update", "archive"] = "update"


class ItemsConfig(_Model):
    name_columns: list[str] = Field(min_length=1)
    group_columns: list[str] = Field(default_factory=list)
    columns: list[ColumnMapping]
    monday_owned: list[MondayOwnedColumn] = Field(default_factory=list)
    cancelled: CancelledRule = CancelledRule()

    @model_validator(mode="after")
    def _unique_columns(self) -> ItemsConfig:
        _reject_duplicates("items.columns column_id", [c.column_id for c in self.columns])
        _reject_duplicates("items.columns source", [c.source for c in self.columns])
        pushed = {c.column_id for c in self.columns}
        both = sorted(pushed & {c.column_id for c in self.monday_owned})
        if both:
            raise ValueError(f"columns {both} are both pushed and monday-owned; pick one owner")
        return self


class SubitemsConfig(_Model):
    size_column_id: str
    qty_column_id: str
    size_labels_create_if_missing: bool = True
    monday_owned: list[MondayOwnedColumn] = Field(default_factory=list)


class BoardSet(_Model):
    items_board_id: int | None = None


class BulkConfig(_Model):
    """``[delivery.bulk]``: large first loads through monday's import jobs (``bulk/``).

    ``mode``: ``never`` (mutations only), ``auto`` (item creates above ``threshold`` lines go
    through an import job, falling back to mutations where a job cannot help), ``always``
    (every item create a job can carry). ``backfill``: ``backfill_items`` (an account admin's
    initial load: no automations, no activity log, no hourly item budget) instead of
    ``ingest_items``. ``poll_seconds``: between two ``fetch_job_status`` calls.
    """

    mode: Literal["never", "auto", "always"] = "auto"
    threshold: int = Field(default=500, ge=0)
    backfill: bool = False
    poll_seconds: float = Field(default=10.0, gt=0, le=600)


class DeliveryConfig(_Model):
    items_per_request: int = Field(default=50, ge=1, le=200)
    subitems_per_request: int = Field(default=50, ge=1, le=200)
    max_retries: int = Field(default=8, ge=0, le=50)
    # below monday's 60 s server timeout, so a retry never races the first request
    timeout_seconds: float = Field(default=REQUEST_TIMEOUT, gt=0, lt=SERVER_TIMEOUT)
    api_version: str = DEFAULT_API_VERSION
    # A plan that would archive more than this share of a scope's items (and more than
    # plan.MASS_ARCHIVE_FLOOR of them) is refused unless `sync --allow-mass-archive`.
    max_archive_share: float = Field(default=0.5, ge=0, le=1)
    bulk: BulkConfig = BulkConfig()


class PullConfig(_Model):
    """Reading monday-owned columns back (``ordersync pull``)."""

    missing_item_policy: Literal["recreate", "flag"] = "recreate"
    page_size: int = Field(default=500, ge=1, le=500)
    subitems: Literal["nested", "separate"] = "nested"


class ServeConfig(_Model):
    """The webhook receiver (``ordersync serve``); its secrets are read from
    ``ORDERSYNC_WEBHOOK_SECRET`` and ``ORDERSYNC_WEBHOOK_PATH_SECRET``, never from this file.
    ``events_per_apply`` events are applied per hold of the board's lock."""

    retry_seconds: float = Field(default=5.0, gt=0)
    events_per_apply: int = Field(default=100, ge=1, le=1000)
    max_body_bytes: int = Field(default=64 * 1024, ge=4096, le=10 * 1024 * 1024)


class SyncConfig(_Model):
    """The whole mapping: source, boards, columns, customers, tables, delivery."""

    default_mode: str = "test"
    boards: dict[str, BoardSet]
    source: SourceConfig = SourceConfig()
    items: ItemsConfig
    subitems: SubitemsConfig
    customers: dict[str, str] = Field(default_factory=dict)
    tables: TablesConfig = TablesConfig()
    delivery: DeliveryConfig = DeliveryConfig()
    pull: PullConfig = PullConfig()
    serve: ServeConfig = ServeConfig()

    @model_validator(mode="after")
    def _default_mode_exists(self) -> SyncConfig:
        if self.default_mode not in self.boards:
            raise ValueError(f"default_mode {self.default_mode!r} is not one of boards.*")
        return self

    @cached_property
    def canonical_customers(self) -> dict[str, str]:
        """Upper-cased source name → canonical customer name."""
        return {alias.strip().upper(): name for alias, name in self.customers.items()}

    def canonical_customer(self, name: str) -> str:
        """The canonical name for a customer as written in the source (unknown names kept)."""
        cleaned = name.strip().upper()
        return self.canonical_customers.get(cleaned, cleaned)

    def customer_names(self, customer: str) -> list[str]:
        """Every source spelling of ``customer`` (canonical name or any alias), upper-cased."""
        canonical = self.canonical_customer(customer)
        names = {alias for alias, name in self.canonical_customers.items() if name == canonical}
        return sorted(names | {canonical.upper(), customer.strip().upper()})

    def board_id(self, mode: str | None) -> int:
        """The items board for ``mode`` (default: ``default_mode``)."""
        mode = mode or self.default_mode
        if mode not in self.boards:
            raise ConfigError(f"unknown mode {mode!r}; configured modes: {sorted(self.boards)}")
        board_id = self.boards[mode].items_board_id
        if board_id is None:
            raise ConfigError(
                f"no board configured for --mode {mode}: set boards.{mode}.items_board_id "
                "in ordersync.toml (ORDERSYNC_CONFIG)"
            )
        return board_id

    def with_bulk(
        self, mode: str | None = None, *, backfill: bool = False, **more: Any
    ) -> SyncConfig:
        """This configuration with ``[delivery.bulk]`` changed (``sync --bulk``, ``--backfill``)."""
        changes: dict[str, Any] = dict(more)
        if mode is not None:
            changes["mode"] = mode
        if backfill:
            changes["backfill"] = True
        if not changes:
            return self
        bulk = BulkConfig.model_validate({**self.delivery.bulk.model_dump(), **changes})
        delivery = self.delivery.model_copy(update={"bulk": bulk})
        return self.model_copy(update={"delivery": delivery})

    @property
    def key_column_mapping(self) -> ColumnMapping:
        """The board column that holds the first key column (used to find items on monday)."""
        first = self.source.key_columns[0]
        for column in self.items.columns:
            if column.source == first:
                return column
        raise ConfigError(f"key column {first!r} is not mapped to a board column in items.columns")


def _reject_duplicates(what: str, values: list[str]) -> None:
    seen: set[str] = set()
    twice = sorted({v for v in values if v in seen or seen.add(v)})  # type: ignore[func-returns-value]
    if twice:
        raise ValueError(f"{what} repeated: {twice}")


def load_config(path: str | Path | None = None) -> SyncConfig:
    """Load and validate the mapping.

    Args:
        path: a TOML file; ``None`` follows ``ORDERSYNC_CONFIG``, ``./ordersync.toml``, then
            the built-in configuration.

    Raises:
        ConfigError: the file is missing, is not TOML, or fails validation.
    """
    source, text = read_config_text(path)
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{source}: not valid TOML: {exc}") from exc
    return parse_config(data, source=source)


def parse_config(data: dict[str, Any], *, source: str = "configuration") -> SyncConfig:
    """Validate an already-parsed mapping (used by tests and ``load_config``)."""
    try:
        config = SyncConfig.model_validate(data)
    except ValidationError as exc:
        problems = "; ".join(
            f"{'.'.join(str(p) for p in err['loc']) or '(top level)'}: {err['msg']}"
            for err in exc.errors()
        )
        raise ConfigError(f"{source}: {problems}") from None
    config.key_column_mapping  # noqa: B018 - validates that the key column is mapped
    return config


def load_builtin_config() -> SyncConfig:
    """The built-in Customer Master Schedule configuration, whatever the environment says."""
    return parse_config(tomllib.loads(builtin_config_text()), source="built-in configuration")
