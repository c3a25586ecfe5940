"""ordersync: keep monday.com boards true to an order database, exactly once."""

from ordersync.errors import (
    AuthError,
    ConfigError,
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

__version__ = "0.1.0"

__all__ = [
    "AuthError",
    "ConfigError",
    "LimitReachedError",
    "LockedError",
    "MondayError",
    "MondayUnreachableError",
    "OrderSyncError",
    "PermanentMondayError",
    "RetryableMondayError",
    "RowRejected",
    "SourceError",
    "__version__",
]
