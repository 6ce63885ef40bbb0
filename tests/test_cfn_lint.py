"""cfn-lint over every synthesized template of every environment: zero errors, zero warnings.

The only ignored rules are listed, each with its reason, in ``.cfnlintrc`` at the repository
root (the file cfn-lint reads); this test checks that list too, so it cannot grow silently.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import ROOT

IGNORED = {"W3005", "W3010"}  # keep in step with .cfnlintrc (and its reasons)


def region_of(env: str) -> str:
    config = json.loads((ROOT / "cdk.json").read_text())["context"]["ecskit"]
    return str(config["environments"][env]["region"])


def cfn_lint(templates: list[Path], region: str) -> subprocess.CompletedProcess[str]:
    assert templates, "no templates to lint"
    return subprocess.run(
        [str(Path(sys.executable).with_name("cfn-lint")), "--format", "parseable", "--regions", region,
         "--", *map(str, sorted(templates))],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=False,
    )  # fmt: skip


def assert_clean(result: subprocess.CompletedProcess[str]) -> None:
    findings = [line for line in result.stdout.splitlines() if line.strip()]
    assert findings == [], "\n".join(findings)
    assert result.returncode == 0, result.stderr


def test_dev_templates_lint_clean(dev_cli_synth: tuple[Any, Path]) -> None:
    _, outdir = dev_cli_synth
    templates = list(outdir.glob("*.template.json"))
    assert len(templates) == 3
    assert_clean(cfn_lint(templates, region_of("dev")))


def test_prod_templates_lint_clean(prod_templates: dict[str, Any], prod_synth: Path) -> None:
    templates = list(prod_synth.glob("*.template.json"))
    assert {p.name.removesuffix(".template.json") for p in templates} == set(prod_templates)
    assert_clean(cfn_lint(templates, region_of("prod")))


def test_only_the_documented_rules_are_ignored() -> None:
    text = (ROOT / ".cfnlintrc").read_text()
    listed = {
        line.strip().removeprefix("- ")
        for line in text.splitlines()
        if line.strip().startswith("- ")
    }
    assert listed == IGNORED
    lines = [line.strip() for line in text.splitlines()]
    for rule in IGNORED:  # each ignored rule has its reason in the comment block right above
        index = lines.index(f"- {rule}")
        block = []
        while index > 0 and lines[index - 1].startswith("#"):
            index -= 1
            block.insert(0, lines[index])
        assert block, rule
        assert block[0].startswith(f"# {rule} "), (rule, block)


@pytest.mark.parametrize("rule", ["E3012", "W3011"])
def test_the_linter_does_report_problems(tmp_path: Path, rule: str) -> None:
    """The gate is live: a template with a wrong property type (E3012), or a retained
    resource without UpdateReplacePolicy (W3011), is reported."""
    resource: dict[str, Any] = {"Type": "AWS::SQS::Queue", "Properties": {}}
    if rule == "E3012":
        resource["Properties"]["DelaySeconds"] = ["not", "a", "number"]
    else:
        resource["DeletionPolicy"] = "Retain"
    bad = tmp_path / "bad.template.json"
    bad.write_text(json.dumps({"Resources": {"Queue": resource}}))
    result = cfn_lint([bad], "eu-west-1")
    assert result.returncode != 0
    assert rule in result.stdout
