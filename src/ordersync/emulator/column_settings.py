"""Column settings in monday's 2025-10 shape: the labels of status and dropdown columns.

Since API 2025-10 ``columns { settings }`` answers typed JSON (../shared/monday/FACTS.md
"Column settings"), the labels as a list with the fields of the schema's ``StatusLabel`` and
``DropdownLabel`` types: status ``{"labels": [{"id", "label", "color", "index", "description",
"is_deactivated", "is_done"}]}``, dropdown ``{"labels": [{"id", "label", "is_deactivated"}]}``.
A status label's ``id`` and ``index`` both hold the index a value names (``{"index": n}``); the
docs don't say whether they ever differ. ``settings_str`` (deprecated, still answering) renders
the shape before 2025-10: status ``{"labels": {"<index>": "<label>"}}``, dropdown
``{"labels": [{"id", "name"}]}``, active labels only.

A deactivated label is not a valid target (FACTS.md): writing it is a ``ColumnValueException``
as for a missing label, and ``create_labels_if_missing`` doesn't bring it back (a second label
of the same name is not created); values that already hold it keep their text. Labels are
deactivated through monday's ``update_status_column`` / ``update_dropdown_column`` (each label's
``is_deactivated``) or ``Emulator.deactivate_label``.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from typing import Any

LABELLED_TYPES = frozenset({"status", "dropdown"})


def status_settings(labels: Iterable[tuple[int, str]]) -> dict[str, Any]:
    """Settings of a status column with ``(index, label)`` labels, all active."""
    return {"labels": [_status_label(index, label) for index, label in labels]}


def dropdown_settings(labels: Iterable[str]) -> dict[str, Any]:
    """Settings of a dropdown column with these labels (ids from 1), all active."""
    return {"labels": [_dropdown_label(n, label) for n, label in enumerate(labels, start=1)]}


def labels(settings: dict[str, Any]) -> list[dict[str, Any]]:
    """The label entries of a status or dropdown column (active and deactivated)."""
    found = settings.get("labels")
    return found if isinstance(found, list) else []


def by_name(settings: dict[str, Any], name: str) -> dict[str, Any] | None:
    return next((entry for entry in labels(settings) if entry["label"] == name), None)


def by_id(settings: dict[str, Any], label_id: int) -> dict[str, Any] | None:
    return next((entry for entry in labels(settings) if entry["id"] == label_id), None)


def add_status_label(settings: dict[str, Any], index: int, name: str) -> None:
    settings.setdefault("labels", []).append(_status_label(index, name))


def add_dropdown_label(settings: dict[str, Any], name: str) -> int:
    """Add an active label; returns its id."""
    label_id = max((entry["id"] for entry in labels(settings)), default=0) + 1
    settings.setdefault("labels", []).append(_dropdown_label(label_id, name))
    return label_id


def set_deactivated(settings: dict[str, Any], name: str, deactivated: bool = True) -> bool:
    """Deactivate (or reactivate) the label ``name``; ``False`` when there is no such label."""
    entry = by_name(settings, name)
    if entry is None:
        return False
    entry["is_deactivated"] = deactivated
    return True


def apply_label_updates(
    column_type: str, settings: dict[str, Any], updates: list[dict[str, Any]]
) -> dict[str, Any]:
    """New settings after ``update_status_column`` / ``update_dropdown_column`` labels.

    A label given with the ``id`` of an existing one changes it (text, ``is_deactivated``, and
    for status ``color``, ``description``, ``is_done``); one without a known id is added.
    Labels not given stay as they are (the docs don't say whether they would be removed).
    """
    updated = {**settings, "labels": [dict(entry) for entry in labels(settings)]}
    for change in updates:
        entry = by_id(updated, change["id"]) if change.get("id") is not None else None
        if entry is None and column_type == "status":
            add_status_label(updated, int(change["index"]), change["label"])
            entry = updated["labels"][-1]
        elif entry is None:
            entry = by_id(updated, add_dropdown_label(updated, change["label"]))
        assert entry is not None
        entry["label"] = change["label"]
        keys = ("color", "description", "is_done") if column_type == "status" else ()
        for key in (*keys, "is_deactivated"):
            if change.get(key) is not None:
                entry[key] = change[key]
    return updated


def upgrade(column_type: str, settings: dict[str, Any]) -> dict[str, Any]:
    """Settings in the 2025-10 shape, from the shape before it (state files, ``create_column``
    defaults such as ``{"labels": {"1": "Done"}}``) or from partial 2025-10 labels."""
    raw = settings.get("labels")
    if column_type == "status" and isinstance(raw, dict):
        ordered = sorted(raw.items(), key=lambda pair: int(pair[0]))
        return {**settings, **status_settings((int(i), name) for i, name in ordered)}
    if column_type == "status" and isinstance(raw, list):
        converted = []
        for entry in raw:
            index = int(entry["index"] if "index" in entry else entry["id"])
            converted.append({**_status_label(index, entry["label"]), **entry, "index": index})
        return {**settings, "labels": converted}
    if column_type == "dropdown" and isinstance(raw, list):
        converted = []
        for n, entry in enumerate(raw, start=1):
            label = entry.get("label", entry.get("name"))
            converted.append({**_dropdown_label(int(entry.get("id", n)), label), **entry})
            converted[-1].pop("name", None)
            converted[-1]["label"] = label
        return {**settings, "labels": converted}
    return settings


def legacy_settings_str(column_type: str, settings: dict[str, Any]) -> str:
    """``settings_str``: the settings in the shape before 2025-10, active labels only."""
    if column_type not in LABELLED_TYPES:
        return json.dumps(settings)
    active = [entry for entry in labels(settings) if not entry.get("is_deactivated")]
    legacy: dict[str, Any] = {k: v for k, v in settings.items() if k != "labels"}
    if column_type == "status":
        legacy["labels"] = {str(entry["index"]): entry["label"] for entry in active}
    else:
        legacy["labels"] = [{"id": entry["id"], "name": entry["label"]} for entry in active]
    return json.dumps(legacy)


def _status_label(index: int, label: str) -> dict[str, Any]:
    return {
        "id": index,
        "label": label,
        "color": None,
        "index": index,
        "description": None,
        "is_deactivated": False,
        "is_done": False,
    }


def _dropdown_label(label_id: int, label: str) -> dict[str, Any]:
    return {"id": label_id, "label": label, "is_deactivated": False}
