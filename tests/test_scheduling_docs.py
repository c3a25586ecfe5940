"""The scheduling examples in docs/: the Kestra flow is valid YAML with what a Kestra flow needs,
and every schedule maps the four exit codes (0, 3, 1, 2) the CLI documents."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import yaml

from ordersync.errors import ExitCode

DOCS = Path(__file__).resolve().parents[1] / "docs"
FLOW = DOCS / "kestra" / "ordersync-flow.yml"


def tasks_of(tasks: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Every task, nested ones (Switch cases and defaults) included."""
    found = []
    for task in tasks:
        found.append(task)
        for branch in task.get("cases", {}).values():
            found += tasks_of(branch)
        found += tasks_of(task.get("defaults", []))
    return found


def test_the_kestra_flow_is_a_valid_flow() -> None:
    flow = yaml.safe_load(FLOW.read_text())
    assert isinstance(flow, dict)
    assert re.fullmatch(r"[a-zA-Z0-9][a-zA-Z0-9._-]*", flow["id"])
    assert re.fullmatch(r"[a-z0-9][a-z0-9._-]*", flow["namespace"])
    every = tasks_of(flow["tasks"]) + tasks_of(flow.get("errors", []))
    assert every and all({"id", "type"} <= set(task) for task in every)
    ids = [task["id"] for task in every]
    assert len(ids) == len(set(ids)), "task ids must be unique in a flow"
    assert all(task["type"].startswith("io.kestra.") for task in every)
    assert [t["type"] for t in flow["triggers"]] == ["io.kestra.plugin.core.trigger.Schedule"]


def test_the_kestra_flow_maps_every_exit_code() -> None:
    flow = yaml.safe_load(FLOW.read_text())
    sync, outcome = flow["tasks"][0], flow["tasks"][1]
    script = sync["commands"][0]
    assert "ordersync sync" in script and '"$code" -eq 1 ]; then exit 1' in script
    assert sync["retry"]["maxAttempts"] > 1  # 1: retried (the batch resumes)
    assert outcome["value"] == "{{ outputs.sync.vars.exitCode }}"
    cases = outcome["cases"]
    ok, rejected, usage = (
        str(code.value) for code in (ExitCode.OK, ExitCode.REJECTED, ExitCode.USAGE)
    )
    assert set(cases) == {ok, rejected, usage}
    assert cases[usage][0]["type"] == "io.kestra.plugin.core.execution.Fail"
    assert any(t.get("level") == "WARN" for t in cases[rejected])
    assert flow["errors"], "a failed execution must alert"


def test_the_guide_covers_cron_systemd_and_every_code() -> None:
    guide = (DOCS / "scheduling.md").read_text()
    assert "docs/kestra/ordersync-flow.yml" in guide or "kestra/ordersync-flow.yml" in guide
    assert "RestartPreventExitStatus=2" in guide and "OnCalendar=" in guide
    assert re.search(r"^\S+ \S+ \S+ \S+ \S+ .*ordersync", guide, re.MULTILINE)  # a crontab line
    for code in ("0", "1", "2", "3"):
        assert re.search(rf"\| `{code}` \|", guide), f"exit code {code} has no row"
