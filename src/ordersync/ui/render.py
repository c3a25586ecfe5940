"""The dashboard's Jinja2 environment: templates and the stylesheet ship in the package."""

from __future__ import annotations

from functools import cache
from importlib import resources
from typing import Any

from jinja2 import Environment, PackageLoader, select_autoescape


@cache
def environment() -> Environment:
    """Every ``.html`` template autoescaped: all data shown is escaped."""
    env = Environment(
        loader=PackageLoader("ordersync.ui", "templates"),
        autoescape=select_autoescape(["html"], default=True),
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.globals["stylesheet"] = stylesheet
    env.filters["when"] = _when
    return env


@cache
def stylesheet() -> str:
    """The dashboard's CSS (served at ``/static/style.css``, inlined in standalone pages)."""
    return resources.files("ordersync.ui").joinpath("static/style.css").read_text("utf-8")


def render_page(template: str, **context: Any) -> str:
    """Render ``template`` (a file under ``ui/templates``) with ``context``."""
    return environment().get_template(template).render(**context)


def _when(value: Any) -> str:
    """A timestamp as the pages show it (UTC, to the second); ``–`` when absent."""
    return "–" if value is None else f"{value:%Y-%m-%d %H:%M:%S}"
