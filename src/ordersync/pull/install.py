"""``ordersync webhooks install``: register the webhooks ``ordersync serve`` listens to.

Every webhook goes on the items board: monday registers subitem events
(``change_subitem_column_value``, ``create_subitem``, ``subitem_archived``,
``subitem_deleted``) on the parent board too, and sends them with the subitems board's id.
monday checks the URL first (it POSTs ``{"challenge": ...}`` and expects it echoed), so the
receiver must be reachable when this runs. Each event is its own ``create_webhook`` request, so
one refused event (e.g. an API version without it) does not stop the others; the request's
``Idempotency-Key`` is derived from board, URL and event, so re-running within monday's
30-minute cache window does not register twice.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from typing import Any

from ordersync.errors import AuthError, ExitCode, MondayError
from ordersync.monday import MondayClient
from ordersync.monday.documents import create_webhook_document, webhooks_document

WEBHOOK_EVENTS: tuple[str, ...] = (
    "change_column_value",
    "change_subitem_column_value",
    "create_item",
    "create_subitem",
    "item_archived",
    "item_deleted",
    "subitem_archived",
    "subitem_deleted",
    "item_restored",
)
"""What the receiver applies: every column change (monday-owned values; drift on the rest),
items or subitems made, archived or deleted by hand, and items restored."""


@dataclass
class InstallReport:
    """What ``install_webhooks`` registered, what monday refused, and what was there before."""

    board_id: int
    url: str
    installed: dict[str, int] = field(default_factory=dict)  # event → webhook id
    refused: dict[str, str] = field(default_factory=dict)  # event → monday's error
    existing: dict[str, int] = field(default_factory=dict)  # event → webhooks already there

    @property
    def exit_code(self) -> ExitCode:
        """OK all installed, REJECTED some refused, FAILED none installed."""
        if not self.refused:
            return ExitCode.OK
        return ExitCode.REJECTED if self.installed else ExitCode.FAILED

    def as_dict(self) -> dict[str, Any]:
        return {
            "board_id": self.board_id,
            "url": self.url,
            "installed": self.installed,
            "refused": self.refused,
            "existing_before": self.existing,
        }


def secret_url(url: str, path_secret: str | None) -> str:
    """``url`` with the secret path as its last segment (unchanged without one)."""
    if path_secret is None:
        return url
    return url.rstrip("/") + "/" + path_secret


def list_webhooks(client: MondayClient, board_id: int) -> list[dict[str, Any]]:
    """The board's webhooks (``id``, ``event``, ``config``; monday does not return URLs)."""
    data = client.execute(
        webhooks_document(), {"boardId": str(board_id)}, operation_name="Webhooks"
    )
    return [hook for hook in data.get("webhooks") or [] if hook]


def install_webhooks(
    client: MondayClient,
    board_id: int,
    url: str,
    events: tuple[str, ...] = WEBHOOK_EVENTS,
    *,
    path_secret: str | None = None,
) -> InstallReport:
    """Register ``events`` on the items board, sending them to ``url``.

    Args:
        client: the monday client.
        board_id: the items board (subitem events are registered there too).
        url: where monday should POST, e.g. ``https://sync.example.com/monday``.
        events: the event types (default ``WEBHOOK_EVENTS``).
        path_secret: registered as the URL's last segment; reported as ``<secret path>``.

    Raises:
        AuthError: the token may not create webhooks (nothing was registered).
    """
    shown = url.rstrip("/") + "/<secret path>" if path_secret else url
    report = InstallReport(board_id, shown)
    url = secret_url(url, path_secret)
    for hook in list_webhooks(client, board_id):
        event = str(hook.get("event"))
        report.existing[event] = report.existing.get(event, 0) + 1
    for event in events:
        key = str(uuid.uuid5(uuid.NAMESPACE_URL, f"ordersync:{board_id}:{url}:{event}"))
        variables = {"boardId": str(board_id), "url": url, "event": event}
        try:
            data = client.execute(
                create_webhook_document(),
                variables,
                operation_name="CreateWebhook",
                idempotency_key=key,
            )
        except MondayError as error:
            if isinstance(error, AuthError):
                raise
            report.refused[event] = _masked(str(error), path_secret)
            continue
        created = data.get("create_webhook") or {}
        report.installed[event] = int(created.get("id") or 0)
    return report


def _masked(text: str, path_secret: str | None) -> str:
    return text.replace(path_secret, "<secret path>") if path_secret else text
