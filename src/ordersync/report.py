"""``ordersync report``: what the runs of a period did, per customer, for a lead or a scheduler.

Per customer: order lines and subitems synced by action (batch counters), rejections by code
(open and resolved, from the ERR tables), hand edits put back (drift in ``value_changes``),
runs by status and their durations (first stage stamp to the last). The *rejected share* is
rejected order lines (at planning or refused by monday) over the order lines the runs handled
(planned changes plus rejected lines); ``--fail-over`` compares it with a threshold.
"""

from __future__ import annotations

import re
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

import sqlalchemy as sa

from ordersync.batch_counters import KINDS, Tally, counters, outcomes, rejected, total
from ordersync.batches import BatchReport, batches_since
from ordersync.config import SyncConfig
from ordersync.db import Database
from ordersync.errors import ConfigError
from ordersync.rejections import rejected_rows
from ordersync.states import Source

UNITS = {"m": "minutes", "h": "hours", "d": "days", "w": "weeks"}
ACTIONS = tuple(outcomes())  # created, adopted, updated, archived, failed
NO_CUSTOMER = "(none)"


def parse_since(text: str, now: datetime) -> datetime:
    """``7d``, ``24h``, ``30m``, ``2w`` before ``now``, or an ISO date/time (naive UTC).

    Raises:
        ConfigError: neither form.
    """
    match = re.fullmatch(r"\s*(\d+)\s*([mhdw])\s*", text)
    if match:
        return now - timedelta(**{UNITS[match[2]]: int(match[1])})
    try:
        return datetime.fromisoformat(text.strip())
    except ValueError:
        raise ConfigError(f"--since {text!r}: give a span such as 7d, 24h, 2w or a date") from None


@dataclass
class CustomerReport:
    """One customer's runs in the period."""

    customer: str
    runs: int = 0
    statuses: Counter[str] = field(default_factory=Counter)
    durations: list[float] = field(default_factory=list)  # seconds, finished runs only
    items: Counter[str] = field(default_factory=Counter)  # action → order lines
    subitems: Counter[str] = field(default_factory=Counter)
    lines_handled: int = 0
    lines_rejected: int = 0
    rejections: dict[str, Counter[str]] = field(default_factory=dict)  # code → open/resolved
    drift: int = 0

    @property
    def rejected_share(self) -> float:
        """Rejected order lines over the lines handled, in percent (0 when none)."""
        return 100.0 * self.lines_rejected / self.lines_handled if self.lines_handled else 0.0

    def as_dict(self) -> dict[str, Any]:
        return {
            "customer": self.customer,
            "runs": self.runs,
            "statuses": dict(self.statuses),
            "duration_seconds": _duration_summary(self.durations),
            "items": {a: self.items[a] for a in ACTIONS},
            "subitems": {a: self.subitems[a] for a in ACTIONS},
            "lines_handled": self.lines_handled,
            "lines_rejected": self.lines_rejected,
            "rejected_share_pct": round(self.rejected_share, 2),
            "rejections": {code: dict(c) for code, c in sorted(self.rejections.items())},
            "drift": self.drift,
        }


@dataclass
class Report:
    """Every customer with runs (or rejections, or drift) since ``since``."""

    since: datetime
    until: datetime
    customers: list[CustomerReport]

    @property
    def total(self) -> CustomerReport:
        total = CustomerReport("all")
        for c in self.customers:
            total.runs += c.runs
            total.statuses.update(c.statuses)
            total.durations.extend(c.durations)
            total.items.update(c.items)
            total.subitems.update(c.subitems)
            total.lines_handled += c.lines_handled
            total.lines_rejected += c.lines_rejected
            total.drift += c.drift
            for code, counts in c.rejections.items():
                total.rejections.setdefault(code, Counter()).update(counts)
        return total

    def as_dict(self) -> dict[str, Any]:
        return {
            "since": self.since.isoformat(sep=" ", timespec="seconds"),
            "until": self.until.isoformat(sep=" ", timespec="seconds"),
            "customers": [c.as_dict() for c in self.customers],
            "total": self.total.as_dict(),
        }


def build_report(
    db: Database,
    config: SyncConfig,
    since: datetime,
    now: datetime,
    *,
    customer: str | None = None,
) -> Report:
    """Gather the report of the runs created at or after ``since`` (naive UTC)."""
    canonical = config.canonical_customer(customer) if customer else None
    customers: dict[str, CustomerReport] = defaultdict(lambda: CustomerReport(""))
    for batch in batches_since(db, since, canonical):
        _add_batch(customers[batch.customer or NO_CUSTOMER], batch)
    with db.engine.connect() as connection:
        for name, count in _drift(db, connection, since, canonical):
            customers[name].drift += count
    for row in rejected_rows(db, config, customer=customer, since=since):
        state = "resolved" if row.resolved else "open"
        counts = customers[row.customer or NO_CUSTOMER].rejections
        counts.setdefault(row.code, Counter())[state] += 1
    for name, report in customers.items():
        report.customer = name
    return Report(since, now, sorted(customers.values(), key=lambda c: c.customer))


def _add_batch(report: CustomerReport, batch: BatchReport) -> None:
    report.runs += 1
    report.statuses[batch.status] += 1
    if batch.completed_at is not None:  # an unfinished run's duration is not known yet
        report.durations.append((batch.completed_at - batch.created_at).total_seconds())
    for kind in KINDS:
        by_action: Counter[str] = getattr(report, f"{kind}s")
        for counter in counters(Tally.DELIVERED, kind=kind):
            by_action[counter.outcome] += getattr(batch, counter.column)
    planned = total(batch, Tally.PLANNED, "item")  # order lines: items only
    report.lines_handled += planned + total(batch, Tally.REJECTED)
    report.lines_rejected += rejected(batch, "item")


def _drift(
    db: Database, connection: sa.Connection, since: datetime, customer: str | None
) -> list[tuple[str, int]]:
    """Hand edits of database-owned values put back, per customer of the mirrored line."""
    changes, items = db.tables.value_changes, db.tables.items
    joined = changes.join(
        items,
        sa.and_(items.c.board_id == changes.c.board_id, items.c.order_key == changes.c.order_key),
        isouter=True,
    )
    statement = (
        sa.select(items.c.customer, sa.func.count())
        .select_from(joined)
        .where(changes.c.source == str(Source.DRIFT), changes.c.recorded_at >= since)
        .group_by(items.c.customer)
    )
    if customer is not None:
        statement = statement.where(items.c.customer == customer)
    return [(name or NO_CUSTOMER, count) for name, count in connection.execute(statement)]


def _duration_summary(durations: list[float]) -> dict[str, float | None]:
    if not durations:
        return {"min": None, "median": None, "max": None}
    ordered = sorted(durations)
    middle = len(ordered) // 2
    median = ordered[middle] if len(ordered) % 2 else (ordered[middle - 1] + ordered[middle]) / 2
    return {"min": ordered[0], "median": median, "max": ordered[-1]}


# ------------------------------------------------------------------------------ rendering
def render_markdown(report: Report) -> str:
    """The report as Markdown: one section per customer, then the total."""
    lines = [
        f"# ordersync report {report.since:%Y-%m-%d %H:%M} – {report.until:%Y-%m-%d %H:%M} UTC",
        "",
    ]
    if not report.customers:
        lines.append("No runs in this period.")
    for c in [*report.customers, *([report.total] if len(report.customers) > 1 else [])]:
        lines += _markdown_section(c)
    return "\n".join(lines).rstrip() + "\n"


def _markdown_section(c: CustomerReport) -> list[str]:
    statuses = ", ".join(f"{n} {s}" for s, n in sorted(c.statuses.items())) or "none"
    d = _duration_summary(c.durations)
    timing = (
        f"{_seconds(d['min'])} min / {_seconds(d['median'])} median / {_seconds(d['max'])} max"
        if d["min"] is not None
        else "no finished run"
    )
    lines = [
        f"## {c.customer}",
        "",
        f"- runs: {c.runs} ({statuses}); durations {timing}",
        f"- rejected lines: {c.lines_rejected} of {c.lines_handled} ({c.rejected_share:.1f}%)",
        f"- drift put back: {c.drift} values changed by hand on monday",
        "",
        "| synced | " + " | ".join(ACTIONS) + " |",
        "|---|" + "---:|" * len(ACTIONS),
        "| items | " + " | ".join(str(c.items[a]) for a in ACTIONS) + " |",
        "| subitems | " + " | ".join(str(c.subitems[a]) for a in ACTIONS) + " |",
        "",
    ]
    if c.rejections:
        lines += ["| rejection code | open | resolved |", "|---|---:|---:|"]
        for code, counts in sorted(c.rejections.items()):
            lines.append(f"| {code} | {counts['open']} | {counts['resolved']} |")
        lines.append("")
    return lines


def _seconds(value: float | None) -> str:
    return "–" if value is None else f"{value:.0f}s"


def render_html(report: Report) -> str:
    """The report as a standalone HTML page (the dashboard's stylesheet, inlined)."""
    from ordersync.ui.render import render_page

    return render_page(
        "report.html",
        report=report,
        actions=ACTIONS,
        duration=_duration_summary,
        seconds=_seconds,
        standalone=True,
    )


def exceeds(report: Report, fail_over: float | None) -> bool:
    """Whether the rejected share of all lines passes ``fail_over`` percent."""
    return fail_over is not None and report.total.rejected_share > fail_over
