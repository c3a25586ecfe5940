"""How every GraphQL field finds its value, and what a field the emulator doesn't emulate answers.

The emulator serves monday's whole schema (``schema.graphql`` is a copy of monday's own, API
2026-10), so a document that is valid on monday is never refused as invalid here. Values come
from the resolvers (``Root``) and views (``views``): a field reads the attribute of the same
name on its parent value (a key, for a dict); a method is called with ``(info, **arguments)``.

A field with no such attribute is not emulated: it answers a GraphQL error in that field's
place (``extensions.code`` ``NOT_EMULATED``, the message naming ``Type.field``), and the rest of
the answer goes on, as monday's partial answers do. So does an argument the emulator ignores
when a client gives it a value (an argument left at its schema default, or ``null``, is simply
not used): the error names ``Type.field(argument)``.
"""

from __future__ import annotations

import inspect
from collections.abc import Callable
from functools import cache
from typing import Any

from graphql import GraphQLResolveInfo, Undefined

from ordersync.emulator.api_errors import MondayAPIError

NOT_EMULATED = "NOT_EMULATED"
_MISSING = object()


def not_emulated(what: str) -> MondayAPIError:
    """The error for a field (``Item.assets``) or argument the emulator does not emulate."""
    return MondayAPIError(
        NOT_EMULATED,
        f"{what} is not emulated by ordersync's monday emulator",
        error_data={"field": what},
    )


def resolve_field(source: Any, info: GraphQLResolveInfo, **arguments: Any) -> Any:
    """graphql-core's ``field_resolver`` for every field without a resolver of its own."""
    name = info.field_name
    if isinstance(source, dict):
        value = source.get(name, _MISSING)
    else:
        value = getattr(source, name, _MISSING)
    if value is _MISSING:
        raise not_emulated(f"{info.parent_type.name}.{name}")
    if callable(value):
        accepted = _parameters(value)
        if accepted is not None:
            extra = arguments.keys() - accepted
            if extra:
                _check_unused(info, {key: arguments[key] for key in extra})
                arguments = {key: arguments[key] for key in arguments.keys() & accepted}
        return value(info, **arguments)
    if arguments:
        _check_unused(info, arguments)
    return value


def _check_unused(info: GraphQLResolveInfo, arguments: dict[str, Any]) -> None:
    """Arguments the emulator doesn't read: fine at their default or null, else an error."""
    definitions = info.parent_type.fields[info.field_name].args
    for name, value in arguments.items():
        default = definitions[name].default_value
        if value is None or (default is not Undefined and value == default):
            continue
        raise not_emulated(f"{info.parent_type.name}.{info.field_name}({name})")


def _parameters(function: Callable[..., Any]) -> frozenset[str] | None:
    """The keyword arguments a resolver takes (``None``: any)."""
    return _signature_parameters(getattr(function, "__func__", function))


@cache
def _signature_parameters(function: Callable[..., Any]) -> frozenset[str] | None:
    parameters = inspect.signature(function).parameters.values()
    if any(p.kind is inspect.Parameter.VAR_KEYWORD for p in parameters):
        return None
    return frozenset(p.name for p in parameters)
