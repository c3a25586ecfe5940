"""The monday.com API client: one HTTP request loop with retries, pacing and error mapping.

``MondayClient`` sends GraphQL documents (built in ``documents``) over an injectable httpx
transport, classifies each answer once (``errors``), retries what is retryable with the
same ``Idempotency-Key`` (honouring ``retry_in_seconds`` / ``Retry-After``, else
exponential backoff with jitter), waits for monday's limits when they run low (``pacing``:
the ``complexity`` field and the ``RateLimit`` headers), and maps multi-mutation answers
back by alias. Time goes through a ``Clock`` so that no test ever sleeps. The API token is
sent only in the ``Authorization`` header and is scrubbed from every answer before anything
is built from it.

Which key a retry carries (docs/monday-errors.md): the same key, so that monday replays
instead of applying twice, except after a 429 when every attempt under the key was refused
unprocessed with a 429 (monday advises a fresh key there): then ``mutate`` asks its caller's
``fresh_key`` for a new one, which the caller journals before the resend. Without
``fresh_key`` (a resend after a crash: the key may have been applied) the key never changes.
Limits a retry cannot pass (``LimitReachedError``: the daily call limit, a full board) are
raised at once, and a refused connection after two quick tries (``MondayUnreachableError``).

Bulk import (``start_import``, ``upload_file``, ``job_status``): the file goes to monday's
pre-signed upload URL through a second HTTP client that carries no ``Authorization`` and no
monday headers at all (the URL is its own credential; the token must never reach it).
"""

from __future__ import annotations

import hashlib
import json
import logging
import random
from collections import Counter
from collections.abc import Callable, Iterator, Mapping, Sequence
from types import TracebackType
from typing import Any

import httpx

from ordersync.clock import Clock, SystemClock
from ordersync.errors import (
    LimitReachedError,
    MondayError,
    MondayUnreachableError,
    PermanentMondayError,
    RetryableMondayError,
)
from ordersync.monday import budget, classify, documents, reads
from ordersync.monday.models import (
    AliasResult,
    Board,
    Complexity,
    Group,
    ImportJob,
    Item,
    JobStatus,
    Mutation,
    RequestStats,
)
from ordersync.monday.pacing import Pacer
from ordersync.timeouts import API_VERSION, REQUEST_TIMEOUT, SERVER_TIMEOUT, USER_AGENT

__all__ = ["MondayClient"]

logger = logging.getLogger("ordersync.monday")

REDACTED = "[REDACTED]"
_MIN_SECRET_LENGTH = 8
_BACKOFF_BASE = 1.0
_BACKOFF_CAP = 60.0

UNREACHABLE_WAITS = (0.5, 1.0)
"""Waits before each retry of a refused connection; then ``MondayUnreachableError``."""


class _ReplayedError(Exception):
    """monday replayed an error answer cached under the key: its outcome is unknown."""

    def __init__(self, error: MondayError) -> None:
        super().__init__(str(error))
        self.error = error


class MondayClient:
    """A synchronous client for monday.com's GraphQL API.

    Args:
        url: the API endpoint, e.g. ``https://api.monday.com/v2``.
        token: the API token (sent as ``Authorization``), or ``None`` for no header.
        api_version: the ``API-Version`` header.
        transport: an httpx transport (the in-process emulator, ``httpx.MockTransport``);
            real HTTP when ``None``.
        clock: the clock used for waiting; ``SystemClock`` when ``None``.
        timeout: seconds before a request times out; below monday's 60 s server timeout
            (default ``REQUEST_TIMEOUT``, 50 s).
        max_retries: retries of a retryable failure before giving up.
        user_agent: the ``User-Agent`` header.
        max_retry_wait: a retryable failure asking to wait longer than this (e.g. the
            daily call limit) is raised at once instead of waited out.
        rng: the random source for backoff jitter (seed it in tests).

    Example:
        >>> with MondayClient(url, token) as client:
        ...     board = client.get_board(4755559751)
    """

    def __init__(
        self,
        url: str,
        token: str | None,
        *,
        api_version: str = API_VERSION,
        transport: httpx.BaseTransport | None = None,
        clock: Clock | None = None,
        timeout: float = REQUEST_TIMEOUT,
        max_retries: int = 8,
        user_agent: str = USER_AGENT,
        max_retry_wait: float = 300.0,
        rng: random.Random | None = None,
    ) -> None:
        if not 0 < timeout < SERVER_TIMEOUT:
            raise ValueError(
                f"timeout must be below monday's {SERVER_TIMEOUT:.0f} s server timeout, "
                f"not {timeout}"
            )
        self.url = url
        self.api_version = api_version
        self.stats = RequestStats()
        self._token = token or None
        self._clock: Clock = clock or SystemClock()
        self._max_retries = max_retries
        self._max_retry_wait = max_retry_wait
        self._rng = rng or random.Random()
        self._pacer = Pacer()
        self._keys: dict[str, str] = {}  # Idempotency-Key → fingerprint of its request
        self._http = httpx.Client(
            transport=transport,
            timeout=timeout,
            headers={"API-Version": api_version, "User-Agent": user_agent},
        )
        # uploads to pre-signed URLs: no token, no API headers (see the module docstring)
        self._upload_http = httpx.Client(
            transport=transport, timeout=timeout, headers={"User-Agent": user_agent}
        )

    def __repr__(self) -> str:
        return f"MondayClient(url={self.url!r}, api_version={self.api_version!r})"

    def close(self) -> None:
        """Close the underlying HTTP connections."""
        self._http.close()
        self._upload_http.close()

    def __enter__(self) -> MondayClient:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.close()

    # --- requests ----------------------------------------------------------------------

    def execute(
        self,
        document: str,
        variables: dict[str, Any] | None = None,
        *,
        operation_name: str,
        idempotency_key: str | None = None,
    ) -> dict[str, Any]:
        """Send one GraphQL document and return its ``data``.

        Any error in the answer, even beside partial data, raises. Retryable failures are
        retried as in ``mutate``.

        Args:
            document: the GraphQL document.
            variables: its variables.
            operation_name: the operation to run (named in logs, pacing and the request).
            idempotency_key: sent as ``Idempotency-Key`` when given (do for mutations).

        Raises:
            RetryableMondayError: still failing after ``max_retries`` retries.
            PermanentMondayError: a failure that will not pass (``AuthError`` for tokens).
        """
        try:
            body = self._send(
                document,
                variables,
                operation_name=operation_name,
                idempotency_key=idempotency_key,
                kinds={operation_name: 1},
                strict=True,
            )
        except _ReplayedError as replayed:
            raise replayed.error from None
        data = body.get("data")
        return data if isinstance(data, dict) else {}

    def mutate(
        self,
        mutations: Sequence[Mutation],
        *,
        idempotency_key: str,
        operation_name: str = "Deliver",
        fresh_key: Callable[[], str] | None = None,
        resend_if_maybe_applied: bool = True,
    ) -> dict[str, AliasResult]:
        """Send several mutations in one request and say what became of each alias.

        Whole-request failures that are retryable (429 of any kind, 423, 5xx, a 409
        ``IDEMPOTENCY_CONFLICT`` with ``Retry-After``, timeouts, lost connections) are
        retried up to ``max_retries`` times with the same ``Idempotency-Key``, so monday
        replays its cached answer instead of applying the mutations twice. A failed alias
        never fails the others; a failed alias's error may itself be retryable (e.g. a
        locked board), which only means resending that row under a new key may pass.

        Args:
            mutations: the mutations, each under its own alias.
            idempotency_key: the key for this request; reuse it only to resend the same
                mutations (e.g. after a crash, within monday's 30-minute cache).
            operation_name: the GraphQL operation name.
            fresh_key: called for a new key when a 429 says monday did not process any
                attempt under the current one; the caller records the new key (the journal)
                before returning it, and the resend carries it. ``None``: keep the key.
            resend_if_maybe_applied: ``False`` raises a failure after which monday may have
                applied the request (``errors.may_have_applied``: timeouts, lost
                connections, 5xx) instead of resending it, so that the caller looks up what
                exists first (creates: monday's cache is not a guarantee).

        Returns:
            Alias → ``AliasResult``: ``ok`` with data, ``failed`` with the classified
            error, or ``unknown`` (resolve by looking the row up on monday), every alias
            ``unknown`` when monday replays an error cached under the key.

        Raises:
            RetryableMondayError: still failing after ``max_retries`` retries; the outcome
                of every alias is unknown.
            PermanentMondayError: the whole request was refused (``AuthError`` for tokens).
            ValueError: no key, no mutations or duplicate aliases.
        """
        if not idempotency_key:
            raise ValueError("mutations need an idempotency key")
        document, variables = documents.build_mutation_document(mutations, operation_name)
        try:
            body = self._send(
                document,
                variables,
                operation_name=operation_name,
                idempotency_key=idempotency_key,
                kinds=Counter(mutation.field for mutation in mutations),
                strict=False,
                fresh_key=fresh_key,
                resend_if_maybe_applied=resend_if_maybe_applied,
            )
        except _ReplayedError as replayed:
            logger.warning("monday replayed an error for this key: %s", replayed.error)
            return {m.alias: AliasResult(m.alias, "unknown") for m in mutations}
        results = classify.alias_results(
            body, [m.alias for m in mutations], http_status=200, headers={}
        )
        for result in results.values():
            if result.error is not None:
                self._scrub_error(result.error)
        return results

    def chunk_size(self, field: str, cap: int, *, reads_before: Sequence[str] = ()) -> int:
        """How many aliases of mutation ``field`` (at most ``cap``) the next request should
        carry to fit monday's complexity budget as last seen (``budget.chunk_size``)."""
        return budget.chunk_size(
            self._pacer, field, cap, now=self._clock.monotonic(), reads_before=reads_before
        )

    def _send(
        self,
        document: str,
        variables: dict[str, Any] | None,
        *,
        operation_name: str,
        idempotency_key: str | None,
        kinds: Mapping[str, int],
        strict: bool,
        fresh_key: Callable[[], str] | None = None,
        resend_if_maybe_applied: bool = True,
    ) -> dict[str, Any]:
        """Post until an answer can be read, a permanent error, or retries run out."""
        payload = {"query": document, "variables": variables or {}, "operationName": operation_name}
        headers = {"Content-Type": "application/json"}
        if self._token:
            headers["Authorization"] = self._token
        if idempotency_key:
            headers["Idempotency-Key"] = self._claim(idempotency_key, payload)
        aliases = sum(kinds.values()) if idempotency_key else 0
        attempt = unreachable = 0
        key_unprocessed = True  # every attempt under this key so far was refused with a 429
        while True:
            self._pace(kinds)
            self.stats.requests += 1
            self.stats.mutations_sent += aliases
            started = self._clock.monotonic()
            cause: Exception | None = None
            replayed = False
            try:
                response = self._http.post(self.url, json=payload, headers=headers)
            except httpx.TransportError as exc:
                cause = exc
                error: MondayError | None = classify.from_transport_error(exc)
                body: dict[str, Any] = {}
                status = None
            else:
                status = response.status_code
                replayed = _replayed(response)
                body, error = self._read(response, strict)
                self._pacer.observe_headers(response.headers, self._clock.monotonic())
            self._log(operation_name, aliases, status, started, error)
            if error is None:
                self._observe(body, kinds)
                return body
            self._scrub_error(error)
            if isinstance(error, MondayUnreachableError):
                if unreachable >= min(len(UNREACHABLE_WAITS), self._max_retries - attempt):
                    raise error from cause
                self._clock.sleep(UNREACHABLE_WAITS[unreachable])
                unreachable += 1
                self.stats.retries += 1
                continue
            rekey = status == 429 and key_unprocessed and fresh_key is not None
            if replayed and error.retryable and not rekey:
                # monday cached this error for the key (undocumented, FACTS.md): resending
                # the key only replays it, so the caller looks the rows up instead.
                raise _ReplayedError(error) from cause
            wait = self._retry_wait(error, attempt)
            if not resend_if_maybe_applied and classify.may_have_applied(error):
                wait = None
            if wait is None:
                raise error from cause
            if rekey and fresh_key is not None:
                # monday did not process it: a fresh key, journalled by the caller first.
                headers["Idempotency-Key"] = self._claim(fresh_key(), payload)
            elif status != 429:
                key_unprocessed = False
            attempt += 1
            self.stats.retries += 1
            self._clock.sleep(wait)

    def _read(
        self, response: httpx.Response, strict: bool
    ) -> tuple[dict[str, Any], MondayError | None]:
        """Decode and classify one answer (the token scrubbed out of it first)."""
        if response.status_code == 429:
            self.stats.throttled += 1
        if _replayed(response):
            self.stats.replayed += 1
        try:
            decoded = json.loads(self._scrub(response.text))
        except ValueError:
            decoded = None
        body = decoded if isinstance(decoded, dict) else {}
        error = classify.classify(response.status_code, decoded, response.headers, strict=strict)
        return body, error

    def _retry_wait(self, error: MondayError, attempt: int) -> float | None:
        """Seconds to wait before retrying, or ``None`` to raise ``error`` now."""
        if not isinstance(error, RetryableMondayError) or attempt >= self._max_retries:
            return None
        if isinstance(error, LimitReachedError):
            return None  # the daily limit or a full board: a retry costs a call, passes not
        if error.retry_after is not None:
            return None if error.retry_after > self._max_retry_wait else error.retry_after
        ceiling = min(_BACKOFF_CAP, _BACKOFF_BASE * 2**attempt)
        return ceiling * self._rng.uniform(0.5, 1.0)

    def _claim(self, key: str, payload: Mapping[str, Any]) -> str:
        """Remember which request ``key`` carries; refuse it for a different one.

        What monday does with one key and two bodies is undocumented (a conflict, a replay of
        the first answer, or a second execution), and two of those lose or duplicate work.
        """
        fingerprint = hashlib.sha256(json.dumps(payload, sort_keys=True).encode()).hexdigest()
        if self._keys.setdefault(key, fingerprint) != fingerprint:
            raise ValueError("an Idempotency-Key is reused for a different request")
        return key

    def _pace(self, kinds: Mapping[str, int]) -> None:
        delay = self._pacer.delay(kinds, self._clock.monotonic())
        if delay > 0:
            logger.debug("monday: complexity budget low, waiting %.1fs for its reset", delay)
            self.stats.paced_seconds += delay
            self._clock.sleep(delay)

    def _observe(self, body: Mapping[str, Any], kinds: Mapping[str, int]) -> None:
        data = body.get("data")
        raw = data.get("complexity") if isinstance(data, dict) else None
        if not isinstance(raw, dict):
            return
        try:
            complexity = Complexity(
                before=int(raw["before"]),
                query=int(raw["query"]),
                after=int(raw["after"]),
                reset_in_seconds=float(raw["reset_in_x_seconds"]),
            )
        except (KeyError, TypeError, ValueError):
            return
        self.stats.last_complexity = complexity
        self.stats.complexity_spent += complexity.query
        self._pacer.observe(complexity, kinds, self._clock.monotonic())

    def _log(
        self,
        operation_name: str,
        aliases: int,
        status: int | None,
        started: float,
        error: MondayError | None,
    ) -> None:
        if logger.isEnabledFor(logging.DEBUG):
            logger.debug(
                "monday %s: %d aliases, HTTP %s, %.3fs%s",
                operation_name,
                aliases,
                status if status is not None else "-",
                self._clock.monotonic() - started,
                f", {error.code}" if error is not None else "",
            )

    # --- secrets -----------------------------------------------------------------------

    def _scrub(self, text: str) -> str:
        """``text`` with the token replaced; tokens too short to be real are left alone."""
        token = self._token
        if token and len(token) >= _MIN_SECRET_LENGTH and token in text:
            return text.replace(token, REDACTED)
        return text

    def _scrub_error(self, error: MondayError) -> None:
        error.message = self._scrub(error.message)
        error.args = tuple(self._scrub(a) if isinstance(a, str) else a for a in error.args)

    # --- reads and conveniences --------------------------------------------------------

    def get_board(self, board_id: int | str) -> Board:
        """The board with its columns (settings, labels), groups and subitems board id.

        Raises:
            PermanentMondayError: the board does not exist (code ``BOARD_NOT_FOUND``).
        """
        return reads.get_board(self.execute, board_id)

    def iter_items(
        self,
        board_id: int | str,
        *,
        column_ids: list[str] | None = None,
        page_size: int = 500,
        with_subitems: bool = False,
        subitem_column_ids: list[str] | None = None,
        include_archived: bool = False,
    ) -> Iterator[Item]:
        """Every item of a board: ``items_page``, then ``next_items_page`` per cursor.

        Args:
            board_id: the board.
            column_ids: only these columns' values (all columns when ``None``).
            page_size: items a page, 1–500.
            with_subitems: also fetch each item's subitems.
            subitem_column_ids: only these subitem columns' values.
            include_archived: keep items monday reports as not active (``items_page``
                itself returns active items only).
        """
        return reads.iter_items(
            self.execute,
            board_id,
            column_ids=column_ids,
            page_size=page_size,
            with_subitems=with_subitems,
            subitem_column_ids=subitem_column_ids,
            include_archived=include_archived,
        )

    def items_by_column_values(
        self,
        board_id: int | str,
        column_id: str,
        values: list[str],
        *,
        column_ids: list[str] | None = None,
        with_subitems: bool = False,
        subitem_column_ids: list[str] | None = None,
    ) -> list[Item]:
        """Active items whose ``column_id`` holds one of ``values`` (exact match), paged.

        Values go 100 a request; each item appears once.
        """
        return reads.items_by_column_values(
            self.execute,
            board_id,
            column_id,
            values,
            column_ids=column_ids,
            with_subitems=with_subitems,
            subitem_column_ids=subitem_column_ids,
        )

    def get_items(
        self,
        ids: list[int],
        *,
        column_ids: list[str] | None = None,
        with_subitems: bool = False,
        subitem_column_ids: list[str] | None = None,
        include_archived: bool = True,
    ) -> list[Item]:
        """Items or subitems by id, 100 ids a request; ids that do not exist are absent.

        Archived items are included by default (check ``Item.state``), so a lookup after a
        lost ``archive_item`` answer can tell that the archive happened.
        """
        return reads.get_items(
            self.execute,
            ids,
            column_ids=column_ids,
            with_subitems=with_subitems,
            subitem_column_ids=subitem_column_ids,
            include_archived=include_archived,
        )

    def create_group(self, board_id: int | str, group_name: str, *, idempotency_key: str) -> Group:
        """Create a group and return it.

        When monday's answer does not say whether the group was created, the board is read
        and a group with that title is returned if one exists.

        Raises:
            PermanentMondayError: monday refused to create the group.
            RetryableMondayError: the outcome is still unknown (retry with the same key).
        """
        mutation = documents.create_group("a1", board_id=board_id, group_name=group_name)
        for _ in range(self._max_retries + 1):
            try:
                result = self.mutate(
                    [mutation],
                    idempotency_key=idempotency_key,
                    operation_name="CreateGroup",
                    resend_if_maybe_applied=False,  # look for the group before resending
                )["a1"]
            except RetryableMondayError as error:
                if not classify.may_have_applied(error):
                    raise
                result = AliasResult("a1", "unknown")
            if result.outcome == "ok" and result.data:
                return Group(str(result.data["id"]), str(result.data.get("title") or group_name))
            if result.outcome == "failed" and result.error is not None:
                raise result.error
            found = self.get_board(board_id).group_by_title(group_name)
            if found is not None:
                return found
        raise RetryableMondayError(
            f"outcome of creating group {group_name!r} is unknown", code="UNKNOWN_OUTCOME"
        )

    def add_dropdown_labels(
        self, board_id: int | str, column_id: str, labels: Sequence[str]
    ) -> tuple[str, ...]:
        """Add labels to a dropdown column (``update_dropdown_column``); returns its labels.

        The column's existing labels are sent with their ids beside the new ones, so the
        outcome is the same whether monday keeps or drops labels a request leaves out (its
        docs do not say). A stale revision (someone changed the column) or a lost answer is
        settled by reading the column again: labels already there are not sent twice.

        Raises:
            PermanentMondayError: monday refused (e.g. no permission to change the board).
        """
        for _ in range(3):
            revision, current = self._dropdown_labels(board_id, column_id)
            names = {str(label.get("label")) for label in current}
            new = [label for label in dict.fromkeys(labels) if label not in names]
            if not new:
                return tuple(str(label.get("label")) for label in current)
            settings = {
                "labels": [
                    {
                        "id": label["id"],
                        "label": label["label"],
                        "is_deactivated": bool(label.get("is_deactivated")),
                    }
                    for label in current
                ]
                + [{"label": label} for label in new]
            }
            try:
                self.execute(
                    documents.add_dropdown_labels_document(),
                    {
                        "boardId": str(board_id),
                        "columnId": column_id,
                        "revision": revision,
                        "settings": settings,
                    },
                    operation_name="AddDropdownLabels",
                )
            except PermanentMondayError as error:
                if error.code != "InvalidArgumentException":  # else a stale revision
                    raise
            except RetryableMondayError as error:
                if not classify.may_have_applied(error):
                    raise
        raise RetryableMondayError(
            f"could not add labels to column {column_id}: it keeps changing", code="CONFLICT"
        )

    def _dropdown_labels(
        self, board_id: int | str, column_id: str
    ) -> tuple[str, list[dict[str, Any]]]:
        data = self.execute(
            documents.column_revisions_document(),
            {"boardId": str(board_id), "columnIds": [column_id]},
            operation_name="ColumnRevisions",
        )
        boards = data.get("boards") or []
        columns = (boards[0].get("columns") if boards else None) or []
        if not columns:
            raise PermanentMondayError(
                f"column {column_id} is not on board {board_id}", code="InvalidColumnIdException"
            )
        settings = columns[0].get("settings")
        if isinstance(settings, str):
            settings = json.loads(settings)
        labels = (settings or {}).get("labels") or []
        return str(columns[0]["revision"]), [dict(label) for label in labels]

    # --- bulk import ---------------------------------------------------------------------

    @property
    def clock(self) -> Clock:
        """The clock this client waits on (bulk polling waits on it too)."""
        return self._clock

    def start_import(
        self, kind: str, board_id: int | str, group_id: str, *, idempotency_key: str
    ) -> ImportJob:
        """Start a bulk import job (``ingest_items`` or ``backfill_items``) for one group.

        Raises:
            RetryableMondayError: e.g. the 100 job starts an hour are used (429
                ``RATE_LIMIT_EXCEEDED``, ``retry_after`` from ``extensions.retryAfterMs``;
                raised at once when longer than ``max_retry_wait``).
            PermanentMondayError: monday refused the start.
        """
        data = self.execute(
            documents.start_import_document(kind),
            {"boardId": str(board_id), "groupId": group_id},
            operation_name=f"Start{kind.title()}",
            idempotency_key=idempotency_key,
        )
        job = data.get(f"{kind}_items")
        if not isinstance(job, dict) or not job.get("job_id") or not job.get("upload_url"):
            raise PermanentMondayError(
                f"monday started no {kind} job (no job_id or upload_url)", code="INVALID_RESPONSE"
            )
        return ImportJob(str(job["job_id"]), str(job["upload_url"]))

    def job_status(self, job_id: str) -> JobStatus:
        """An import job's state (``fetch_job_status``), paced like every other read."""
        data = self.execute(
            documents.job_status_document(), {"jobId": job_id}, operation_name="JobStatus"
        )
        raw = data.get("fetch_job_status")
        if not isinstance(raw, dict) or not raw.get("status"):
            raise PermanentMondayError(f"monday knows no import job {job_id}", code="JOB_NOT_FOUND")
        counts = raw.get("counts") if isinstance(raw.get("counts"), dict) else {}
        return JobStatus(
            status=str(raw["status"]),
            counts={k: int(v) for k, v in (counts or {}).items() if isinstance(v, int)},
            progress=int(raw.get("progress_percentage") or 0),
            failure_reason=raw.get("failure_reason"),
            failure_message=raw.get("failure_message"),
            report_url=raw.get("report_url") if raw.get("report_created") else None,
        )

    def upload_file(self, upload_url: str, body: bytes) -> str | None:
        """``PUT`` an import file (``text/csv``) to its pre-signed URL; returns the ``ETag``.

        Sent without the token or any monday header. A lost answer, a timeout or a 5xx is
        retried (a ``PUT`` of the same bytes to the same URL is idempotent).

        Raises:
            PermanentMondayError: ``UPLOAD_URL_EXPIRED`` (403: the URL's 10 minutes are over)
                or another refusal.
            RetryableMondayError: still failing after ``max_retries`` retries.
        """
        where = upload_url.split("?", 1)[0]  # the query is a credential: never in messages
        for attempt in range(self._max_retries + 1):
            self.stats.uploads += 1
            try:
                response = self._upload_http.put(
                    upload_url, content=body, headers={"Content-Type": "text/csv"}
                )
            except httpx.TransportError as exc:
                error: MondayError = classify.from_transport_error(exc)
                if not error.retryable or attempt >= self._max_retries:
                    raise error from exc
            else:
                status = response.status_code
                if 200 <= status < 300:
                    return response.headers.get("ETag")
                if status == 403:
                    raise PermanentMondayError(
                        f"the upload URL {where} refused the file (HTTP 403: expired)",
                        code="UPLOAD_URL_EXPIRED",
                        http_status=403,
                    )
                if status < 500 and status != 429:
                    raise PermanentMondayError(
                        f"the upload URL {where} refused the file (HTTP {status})",
                        code=f"HTTP_{status}",
                        http_status=status,
                    )
                if attempt >= self._max_retries:
                    raise RetryableMondayError(
                        f"the upload to {where} kept failing (HTTP {status})",
                        code=f"HTTP_{status}",
                        http_status=status,
                    )
            self.stats.retries += 1
            self._clock.sleep(min(_BACKOFF_CAP, _BACKOFF_BASE * 2**attempt))
        raise AssertionError("unreachable")  # pragma: no cover

    def download_report(self, report_url: str) -> str:
        """An import job's report (``GET report_url``, valid 10 minutes), without the token.

        Raises:
            PermanentMondayError: the URL refused (expired) or did not answer 200.
        """
        where = report_url.split("?", 1)[0]
        try:
            response = self._upload_http.get(report_url)
        except httpx.TransportError as exc:
            raise classify.from_transport_error(exc) from exc
        if response.status_code != 200:
            raise PermanentMondayError(
                f"the report at {where} answered HTTP {response.status_code}",
                code=f"HTTP_{response.status_code}",
                http_status=response.status_code,
            )
        return response.text


def _replayed(response: httpx.Response) -> bool:
    return response.headers.get("Idempotency-Replayed", "").lower() == "true"
