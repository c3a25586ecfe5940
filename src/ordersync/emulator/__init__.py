"""A local monday.com GraphQL API for tests, demos and benchmarks.

``Emulator`` runs monday's API (monday's whole published schema; what it emulates is listed in
docs/emulator.md, the rest answers ``NOT_EMULATED``) over boards seeded with the Customer
Master Schedule, in-process through an httpx transport or as a real HTTP server, with monday's
error answers, limits, idempotency cache, cursors, injectable faults, and webhooks sent as
monday sends them (challenge, payloads, JWT, retries) for changes made through the API or "as
a person" (``Emulator.act``).

Modules: ``schema.graphql`` (the served schema), ``seed`` (boards), ``model`` and ``store``
(state), ``values`` (column values), ``column_settings`` (labels, 2025-10 settings),
``paging`` (filters, cursors), ``complexity`` (prices), ``fields`` (field resolution, what is
not emulated), ``limits`` (budgets, rate limits, idempotency), ``faults``, ``resolvers`` and
``views`` (GraphQL fields), ``execution`` (GraphQL requests), ``app`` (WSGI), ``server``
(transport, HTTP), ``stats``, ``api_errors`` (monday's error answers), ``events`` (webhook
payloads), ``webhooks`` (challenge, matching, signed delivery), ``bulk`` (bulk import jobs:
``ingest_items``, ``backfill_items``, ``fetch_job_status``, the upload and report URLs),
``emulator`` (the facade).
"""

from ordersync.emulator.emulator import Emulator, serve_forever
from ordersync.emulator.events import API_USER_ID, PERSON_USER_ID, BoardEvent
from ordersync.emulator.faults import Fault
from ordersync.emulator.limits import PLANS, Limits, Undocumented
from ordersync.emulator.seed import CMS_BOARD_ID, CMS_SUBITEMS_BOARD_ID
from ordersync.emulator.server import RunningServer
from ordersync.emulator.stats import EmulatorStats
from ordersync.emulator.webhooks import WebhookDelivery, WebhookPolicy

__all__ = [
    "API_USER_ID",
    "CMS_BOARD_ID",
    "CMS_SUBITEMS_BOARD_ID",
    "PERSON_USER_ID",
    "PLANS",
    "BoardEvent",
    "Emulator",
    "EmulatorStats",
    "Fault",
    "Limits",
    "RunningServer",
    "Undocumented",
    "WebhookDelivery",
    "WebhookPolicy",
    "serve_forever",
]
