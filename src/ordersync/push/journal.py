"""The delivery journal: every mutation request is written down before it is sent.

An entry names the staged rows it carries (alias → staged row id) and is SENDING until its
answer has been recorded, in the same transaction, by ``deliver``. An entry still SENDING
after a crash or a lost answer is resolved before anything else is sent to that board.
The entry's id is the request's ``Idempotency-Key``, so the journal always names the key
monday may have applied: when a 429 says monday processed nothing under a key, the client asks
for a fresh one (monday advises against reusing a key for a request it did not process), and
``reopen_entry`` closes the old entry and opens the new one in one transaction, committed
before the resend. A crash between the two leaves the new entry SENDING, resolved like any
other (lookup first); the old key, refused unprocessed, can have applied nothing.
"""

from __future__ import annotations

import json
import uuid
from dataclasses import dataclass
from datetime import datetime

import sqlalchemy as sa

from ordersync.db import Database, utcnow
from ordersync.states import JournalKind, JournalState


@dataclass(frozen=True)
class JournalEntry:
    request_id: str
    batch_id: str
    kind: JournalKind
    aliases: dict[str, str]  # alias → staged row id
    sent_at: datetime


def open_entry(
    db: Database, batch_id: str, board_id: int, kind: JournalKind, aliases: dict[str, str]
) -> JournalEntry:
    """Record a request as SENDING (committed before the request leaves)."""
    entry = JournalEntry(str(uuid.uuid4()), batch_id, kind, aliases, utcnow())
    with db.engine.begin() as connection:
        _insert_entry(connection, db, entry, board_id)
    return entry


def close_entry(
    connection: sa.Connection,
    db: Database,
    request_id: str,
    state: JournalState = JournalState.DONE,
    *,
    error: str | None = None,
    http_status: int | None = None,
) -> None:
    """Mark an entry answered; call inside the transaction that records the answer."""
    connection.execute(
        db.tables.journal.update()
        .where(db.tables.journal.c.request_id == request_id)
        .values(state=state, finished_at=utcnow(), error=error, http_status=http_status)
    )


def open_entries(db: Database, board_id: int) -> list[JournalEntry]:
    """Entries of ``board_id`` still SENDING, oldest first."""
    journal = db.tables.journal
    with db.engine.connect() as connection:
        rows = connection.execute(
            sa.select(journal)
            .where(journal.c.board_id == board_id, journal.c.state == JournalState.SENDING)
            .order_by(journal.c.sent_at)
        ).all()
    return [
        JournalEntry(
            r.request_id, r.batch_id, JournalKind(r.kind), json.loads(r.aliases), r.sent_at
        )
        for r in rows
    ]


def reopen_entry(db: Database, entry: JournalEntry, board_id: int) -> JournalEntry:
    """Move ``entry``'s rows to a new entry (a new key) after monday refused every attempt
    under the old one with a 429 (nothing processed); one transaction, committed."""
    new = JournalEntry(str(uuid.uuid4()), entry.batch_id, entry.kind, entry.aliases, utcnow())
    with db.engine.begin() as connection:
        close_entry(
            connection,
            db,
            entry.request_id,
            JournalState.FAILED,
            error=f"HTTP 429: not processed by monday; resent under {new.request_id}",
            http_status=429,
        )
        _insert_entry(connection, db, new, board_id)
    return new


def _insert_entry(
    connection: sa.Connection, db: Database, entry: JournalEntry, board_id: int
) -> None:
    """Write ``entry`` SENDING: until its answer is recorded, a crash leaves it to resolve."""
    connection.execute(
        db.tables.journal.insert().values(
            request_id=entry.request_id,
            batch_id=entry.batch_id,
            board_id=board_id,
            kind=entry.kind,
            aliases=json.dumps(entry.aliases),
            state=JournalState.SENDING,
            attempts=1,
            sent_at=entry.sent_at,
        )
    )
