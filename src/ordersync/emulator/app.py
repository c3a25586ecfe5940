"""The emulator's WSGI application: monday's ``POST /v2`` and a few test endpoints.

A GraphQL request goes through the same gates, in the same order, as on monday: concurrency,
authentication, ``API-Version`` (only when required), body, (injected latency), requests per
IP, per day and per minute, idempotency key, (injected faults), then complexity and execution.
Every answer carries monday's ``RateLimit-Policy`` / ``RateLimit`` headers. What monday leaves
undocumented (error answers cached under a key, a key reused for another body, per-alias data
beside errors, the daily limit's status) follows the emulator's ``Undocumented`` switches.

Test endpoints, for clients in another process: ``GET /emulator/stats``,
``POST /emulator/faults`` (a ``Fault`` as JSON), ``POST /emulator/reset-stats``,
``GET /emulator/items?board_id=N``, ``POST /emulator/act`` (a change made as a person:
``{"item_id": N, "column_id": "...", "value": ...}``, ``{"item_id": N, "archive": true}`` or
``{"item_id": N, "delete": true}``; see ``Emulator.act``), ``POST /emulator/webhooks/flush``
(``{"timeout": 5}``; 504 when deliveries are still running) and
``GET /emulator/webhooks/deliveries``, ``POST /emulator/bulk/fail`` (``{"reason":
"INTERNAL_ERROR", "after_rows": 0}``: the next import job fails so), ``GET /emulator/bulk/jobs``
(every import job: id, kind, status, rows, rows done), ``POST /emulator/idempotency``
(``{"forget": true}`` drops every cached key; ``{"remember": false}`` caches none from then
on; see ``Emulator.forget_idempotency_keys``).

The bulk import's pre-signed URLs live here too: ``PUT /emulator/uploads/<job id>?...`` and
``GET /emulator/reports/<job id>?...`` (``bulk``); every request first applies the import rows
due by then.

Faults that must break the transport (a lost answer, a timeout) can't be expressed by a WSGI
response; the app marks them with the ``X-Emulator-Fault`` header on a 502, and the in-process
transport or the HTTP server (``server``) turns the mark into the real failure.
"""

from __future__ import annotations

import hashlib
import json
import time
from collections.abc import Callable, Iterable
from typing import TYPE_CHECKING, Any

from graphql import FieldNode
from werkzeug.wrappers import Request, Response

from ordersync.emulator import api_errors, bulk
from ordersync.emulator.api_errors import HttpAnswer
from ordersync.emulator.execution import PreparedOperation
from ordersync.emulator.faults import Fault
from ordersync.emulator.limits import (
    IdempotencyOutcome,
    Throttled,
    rate_limit_headers,
    throttled_answer,
)

if TYPE_CHECKING:
    from ordersync.emulator.emulator import Emulator

FAULT_HEADER = "X-Emulator-Fault"
FAULT_DELAY_HEADER = "X-Emulator-Fault-Delay"
NETWORK_ENVIRON_KEY = "ordersync.emulator.network"
GRAPHQL_PATH = "/v2"
STATUS_MESSAGES = {
    423: "Resource is currently locked, please try again later",
    429: "Rate Limit Exceeded",
    500: "Internal server error",
    503: "Service Unavailable",
}
STATUS_CODES = {
    423: api_errors.RESOURCE_LOCKED,
    429: api_errors.RATE_LIMIT,
    500: api_errors.INTERNAL_ERROR,
    503: "SERVICE_UNAVAILABLE",
}


class EmulatorApp:
    """WSGI callable serving one ``Emulator``."""

    def __init__(self, emulator: Emulator) -> None:
        self._emu = emulator
        self._routes: dict[tuple[str, str], Callable[[Request], HttpAnswer]] = {
            ("POST", GRAPHQL_PATH): self._graphql,
            ("GET", "/emulator/stats"): self._stats,
            ("POST", "/emulator/faults"): self._inject,
            ("POST", "/emulator/reset-stats"): self._reset_stats,
            ("POST", "/emulator/idempotency"): self._idempotency,
            ("GET", "/emulator/items"): self._items,
            ("POST", "/emulator/act"): self._act,
            ("POST", "/emulator/webhooks/flush"): self._flush_webhooks,
            ("GET", "/emulator/webhooks/deliveries"): self._webhook_deliveries,
            ("POST", "/emulator/bulk/fail"): self._fail_import_job,
            ("GET", "/emulator/bulk/jobs"): self._import_jobs,
        }

    def __call__(self, environ: dict[str, Any], start_response: Any) -> Iterable[bytes]:
        request = Request(environ)
        path = request.path.rstrip("/") or "/"
        handler = self._routes.get((request.method, path))
        if path.startswith((bulk.UPLOAD_PATH, bulk.REPORT_PATH)):
            answer = self._presigned(request, path)
        elif handler is not None:
            answer = handler(request)
        elif any(route_path == path for _, route_path in self._routes):
            answer = HttpAnswer(405, {"error": f"{request.method} not allowed on {path}"})
        else:
            answer = HttpAnswer(404, {"error": f"no such endpoint: {path}"})
        response: Iterable[bytes] = _to_response(answer)(environ, start_response)
        return response

    # -- GraphQL -------------------------------------------------------------------------

    def _graphql(self, request: Request) -> HttpAnswer:
        emu = self._emu
        with emu.stats.lock:
            emu.stats.requests += 1
        self._advance_imports()
        try:
            with emu.concurrency.slot():
                answer = self._admitted(request)
        except Throttled as throttle:
            answer = self._throttled(throttle)
        if FAULT_HEADER not in answer.headers:
            limits = rate_limit_headers(emu.limits, emu.requests, emu.concurrency, emu.budget)
            answer = HttpAnswer(
                answer.status, answer.body, {**answer.headers, **limits}, answer.content_type
            )
        return answer

    def _admitted(self, request: Request) -> HttpAnswer:
        emu = self._emu
        if emu.token is not None and request.headers.get("Authorization") != emu.token:
            return api_errors.request_error(
                401, api_errors.UNAUTHORIZED, "Not Authenticated", legacy=emu.legacy_errors
            )
        if emu.require_api_version and not request.headers.get("API-Version"):
            return api_errors.request_error(
                400,
                api_errors.API_VERSION_REQUIRED,
                "The API-Version header is required",
                legacy=emu.legacy_errors,
            )
        body = _read_body(request, legacy=emu.legacy_errors)
        if isinstance(body, HttpAnswer):
            return body
        prepared = emu.service.prepare(
            body["query"], body.get("variables"), body.get("operationName")
        )
        self._delay(request, prepared.root_fields)
        try:
            emu.requests.admit(request.remote_addr)
        except Throttled as throttle:
            return self._throttled(throttle)
        if prepared.answer is not None:
            return prepared.answer
        too_old = bulk.version_refusal(request.headers.get("API-Version"), prepared.root_fields)
        if too_old is not None:
            return too_old
        prepared.base_url = request.host_url
        key = request.headers.get("Idempotency-Key") if prepared.is_mutation else None
        if not key:
            return self._execute(prepared, None)
        return self._execute_once(prepared, key, _fingerprint(body))

    def _execute_once(self, prepared: PreparedOperation, key: str, fingerprint: str) -> HttpAnswer:
        emu = self._emu
        outcome, cached = emu.idempotency.begin_with(
            key, fingerprint, emu.undocumented.same_key_other_body
        )
        if outcome is IdempotencyOutcome.REPLAY:
            assert cached is not None
            with emu.stats.lock:
                emu.stats.idempotent_replays += 1
            return HttpAnswer(
                cached.status,
                cached.body,
                {**cached.headers, "Idempotency-Replayed": "true"},
                cached.content_type,
            )
        if outcome is IdempotencyOutcome.IN_FLIGHT:
            return api_errors.request_error(
                409,
                api_errors.IDEMPOTENCY_CONFLICT,
                "A request with this Idempotency-Key is still being processed",
                legacy=emu.legacy_errors,
                retry_in_seconds=1,
                error_data={"reason": "in_progress"},
            )
        if outcome is IdempotencyOutcome.CONFLICT:
            return api_errors.request_error(
                409,
                api_errors.IDEMPOTENCY_CONFLICT,
                "This Idempotency-Key was already used with a different request",
                legacy=emu.legacy_errors,
                error_data={"reason": "different_request"},
            )
        answer = None
        try:
            answer = self._execute(prepared, key)
        finally:
            if answer is None:
                emu.idempotency.abandon(key)
        return answer

    def _execute(self, prepared: PreparedOperation, key: str | None) -> HttpAnswer:
        """Run the operation, with any injected fault; cache the answer under ``key``."""
        emu = self._emu
        fault = emu.faults.take(prepared.root_fields)
        if fault is not None and not _applies_first(fault):
            if fault.kind == "status":
                return self._refused(key, _status_answer(fault, legacy=emu.legacy_errors))
            if fault.kind == "alias_error":
                answer = api_errors.alias_errors(
                    _aliases(prepared),
                    fault.code or api_errors.INTERNAL_ERROR,
                    STATUS_MESSAGES.get(fault.status or 200, f"{fault.code} (injected)"),
                    status_code=fault.status or 200,
                )
                return self._refused(key, answer)
            if key:
                emu.idempotency.abandon(key)
            return _transport_fault(fault)
        starts_refused = emu.bulk.throttle(prepared.operation, legacy=emu.legacy_errors)
        if starts_refused is not None:
            with emu.stats.lock:
                emu.stats.throttled[api_errors.RATE_LIMIT] += 1
            return self._refused(key, starts_refused)
        outcome = emu.service.run(prepared)
        emu.record(outcome)
        if outcome.throttled is not None:
            return self._refused(key, outcome.answer)
        answer = outcome.answer
        if fault is not None and fault.kind == "partial_errors":
            answer = _partial_errors_answer()
        if not emu.undocumented.alias_data_with_errors and answer.status == 200:
            answer = HttpAnswer(
                200, api_errors.without_alias_data(answer.body), answer.headers, answer.content_type
            )
        if outcome.applied and emu.state_file is not None:
            emu.save()
        if key:
            emu.idempotency.complete(key, answer)
        if fault is not None and fault.kind in ("lost_response", "timeout"):
            return _transport_fault(fault)
        return answer

    def _refused(self, key: str | None, answer: HttpAnswer) -> HttpAnswer:
        """An answer given without executing: cached for ``key`` or forgotten, as the
        ``cache_error_answers`` switch says (``Undocumented``)."""
        if key and self._emu.undocumented.cache_error_answers:
            self._emu.idempotency.complete(key, answer)
        elif key:
            self._emu.idempotency.abandon(key)
        return answer

    def _delay(self, request: Request, root_fields: frozenset[str]) -> None:
        delay = self._emu.faults.latency(root_fields)
        if delay <= 0:
            return
        if request.environ.get(NETWORK_ENVIRON_KEY):
            time.sleep(delay)
        else:
            self._emu.clock.sleep(delay)

    def _throttled(self, throttle: Throttled) -> HttpAnswer:
        with self._emu.stats.lock:
            self._emu.stats.throttled[throttle.code] += 1
        return throttled_answer(
            throttle,
            legacy=self._emu.legacy_errors,
            daily_limit_status=self._emu.undocumented.daily_limit_status,
        )

    # -- bulk import: the pre-signed upload and report URLs ---------------------------------

    def _advance_imports(self) -> None:
        """Apply the import rows due by now (``bulk``), and keep the state file current."""
        if self._emu.bulk.advance() and self._emu.state_file is not None:
            self._emu.save()

    def _presigned(self, request: Request, path: str) -> HttpAnswer:
        """An upload (``PUT``) or report (``GET``) URL; faults matching ``upload`` strike the
        upload: ``status`` refuses it, ``lost_response``/``timeout`` store it, lose the answer."""
        self._advance_imports()
        args = dict(request.args)
        if "Authorization" in request.headers:
            # S3 takes one auth mechanism: the URL's signature, or the header; never both.
            return bulk.s3_error(
                400,
                "InvalidArgument",
                "Only one auth mechanism allowed; only the X-Amz-Algorithm query parameter, "
                "Signature query string parameter or the Authorization header should be "
                "specified",
            )
        if path.startswith(bulk.REPORT_PATH):
            return self._emu.bulk.report(path.removeprefix(bulk.REPORT_PATH), request.method, args)
        fault = self._emu.faults.take_named("upload")
        if fault is not None and fault.kind == "status":
            return _status_answer(fault, legacy=self._emu.legacy_errors)
        answer = self._emu.bulk.upload(
            path.removeprefix(bulk.UPLOAD_PATH),
            request.method,
            args,
            request.headers.get("Content-Type", ""),
            request.get_data(),
        )
        if self._emu.state_file is not None:
            self._emu.save()
        if fault is not None and fault.kind in ("lost_response", "timeout"):
            return _transport_fault(fault)
        return answer

    # -- test endpoints ------------------------------------------------------------------

    def _stats(self, request: Request) -> HttpAnswer:
        return HttpAnswer(200, self._emu.stats.to_dict())

    def _inject(self, request: Request) -> HttpAnswer:
        try:
            payload = json.loads(request.get_data() or b"{}")
            fault = Fault.from_dict(payload)
        except (ValueError, TypeError) as exc:
            return HttpAnswer(400, {"error": str(exc)})
        self._emu.inject(fault)
        return HttpAnswer(200, {"injected": payload})

    def _reset_stats(self, request: Request) -> HttpAnswer:
        self._emu.reset_stats()
        return HttpAnswer(200, {"reset": True})

    def _idempotency(self, request: Request) -> HttpAnswer:
        payload = _json_object(request)
        usage = 'expected {"forget": true} and/or {"remember": true|false}'
        if payload is None or not payload or set(payload) - {"forget", "remember"}:
            return HttpAnswer(400, {"error": usage})
        remember = payload.get("remember")
        if not isinstance(remember, bool | None) or payload.get("forget") not in (True, None):
            return HttpAnswer(400, {"error": usage})
        if payload.get("forget"):
            self._emu.forget_idempotency_keys(remember=remember)
        elif remember is not None:
            self._emu.idempotency.remember = remember
        return HttpAnswer(200, {"remember": self._emu.idempotency.remember})

    def _items(self, request: Request) -> HttpAnswer:
        board_id = request.args.get("board_id", "")
        if not board_id.isdigit() or board_id not in self._emu.store.boards:
            return HttpAnswer(404, {"error": f"no such board: {board_id!r}"})
        return HttpAnswer(200, self._emu.items(int(board_id)))

    def _act(self, request: Request) -> HttpAnswer:
        payload = _json_object(request)
        if payload is None or "item_id" not in payload or set(payload) - ACT_FIELDS:
            return HttpAnswer(400, {"error": ACT_USAGE})
        try:
            result = self._emu.act(
                payload["item_id"],
                payload.get("column_id"),
                payload.get("value"),
                archive=payload.get("archive") is True,
                delete=payload.get("delete") is True,
            )
        except ValueError:
            return HttpAnswer(400, {"error": ACT_USAGE})
        except api_errors.MondayAPIError as error:
            status = error.status_code if error.status_code >= 400 else 422
            body = {"error": error.message, "code": error.code, "error_data": error.error_data}
            return HttpAnswer(status, body)
        return HttpAnswer(200, result)

    def _flush_webhooks(self, request: Request) -> HttpAnswer:
        payload = _json_object(request) or {}
        timeout = payload.get("timeout", 5.0)
        if isinstance(timeout, bool) or not isinstance(timeout, int | float):
            return HttpAnswer(400, {"error": "timeout must be a number of seconds"})
        try:
            self._emu.flush_webhooks(float(timeout))
        except TimeoutError as exc:
            return HttpAnswer(504, {"error": str(exc), "pending": self._emu.pending_webhooks})
        return HttpAnswer(200, {"pending": self._emu.pending_webhooks})

    def _fail_import_job(self, request: Request) -> HttpAnswer:
        """``{"reason": "INTERNAL_ERROR", "after_rows": 0}``: the next import job fails so."""
        payload = _json_object(request)
        usage = 'expected {"reason": "INTERNAL_ERROR", "after_rows": N}'
        if payload is None or set(payload) - {"reason", "after_rows"}:
            return HttpAnswer(400, {"error": usage})
        try:
            self._emu.bulk.fail_next_job(
                payload.get("reason", bulk.INTERNAL_ERROR), int(payload.get("after_rows", 0))
            )
        except (TypeError, ValueError) as error:
            return HttpAnswer(400, {"error": f"{error}; {usage}"})
        return HttpAnswer(200, {"armed": payload})

    def _import_jobs(self, request: Request) -> HttpAnswer:
        return HttpAnswer(200, self._emu.bulk.summary())

    def _webhook_deliveries(self, request: Request) -> HttpAnswer:
        return HttpAnswer(200, [d.to_dict() for d in self._emu.webhook_deliveries])


ACT_FIELDS = frozenset({"item_id", "column_id", "value", "archive", "delete"})
ACT_USAGE = (
    'expected {"item_id": N, "column_id": "...", "value": ...}, '
    '{"item_id": N, "archive": true} or {"item_id": N, "delete": true}'
)


def _json_object(request: Request) -> dict[str, Any] | None:
    try:
        payload = json.loads(request.get_data() or b"null")
    except ValueError:
        return None
    return payload if isinstance(payload, dict) else None


def _read_body(request: Request, *, legacy: bool) -> dict[str, Any] | HttpAnswer:
    """The JSON body ``{query, variables, operationName}``, or monday's 400."""
    try:
        body = json.loads(request.get_data() or b"null")
    except ValueError:
        body = None
    if not isinstance(body, dict) or not isinstance(body.get("query"), str):
        return api_errors.request_error(
            400, api_errors.BAD_REQUEST, "No query string was present", legacy=legacy
        )
    if body.get("variables") is not None and not isinstance(body["variables"], dict):
        return api_errors.request_error(
            400, api_errors.BAD_REQUEST, "variables must be a JSON object", legacy=legacy
        )
    return body


def _fingerprint(body: dict[str, Any]) -> str:
    request = {k: body.get(k) for k in ("query", "variables", "operationName")}
    return hashlib.sha256(json.dumps(request, sort_keys=True).encode()).hexdigest()


def _aliases(prepared: PreparedOperation) -> list[str]:
    """The response keys of the operation's root fields (alias, else field name)."""
    assert prepared.operation is not None
    return [
        (selection.alias or selection.name).value
        for selection in prepared.operation.selection_set.selections
        if isinstance(selection, FieldNode)
    ]


def _applies_first(fault: Fault) -> bool:
    """Whether the request is executed before the fault strikes."""
    return fault.kind in ("lost_response", "partial_errors") or (
        fault.kind == "timeout" and fault.after_apply
    )


def _status_answer(fault: Fault, *, legacy: bool) -> HttpAnswer:
    status = fault.status or 500
    if status in (502, 504):
        html = f"<html><body><h1>{status} Gateway error</h1></body></html>"
        return HttpAnswer(status, html, content_type="text/html")
    retry = fault.retry_in_seconds
    if retry is None and status == 429:
        retry = 1
    if fault.body is not None:
        headers = {"Retry-After": str(retry)} if retry is not None else {}
        return HttpAnswer(status, fault.body, headers, content_type="text/html")
    return api_errors.request_error(
        status,
        fault.code or STATUS_CODES.get(status, f"HTTP_{status}"),
        STATUS_MESSAGES.get(status, f"HTTP {status}"),
        legacy=legacy,
        retry_in_seconds=retry,
    )


def _transport_fault(fault: Fault) -> HttpAnswer:
    return HttpAnswer(
        502,
        {"errors": [{"message": f"emulated {fault.kind}: no answer reached the client"}]},
        {FAULT_HEADER: fault.kind, FAULT_DELAY_HEADER: str(fault.delay)},
    )


def _partial_errors_answer() -> HttpAnswer:
    """monday's answer when it fails without saying which alias: no data, no paths."""
    return HttpAnswer(
        200,
        {
            "data": None,
            "errors": [
                {
                    "message": "Internal server error",
                    "extensions": {"code": api_errors.INTERNAL_ERROR, "status_code": 500},
                }
            ],
            "account_id": api_errors.ACCOUNT_ID,
        },
    )


def _to_response(answer: HttpAnswer) -> Response:
    if answer.content_type == "application/json":
        payload = json.dumps(answer.body)
    else:
        payload = str(answer.body)
    return Response(
        payload, status=answer.status, headers=answer.headers, content_type=answer.content_type
    )
