"""The cdk-nag (AwsSolutions) gate: every stack of every environment, run by ``build_app``.

dev goes through the real ``cdk synth`` CLI, prod in-process (the session fixtures); both
cloud assemblies carry CDK's validation reports, which these tests read.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest
from aws_cdk import Stack
from aws_cdk import aws_sqs as sqs

from stacks.compliance import (
    ACKNOWLEDGEMENTS,
    CONDITIONS,
    LEGACY_REPORT_FILE,
    PACK,
    NagAcknowledgement,
    acknowledge,
    entry_for,
    markdown_table,
    match_acknowledgements,
    read_report,
    stale_acknowledgements,
    suppressed,
    unsuppressed,
)
from tests.conftest import ROOT, unit_app

ENVS = ("dev", "prod")


@pytest.fixture(scope="module")
def reports(dev_cli_synth: tuple[Any, Path], prod_synth: Path) -> dict[str, dict[str, Any]]:
    """The validation report of each environment's cloud assembly."""
    return {"dev": read_report(dev_cli_synth[1]), "prod": read_report(prod_synth)}


@pytest.mark.parametrize("env", ENVS)
def test_no_unsuppressed_findings(
    reports: dict[str, dict[str, Any]],
    dev_cli_synth: tuple[Any, Path],
    prod_synth: Path,
    env: str,
) -> None:
    report = reports[env]
    plugins = [p["pluginName"] for p in report["pluginReports"]]
    assert PACK in plugins  # the gate ran (it suppressed the acknowledged findings)
    assert unsuppressed(report) == []  # no error and no warning, of any plugin
    # The legacy report (read by the synth report) lists unsuppressed violations only.
    assembly = dev_cli_synth[1] if env == "dev" else prod_synth
    assert unsuppressed(read_report(assembly, LEGACY_REPORT_FILE)) == []


@pytest.mark.parametrize("env", ENVS)
def test_every_suppression_is_listed_with_its_reason(
    reports: dict[str, dict[str, Any]], env: str
) -> None:
    readme = readme_section()
    found = suppressed(reports[env])
    assert len(found) >= 10
    for violation in found:
        assert violation["reason"].strip(), violation["acknowledgedId"]
        for construct in violation["violatingConstructs"]:
            entry = entry_for(violation, construct["constructPath"])
            assert entry is not None, (
                f"acknowledged outside stacks/compliance.py: {violation['acknowledgedId']} "
                f"on {construct['constructPath']}"
            )
            assert entry.reason in readme


def test_every_acknowledgement_suppresses_something(reports: dict[str, dict[str, Any]]) -> None:
    """An entry that suppresses nothing in dev and prod is stale: it would hide a later finding
    (``python app.py`` already fails on an entry that matched resources but suppressed none)."""
    used = {
        entry_for(violation, construct["constructPath"])
        for report in reports.values()
        for violation in suppressed(report)
        for construct in violation["violatingConstructs"]
    }
    # Opt-outs that dev and prod do not take are proven by their own synth below.
    proven_elsewhere = {e for e in ACKNOWLEDGEMENTS if e.when in OPT_OUTS_NOT_IN_ENVIRONMENTS}
    stale = [e for e in ACKNOWLEDGEMENTS if e not in used | proven_elsewhere]
    assert stale == []


OPT_OUTS_NOT_IN_ENVIRONMENTS = {"VPC without flow logs", "cluster without Container Insights"}


def test_configuration_opt_outs_are_acknowledged_and_nothing_else() -> None:
    """``network.flow_logs: false`` and ``cluster.container_insights: disabled`` (valid
    configurations no committed environment uses) synthesize: VPC7/ECS4 are acknowledged on
    the opted-out resources only; the defaults get no entry. One small synth."""
    from aws_cdk import Validations
    from aws_cdk import aws_ecs as ecs
    from cdk_nag import AwsSolutionsChecks

    from constructs_lib.cluster import ComputeCluster
    from constructs_lib.network import Network

    app = unit_app()
    stacks = {}
    for name, opt_out in (("Off", True), ("On", False)):
        network = Stack(app, f"{name}-Network")
        net = Network(network, "Network", nat_gateways=0, flow_logs=not opt_out)
        platform = Stack(app, f"{name}-Platform")
        insights = ecs.ContainerInsights.DISABLED if opt_out else ecs.ContainerInsights.ENHANCED
        ComputeCluster(platform, "Cluster", vpc=net.vpc, container_insights=insights)
        stacks[name] = {"Network": network, "Platform": platform}
    Validations.of(app).add_plugins(AwsSolutionsChecks(app))
    entries = [e for e in ACKNOWLEDGEMENTS if e.when in OPT_OUTS_NOT_IN_ENVIRONMENTS]
    resolved = [
        ack
        for kinds in stacks.values()
        for ack in match_acknowledgements(
            kinds, region="eu-west-1", account=None, prefix="t", acknowledgements=entries
        )
    ]
    assert sorted((a.construct_path, a.acknowledged_id) for a in resolved) == [
        ("Off-Network/Network/Resource/Resource", "AwsSolutions::AwsSolutions-VPC7"),
        ("Off-Platform/Cluster/Cluster/Resource", "AwsSolutions::AwsSolutions-ECS4"),
    ]
    acknowledge(resolved)
    app.synth()
    report = read_report(app.outdir)
    assert unsuppressed(report) == []
    assert sorted(v["ruleName"] for v in suppressed(report)) == [
        "AwsSolutions-ECS4",
        "AwsSolutions-VPC7",
    ]
    assert stale_acknowledgements(report, resolved) == []


def test_the_gate_is_live_and_a_stale_acknowledgement_is_caught() -> None:
    """A queue without SSL enforcement fails synthesis; an acknowledged finding does not; an
    acknowledgement that suppresses nothing is reported as stale. One small synth."""
    from aws_cdk import Validations
    from cdk_nag import AwsSolutionsChecks

    app = unit_app()
    stack = Stack(app, "Gate")
    sqs.Queue(stack, "Queue", enforce_ssl=False)
    Validations.of(app).add_plugins(AwsSolutionsChecks(app))
    reason = "a throwaway queue in a test, no consumer to fail"
    used = NagAcknowledgement("Services", "Queue/Resource", "AwsSolutions-SQS3", reason)
    stale = NagAcknowledgement("Services", "Queue/Resource", "AwsSolutions-EC23", "no such finding")
    resolved = match_acknowledgements(
        {"Services": stack},
        region="eu-west-1",
        account=None,
        prefix="gate",
        acknowledgements=[used, stale],
    )
    assert [a.construct_path for a in resolved] == ["Gate/Queue/Resource"] * 2
    acknowledge(resolved)
    with pytest.raises(RuntimeError, match="AwsSolutions-SQS4"):
        app.synth()
    report = read_report(app.outdir)
    assert unsuppressed(report) == [("AwsSolutions-SQS4", "Gate/Queue/Resource")]
    [acknowledged] = suppressed(report)
    assert acknowledged["acknowledgedId"] == "AwsSolutions::AwsSolutions-SQS3"
    assert acknowledged["reason"] == reason
    assert stale_acknowledgements(report, resolved) == [stale]


def test_a_finding_is_one_line_from_main_not_a_traceback(
    capsys: pytest.CaptureFixture[str],
) -> None:
    """``python app.py`` (``main``) synthesizes through :func:`synthesize`: an unacknowledged
    finding ends in one ``ecskit:`` line naming the report and the fix, not a jsii traceback."""
    from aws_cdk import Validations
    from cdk_nag import AwsSolutionsChecks

    from stacks.app import synthesize

    app = unit_app()
    sqs.Queue(Stack(app, "Finding"), "Queue", enforce_ssl=True)  # SQS3: no DLQ
    Validations.of(app).add_plugins(AwsSolutionsChecks(app))
    assert synthesize(app) is None
    err = capsys.readouterr().err
    [line] = [ln for ln in err.splitlines() if ln.startswith("ecskit:")]
    assert f"(report: {Path(app.outdir).resolve() / 'validation-report.json'})" in line
    assert "stacks/compliance.py" in line
    assert "Traceback" not in err


def readme_section() -> str:
    readme = (ROOT / "README.md").read_text()
    match = re.search(r"^## Security and compliance\n(.*?)(?=^## )", readme, re.S | re.M)
    assert match, "README.md has no '## Security and compliance' section"
    return match.group(1)


def test_readme_lists_every_acknowledgement() -> None:
    section = readme_section()
    assert markdown_table() in section, (
        "README.md 'Security and compliance' table differs from stacks/compliance.py; "
        "paste stacks.compliance.markdown_table()"
    )
    rows = [line for line in section.splitlines() if line.startswith("| `AwsSolutions-")]
    assert len(rows) == len(ACKNOWLEDGEMENTS)


def test_every_acknowledgement_is_narrow() -> None:
    """One finding on resources named by a path pattern (no stack- or app-wide entry), with a
    reason; IAM findings name their exact part; conditions exist."""
    seen = set()
    for entry in ACKNOWLEDGEMENTS:
        assert len(entry.reason.strip()) > 40, entry
        assert entry.stack in {"Network", "Platform", "Services"}
        assert entry.path.endswith(("/Resource", "/ASG")), entry  # a CloudFormation resource
        assert re.fullmatch(r"AwsSolutions-[A-Z]+[0-9]+(\[.+\])?", entry.finding), entry
        if re.match(r"AwsSolutions-IAM[45]", entry.finding):
            assert re.search(r"\[(Resource|Action|Policy)::.+\]$", entry.finding), entry
        assert entry.when is None or entry.when in CONDITIONS
        key = (entry.stack, entry.path, entry.finding)
        assert key not in seen, f"duplicate: {key}"
        seen.add(key)
