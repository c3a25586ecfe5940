"""``/metrics`` for Prometheus: a collector that reads ordersync's tables at scrape time.

Nothing is counted in memory, so every process that serves the endpoint (``ui``, ``serve``)
reports the same numbers, and a restart loses nothing. Counters are sums over the batch
records (they only grow while batches are kept): requests, retries, monday's 429 answers and
the complexity spent are what delivery recorded per batch (a pull's reads are not counted).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from datetime import datetime

import sqlalchemy as sa
from prometheus_client import CollectorRegistry, generate_latest
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, Metric
from prometheus_client.registry import Collector

from ordersync.batch_counters import Tally, counters
from ordersync.batches import count_by_status, counter_sums, last_completed
from ordersync.db import Database, utcnow
from ordersync.states import EventState

CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8"


class OrderSyncCollector(Collector):
    """Batches, rows, rejections, requests, freshness and pending webhook events.

    Args:
        db: ordersync's database.
        now: the clock (naive UTC), injected in tests.
    """

    def __init__(self, db: Database, now: Callable[[], datetime] = utcnow) -> None:
        self.db, self.now = db, now

    def collect(self) -> Iterator[Metric]:
        t = self.db.tables
        by_status = GaugeMetricFamily(
            "ordersync_batches", "Batches by board and status.", labels=["board_id", "status"]
        )
        for board, status, n in count_by_status(self.db):
            by_status.add_metric([str(board), status], n)
        yield by_status

        sums = counter_sums(self.db)
        rows = CounterMetricFamily(
            "ordersync_rows", "Rows delivered by kind and action.", labels=["kind", "action"]
        )
        for counter in counters(Tally.DELIVERED):
            rows.add_metric([str(counter.kind), counter.outcome], sums[counter.column])
        yield rows
        for counter in counters(Tally.REJECTED):
            yield CounterMetricFamily(
                f"ordersync_{counter.column}_at_planning", counter.help, value=sums[counter.column]
            )
        for counter in counters(Tally.USAGE):
            yield CounterMetricFamily(
                f"ordersync_{counter.column}", counter.help, value=sums[counter.column]
            )

        with self.db.engine.connect() as connection:
            rejections = GaugeMetricFamily(
                "ordersync_rejections",
                "Rows in the ERR tables by error code, open or resolved.",
                labels=["code", "state"],
            )
            counts: dict[tuple[str, str], int] = {}
            for table in (t.item_errors, t.subitem_errors):
                for code, resolved, n in connection.execute(
                    sa.select(table.c.error_code, table.c.resolved, sa.func.count()).group_by(
                        table.c.error_code, table.c.resolved
                    )
                ):
                    key = (code, "resolved" if resolved else "open")
                    counts[key] = counts.get(key, 0) + n
            for (code, state), n in sorted(counts.items()):
                rejections.add_metric([code, state], n)
            yield rejections

            now = self.now()
            fresh = GaugeMetricFamily(
                "ordersync_seconds_since_last_completed_sync",
                "Seconds since the last batch that completed, per board and customer.",
                labels=["board_id", "customer"],
            )
            for board, customer, last in last_completed(self.db):
                fresh.add_metric([str(board), customer or ""], (now - last).total_seconds())
            yield fresh

            events = t.webhook_events
            by_state: dict[str, int] = dict(
                connection.execute(
                    sa.select(events.c.state, sa.func.count()).group_by(events.c.state)
                ).all()
            )
            yield GaugeMetricFamily(
                "ordersync_webhook_events_pending",
                "Webhook events stored but not applied yet.",
                value=by_state.get(EventState.PENDING, 0),
            )
            yield GaugeMetricFamily(
                "ordersync_webhook_events_quarantined",
                "Webhook events set aside because they cannot be applied (reason in error).",
                value=by_state.get(EventState.QUARANTINED, 0),
            )


def metrics_text(db: Database, now: Callable[[], datetime] = utcnow) -> bytes:
    """The Prometheus text exposition of ``db``'s metrics, read now."""
    registry = CollectorRegistry(auto_describe=False)
    registry.register(OrderSyncCollector(db, now))
    return generate_latest(registry)
