"""Chunk sizes: how many aliases the next mutation request carries, fitted to monday's budget.

monday charges every request's complexity against a budget per window (10,000,000 points a
minute for a personal token, 1,000,000 on trial and free accounts) and refuses any one query
over 5,000,000 points (FACTS.md "Limits"). A chunk that costs more than a whole window can
never pass (every attempt is a 429), and a chunk sized without looking at what is left of the
window waits for the reset while the rest of the window goes unused. So the size of every
chunk is decided here, from what the ``Pacer`` learnt of monday's answers:

* the cost of one alias: what monday charged per alias of that mutation in the last request
  carrying it (``complexity { query }``); before any such answer ``UNMEASURED_ALIAS_COST``;
* what the chunk may spend: what is left of the current window (``complexity { after }`` or
  the ``RateLimit`` header), less the reads that go before the chunk (the lookup by key
  before creates) at their measured price; when not one alias fits in that, the whole budget
  of the next window (``RateLimit-Policy``), for which the pacer waits;
* at most ``cap`` aliases (``[delivery] items_per_request`` / ``subitems_per_request``, 50 by
  default: neither FACTS.md nor monday's docs name a maximum of mutations per request) and at
  most what fits in ``MAX_QUERY_COMPLEXITY``; at least one;
* one alias while no answer has told the budget (a client's first request): other apps on
  the account may have spent any part of it, so nothing is assumed; the answer tells the
  budget, what is left of it and the price.

The size is decided before the rows are read and journalled; a request is never re-chunked
afterwards (a resend after a crash carries its journal entry's own aliases).
"""

from __future__ import annotations

from collections.abc import Iterable

from ordersync.monday.pacing import Pacer

__all__ = ["MAX_QUERY_COMPLEXITY", "UNMEASURED_ALIAS_COST", "chunk_size"]

MAX_QUERY_COMPLEXITY = 5_000_000
"""monday refuses a single query over this many points (FACTS.md "Limits")."""

UNMEASURED_ALIAS_COST = 12_500
"""Points assumed per alias of a mutation monday has not priced in this run: its docs price
``create_item`` at "about 10,000" ("Development best practices"), plus a quarter for the
selection and for "about" (the emulator charges 10,011 for ``create_item { id }``)."""


def chunk_size(
    pacer: Pacer, field: str, cap: int, *, now: float, reads_before: Iterable[str] = ()
) -> int:
    """Aliases of mutation ``field`` the next request should carry.

    Args:
        pacer: what the client learnt of monday's budget and prices.
        field: the mutation every alias of the request calls (``create_item``, ...).
        cap: the most aliases a request may carry (the configured chunk size).
        now: the client clock's ``monotonic()``.
        reads_before: operation names of the reads sent between this decision and the
            request (each once), whose measured cost is kept free for them.

    Returns:
        Between 1 and ``cap``: as many as fit in what is left of the current window, or, when
        not one does, in the whole next window; 1 while the budget is unknown.
    """
    cost = pacer.alias_cost(field) or UNMEASURED_ALIAS_COST
    reserved = sum(pacer.alias_cost(operation) or 0.0 for operation in reads_before)
    most = min(cap, int(MAX_QUERY_COMPLEXITY // cost))
    left = pacer.left(now)
    if left is not None:
        fitting = int((left - reserved) // cost)
        if fitting >= 1:
            return max(1, min(most, fitting))
    window = pacer.budget
    if window is None:
        return 1
    return max(1, min(most, int((window - reserved) // cost)))
