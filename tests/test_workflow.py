"""The CI workflow: pinned actions, every step a make target that exists, the optional diff job.

The workflow cannot run here; these tests keep it honest about what it runs: every ``make``
target it calls exists in the Makefile (so "the same steps run locally" stays true), every
action is pinned to an exact version, and the AWS job is skipped, not failed, without a role.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[1]
WORKFLOW = ROOT / ".github" / "workflows" / "ci.yml"


@pytest.fixture(scope="module")
def workflow() -> dict[str, Any]:
    data: dict[str, Any] = yaml.safe_load(WORKFLOW.read_text())
    return data


def _steps(workflow: dict[str, Any]) -> list[tuple[str, dict[str, Any]]]:
    return [(name, step) for name, job in workflow["jobs"].items() for step in job["steps"]]


def makefile_targets() -> set[str]:
    return set(re.findall(r"^([a-z][a-z-]*):", (ROOT / "Makefile").read_text(), re.MULTILINE))


def test_every_action_is_pinned_to_an_exact_version(workflow: dict[str, Any]) -> None:
    uses = [step["uses"] for _, step in _steps(workflow) if "uses" in step]
    assert uses, "the workflow uses no actions?"
    loose = [u for u in uses if not re.fullmatch(r"[\w.-]+/[\w.-]+@v\d+\.\d+\.\d+", u)]
    assert not loose, f"pin these to an exact vX.Y.Z: {loose}"


def test_every_make_target_the_workflow_runs_exists(workflow: dict[str, Any]) -> None:
    runs = "\n".join(step.get("run", "") for _, step in _steps(workflow))
    runs += "\n" + (ROOT / ".ci" / "run").read_text()
    runs = re.sub(r"#.*", "", runs)  # comments ("make sure ...") are not commands
    called = {t for m in re.finditer(r"\bmake((?: [a-z][a-z-]*)+)", runs) for t in m[1].split()}
    assert {"test", "report", "diff", "lint", "typecheck"} <= called
    assert called <= makefile_targets(), called - makefile_targets()


def test_pull_requests_run_the_tests_and_the_gates(workflow: dict[str, Any]) -> None:
    # PyYAML reads the bare key `on` as True.
    triggers = workflow.get("on", workflow.get(True))
    assert "pull_request" in triggers
    test_runs = [s.get("run", "") for s in workflow["jobs"]["test"]["steps"]]
    assert "bash .ci/run" in test_runs
    gates = workflow["jobs"]["gates"]
    assert any(s.get("run") == "make report" for s in gates["steps"])
    upload = [s for s in gates["steps"] if s.get("uses", "").startswith("actions/upload-artifact")]
    assert len(upload) == 1
    assert upload[0]["with"]["path"] == "cdk.out/"
    assert upload[0]["if"] == "always()", "cdk.out must be kept when a gate fails, to look at it"


def test_diff_job_is_skipped_without_a_role_and_alone_gets_an_oidc_token(
    workflow: dict[str, Any],
) -> None:
    jobs = workflow["jobs"]
    diff = jobs["diff"]
    assert diff["if"] == "${{ vars.AWS_DIFF_ROLE_ARN != '' }}"
    assert diff["needs"] == "gates"
    assert diff["permissions"]["id-token"] == "write"
    assert workflow["permissions"] == {"contents": "read"}
    others = [name for name, job in jobs.items() if name != "diff"]
    assert all("id-token" not in jobs[name].get("permissions", {}) for name in others)
    creds = [s for s in diff["steps"] if s.get("uses", "").startswith("aws-actions/")]
    assert creds[0]["with"]["role-to-assume"] == "${{ vars.AWS_DIFF_ROLE_ARN }}"
    # no long-lived keys anywhere in the workflow
    assert "secrets.AWS" not in WORKFLOW.read_text()
