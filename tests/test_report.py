"""The synth report (constructs_lib/report.py): resource counts, the architecture picture of the
real dev assembly, cdk-nag (a real cdk-nag run on a small fixture app), cfn-lint, the
replacement guard, the exit code and the job summary.

cfn-lint over the app's templates is tested in tests/test_cfn_lint.py; here the dev report is
built with ``lint=False`` and the lint part runs on one small template.
"""

from __future__ import annotations

import json
import re
import shutil
import subprocess
import sys
from collections import Counter
from pathlib import Path
from typing import Any

import pytest

from constructs_lib import replacement_guard
from constructs_lib.report import (
    ArchitectureGraph,
    LintFinding,
    build_report,
    lint_templates,
    main,
    read_nag,
)
from tests.conftest import ROOT

GUARD = [
    "--baselines",
    str(ROOT / "replacement-guard"),
    "--ack",
    str(ROOT / "replacement-guard/ack.json"),
]

_NODE = re.compile(r'^\s*(\w+)\["(.*)"\]\s*$')
_EDGE = re.compile(r'^\s*(\w+) (-->|-\.->)(?:\|"([^"]*)"\|)? (\w+)\s*$')


def parse_mermaid(text: str) -> tuple[dict[str, str], set[tuple[str, str, str]]]:
    """Node id -> plain label (lines joined by " / "), and the edges (source, target, label)."""
    nodes: dict[str, str] = {}
    edges: set[tuple[str, str, str]] = set()
    for line in text.splitlines():
        if m := _NODE.match(line):
            label = m.group(2).replace("<b>", "").replace("</b>", "").replace("<br/>", " / ")
            nodes[m.group(1)] = label
        elif m := _EDGE.match(line):
            edges.add((m.group(1), m.group(4), m.group(3) or ""))
    return nodes, edges


class Picture:
    """The parsed Mermaid of a report: find nodes by label, check edges between them."""

    def __init__(self, mermaid: str) -> None:
        self.nodes, self.edges = parse_mermaid(mermaid)

    def node(self, label_start: str) -> str:
        found = [i for i, label in self.nodes.items() if label == label_start]
        found = found or [i for i, label in self.nodes.items() if label.startswith(label_start)]
        assert len(found) == 1, (label_start, found)
        return found[0]

    def edge(self, source: str, target: str) -> str:
        """The label of the edge between the nodes whose labels start with these texts."""
        a, b = self.node(source), self.node(target)
        labels = [label for s, t, label in self.edges if (s, t) == (a, b)]
        assert labels, f"no edge {source!r} -> {target!r}"
        return labels[0]


def copy_assembly(src: Path, dst: Path, *, skip: tuple[str, ...] = ()) -> Path:
    dst.mkdir(parents=True)
    for path in src.iterdir():
        if path.is_file() and path.name not in skip:
            shutil.copy(path, dst / path.name)
    return dst


def mini_assembly(
    directory: Path, templates: dict[str, dict[str, Any]], region: str = "eu-west-1"
) -> Path:
    """A hand-made cloud assembly: a manifest and one template per stack."""
    directory.mkdir(parents=True, exist_ok=True)
    artifacts = {}
    for name, template in templates.items():
        (directory / f"{name}.template.json").write_text(json.dumps(template))
        artifacts[name] = {
            "type": "aws:cloudformation:stack",
            "environment": f"aws://unknown-account/{region}",
            "properties": {"templateFile": f"{name}.template.json"},
        }
    (directory / "manifest.json").write_text(
        json.dumps({"version": "55.0.0", "artifacts": artifacts})
    )
    return directory


QUEUE_ONLY = {"Resources": {"Jobs": {"Type": "AWS::SQS::Queue", "Properties": {}}}}


@pytest.fixture(scope="module")
def dev_report(dev_cli_synth: tuple[Any, Path]) -> Any:
    return build_report(
        dev_cli_synth[1],
        "dev",
        baselines=ROOT / "replacement-guard",
        ack_file=ROOT / "replacement-guard/ack.json",
        lint=False,
    )


@pytest.fixture(scope="module")
def dev_picture(dev_report: Any) -> Picture:
    return Picture(dev_report.graph.to_mermaid())


def test_resource_counts_equal_the_templates(
    dev_report: Any, dev_cli_synth: tuple[Any, Path]
) -> None:
    outdir = dev_cli_synth[1]
    expected = {
        p.name.removesuffix(".template.json"): Counter(
            r["Type"] for r in json.loads(p.read_text())["Resources"].values()
        )
        for p in outdir.glob("*.template.json")
    }
    assert dev_report.counts == expected
    assert set(expected) == {"ecskit-dev-Network", "ecskit-dev-Platform", "ecskit-dev-Services"}
    markdown = dev_report.markdown()
    total = sum(sum(c.values()) for c in expected.values())
    assert f"3 stacks, {total} resources" in markdown
    services = expected["ecskit-dev-Services"]
    alarms = services["AWS::CloudWatch::Alarm"]
    assert f"| `AWS::CloudWatch::Alarm` |  |  | {alarms} | {alarms} |" in markdown
    assert f"| `ecskit-dev-Services` | eu-west-1 | {sum(services.values())} |" in markdown


def test_picture_load_balancers_to_services(dev_picture: Picture) -> None:
    p = dev_picture
    assert p.edge("ALB public", "HTTP :80") == ""
    assert p.edge("HTTP :80", "target group web") == "prio 100: path /*"
    assert p.edge("HTTP :80", "target group api") == "prio 10: path /api/*"
    assert p.edge("target group web", "ECS service web") == ":80"
    assert p.edge("target group api", "ECS service api") == ":80"
    assert p.edge("NLB tcp", "TCP :80") == ""
    assert p.edge("TCP :80", "target group tcp") == "default"
    assert p.edge("target group tcp", "ECS service tcp") == ":80"
    assert "internet-facing / Public subnets" in p.nodes[p.node("ALB public")]
    assert "internal / Private subnets" in p.nodes[p.node("NLB tcp")]
    assert "default 404" in p.nodes[p.node("HTTP :80")]


def test_picture_services_to_task_definitions_and_capacity(dev_picture: Picture) -> None:
    p = dev_picture
    for service in ("web", "api", "tcp", "worker"):
        p.edge(f"ECS service {service}", f"task definition {service}")
    assert "256 CPU / 512 MiB, X86_64 (FARGATE)" in p.nodes[p.node("task definition web")]
    p.edge("ECS service web", "FARGATE /")
    p.edge("ECS service tcp", "FARGATE /")
    p.edge("ECS service api", "EC2 capacity general")  # the cross-stack (weak) reference
    p.edge("ECS service worker", "FARGATE_SPOT")
    assert "t4g.medium, t4g.large" in p.nodes[p.node("EC2 capacity general")]
    assert p.edge("FARGATE /", "ECS cluster") == "default: weight 1"  # the cluster's default
    p.edge("FARGATE_SPOT", "ECS cluster")
    p.edge("EC2 capacity general", "ECS cluster")
    assert "autoscaling 1-4 tasks" in p.nodes[p.node("ECS service web")]


def test_picture_queues_schedules_alarms_network(dev_picture: Picture) -> None:
    p = dev_picture
    queue = p.node("SQS worker")
    worker = p.node("ECS service worker")
    assert (worker, queue, "QUEUE_URL") in p.edges
    assert p.edge("SQS worker", "SQS worker DLQ") == "after 5 receives"
    assert p.edge("schedule nightly", "task definition nightly") == ""
    p.edge("schedule nightly", "FARGATE_SPOT")
    assert p.edge("schedule nightly", "SQS nightly DLQ") == "failed runs"
    assert "cron(0 3 * * ? *)" in p.nodes[p.node("schedule nightly")]
    alarm_nodes = {i: label for i, label in p.nodes.items() if re.fullmatch(r"\d+ alarms?", label)}
    # every alarm of the template is in exactly one per-service box, each box goes to the topic
    assert sum(int(label.split()[0]) for label in alarm_nodes.values()) == 37
    topic = p.node("SNS topic")
    for box in alarm_nodes:
        assert (box, topic, "") in p.edges
    web_alarms = [t for s, t, _ in p.edges if s == p.node("ECS service web") and t in alarm_nodes]
    assert [p.nodes[t] for t in web_alarms] == ["11 alarms"]
    assert "1 email subscription" in p.nodes[topic]
    p.edge("VPC", "Public subnets")
    assert p.nodes[p.node("Private subnets")] == "Private subnets / 2 x /20 (isolated)"
    assert p.nodes[p.node("1 VPC endpoint")] == "1 VPC endpoint / s3 (gateway)"
    assert not [label for label in p.nodes.values() if "SecurityGroup" in label or "Route" in label]


def test_picture_ids_are_mermaid_safe_and_dot_draws_the_same_graph(dev_report: Any) -> None:
    mermaid = dev_report.graph.to_mermaid()
    nodes, edges = parse_mermaid(mermaid)
    assert all(re.fullmatch(r"n_[A-Za-z0-9_]+", i) for i in nodes)
    assert {s for s, _, _ in edges} | {t for _, t, _ in edges} <= set(nodes)
    dot = dev_report.graph.to_dot()
    dot_edges = {(m.group(1), m.group(2)) for m in re.finditer(r"^\s*(\w+) -> (\w+)", dot, re.M)}
    assert dot_edges == {(s, t) for s, t, _ in edges}
    assert dot.count("subgraph cluster_") == 3
    assert "```mermaid\nflowchart LR\n" in dev_report.markdown()


def test_labels_are_escaped() -> None:
    graph = ArchitectureGraph()
    a = graph.add_node("n_a", "service", 'Stack "one"', 'say "hi" <b>|x|</b>', "a & b")
    b = graph.add_node("n_b", "queue", 'Stack "one"', "target")
    graph.add_edge(a, b, 'rule "x" | y')
    mermaid = graph.to_mermaid()
    assert "say #quot;hi#quot; #lt;b#gt;#124;x#124;#lt;/b#gt;" in mermaid
    assert "a #amp; b" in mermaid
    # `#` itself is escaped: a name that reads like an entity code stays as written
    hashed = ArchitectureGraph()
    hashed.add_node("n_h", "service", "g", "port #35; and #quot;")
    assert '"<b>port #35;35; and #35;quot;</b>"' in hashed.to_mermaid()
    assert '-->|"rule #quot;x#quot; #124; y"| n_b' in mermaid
    assert 'label="Stack \\"one\\""' in graph.to_dot()


def test_missing_validation_report_says_cdk_nag_did_not_run(
    dev_cli_synth: tuple[Any, Path], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assembly = copy_assembly(
        dev_cli_synth[1],
        tmp_path / "asm",
        skip=("validation-report.json", "policy-validation-report.json"),
    )
    out = tmp_path / "report.md"
    code = main([str(assembly), "--env", "dev", "--no-lint", "--out", str(out), *GUARD])
    text = out.read_text()
    assert "cdk-nag did not run" in text
    assert "this is not a pass" in text
    assert "| cdk-nag | ⚠️ not run |" in text
    assert "all gates passed" not in text  # the headline never reads as a pass
    assert text.startswith("## ecskit synth report: dev ⚠️ not checked: cdk-nag, cfn-lint\n\n")
    assert code == 0  # not run is reported, not failed ...
    code = main(
        [str(assembly), "--env", "dev", "--no-lint", "--require-nag", "--out", str(out), *GUARD]
    )
    assert code == 1  # ... unless cdk-nag is required
    assert "cdk-nag: failed" in capsys.readouterr().err


# A real cdk-nag run: AwsSolutions as a CDK validation plugin on a tiny app with one
# acknowledged finding (SQS3 on Queue) and two unacknowledged ones (SQS3, SQS4 on Bare).
@pytest.fixture(scope="module")
def nag_assembly(tmp_path_factory: pytest.TempPathFactory) -> Path:
    import aws_cdk as cdk
    from aws_cdk import aws_sqs as sqs
    from cdk_nag import AwsSolutionsChecks

    outdir = tmp_path_factory.mktemp("nag") / "cdk.out"
    app = cdk.App(outdir=str(outdir), context={"@aws-cdk/core:validationReportJson": True})
    cdk.Validations.of(app).add_plugins(AwsSolutionsChecks())
    stack = cdk.Stack(app, "NagFixture", env=cdk.Environment(region="eu-west-1"))
    queue = sqs.Queue(stack, "Queue", enforce_ssl=True)
    cdk.Validations.of(queue).acknowledge(
        cdk.Acknowledgment(id="AwsSolutions::AwsSolutions-SQS3", reason="fixture: no DLQ needed")
    )
    sqs.Queue(stack, "Bare")
    with pytest.raises(RuntimeError, match="ValidationFailed"):
        app.synth()  # the report is written before synth fails
    return outdir


def test_nag_findings_and_acknowledgements(nag_assembly: Path, tmp_path: Path) -> None:
    nag = read_nag(nag_assembly)
    assert nag.ran
    assert nag.failed
    assert nag.plugins == {"AwsSolutions": "failure"}
    assert {(v.rule, v.constructs) for v in nag.violations} == {
        ("AwsSolutions-SQS3", ("NagFixture/Bare/Resource",)),
        ("AwsSolutions-SQS4", ("NagFixture/Bare/Resource",)),
    }
    [ack] = nag.suppressed
    assert (ack.rule, ack.constructs, ack.reason) == (
        "AwsSolutions-SQS3",
        ("NagFixture/Queue/Resource",),
        "fixture: no DLQ needed",
    )
    out = tmp_path / "report.md"
    code = main(
        [
            str(nag_assembly),
            "--env",
            "fixture",
            "--no-lint",
            "--out",
            str(out),
            "--baselines",
            str(tmp_path / "none"),
        ]
    )
    assert code == 1  # written first, then the failure
    text = out.read_text()
    assert "| cdk-nag | ❌ failed | 2 unsuppressed finding(s); failed: AwsSolutions |" in text
    assert "| AwsSolutions | `AwsSolutions-SQS4` | error | NagFixture/Bare/Resource |" in text
    assert "| `AwsSolutions-SQS3` | NagFixture/Queue/Resource | fixture: no DLQ needed |" in text
    assert "not run: no " in text  # no replacement-guard baselines for this app


def test_nag_all_acknowledged_passes(nag_assembly: Path, tmp_path: Path) -> None:
    """The same report once the findings are fixed: only the acknowledged one remains."""
    assembly = copy_assembly(nag_assembly, tmp_path / "asm")
    path = assembly / "validation-report.json"
    data = json.loads(path.read_text())
    data["pluginReports"][0].update(conclusion="success", violations=[])
    path.write_text(json.dumps(data))
    report = build_report(assembly, "fixture", baselines=None, lint=False)
    assert (report.gates[0].name, report.gates[0].status) == ("cdk-nag", "passed")
    assert "AwsSolutions: 0 unsuppressed, 1 acknowledged" in report.markdown()
    assert not report.failed


def test_lint_results_of_one_template(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """cfn-lint runs against the stack's region with .cfnlintrc's ignore list: the bad property
    type (E3012) is reported, the hard-coded availability zone (W3010, ignored) is not."""
    template = {
        "Resources": {
            "Jobs": {
                "Type": "AWS::SQS::Queue",
                "Properties": {"DelaySeconds": ["not", "a", "number"]},
            },
            "Subnet": {
                "Type": "AWS::EC2::Subnet",
                "Properties": {
                    "VpcId": "vpc-0123456789abcdef0",
                    "CidrBlock": "10.0.0.0/24",
                    "AvailabilityZone": "eu-west-1a",
                },
            },
        }
    }
    assembly = mini_assembly(tmp_path / "asm", {"Lint": template})
    monkeypatch.chdir(tmp_path)  # no .cfnlintrc here: W3010 is reported
    without = lint_templates([assembly / "Lint.template.json"], "eu-west-1")
    assert without is not None
    assert sorted(f.rule for f in without["Lint.template.json"]) == ["E3012", "W3010"]
    report = build_report(assembly, "x", baselines=None, cfnlintrc=ROOT / ".cfnlintrc")
    assert report.lint is not None
    assert [f.rule for f in report.lint["Lint.template.json"]] == ["E3012"]
    assert report.failed
    text = report.markdown()
    assert "| `Lint.template.json` | eu-west-1 | 1 | 0 | 0 |" in text
    assert "| `Lint.template.json` | `E3012` |" in text
    assert "Resources/Jobs/Properties/DelaySeconds" in text
    # precomputed results are used as given (no second cfn-lint run)
    given = {"Lint.template.json": [LintFinding("W3011", 3, "Resources/Jobs", "retained")]}
    report = build_report(assembly, "x", baselines=None, lint_results=given)
    assert report.gates[1].summary == "0 error(s), 1 warning(s) in 1 template(s)"
    assert report.failed


def test_lint_without_findings_passes() -> None:
    """An empty list of templates lints clean without starting cfn-lint's runner."""
    assert lint_templates([], "eu-west-1") == {}


def test_guard_finding_fails_the_report(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    baselines = tmp_path / "baselines"
    replacement_guard.write_baselines("x", {"App": QUEUE_ONLY}, baselines)
    assembly = mini_assembly(
        tmp_path / "asm", {"App": {"Resources": {"Renamed": QUEUE_ONLY["Resources"]["Jobs"]}}}
    )
    out = tmp_path / "report.md"
    code = main(
        [str(assembly), "--env", "x", "--no-lint", "--out", str(out), "--baselines", str(baselines)]
    )
    assert code == 1
    text = out.read_text()
    assert "| replacement guard | ❌ failed | 1 blocking" in text
    assert "BLOCKED x/App: Jobs (AWS::SQS::Queue) is removed or renamed" in text
    assert "replacement guard: failed" in capsys.readouterr().err
    # the same assembly against a baseline that matches passes
    replacement_guard.write_baselines(
        "x", {"App": {"Resources": {"Renamed": QUEUE_ONLY["Resources"]["Jobs"]}}}, baselines
    )
    assert (
        main(
            [
                str(assembly),
                "--env",
                "x",
                "--no-lint",
                "--out",
                str(out),
                "--baselines",
                str(baselines),
            ]
        )
        == 0
    )


def test_step_summary_is_appended(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    assembly = mini_assembly(tmp_path / "asm", {"App": QUEUE_ONLY})
    summary = tmp_path / "summary.md"
    summary.write_text("previous step\n")
    monkeypatch.setenv("GITHUB_STEP_SUMMARY", str(summary))
    args = [
        str(assembly),
        "--env",
        "x",
        "--no-lint",
        "--step-summary",
        "--out",
        str(tmp_path / "r.md"),
        "--baselines",
        str(tmp_path / "none"),
    ]
    assert main(args) == 0
    text = summary.read_text()
    # nothing was checked here (no nag report, --no-lint, no baselines): never "all passed"
    assert text.startswith(
        "previous step\n## ecskit synth report: x ⚠️ not checked: cdk-nag, cfn-lint, "
        "replacement guard\n\n"
    )
    assert text.endswith((tmp_path / "r.md").read_text())
    # unset or unwritable: a warning, same exit code
    monkeypatch.delenv("GITHUB_STEP_SUMMARY")
    assert main(args) == 0
    assert "warning: GITHUB_STEP_SUMMARY is not set" in capsys.readouterr().err
    monkeypatch.setenv("GITHUB_STEP_SUMMARY", str(tmp_path / "missing-dir" / "s.md"))
    assert main(args) == 0
    assert "warning: cannot append to GITHUB_STEP_SUMMARY" in capsys.readouterr().err


def test_svg_is_rendered_or_skipped_with_a_reason(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    assembly = mini_assembly(tmp_path / "asm", {"App": QUEUE_ONLY})
    svg, out = tmp_path / "a.svg", tmp_path / "r.md"
    args = [
        str(assembly),
        "--env",
        "x",
        "--no-lint",
        "--svg",
        str(svg),
        "--dot",
        str(tmp_path / "a.dot"),
        "--out",
        str(out),
        "--baselines",
        str(tmp_path / "none"),
    ]
    if shutil.which("dot"):
        assert main(args) == 0
        assert svg.read_text().lstrip().startswith(("<?xml", "<svg"))
        assert f"Diagram also rendered to `{svg}`" in out.read_text()
    monkeypatch.setenv("PATH", str(tmp_path))  # no `dot` here
    assert main(args) == 0
    assert "SVG skipped: Graphviz `dot` is not on PATH" in out.read_text()
    assert "digraph architecture" in (tmp_path / "a.dot").read_text()


def test_bad_assembly_is_one_line_exit_2(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main([str(tmp_path), "--env", "dev"]) == 2
    err = capsys.readouterr().err.strip()
    assert err == (
        f"synth report: assembly {str(tmp_path)!r} must be a cloud assembly directory with a "
        "manifest.json (run `cdk synth --output DIR` first), got no manifest.json"
    )


def test_report_module_does_not_load_the_cdk() -> None:
    """The report reads the assembly only: importing it loads neither aws_cdk nor jsii."""
    code = "import sys, constructs_lib.report; print(sorted({'aws_cdk', 'jsii', 'cfnlint'} & set(sys.modules)))"
    result = subprocess.run(
        [sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, check=True
    )
    assert result.stdout.strip() == "[]"
