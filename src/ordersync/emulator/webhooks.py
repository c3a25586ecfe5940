"""Webhook delivery: the challenge handshake, which webhooks hear an event, and the POSTs.

``create_webhook`` first POSTs ``{"challenge": "<random>"}`` to the URL and stores the webhook
only when the answer is HTTP 2xx with the same ``challenge`` in its JSON body (else the mutation
fails with ``InvalidArgumentException``; monday doesn't publish its exact answer). The challenge
runs inside the mutation, under the store's lock, bounded by ``WebhookPolicy.timeout``.

Each board event (``events``) goes to every webhook of its board (the parent board for subitem
events) registered for its event type; ``change_specific_column_value`` hears the
``change_column_value`` events of its ``config.columnId``, ``change_status_column_value`` those
of status columns (optionally one ``columnId`` and one ``columnValue.index``). Each POST carries
``{"event": {...payload, "subscriptionId": <webhook id>, "isRetry": <bool>}}``.

A background worker sends them in order, so a slow or dead receiver never holds up the API.
A POST that fails (no answer, or not 2xx) is retried ``retry_interval`` seconds later on the
emulator's clock, up to ``attempts`` POSTs in all (monday: once a minute for 30 minutes), with
the same ``triggerUuid``. ``flush`` waits until nothing is due now; later retries stay queued
(``pending``), so with a ``ManualClock`` a test advances the clock and flushes again.

Without a signing secret nothing is signed, as monday sends the webhooks a personal token made.
With one, every POST (the challenge too, unless ``WebhookPolicy.sign_challenge`` is off: monday
does not say) carries ``Authorization: <JWT>``, HS256,
claims as monday's docs list them ("Authorization header"): ``accountId``, ``userId`` (who made
the change), ``aud`` (the webhook URL), ``iat`` and ``exp`` (``iat`` + 5 minutes). ``iat`` and
``exp`` follow the real clock, not the emulator's (receivers check ``exp`` against theirs), so
tokens stay valid when a test pins ``epoch``. monday also sends a ``shortLivedToken`` for its
API; the emulator doesn't.
"""

from __future__ import annotations

import heapq
import itertools
import json
import secrets
import threading
import time
from collections import deque
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

import httpx
import jwt

from ordersync.clock import Clock
from ordersync.emulator import api_errors
from ordersync.emulator.events import BoardEvent
from ordersync.emulator.model import Webhook

JWT_LIFETIME = 300
MIN_SECRET_BYTES = 32  # monday's signing secrets are longer; PyJWT warns below this
MAX_RECORDED = 10_000
_MAX_IDLE_WAIT = 0.5  # real seconds; notices a ManualClock moved even without a flush
# A bound, not a wait: flush returns as soon as nothing is due. Generous, because a sync
# emits hundreds of events and a loaded 2-core CI machine delivers them slowly.
FLUSH_TIMEOUT = 60.0  # real seconds


@dataclass(frozen=True)
class WebhookPolicy:
    """How hard the emulator tries to deliver.

    Attributes:
        attempts: POSTs per event at most (monday: the first and 30 retries).
        retry_interval: seconds between attempts, on the emulator's clock.
        timeout: real seconds an attempt (or the challenge) may take.
        sign_challenge: with a signing secret, whether the challenge carries a JWT too
            (undocumented on monday: a switch, tested both ways).
    """

    attempts: int = 31
    retry_interval: float = 60.0
    timeout: float = 10.0
    sign_challenge: bool = True


@dataclass(frozen=True)
class WebhookDelivery:
    """One POST of an event: ``status`` is ``None`` when no answer came (see ``error``)."""

    url: str
    status: int | None
    body: dict[str, Any]
    attempt: int
    webhook_id: str
    error: str | None = None

    @property
    def ok(self) -> bool:
        return self.status is not None and 200 <= self.status < 300

    def to_dict(self) -> dict[str, Any]:
        return {
            "url": self.url,
            "status": self.status,
            "body": self.body,
            "attempt": self.attempt,
            "webhook_id": self.webhook_id,
            "error": self.error,
        }


def matches(webhook: Webhook, event: BoardEvent) -> bool:
    """Whether ``webhook`` hears ``event`` (see the module docstring)."""
    if webhook.board_id != event.board_id:
        return False
    if webhook.event == event.name:
        return True
    if event.name != "change_column_value":
        return False
    config = json.loads(webhook.config) if webhook.config else {}
    if webhook.event == "change_specific_column_value":
        return bool(config.get("columnId") == event.column_id)
    if webhook.event != "change_status_column_value":
        return False
    if event.payload.get("columnType") != "color":
        return False
    if config.get("columnId") not in (None, event.column_id):
        return False
    wanted = (config.get("columnValue") or {}).get("index")
    label = (event.payload.get("value") or {}).get("label") or {}
    return wanted is None or label.get("index") == int(wanted)


class Signer:
    """Makes the ``Authorization`` JWT monday puts on an integration app's webhooks."""

    def __init__(self, secret: str, now: Callable[[], float] = time.time) -> None:
        if len(secret.encode()) < MIN_SECRET_BYTES:
            raise ValueError(f"webhook_secret must be at least {MIN_SECRET_BYTES} bytes long")
        self._secret = secret
        self._now = now

    def token(self, url: str, user_id: int) -> str:
        issued = int(self._now())
        claims = {
            "accountId": api_errors.ACCOUNT_ID,
            "userId": user_id,
            "aud": url,
            "iat": issued,
            "exp": issued + JWT_LIFETIME,
        }
        return jwt.encode(claims, self._secret, algorithm="HS256")


@dataclass
class _Job:
    webhook_id: str
    url: str
    payload: dict[str, Any]
    attempt: int = 1

    def body(self) -> dict[str, Any]:
        event = {
            **self.payload,
            "subscriptionId": int(self.webhook_id),
            "isRetry": self.attempt > 1,
        }
        return {"event": event}


@dataclass(order=True)
class _Scheduled:
    due: float
    sequence: int
    job: _Job = field(compare=False)


class WebhookDispatcher:
    """Sends challenges in the caller's thread and events from one background worker.

    Args:
        clock: schedules retries (the emulator's clock).
        policy: attempts, retry interval, timeout.
        secret: signs every POST when set.
        transport: an httpx transport for the POSTs (default: real HTTP).
    """

    def __init__(
        self,
        clock: Clock,
        policy: WebhookPolicy,
        secret: str | None = None,
        transport: httpx.BaseTransport | None = None,
    ) -> None:
        self._clock = clock
        self._policy = policy
        self._signer = Signer(secret) if secret is not None else None
        self._transport = transport
        self._client: httpx.Client | None = None
        self._client_lock = threading.Lock()
        self._cond = threading.Condition()
        self._queue: list[_Scheduled] = []
        self._sequence = itertools.count()
        self._busy = 0
        self._closed = False
        self._thread: threading.Thread | None = None
        self._deliveries: deque[WebhookDelivery] = deque(maxlen=MAX_RECORDED)

    # -- the handshake -------------------------------------------------------------------

    def challenge(self, url: str, user_id: int) -> None:
        """POST a challenge to ``url``; ``MondayAPIError`` unless it comes back."""
        if not url.startswith(("http://", "https://")):
            raise api_errors.invalid_argument("The webhook URL must be an http(s) URL", url=url)
        token = secrets.token_urlsafe(48)
        reason = None
        try:
            response = self._post(
                url, {"challenge": token}, user_id, sign=self._policy.sign_challenge
            )
        except Exception as exc:  # any failure to answer fails the handshake
            reason = f"no answer ({type(exc).__name__}: {exc})"
        else:
            if not 200 <= response.status_code < 300:
                reason = f"HTTP {response.status_code}"
            elif _echoed(response) != token:
                reason = "the answer did not echo the challenge"
        if reason is not None:
            raise api_errors.invalid_argument(
                f"Failed to verify the webhook URL: {reason}", url=url
            )

    # -- events --------------------------------------------------------------------------

    def dispatch(self, webhooks: Iterable[Webhook], event: BoardEvent) -> None:
        """Queue ``event`` for each webhook (the caller has matched them)."""
        with self._cond:
            if self._closed:
                return
            now = self._clock.monotonic()
            for webhook in webhooks:
                job = _Job(webhook.id, webhook.url, event.payload)
                heapq.heappush(self._queue, _Scheduled(now, next(self._sequence), job))
                self._start()
            self._cond.notify_all()

    @property
    def deliveries(self) -> list[WebhookDelivery]:
        with self._cond:
            return list(self._deliveries)

    @property
    def pending(self) -> int:
        """Deliveries queued or being sent, including retries scheduled for later."""
        with self._cond:
            return len(self._queue) + self._busy

    def flush(self, timeout: float = FLUSH_TIMEOUT) -> None:
        """Block until no delivery is due now or in flight; ``TimeoutError`` after ``timeout``."""
        deadline = time.monotonic() + timeout
        with self._cond:
            self._cond.notify_all()  # the clock may have moved: let the worker look again
            while self._busy or self._due():
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    raise TimeoutError(f"webhook deliveries still due after {timeout} s")
                self._cond.wait(min(remaining, _MAX_IDLE_WAIT))

    def close(self) -> None:
        """Stop the worker (undelivered events are dropped) and close the HTTP client."""
        with self._cond:
            self._closed = True
            self._cond.notify_all()
        if self._thread is not None:
            self._thread.join(timeout=self._policy.timeout + 1)
        with self._client_lock:
            if self._client is not None:
                self._client.close()
                self._client = None

    # -- the worker ----------------------------------------------------------------------

    def _start(self) -> None:
        if self._thread is None:
            self._thread = threading.Thread(
                target=self._work, name="monday-emulator-webhooks", daemon=True
            )
            self._thread.start()

    def _due(self) -> bool:
        return bool(self._queue) and self._queue[0].due <= self._clock.monotonic()

    def _next(self) -> _Job | None:
        """The next due job (waiting for one), or ``None`` once closed."""
        with self._cond:
            while not self._closed:
                if self._due():
                    self._busy += 1
                    return heapq.heappop(self._queue).job
                wait = _MAX_IDLE_WAIT
                if self._queue:
                    wait = min(wait, self._queue[0].due - self._clock.monotonic())
                self._cond.wait(wait)
            return None

    def _work(self) -> None:
        while (job := self._next()) is not None:
            try:
                self._attempt(job)
            finally:
                with self._cond:
                    self._busy -= 1
                    self._cond.notify_all()

    def _attempt(self, job: _Job) -> None:
        body = job.body()
        status, error = None, None
        try:
            status = self._post(job.url, body, int(job.payload.get("userId", 0))).status_code
        except Exception as exc:  # a receiver's failure must never stop the worker
            error = f"{type(exc).__name__}: {exc}"
        delivery = WebhookDelivery(job.url, status, body, job.attempt, job.webhook_id, error)
        with self._cond:
            self._deliveries.append(delivery)
            if not delivery.ok and job.attempt < self._policy.attempts and not self._closed:
                job.attempt += 1
                due = self._clock.monotonic() + self._policy.retry_interval
                heapq.heappush(self._queue, _Scheduled(due, next(self._sequence), job))

    def _post(
        self, url: str, body: dict[str, Any], user_id: int, *, sign: bool = True
    ) -> httpx.Response:
        headers = {}
        if self._signer is not None and sign:
            headers["Authorization"] = self._signer.token(url, user_id)
        return self._http().post(url, json=body, headers=headers)

    def _http(self) -> httpx.Client:
        with self._client_lock:
            if self._client is None:
                self._client = httpx.Client(transport=self._transport, timeout=self._policy.timeout)
            return self._client


def _echoed(response: httpx.Response) -> Any:
    try:
        body = response.json()
    except ValueError:
        return None
    return body.get("challenge") if isinstance(body, dict) else None
