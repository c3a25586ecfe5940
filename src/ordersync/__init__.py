"""ordersync: keep monday.com boards true to an order database, exactly once.

The library API, for running ordersync from Python instead of the command line::

    import ordersync

    config = ordersync.load_config("ordersync.toml")
    db = ordersync.Database.connect("postgresql+psycopg://…/orders")
    with ordersync.MondayClient("https://api.monday.com/v2", token) as client:
        outcome = ordersync.run_sync(db, config, client, ordersync.Scope("GREYSON", "4755"))
    print(outcome.status, outcome.exit_code)

ordersync's tables must exist first (``ordersync init-db``, or ``ordersync.db.migrate.upgrade``).
Every failure a caller can act on is an ``OrderSyncError`` (see ``ordersync.errors``).

Importing ``ordersync`` is cheap: the errors are defined here, everything else is imported on
first use (SQLAlchemy, Alembic and httpx take a second to import).
"""

import importlib as _importlib
import typing as _typing

from ordersync.errors import (
    AuthError,
    ConfigError,
    DatabaseUnavailableError,
    LimitReachedError,
    LockedError,
    MondayError,
    MondayUnreachableError,
    OrderSyncError,
    PermanentMondayError,
    RetryableMondayError,
    RowRejected,
    SourceError,
)

if _typing.TYPE_CHECKING:
    from ordersync.config import SyncConfig, load_builtin_config, load_config
    from ordersync.db import Database
    from ordersync.monday import MondayClient
    from ordersync.pull.pull import PullReport, pull_board
    from ordersync.push.plan import PlanResult, plan_batch
    from ordersync.push.source import Scope
    from ordersync.sync import RetryOutcome, SyncOutcome, run_retry, run_sync

__version__ = "0.1.0"

_LAZY = {
    "Database": "ordersync.db",
    "MondayClient": "ordersync.monday",
    "PlanResult": "ordersync.push.plan",
    "PullReport": "ordersync.pull.pull",
    "RetryOutcome": "ordersync.sync",
    "Scope": "ordersync.push.source",
    "SyncConfig": "ordersync.config",
    "SyncOutcome": "ordersync.sync",
    "load_builtin_config": "ordersync.config",
    "load_config": "ordersync.config",
    "plan_batch": "ordersync.push.plan",
    "pull_board": "ordersync.pull.pull",
    "run_retry": "ordersync.sync",
    "run_sync": "ordersync.sync",
}
"""Exported name → the module defining it, imported on first access."""

__all__ = [
    "AuthError",
    "ConfigError",
    "Database",
    "DatabaseUnavailableError",
    "LimitReachedError",
    "LockedError",
    "MondayClient",
    "MondayError",
    "MondayUnreachableError",
    "OrderSyncError",
    "PermanentMondayError",
    "PlanResult",
    "PullReport",
    "RetryOutcome",
    "RetryableMondayError",
    "RowRejected",
    "Scope",
    "SourceError",
    "SyncConfig",
    "SyncOutcome",
    "__version__",
    "load_builtin_config",
    "load_config",
    "plan_batch",
    "pull_board",
    "run_retry",
    "run_sync",
]


def __getattr__(name: str) -> _typing.Any:
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module 'ordersync' has no attribute {name!r}")
    value = getattr(_importlib.import_module(module), name)
    globals()[name] = value  # later lookups skip this function
    return value


def __dir__() -> list[str]:
    return sorted({*globals(), *__all__})
