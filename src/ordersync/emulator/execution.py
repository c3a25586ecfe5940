"""GraphQL execution: parse, validate, price, charge, run, and shape the answer like monday's.

The schema is monday's whole schema (``schema.graphql``, a copy of API 2026-10 kept identical to
``../shared/monday/schema.graphql`` by a test): every document valid on monday validates here,
introspection included. Fields the emulator doesn't emulate answer an error naming them
(``fields``).
``prepare`` turns a request body into a ``PreparedOperation`` (the document, its root fields,
whether it mutates, its complexity) or an answer explaining why it can't run. ``run`` checks
the per-query maximum, charges the complexity budget (429 when spent) and executes the
operation against the store under its lock. Application errors come back with HTTP 200,
partial ``data`` and one error per failing alias; parse and validation errors too (monday
documents "Parse error on..." as a 200).
"""

from __future__ import annotations

import uuid
from collections import Counter
from dataclasses import dataclass, field
from functools import cache, lru_cache
from importlib import resources
from typing import Any

from graphql import (
    DocumentNode,
    ExecutionResult,
    FieldNode,
    GraphQLError,
    GraphQLSchema,
    OperationDefinitionNode,
    build_schema,
    execute_sync,
    get_operation_ast,
    parse,
    validate,
)
from graphql.execution.values import get_variable_values

from ordersync.emulator import api_errors, views
from ordersync.emulator.api_errors import HttpAnswer
from ordersync.emulator.complexity import BoardFacts, ComplexityCalculator
from ordersync.emulator.fields import resolve_field
from ordersync.emulator.limits import ComplexityBudget, Throttled
from ordersync.emulator.paging import CursorRegistry
from ordersync.emulator.resolvers import Root
from ordersync.emulator.store import Store
from ordersync.emulator.views import RequestContext


@cache
def load_schema() -> GraphQLSchema:
    """monday's schema (``schema.graphql``) with the column value type resolver attached."""
    sdl = resources.files("ordersync.emulator").joinpath("schema.graphql").read_text("utf-8")
    schema = build_schema(sdl)
    column_value = schema.get_type("ColumnValue")
    column_value.resolve_type = views.resolve_value_type  # type: ignore[union-attr]
    job_status = schema.get_type("JobStatus")
    job_status.resolve_type = lambda value, *_: "ItemsJobStatus"  # type: ignore[union-attr]
    return schema


@lru_cache(maxsize=1024)
def _checked(query: str) -> tuple[DocumentNode | None, tuple[GraphQLError, ...]]:
    """A query parsed and validated against monday's schema once per distinct text (a client
    sends the same few documents over and over; parsing and validating them was a sixth of a
    test run's CPU). No document, and the parse error, when it does not parse."""
    try:
        document = parse(query)
    except GraphQLError as error:
        return None, (error,)
    return document, tuple(validate(load_schema(), document))


@dataclass
class PreparedOperation:
    """A request ready to run, or ``answer`` saying why it can't."""

    document: DocumentNode | None = None
    operation: OperationDefinitionNode | None = None
    variables: dict[str, Any] = field(default_factory=dict)
    root_fields: frozenset[str] = frozenset()
    is_mutation: bool = False
    cost: int = 0
    answer: HttpAnswer | None = None
    base_url: str = ""
    """Scheme and host the request was sent to (the bulk import's URLs point there)."""


@dataclass
class Outcome:
    """A finished request: its answer, the mutations it applied and the errors it met."""

    answer: HttpAnswer
    applied: Counter[str] = field(default_factory=Counter)
    error_codes: list[str] = field(default_factory=list)
    throttled: str | None = None
    charged: int = 0


class GraphQLService:
    def __init__(
        self,
        store: Store,
        cursors: CursorRegistry,
        budget: ComplexityBudget,
        max_query_complexity: int,
        *,
        legacy_errors: bool = False,
        bulk: Any = None,
    ) -> None:
        self._schema = load_schema()
        self._bulk = bulk
        self._store = store
        self._cursors = cursors
        self._budget = budget
        self._max_query = max_query_complexity
        self._legacy = legacy_errors
        self._facts = board_facts(store, cursors)

    def prepare(
        self, query: str, variables: dict[str, Any] | None, operation_name: str | None
    ) -> PreparedOperation:
        document, checked = _checked(query)
        if document is None:
            answer = self._graphql_errors(list(checked), api_errors.PARSE_FAILED)
            return PreparedOperation(answer=answer)
        errors = list(checked)
        operation = get_operation_ast(document, operation_name)
        if not errors and operation is None:
            errors = [GraphQLError("Unknown operation, or operation name required")]
        if errors or operation is None:
            answer = self._graphql_errors(errors, api_errors.VALIDATION_FAILED)
            return PreparedOperation(document=document, answer=answer)
        coerced = get_variable_values(
            self._schema, operation.variable_definitions or (), variables or {}
        )
        if isinstance(coerced, list):
            answer = self._graphql_errors(coerced, api_errors.VALIDATION_FAILED)
            return PreparedOperation(document=document, answer=answer)
        return PreparedOperation(
            document=document,
            operation=operation,
            variables=variables or {},
            root_fields=_root_fields(operation),
            is_mutation=operation.operation.value == "mutation",
            cost=self._price(document, coerced, operation),
        )

    def _price(
        self, document: DocumentNode, variables: dict[str, Any], operation: OperationDefinitionNode
    ) -> int:
        with self._store.lock:
            calculator = ComplexityCalculator(self._schema, document, variables, self._facts)
            return calculator.cost(operation)

    def run(self, prepared: PreparedOperation) -> Outcome:
        """Charge and execute a prepared operation."""
        assert prepared.document is not None and prepared.operation is not None
        if prepared.cost > self._max_query:
            return self._too_complex(prepared.cost)
        try:
            charge = self._budget.charge(prepared.cost)
        except Throttled as throttle:
            answer = api_errors.complexity_exhausted(
                throttle.retry_in_seconds,
                legacy=self._legacy,
                cost=prepared.cost,
                remaining=self._budget.remaining(),
                budget=self._budget.budget,
            )
            return Outcome(answer, throttled=throttle.code)
        context = RequestContext(
            self._store, self._cursors, charge, bulk=self._bulk, base_url=prepared.base_url
        )
        with self._store.lock:
            result = execute_sync(
                self._schema,
                prepared.document,
                root_value=Root(context),
                context_value=context,
                field_resolver=resolve_field,
                variable_values=prepared.variables,
                operation_name=prepared.operation.name.value if prepared.operation.name else None,
            )
        body, codes = self._format(result)
        return Outcome(HttpAnswer(200, body), context.applied, codes, charged=charge.query)

    def _format(self, result: ExecutionResult) -> tuple[dict[str, Any], list[str]]:
        request_id = str(uuid.uuid4())
        body: dict[str, Any] = {"data": result.data}
        codes = []
        if result.errors:
            body["errors"] = [_format_error(e, request_id) for e in result.errors]
            codes = [e["extensions"]["code"] for e in body["errors"]]
        body["extensions"] = {"request_id": request_id}
        body["account_id"] = api_errors.ACCOUNT_ID
        return (api_errors.to_legacy(body) if self._legacy else body), codes

    def _graphql_errors(self, errors: list[GraphQLError], code: str) -> HttpAnswer:
        formatted = []
        for error in errors:
            entry: dict[str, Any] = dict(error.formatted)
            entry["extensions"] = {**(entry.get("extensions") or {}), "code": code}
            formatted.append(entry)
        return HttpAnswer(200, {"errors": formatted, "account_id": api_errors.ACCOUNT_ID})

    def _too_complex(self, cost: int) -> Outcome:
        message = (
            f"Query has complexity of {cost}, which exceeds max complexity of {self._max_query}"
        )
        error = api_errors.MondayAPIError(
            api_errors.MAX_COMPLEXITY,
            message,
            error_data={"complexity": cost, "max_complexity": self._max_query},
        )
        body = {
            "errors": [{"message": message, "extensions": error.extensions}],
            "account_id": api_errors.ACCOUNT_ID,
        }
        answer = HttpAnswer(200, api_errors.to_legacy(body) if self._legacy else body)
        return Outcome(answer, error_codes=[error.code])


def _format_error(error: GraphQLError, request_id: str) -> dict[str, Any]:
    entry: dict[str, Any] = dict(error.formatted)
    extensions = dict(entry.get("extensions") or {})
    if "code" not in extensions:
        # A bug in the emulator, not a monday answer: say so the way monday would.
        extensions = {"code": api_errors.INTERNAL_ERROR, "status_code": 500, "error_data": {}}
    extensions["request_id"] = request_id
    entry["extensions"] = extensions
    return entry


def _root_fields(operation: OperationDefinitionNode) -> frozenset[str]:
    selections = operation.selection_set.selections
    return frozenset(s.name.value for s in selections if isinstance(s, FieldNode))


def board_facts(store: Store, cursors: CursorRegistry) -> BoardFacts:
    """What pricing knows of the boards: the store's columns, items and cursors."""

    def column_count(boards: frozenset[str], types: list[str] | None) -> int | None:
        counts = [
            sum(
                1
                for c in board.columns.values()
                if c.type != "name" and (not types or c.type in types)
            )
            for board in (store.boards.get(board_id) for board_id in boards)
            if board is not None
        ]
        return max(counts) if counts else None

    def boards_of_items(ids: Any) -> frozenset[str]:
        found = (store.items.get(str(item_id)) for item_id in ids)
        return frozenset(item.board_id for item in found if item is not None)

    def board_of_cursor(cursor: str) -> frozenset[str]:
        board_id = cursors.board_of(cursor)
        return frozenset() if board_id is None else frozenset({board_id})

    def subitems_boards(boards: frozenset[str]) -> frozenset[str]:
        found = (store.boards.get(board_id) for board_id in boards)
        return frozenset(b.subitems_board_id for b in found if b and b.subitems_board_id)

    return BoardFacts(column_count, boards_of_items, board_of_cursor, subitems_boards)
