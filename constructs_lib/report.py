"""Synth report: one Markdown page per environment from a synthesized cloud assembly.

Pure Python (no ``aws_cdk`` import): it reads only the assembly directory that ``cdk synth
--output DIR`` wrote (``manifest.json``, the stack templates, CDK's validation report) plus the
replacement-guard baselines, and renders ``templates/synth_report.md.j2``:

* the stacks and their resource counts by type (per stack and in total);
* the cdk-nag findings and acknowledged (suppressed) findings, from CDK's validation report
  (``validation-report.json``, or the legacy ``policy-validation-report.json`` written with
  the context flag ``@aws-cdk/core:validationReportJson``). No report, or no cdk-nag pack in
  it, is reported as "cdk-nag did not run", never as a pass;
* cfn-lint results per template, against the stack's region, honouring ``.cfnlintrc`` (cfn-lint
  is a dev dependency: when it is not installed the section says "not run");
* the replacement-guard verdict (:func:`constructs_lib.replacement_guard.check`);
* an architecture picture drawn from the templates: a Mermaid flowchart (GitHub renders it in
  pull requests and job summaries) and the same graph as Graphviz DOT, rendered to SVG when
  ``dot`` is on ``PATH``.

Command line::

    python -m constructs_lib.report ASSEMBLY_DIR --env dev [--out FILE] [--svg FILE]
        [--dot FILE] [--step-summary] [--no-lint] [--require-nag]

Exit codes: 0 every gate passed; 1 a gate failed (an unsuppressed cdk-nag finding or a failed
validation plugin, a cfn-lint error or warning, a replacement-guard finding; with
``--require-nag`` also cdk-nag not having run), reported after the report is written; 2 bad
input (no assembly, unknown stack references, unreadable files). A step summary that cannot
be written is a warning and never changes the exit code.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import subprocess
import sys
from collections import Counter, defaultdict
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from constructs_lib import replacement_guard
from constructs_lib._templates import render_template
from constructs_lib.errors import EcskitValidationError

__all__ = [
    "NAG_PACKS",
    "ArchitectureGraph",
    "Edge",
    "GateResult",
    "LintFinding",
    "NagFinding",
    "NagResult",
    "Node",
    "StackTemplate",
    "SynthReport",
    "append_step_summary",
    "build_graph",
    "build_report",
    "lint_templates",
    "main",
    "read_nag",
    "read_stacks",
    "render_svg",
    "resource_counts",
]

NAG_PACKS = frozenset(
    {
        "AwsSolutions",
        "HIPAA.Security",
        "NIST.800.53.R4",
        "NIST.800.53.R5",
        "PCI.DSS.321",
        "Serverless",
    }
)
"""Plugin names of the cdk-nag rule packs (``NagPack.readPackName``) in a validation report."""

VALIDATION_REPORT = "validation-report.json"
LEGACY_VALIDATION_REPORT = "policy-validation-report.json"

# --------------------------------------------------------------------------- assembly


@dataclass(frozen=True)
class StackTemplate:
    """One stack of a cloud assembly: name, region/account (``None`` when environment-agnostic),
    the template file and its parsed content."""

    name: str
    region: str | None
    account: str | None
    path: Path
    template: Mapping[str, Any]

    @property
    def resources(self) -> Mapping[str, Any]:
        """The template's ``Resources`` (empty when it has none)."""
        resources: Mapping[str, Any] = self.template.get("Resources", {})
        return resources


def read_stacks(assembly_dir: Path) -> list[StackTemplate]:
    """The stacks of a cloud assembly in manifest order (``cdk synth --output DIR``), nested
    assemblies (stages) included. Raises :class:`EcskitValidationError` naming the directory
    when it holds no ``manifest.json``."""
    manifest_path = assembly_dir / "manifest.json"
    if not manifest_path.is_file():
        raise EcskitValidationError(
            f"assembly {str(assembly_dir)!r} must be a cloud assembly directory with a "
            "manifest.json (run `cdk synth --output DIR` first), got no manifest.json"
        )
    manifest = json.loads(manifest_path.read_text())
    stacks: list[StackTemplate] = []
    for artifact_id, artifact in manifest.get("artifacts", {}).items():
        kind = artifact.get("type")
        props = artifact.get("properties", {})
        if kind == "cdk:cloud-assembly":  # a Stage: its stacks live in a nested assembly
            stacks += read_stacks(assembly_dir / props["directoryName"])
        if kind != "aws:cloudformation:stack":
            continue
        env = str(artifact.get("environment", "aws://unknown-account/unknown-region"))
        account, _, region = env.removeprefix("aws://").partition("/")
        path = assembly_dir / props["templateFile"]
        stacks.append(
            StackTemplate(
                name=props.get("stackName") or artifact_id,
                region=None if region.startswith("unknown-") else region,
                account=None if account.startswith("unknown-") else account,
                path=path,
                template=json.loads(path.read_text()),
            )
        )
    return stacks


def resource_counts(stacks: Sequence[StackTemplate]) -> dict[str, Counter[str]]:
    """``{stack name: Counter(resource type -> count)}`` of every resource in every template."""
    return {s.name: Counter(r.get("Type", "?") for r in s.resources.values()) for s in stacks}


# --------------------------------------------------------------------------- cdk-nag


@dataclass(frozen=True)
class NagFinding:
    """A rule violation of one validation plugin; ``reason``/``acknowledged_id`` are set for an
    acknowledged (suppressed) one. ``constructs``: the violating construct paths."""

    plugin: str
    rule: str
    description: str
    severity: str
    constructs: tuple[str, ...]
    acknowledged_id: str | None = None
    reason: str | None = None


@dataclass(frozen=True)
class NagResult:
    """What CDK's validation report says. ``source``: the file read, ``None`` when the assembly
    has none. ``plugins``: plugin name -> conclusion (``success``/``failure``) of every plugin
    in the report. ``ran``: whether a cdk-nag pack is in it (CDK leaves out a plugin that
    found and suppressed nothing, so ``False`` means "did not run, or ran without a single
    finding")."""

    source: str | None
    plugins: dict[str, str] = field(default_factory=dict)
    violations: list[NagFinding] = field(default_factory=list)
    suppressed: list[NagFinding] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)

    @property
    def ran(self) -> bool:
        """A cdk-nag pack appears in the validation report."""
        return any(name in NAG_PACKS for name in self.plugins)

    @property
    def failed(self) -> bool:
        """An unsuppressed violation, or a plugin that concluded ``failure``."""
        return bool(self.violations) or "failure" in self.plugins.values()


def _construct_paths(violation: Mapping[str, Any]) -> tuple[str, ...]:
    items = violation.get("violatingConstructs") or violation.get("violatingResources") or []
    return tuple(sorted({str(i.get("constructPath") or "?") for i in items}))


def _finding(plugin: str, violation: Mapping[str, Any]) -> NagFinding:
    """A violation of the report; ``acknowledgedId``/``reason`` are only in suppressed ones."""
    return NagFinding(
        plugin,
        violation["ruleName"],
        violation.get("description", ""),
        violation.get("severity", "?"),
        _construct_paths(violation),
        acknowledged_id=violation.get("acknowledgedId"),
        reason=violation.get("reason"),
    )


def read_nag(assembly_dir: Path) -> NagResult:
    """Read CDK's validation report of the assembly.

    ``validation-report.json`` (CDK's current schema, with the acknowledged findings) is read
    when present, else the legacy ``policy-validation-report.json`` (no acknowledgements in it).
    Default when neither exists: a result with ``source=None`` (cdk-nag did not run).
    """
    for name in (VALIDATION_REPORT, LEGACY_VALIDATION_REPORT):
        path = assembly_dir / name
        if path.is_file():
            break
    else:
        return NagResult(source=None)
    try:
        data = json.loads(path.read_text())
        reports = data["pluginReports"]
    except (ValueError, KeyError, TypeError) as exc:
        raise EcskitValidationError(
            f"validation report {str(path)!r} must be CDK's JSON with a 'pluginReports' list, "
            f"got unreadable content ({exc}); re-run cdk synth"
        ) from exc
    result = NagResult(source=name)
    for report in reports:
        summary = report.get("summary", {})  # legacy schema
        plugin = str(report.get("pluginName") or summary.get("pluginName") or "?")
        conclusion = str(report.get("conclusion") or summary.get("status") or "?")
        result.plugins[plugin] = conclusion
        if report.get("metadata", {}).get("error"):
            result.notes.append(f"{plugin}: {report['metadata']['error']}")
        result.violations.extend(_finding(plugin, v) for v in report.get("violations", []))
        result.suppressed.extend(
            _finding(plugin, v) for v in report.get("suppressedViolations") or []
        )
    if name == LEGACY_VALIDATION_REPORT:
        result.notes.append(
            f"read {LEGACY_VALIDATION_REPORT} (legacy schema): acknowledged findings are not "
            "listed in it"
        )
    return result


# --------------------------------------------------------------------------- cfn-lint


@dataclass(frozen=True)
class LintFinding:
    """One cfn-lint match: rule id (``E…`` error, ``W…`` warning, ``I…`` informational), the
    template line, the path inside the template and the message."""

    rule: str
    line: int
    path: str
    message: str

    @property
    def level(self) -> str:
        """``error``, ``warning`` or ``info`` (from the rule id's first letter)."""
        return {"E": "error", "W": "warning"}.get(self.rule[:1], "info")


def lint_templates(
    paths: Sequence[Path], region: str, *, config_file: Path | None = None
) -> dict[str, list[LintFinding]] | None:
    """cfn-lint ``paths`` against ``region``, in-process: ``{template file name: findings}``.

    ``config_file`` (default: ``.cfnlintrc`` of the working directory, which cfn-lint reads
    anyway) supplies the ignored rules. Returns ``None`` when cfn-lint is not installed (it is
    a dev dependency).
    """
    try:
        from cfnlint.config import (  # type: ignore[import-untyped]  # noqa: PLC0415 - optional
            ConfigMixIn,
        )
        from cfnlint.runner import Runner  # type: ignore[import-untyped]  # noqa: PLC0415
    except ImportError:
        return None
    args = ["--regions", region]
    if config_file is not None:
        args += ["--config-file", str(config_file)]
    results: dict[str, list[LintFinding]] = {p.name: [] for p in paths}
    if not paths:
        return results
    config = ConfigMixIn([*args, "--", *map(str, paths)])
    for match in Runner(config).run():
        name = Path(str(match.filename)).name
        results.setdefault(name, []).append(
            LintFinding(
                rule=str(match.rule.id),
                line=int(match.linenumber),
                path="/".join(map(str, getattr(match, "path", None) or [])),
                message=str(match.message),
            )
        )
    return results


def _lint_by_region(
    stacks: Sequence[StackTemplate], default_region: str, config_file: Path | None
) -> dict[str, list[LintFinding]] | None:
    by_region: dict[str, list[Path]] = defaultdict(list)
    for stack in stacks:
        by_region[stack.region or default_region].append(stack.path)
    results: dict[str, list[LintFinding]] = {}
    for region, paths in sorted(by_region.items()):
        found = lint_templates(paths, region, config_file=config_file)
        if found is None:
            return None
        results.update(found)
    return results


# --------------------------------------------------------------------------- graph


@dataclass
class Node:
    """A box of the architecture picture. ``group``: the stack (subgraph) it is drawn in;
    ``kind``: its style (``lb``, ``listener``, ``tg``, ``service``, ...); ``lines``: the label,
    the first line in bold."""

    id: str
    kind: str
    group: str
    lines: list[str]

    @property
    def label(self) -> str:
        """The label on one line (lines joined by " / "), for tests and plain text."""
        return " / ".join(self.lines)


@dataclass(frozen=True)
class Edge:
    """An arrow ``source -> target`` with an optional label; ``dashed`` for a secondary link
    (a blue/green alternate target group, a dead-letter queue)."""

    source: str
    target: str
    label: str = ""
    dashed: bool = False


_SAFE = re.compile(r"[^A-Za-z0-9_]")

_KIND_STYLE = {  # kind -> (fill, stroke) shared by Mermaid and DOT
    "network": ("#e8f1fb", "#4a78b5"),
    "lb": ("#fde9d9", "#c0504d"),
    "listener": ("#fff4e0", "#d99a2b"),
    "tg": ("#fff9d6", "#b59a2b"),
    "service": ("#e2f0d9", "#548235"),
    "taskdef": ("#f2f2f2", "#7f7f7f"),
    "capacity": ("#e4dff0", "#7030a0"),
    "cluster": ("#d9e1f2", "#2f5597"),
    "registry": ("#f2f2f2", "#7f7f7f"),
    "alarm": ("#fbe5e5", "#c00000"),
    "topic": ("#fbe5e5", "#c00000"),
    "queue": ("#def2f1", "#2b8a84"),
    "schedule": ("#e2f0d9", "#548235"),
    "event": ("#fbe5e5", "#c00000"),
}


@dataclass
class ArchitectureGraph:
    """Nodes grouped by stack and the edges between them; :meth:`to_mermaid` and
    :meth:`to_dot` draw the same graph."""

    groups: list[str] = field(default_factory=list)
    nodes: dict[str, Node] = field(default_factory=dict)
    edges: list[Edge] = field(default_factory=list)

    def add_node(self, node_id: str, kind: str, group: str, *lines: str) -> str:
        """Add (or keep the first of) a node; returns its id."""
        if group not in self.groups:
            self.groups.append(group)
        self.nodes.setdefault(node_id, Node(node_id, kind, group, [ln for ln in lines if ln]))
        return node_id

    def add_edge(self, source: str, target: str, label: str = "", *, dashed: bool = False) -> None:
        """Add an edge once (same ends and label); both ends must be nodes."""
        edge = Edge(source, target, label, dashed)
        if source in self.nodes and target in self.nodes and edge not in self.edges:
            self.edges.append(edge)

    def find(self, kind: str, text: str) -> list[Node]:
        """Nodes of ``kind`` whose label contains ``text``."""
        return [n for n in self.nodes.values() if n.kind == kind and text in n.label]

    def to_mermaid(self) -> str:
        """A Mermaid ``flowchart LR``: one subgraph per stack, styled by kind."""
        out = ["flowchart LR"]
        for group in self.groups:
            out.append(f'  subgraph {_group_id(group)}["{_mermaid_text(group)}"]')
            out.append("    direction TB")
            for node in self.nodes.values():
                if node.group == group:
                    text = "<br/>".join(
                        f"<b>{_mermaid_text(line)}</b>" if i == 0 else _mermaid_text(line)
                        for i, line in enumerate(node.lines)
                    )
                    out.append(f'    {node.id}["{text}"]')
            out.append("  end")
        for edge in self.edges:
            arrow = "-.->" if edge.dashed else "-->"
            label = f'|"{_mermaid_text(edge.label)}"|' if edge.label else ""
            out.append(f"  {edge.source} {arrow}{label} {edge.target}")
        for kind, (fill, stroke) in _KIND_STYLE.items():
            members = [n.id for n in self.nodes.values() if n.kind == kind]
            if members:
                out.append(f"  classDef {kind} fill:{fill},stroke:{stroke},color:#000")
                out.append(f"  class {','.join(members)} {kind}")
        return "\n".join(out) + "\n"

    def to_dot(self) -> str:
        """Graphviz DOT (``rankdir=LR``): one cluster per stack, styled by kind."""
        out = [
            "digraph architecture {",
            '  graph [rankdir=LR, fontname="Helvetica", fontsize=11, nodesep=0.25, ranksep=0.6];',
            '  node [shape=box, style="rounded,filled", fontname="Helvetica", fontsize=10];',
            '  edge [fontname="Helvetica", fontsize=9, color="#555555"];',
        ]
        for group in self.groups:
            out.append(f"  subgraph cluster_{_group_id(group)} {{")
            out.append(f'    label="{_dot_text(group)}"; style="rounded"; color="#999999";')
            for node in self.nodes.values():
                if node.group == group:
                    fill, stroke = _KIND_STYLE.get(node.kind, ("#ffffff", "#000000"))
                    label = "\\n".join(_dot_text(line) for line in node.lines)
                    out.append(
                        f'    {node.id} [label="{label}", fillcolor="{fill}", color="{stroke}"];'
                    )
            out.append("  }")
        for edge in self.edges:
            attrs = [f'label="{_dot_text(edge.label)}"'] if edge.label else []
            if edge.dashed:
                attrs.append("style=dashed")
            suffix = f" [{', '.join(attrs)}]" if attrs else ""
            out.append(f"  {edge.source} -> {edge.target}{suffix};")
        out.append("}")
        return "\n".join(out) + "\n"


def _group_id(group: str) -> str:
    return "g_" + _SAFE.sub("_", group)


def _mermaid_text(text: str) -> str:
    """Escape for a quoted Mermaid label: entity codes for quotes, angle brackets, pipes,
    backticks and ``#`` itself (else a literal ``#35;`` in a name would be read as a code)."""
    table = {
        "#": "#35;",
        "&": "#amp;",
        '"': "#quot;",
        "<": "#lt;",
        ">": "#gt;",
        "|": "#124;",
        "`": "#96;",
    }
    return "".join(table.get(ch, ch) for ch in text.replace("\n", " "))


def _dot_text(text: str) -> str:
    return text.replace("\\", "\\\\").replace('"', '\\"').replace("\n", " ")


class _Resolver:
    """Resolves ``Ref``/``Fn::GetAtt`` and cross-stack references (``Fn::GetStackOutput`` of
    weak references, ``Fn::ImportValue`` of exports) to ``(stack, logical id)`` pairs."""

    def __init__(self, stacks: Sequence[StackTemplate]) -> None:
        self.stacks = {s.name: s for s in stacks}
        self.exports: dict[str, tuple[str, Any]] = {}
        for s in stacks:
            for output in s.template.get("Outputs", {}).values():
                name = output.get("Export", {}).get("Name")
                if isinstance(name, str):
                    self.exports[name] = (s.name, output.get("Value"))

    def targets(  # noqa: PLR0911 - one return per kind of reference
        self, stack: str, value: Any, depth: int = 0
    ) -> Iterator[tuple[str, str]]:
        """Every resource ``value`` (any template fragment of ``stack``) points at."""
        if depth > 8:
            return
        if isinstance(value, list):
            for item in value:
                yield from self.targets(stack, item, depth)
            return
        if not isinstance(value, Mapping):
            return
        resources = self.stacks[stack].resources if stack in self.stacks else {}
        if len(value) == 1:
            key, arg = next(iter(value.items()))
            if key == "Ref" and isinstance(arg, str) and arg in resources:
                yield (stack, arg)
                return
            if key == "Fn::GetAtt":
                logical = arg[0] if isinstance(arg, list) else str(arg).split(".", 1)[0]
                if logical in resources:
                    yield (stack, logical)
                return
            if key == "Fn::GetStackOutput" and isinstance(arg, Mapping):
                other = self.stacks.get(str(arg.get("StackName")))
                if other is not None:
                    output = other.template.get("Outputs", {}).get(arg.get("OutputName"), {})
                    yield from self.targets(other.name, output.get("Value"), depth + 1)
                return
            if key == "Fn::ImportValue" and isinstance(arg, str) and arg in self.exports:
                where, exported = self.exports[arg]
                yield from self.targets(where, exported, depth + 1)
                return
        for item in value.values():
            yield from self.targets(stack, item, depth)

    def first(self, stack: str, value: Any, rtype: str | None = None) -> tuple[str, str] | None:
        """The first target of ``value`` (of type ``rtype`` when given)."""
        for target in self.targets(stack, value):
            if rtype is None or self.type_of(target) == rtype:
                return target
        return None

    def type_of(self, target: tuple[str, str]) -> str:
        return str(self.stacks[target[0]].resources[target[1]].get("Type", ""))


def _node_id(stack: str, logical_id: str) -> str:
    return f"n_{_SAFE.sub('_', stack)}_{_SAFE.sub('_', logical_id)}"


_GENERIC_SEGMENTS = {
    "Resource",
    "Default",
    "Service",
    "TaskDefinition",
    "LoadBalancers",
    "LoadBalancer",
    "CapacityProvider",
    "Cluster",
    "Network",
    "Queue",
    "Schedule",
}


def _short_name(stack: StackTemplate, logical_id: str) -> str:
    """A readable name from the construct path (``aws:cdk:path``), else the logical id."""
    path = stack.resources[logical_id].get("Metadata", {}).get("aws:cdk:path")
    if not isinstance(path, str):
        return logical_id
    parts = [
        "DLQ"
        if p == "DeadLetterQueue"
        else "(alternate)"
        if p.startswith("AlternateTargetGroup")
        else p
        for p in path.split("/")[1:]
        if p not in _GENERIC_SEGMENTS and not p.startswith("TargetGroup")
    ]
    deduped = [p for i, p in enumerate(parts) if i == 0 or p != parts[i - 1]]
    return " ".join(deduped) or logical_id


def _literal(value: Any) -> str | None:
    return str(value) if isinstance(value, str | int | float) else None


def _join_suffix(value: Any) -> str:
    """The literal tail of a ``Fn::Join`` (an endpoint's service name ``com.amazonaws.<r>.s3``)."""
    if isinstance(value, str):
        return value
    if isinstance(value, Mapping) and "Fn::Join" in value:
        parts = value["Fn::Join"][1]
        if parts and isinstance(parts[-1], str):
            return str(parts[-1]).lstrip(".")
    return "?"


def _tags(resource: Mapping[str, Any]) -> dict[str, str]:
    tags = resource.get("Properties", {}).get("Tags", [])
    if not isinstance(tags, list):
        return {}
    return {str(t.get("Key")): str(t.get("Value")) for t in tags if isinstance(t, Mapping)}


def _strategy_label(item: Mapping[str, Any], strategy: Sequence[Any] = ()) -> str:
    """``weight W[, base B]``; empty for the only provider of a strategy without a base."""
    weight = item.get("Weight", 0)
    base = item.get("Base", 0)
    if len(strategy) == 1 and not base:
        return ""
    return f"weight {weight}" + (f", base {base}" if base else "")


def _conditions(conditions: Any) -> str:
    parts = []
    for cond in conditions or []:
        field_name = str(cond.get("Field", "?"))
        config = next((v for k, v in cond.items() if k.endswith("Config")), None)
        values = (config or {}).get("Values") or cond.get("Values") or []
        shown = ", ".join(str(v) for v in values if isinstance(v, str)) or "?"
        parts.append(f"{field_name.replace('-pattern', '').replace('-header', '')} {shown}")
    return "; ".join(parts)


def build_graph(stacks: Sequence[StackTemplate]) -> ArchitectureGraph:
    """The architecture picture of an environment's stacks.

    Drawn: VPCs (subnets summarised by type, endpoints), ECR repositories, clusters and their
    capacity providers, load balancers -> listeners -> target groups (rules as edge labels) ->
    services -> task definitions and capacity providers, queues, schedules, alarms (one box per
    service: "N alarms"), SNS topics and EventBridge rules. Security groups, roles, policies,
    log groups, routes and per-subnet resources are left out on purpose.
    """
    graph = ArchitectureGraph()
    ref = _Resolver(stacks)
    by_type: dict[str, list[tuple[StackTemplate, str, Mapping[str, Any]]]] = defaultdict(list)
    for stack in stacks:
        graph.groups.append(stack.name)
        for logical_id, resource in stack.resources.items():
            by_type[str(resource.get("Type"))].append((stack, logical_id, resource))

    def nid(target: tuple[str, str]) -> str:
        return _node_id(*target)

    def props(resource: Mapping[str, Any]) -> Mapping[str, Any]:
        result: Mapping[str, Any] = resource.get("Properties", {})
        return result

    # Network: VPC, subnets per type, endpoints.
    for stack, lid, res in by_type["AWS::EC2::VPC"]:
        cidr = _literal(props(res).get("CidrBlock")) or "IPAM"
        graph.add_node(_node_id(stack.name, lid), "network", stack.name, "VPC", cidr)
    nat_by_subnet = Counter(
        ref.first(stack.name, props(res).get("SubnetId"))
        for stack, _, res in by_type["AWS::EC2::NatGateway"]
    )
    subnets: dict[tuple[tuple[str, str], str], list[tuple[str, str, int]]] = defaultdict(list)
    for stack, lid, res in by_type["AWS::EC2::Subnet"]:
        vpc = ref.first(stack.name, props(res).get("VpcId"))
        tags = _tags(res)
        kind = tags.get("aws-cdk:subnet-name") or tags.get("aws-cdk:subnet-type") or "Subnets"
        if vpc is not None:
            nats = nat_by_subnet.get((stack.name, lid), 0)
            subnets[(vpc, kind)].append((lid, _literal(props(res).get("CidrBlock")) or "?", nats))
    subnet_group = {
        (vpc[0], lid): kind for (vpc, kind), members in subnets.items() for lid, _, _ in members
    }

    def placement(stack: str, subnet_ids: Any) -> str:
        kinds = sorted({subnet_group.get(t, "other") for t in ref.targets(stack, subnet_ids)})
        return f"{' + '.join(kinds)} subnets" if kinds else ""

    for (vpc, kind), members in subnets.items():
        subnet_type = next(
            (
                _tags(stack.resources[lid]).get("aws-cdk:subnet-type")
                for stack in stacks
                if stack.name == vpc[0]
                for lid, _, _ in members[:1]
            ),
            None,
        )
        masks = sorted({c.rpartition("/")[2] for _, c, _ in members})
        detail = f"{len(members)} x /{', /'.join(masks)}"
        if subnet_type and subnet_type != kind:
            detail += f" ({subnet_type.lower()})"
        nats = sum(n for _, _, n in members)
        node = graph.add_node(
            f"{nid(vpc)}_{_SAFE.sub('_', kind)}",
            "network",
            vpc[0],
            f"{kind} subnets",
            detail,
            f"{nats} NAT gateway{'s' if nats != 1 else ''}" if nats else "",
        )
        graph.add_edge(nid(vpc), node)
    endpoints: dict[tuple[str, str], list[str]] = defaultdict(list)
    for stack, _, res in by_type["AWS::EC2::VPCEndpoint"]:
        vpc = ref.first(stack.name, props(res).get("VpcId"))
        service = re.sub(
            r"^com\.amazonaws\.[a-z0-9-]+\.", "", _join_suffix(props(res).get("ServiceName"))
        )
        kind = str(props(res).get("VpcEndpointType", "Interface")).lower()
        if vpc is not None:
            endpoints[vpc].append(f"{service} ({kind})")
    for vpc, names in endpoints.items():
        node = graph.add_node(
            f"{nid(vpc)}_endpoints",
            "network",
            vpc[0],
            f"{len(names)} VPC endpoint{'s' if len(names) != 1 else ''}",
            *(", ".join(sorted(names)[i : i + 2]) for i in range(0, len(names), 2)),
        )
        graph.add_edge(nid(vpc), node)

    # Registry.
    for stack, lid, res in by_type["AWS::ECR::Repository"]:
        name = _literal(props(res).get("RepositoryName")) or _short_name(stack, lid)
        scan = props(res).get("ImageScanningConfiguration", {}).get("ScanOnPush")
        graph.add_node(
            _node_id(stack.name, lid),
            "registry",
            stack.name,
            "ECR repository",
            name,
            "scan on push" if scan else "",
        )

    # Clusters and capacity providers.
    builtin_cp: dict[str, str] = {}  # FARGATE / FARGATE_SPOT -> node id (first cluster's)
    for stack, lid, res in by_type["AWS::ECS::Cluster"]:
        settings = {s.get("Name"): s.get("Value") for s in props(res).get("ClusterSettings", [])}
        insights = settings.get("containerInsights")
        graph.add_node(
            _node_id(stack.name, lid),
            "cluster",
            stack.name,
            "ECS cluster",
            _literal(props(res).get("ClusterName")) or "",
            f"Container Insights {insights}" if insights else "",
        )
    for stack, lid, res in by_type["AWS::ECS::CapacityProvider"]:
        asg_provider = props(res).get("AutoScalingGroupProvider", {})
        asg = ref.first(stack.name, asg_provider.get("AutoScalingGroupArn"))
        lines = [f"EC2 capacity {_short_name(stack, lid)}"]
        if asg is not None:
            asg_props = props(ref.stacks[asg[0]].resources[asg[1]])
            mixed = asg_props.get("MixedInstancesPolicy", {})
            types = [
                o.get("InstanceType") for o in mixed.get("LaunchTemplate", {}).get("Overrides", [])
            ]
            dist = mixed.get("InstancesDistribution", {})
            lines.append(", ".join(str(t) for t in types if t) or "Auto Scaling group")
            lines.append(
                f"{asg_props.get('MinSize', '?')}-{asg_props.get('MaxSize', '?')} instances"
            )
            if "OnDemandPercentageAboveBaseCapacity" in dist:
                spot = 100 - int(dist["OnDemandPercentageAboveBaseCapacity"])
                lines[-1] += f", {spot}% Spot above base {dist.get('OnDemandBaseCapacity', 0)}"
        graph.add_node(_node_id(stack.name, lid), "capacity", stack.name, *lines)
    for stack, _, res in by_type["AWS::ECS::ClusterCapacityProviderAssociations"]:
        cluster = ref.first(stack.name, props(res).get("Cluster"))
        if cluster is None:
            continue
        default = {
            (cp if isinstance(cp := s.get("CapacityProvider"), str) else json.dumps(cp)): s
            for s in props(res).get("DefaultCapacityProviderStrategy", [])
        }
        for cp in props(res).get("CapacityProviders", []):
            if isinstance(cp, str):
                target = builtin_cp.setdefault(
                    cp,
                    graph.add_node(
                        f"{nid(cluster)}_{cp}",
                        "capacity",
                        cluster[0],
                        cp,
                        "Fargate Spot" if cp.endswith("SPOT") else "Fargate",
                    ),
                )
                key = cp
            else:
                resolved = ref.first(stack.name, cp)
                if resolved is None:
                    continue
                target, key = nid(resolved), json.dumps(cp)
            strategy = default.get(key)
            graph.add_edge(
                target, nid(cluster), f"default: {_strategy_label(strategy)}" if strategy else ""
            )

    def capacity_node(stack: str, cp: Any) -> str | None:
        if isinstance(cp, str):
            if cp not in builtin_cp:  # a cluster outside these stacks
                builtin_cp[cp] = graph.add_node(f"n_{stack}_{cp}", "capacity", stack, cp)
            return builtin_cp[cp]
        target = ref.first(stack, cp)
        return nid(target) if target else None

    def strategy_edges(stack: str, user: str, strategy: list[Any]) -> None:
        """Edges from ``user`` (a service or schedule) to each capacity provider it uses."""
        for item in strategy:
            cp = capacity_node(stack, item.get("CapacityProvider"))
            if cp is not None:
                graph.add_edge(user, cp, _strategy_label(item, strategy))

    # Load balancers, listeners, target groups and rules.
    for stack, lid, res in by_type["AWS::ElasticLoadBalancingV2::LoadBalancer"]:
        p = props(res)
        kind = {"network": "NLB", "gateway": "GWLB"}.get(str(p.get("Type")), "ALB")
        graph.add_node(
            _node_id(stack.name, lid),
            "lb",
            stack.name,
            f"{kind} {_short_name(stack, lid)}",
            str(p.get("Scheme", "internet-facing")),
            placement(stack.name, [p.get("Subnets"), p.get("SubnetMappings")]),
        )
    for stack, lid, res in by_type["AWS::ElasticLoadBalancingV2::TargetGroup"]:
        p = props(res)
        graph.add_node(
            _node_id(stack.name, lid),
            "tg",
            stack.name,
            f"target group {_short_name(stack, lid)}",
            f"{p.get('Protocol', '')} :{p.get('Port', '?')} ({p.get('TargetType', 'instance')})",
        )

    def forward_edges(stack: str, source: str, actions: Any, prefix: str) -> list[str]:
        notes = []
        for action in actions or []:
            kind = action.get("Type")
            groups = [(action.get("TargetGroupArn"), None)] if action.get("TargetGroupArn") else []
            groups += [
                (g.get("TargetGroupArn"), g.get("Weight"))
                for g in action.get("ForwardConfig", {}).get("TargetGroups", [])
            ]
            top = max((w or 0 for _, w in groups), default=0)
            for arn, weight in groups:
                tg = ref.first(stack, arn)
                if tg is None:
                    continue
                if weight is None or len(groups) == 1:
                    graph.add_edge(source, nid(tg), prefix)
                elif weight == top:  # weighted (blue/green): the live side carries the rule
                    graph.add_edge(source, nid(tg), f"{prefix} ({weight}%)")
                else:
                    graph.add_edge(source, nid(tg), f"{weight}%", dashed=True)
            if kind == "redirect":
                cfg = action.get("RedirectConfig", {})
                notes.append(f"redirect to {cfg.get('Protocol', '')}:{cfg.get('Port', '')}")
            elif kind == "fixed-response":
                notes.append(f"default {action.get('FixedResponseConfig', {}).get('StatusCode')}")
        return notes

    for stack, lid, res in by_type["AWS::ElasticLoadBalancingV2::Listener"]:
        p = props(res)
        node = _node_id(stack.name, lid)
        lb = ref.first(stack.name, p.get("LoadBalancerArn"))
        graph.add_node(
            node, "listener", stack.name, f"{p.get('Protocol', '')} :{p.get('Port', '?')}"
        )
        notes = forward_edges(stack.name, node, p.get("DefaultActions"), "default")
        graph.nodes[node].lines += notes
        if lb is not None:
            graph.add_edge(nid(lb), node)
    for stack, _, res in by_type["AWS::ElasticLoadBalancingV2::ListenerRule"]:
        p = props(res)
        listener = ref.first(stack.name, p.get("ListenerArn"))
        if listener is not None:
            label = f"prio {p.get('Priority', '?')}: {_conditions(p.get('Conditions'))}"
            forward_edges(stack.name, nid(listener), p.get("Actions"), label)

    # Task definitions (drawn from the services and schedules that use them).
    queue_ids = {(s.name, lid) for s, lid, _ in by_type["AWS::SQS::Queue"]}
    for stack, lid, res in by_type["AWS::SQS::Queue"]:
        p = props(res)
        lines = [f"SQS {_short_name(stack, lid)}"]
        if p.get("FifoQueue"):
            lines.append("FIFO")
        graph.add_node(_node_id(stack.name, lid), "queue", stack.name, *lines)
    for stack, lid, res in by_type["AWS::SQS::Queue"]:
        dlq = ref.first(stack.name, props(res).get("RedrivePolicy", {}).get("deadLetterTargetArn"))
        if dlq is not None:
            max_receive = props(res)["RedrivePolicy"].get("maxReceiveCount", "?")
            graph.add_edge(
                _node_id(stack.name, lid), nid(dlq), f"after {max_receive} receives", dashed=True
            )

    def task_definition(target: tuple[str, str] | None, user: str) -> None:
        if target is None:
            return
        res = ref.stacks[target[0]].resources[target[1]]
        p = props(res)
        platform = p.get("RuntimePlatform", {})
        compat = "/".join(p.get("RequiresCompatibilities", [])) or "EC2"
        arch = platform.get("CpuArchitecture") or ("instance arch" if "EC2" in compat else "X86_64")
        cpu, memory = p.get("Cpu"), p.get("Memory")
        size = f"{cpu or '-'} CPU / {memory or '-'} MiB" if cpu or memory else "size per container"
        containers = p.get("ContainerDefinitions", [])
        images = []
        for container in containers:
            image = container.get("Image")
            repo = ref.first(target[0], image, "AWS::ECR::Repository")
            if repo is not None:
                graph.add_edge(nid(target), nid(repo), "image")
            images.append(image if isinstance(image, str) else "image from ECR" if repo else "?")
        node = graph.add_node(
            nid(target),
            "taskdef",
            target[0],
            f"task definition {_short_name(ref.stacks[target[0]], target[1])}",
            f"{size}, {arch} ({compat})",
            ", ".join(images[:2]) + (" ..." if len(images) > 2 else ""),
        )
        graph.add_edge(user, node)
        for container in containers:  # queues the containers are told about (QUEUE_URL=...)
            for env in container.get("Environment", []):
                queue = ref.first(target[0], env.get("Value"), "AWS::SQS::Queue")
                if queue in queue_ids:
                    graph.add_edge(user, nid(queue), str(env.get("Name", "")))

    # Services.
    service_of_tg: dict[tuple[str, str], tuple[str, str]] = {}
    for stack, lid, res in by_type["AWS::ECS::Service"]:
        p = props(res)
        node = _node_id(stack.name, lid)
        lines = [f"ECS service {_short_name(stack, lid)}"]
        if p.get("SchedulingStrategy") == "DAEMON":
            lines.append("daemon: one task per instance")
        elif "DesiredCount" in p:
            lines.append(f"desired {p['DesiredCount']}")
        awsvpc = p.get("NetworkConfiguration", {}).get("AwsvpcConfiguration", {})
        if awsvpc:
            public_ip = ", public IP" if awsvpc.get("AssignPublicIp") == "ENABLED" else ""
            lines.append(placement(stack.name, awsvpc.get("Subnets")) + public_ip)
        graph.add_node(node, "service", stack.name, *lines)
        for lb in p.get("LoadBalancers", []):
            tg = ref.first(stack.name, lb.get("TargetGroupArn"))
            if tg is not None:
                service_of_tg[tg] = (stack.name, lid)
                graph.add_edge(nid(tg), node, f":{lb.get('ContainerPort', '?')}")
            alt = ref.first(
                stack.name, lb.get("AdvancedConfiguration", {}).get("AlternateTargetGroupArn")
            )
            if alt is not None:
                service_of_tg[alt] = (stack.name, lid)
                graph.add_edge(nid(alt), node, "blue/green alternate", dashed=True)
        task_definition(ref.first(stack.name, p.get("TaskDefinition")), node)
        strategy_edges(stack.name, node, p.get("CapacityProviderStrategy", []))
        if not p.get("CapacityProviderStrategy"):
            cluster = ref.first(stack.name, p.get("Cluster"))
            if cluster is not None:
                launch = p.get("LaunchType")
                graph.add_edge(
                    node,
                    nid(cluster),
                    f"launch type {launch}" if launch else "cluster default strategy",
                )
    for stack, _, res in by_type["AWS::ApplicationAutoScaling::ScalableTarget"]:
        p = props(res)
        scaled = ref.first(stack.name, p.get("ResourceId"), "AWS::ECS::Service")
        if scaled is not None and nid(scaled) in graph.nodes:
            graph.nodes[nid(scaled)].lines.append(
                f"autoscaling {p.get('MinCapacity', '?')}-{p.get('MaxCapacity', '?')} tasks"
            )

    # Scheduled jobs.
    for stack, lid, res in [*by_type["AWS::Scheduler::Schedule"], *by_type["AWS::Events::Rule"]]:
        p = props(res)
        single = p.get("Target")
        targets = [single] if isinstance(single, Mapping) else list(p.get("Targets", []))
        ecs_targets = [t for t in targets if "EcsParameters" in t]
        if not ecs_targets or not (p.get("ScheduleExpression")):
            continue
        node = graph.add_node(
            _node_id(stack.name, lid),
            "schedule",
            stack.name,
            f"schedule {_short_name(stack, lid)}",
            str(p["ScheduleExpression"]),
            _literal(p.get("ScheduleExpressionTimezone")) or "",
        )
        for t in ecs_targets:
            ecs = t["EcsParameters"]
            task_definition(ref.first(stack.name, ecs.get("TaskDefinitionArn")), node)
            strategy_edges(stack.name, node, ecs.get("CapacityProviderStrategy", []))
            dlq = ref.first(stack.name, t.get("DeadLetterConfig", {}).get("Arn"))
            if dlq is not None:
                graph.add_edge(node, nid(dlq), "failed runs", dashed=True)

    # Notifications: SNS topics, EventBridge rules to them, alarms per service.
    for stack, lid, _ in by_type["AWS::SNS::Topic"]:
        graph.add_node(
            _node_id(stack.name, lid), "topic", stack.name, f"SNS topic {_short_name(stack, lid)}"
        )
    subscriptions: dict[tuple[str, str], Counter[str]] = defaultdict(Counter)
    for stack, _, res in by_type["AWS::SNS::Subscription"]:
        topic = ref.first(stack.name, props(res).get("TopicArn"))
        if topic is not None:
            subscriptions[topic][str(props(res).get("Protocol", "?"))] += 1
    for topic, protocols in subscriptions.items():
        graph.nodes[nid(topic)].lines.append(
            ", ".join(
                f"{n} {proto} subscription{'s' if n != 1 else ''}"
                for proto, n in sorted(protocols.items())
            )
        )
    for stack, lid, res in by_type["AWS::Events::Rule"]:
        p = props(res)
        if p.get("ScheduleExpression"):
            continue
        for t in p.get("Targets", []):
            topic = ref.first(stack.name, t.get("Arn"), "AWS::SNS::Topic")
            if topic is not None:
                description = str(p.get("Description") or _short_name(stack, lid))
                node = graph.add_node(
                    _node_id(stack.name, lid),
                    "event",
                    stack.name,
                    "EventBridge rule",
                    _wrap(description),
                )
                graph.add_edge(node, nid(topic))
    alarms: dict[tuple[str, str], list[str]] = defaultdict(list)  # owner node -> alarm names
    alarm_topics: dict[tuple[str, str], set[tuple[str, str]]] = defaultdict(set)
    for stack, lid, res in by_type["AWS::CloudWatch::Alarm"]:
        p = props(res)
        path = res.get("Metadata", {}).get("aws:cdk:path")
        owner = _alarm_owner(ref, stack.name, {**p, "__path": path}, service_of_tg)
        if owner is None:  # e.g. a load balancer alarm: next to what it watches, if drawn
            watched = ref.targets(stack.name, [p.get("Dimensions", []), p.get("Metrics", [])])
            owner = next((t for t in watched if nid(t) in graph.nodes), None)
        owner_key = owner or (stack.name, "")
        alarms[owner_key].append(_literal(p.get("AlarmName")) or lid)
        for action in [*p.get("AlarmActions", []), *p.get("OKActions", [])]:
            notified = ref.first(stack.name, action, "AWS::SNS::Topic")
            if notified is not None:
                alarm_topics[owner_key].add(notified)
    for owner_key, names in alarms.items():
        owner_node = nid(owner_key) if owner_key[1] else None
        group = owner_key[0]
        node = graph.add_node(
            f"{owner_node or 'n_' + _SAFE.sub('_', group)}_alarms",
            "alarm",
            group,
            f"{len(names)} alarm{'s' if len(names) != 1 else ''}",
            "" if owner_node else "not tied to a service",
        )
        if owner_node:
            graph.add_edge(owner_node, node)
        for notified in sorted(alarm_topics[owner_key]):
            graph.add_edge(node, nid(notified))
    return graph


def _wrap(text: str, width: int = 32) -> str:
    return text if len(text) <= width else text[: width - 3].rstrip() + "..."


def _owner_by_path(ref: _Resolver, stack: str, path: Any) -> tuple[str, str] | None:
    """The service whose top-level construct names ``path``'s: ``<stack>/web-alarms/...`` or
    ``<stack>/web/alarms/...`` belongs to the service at ``<stack>/web/Service/Service`` (the
    longest such name wins)."""
    if not isinstance(path, str) or path.count("/") < 2:
        return None
    top = path.split("/")[1]
    best: tuple[int, str] | None = None
    for lid, res in ref.stacks[stack].resources.items():
        other = res.get("Metadata", {}).get("aws:cdk:path")
        if res.get("Type") != "AWS::ECS::Service" or not isinstance(other, str):
            continue
        name = other.split("/")[1] if other.count("/") >= 2 else ""
        if (
            name
            and (top == name or top.startswith(name + "-"))
            and (not best or len(name) > best[0])
        ):
            best = (len(name), lid)
    return (stack, best[1]) if best else None


def _alarm_owner(  # noqa: PLR0911 - one return per way of finding the owner
    ref: _Resolver,
    stack: str,
    p: Mapping[str, Any],
    service_of_tg: Mapping[tuple[str, str], tuple[str, str]],
) -> tuple[str, str] | None:
    """What an alarm watches: a referenced service; else the service behind a referenced target
    group; else the service (through its task definition) or schedule that uses a referenced
    queue, or the queue whose dead-letter queue it is. ``None``: nothing of these."""
    targets = list(ref.targets(stack, [*p.get("Dimensions", []), *p.get("Metrics", [])]))
    for target in targets:
        if ref.type_of(target) == "AWS::ECS::Service":
            return target
    owner = _owner_by_path(ref, stack, p.get("__path"))
    if owner is not None:
        return owner
    for target in targets:
        if target in service_of_tg:
            return service_of_tg[target]
    queues = [t for t in targets if ref.type_of(t) == "AWS::SQS::Queue"]
    for queue in queues:
        for other in ref.stacks.values():
            for lid, res in other.resources.items():
                rtype, rprops = res.get("Type"), res.get("Properties", {})
                if rtype == "AWS::ECS::Service":
                    td = ref.first(other.name, rprops.get("TaskDefinition"))
                    if td and queue in set(ref.targets(td[0], ref.stacks[td[0]].resources[td[1]])):
                        return (other.name, lid)
                if rtype == "AWS::Scheduler::Schedule" and queue in set(
                    ref.targets(other.name, rprops)
                ):
                    return (other.name, lid)
                redrive = rprops.get("RedrivePolicy", {}) if rtype == "AWS::SQS::Queue" else {}
                if redrive and queue in set(ref.targets(other.name, redrive)):
                    return _alarm_owner(
                        ref, other.name, {"Dimensions": [{"Ref": lid}]}, service_of_tg
                    )
    return None


# --------------------------------------------------------------------------- report


@dataclass(frozen=True)
class GateResult:
    """One gate of the report: ``status`` is ``passed``, ``failed``, ``not run`` or
    ``skipped``; only ``failed`` makes the exit code non-zero. ``summary``: one line."""

    name: str
    status: str
    summary: str

    @property
    def failed(self) -> bool:
        """Whether this gate fails the report."""
        return self.status == "failed"


@dataclass
class SynthReport:
    """Everything the report shows for one environment; :meth:`markdown` renders it."""

    environment: str
    assembly: Path
    stacks: list[StackTemplate]
    counts: dict[str, Counter[str]]
    nag: NagResult
    lint: dict[str, list[LintFinding]] | None
    lint_status: str
    guard: replacement_guard.Report | None
    guard_note: str
    graph: ArchitectureGraph
    gates: list[GateResult]
    svg_note: str = ""

    @property
    def failed(self) -> bool:
        """A gate failed: the command line exits 1."""
        return any(g.failed for g in self.gates)

    @property
    def unchecked(self) -> list[str]:
        """The gates that neither passed nor failed (``not run``/``skipped``): the report's
        headline never says "all gates passed" while this is non-empty."""
        return [g.name for g in self.gates if g.status not in ("passed", "failed")]

    def markdown(self) -> str:
        """The report as Markdown (``templates/synth_report.md.j2``)."""
        types = sorted({t for c in self.counts.values() for t in c})
        rows = [(t, [self.counts[s.name].get(t, 0) for s in self.stacks]) for t in types]
        lint_rows = []
        for stack in self.stacks:
            found = (self.lint or {}).get(stack.path.name)
            lint_rows.append((stack, found))
        return render_template(
            "synth_report.md.j2",
            report=self,
            type_rows=[(t, n, sum(n)) for t, n in rows],
            stack_totals=[sum(self.counts[s.name].values()) for s in self.stacks],
            total=sum(sum(c.values()) for c in self.counts.values()),
            nag_packs=sorted(p for p in self.nag.plugins if p in NAG_PACKS),
            other_plugins={p: c for p, c in sorted(self.nag.plugins.items()) if p not in NAG_PACKS},
            lint_rows=lint_rows,
            mermaid=self.graph.to_mermaid(),
        )


def build_report(
    assembly_dir: Path,
    environment: str,
    *,
    baselines: Path | None = Path("replacement-guard"),
    ack_file: Path = Path("replacement-guard/ack.json"),
    lint: bool = True,
    lint_results: Mapping[str, list[LintFinding]] | None = None,
    cfnlintrc: Path | None = None,
    require_nag: bool = False,
) -> SynthReport:
    """Read the assembly and evaluate every gate for ``environment``.

    ``baselines`` (default ``replacement-guard``, relative to the working directory): the
    replacement-guard baseline directory; ``None``, or no ``<baselines>/<environment>``
    directory, reports the guard as not run. ``ack_file`` (default
    ``replacement-guard/ack.json``): its acknowledgements. ``lint_results``: precomputed
    cfn-lint findings by template file name (e.g. from :func:`lint_templates`), used instead
    of running cfn-lint; ``lint=False`` (default ``True``) skips cfn-lint. ``cfnlintrc``
    (default: cfn-lint's own lookup, ``.cfnlintrc`` of the working directory) names the
    cfn-lint configuration. ``require_nag`` (default ``False``): cdk-nag not having run fails
    its gate instead of being reported as not run.
    """
    stacks = read_stacks(assembly_dir)
    gates: list[GateResult] = []

    nag = read_nag(assembly_dir)
    packs = sorted(p for p in nag.plugins if p in NAG_PACKS)
    if nag.failed:
        failures = [p for p, c in nag.plugins.items() if c == "failure"]
        gates.append(
            GateResult(
                "cdk-nag",
                "failed",
                f"{len(nag.violations)} unsuppressed finding(s)"
                + (f"; failed: {', '.join(sorted(failures))}" if failures else ""),
            )
        )
    elif nag.source is None:
        gates.append(
            GateResult(
                "cdk-nag",
                "failed" if require_nag else "not run",
                "cdk-nag did not run: the assembly has no validation report",
            )
        )
    elif not packs:
        gates.append(
            GateResult(
                "cdk-nag",
                "failed" if require_nag else "not run",
                "cdk-nag did not run (no cdk-nag pack in the validation report)",
            )
        )
    else:
        gates.append(
            GateResult(
                "cdk-nag",
                "passed",
                f"{', '.join(packs)}: 0 unsuppressed, {len(nag.suppressed)} acknowledged",
            )
        )

    default_region = next((s.region for s in stacks if s.region), "us-east-1")
    found: dict[str, list[LintFinding]] | None
    if lint_results is not None:
        found, lint_status = dict(lint_results), "ran"
    elif lint:
        found = _lint_by_region(stacks, default_region, cfnlintrc)
        lint_status = "ran" if found is not None else "not installed"
    else:
        found, lint_status = None, "skipped"
    if found is None:
        gates.append(
            GateResult(
                "cfn-lint",
                "skipped" if lint_status == "skipped" else "not run",
                "skipped (--no-lint)"
                if lint_status == "skipped"
                else "cfn-lint is not installed (a dev dependency)",
            )
        )
    else:
        relevant = [f for s in stacks for f in found.get(s.path.name, []) if f.level != "info"]
        errors = sum(f.level == "error" for f in relevant)
        gates.append(
            GateResult(
                "cfn-lint",
                "failed" if relevant else "passed",
                f"{errors} error(s), {len(relevant) - errors} warning(s) in "
                f"{len(stacks)} template(s)",
            )
        )

    guard: replacement_guard.Report | None = None
    guard_note = ""
    if baselines is None or not (baselines / environment).is_dir():
        where = (
            "no baseline directory given" if baselines is None else f"no {baselines / environment}/"
        )
        guard_note = f"not run: {where} (record baselines with `make guard-update`)"
        gates.append(GateResult("replacement guard", "not run", guard_note))
    else:
        acks = replacement_guard.load_acknowledgements(ack_file)
        templates = {s.name: dict(s.template) for s in stacks}
        guard = replacement_guard.check(environment, templates, baselines, acks)
        summary = (
            f"{len(guard.blocking)} blocking, {len(guard.stale)} stale acknowledgement(s), "
            f"{len(guard.missing_baselines)} stack(s) without baseline, "
            f"{len(guard.acknowledged)} acknowledged"
        )
        gates.append(GateResult("replacement guard", "passed" if guard.ok else "failed", summary))

    return SynthReport(
        environment=environment,
        assembly=assembly_dir,
        stacks=stacks,
        counts=resource_counts(stacks),
        nag=nag,
        lint=found,
        lint_status=lint_status,
        guard=guard,
        guard_note=guard_note,
        graph=build_graph(stacks),
        gates=gates,
    )


def render_svg(dot_source: str, svg_path: Path) -> str | None:
    """Render DOT to ``svg_path`` with Graphviz ``dot``; returns why it was skipped (``dot``
    not on ``PATH``, or its error), ``None`` when the SVG was written."""
    dot = shutil.which("dot")
    if dot is None:
        return "Graphviz `dot` is not on PATH"
    result = subprocess.run(
        [dot, "-Tsvg", "-o", str(svg_path)],
        input=dot_source,
        capture_output=True,
        text=True,
        check=False,
    )
    if result.returncode != 0:
        return f"`dot` failed: {result.stderr.strip()[:200]}"
    return None


def append_step_summary(markdown: str) -> str | None:
    """Append to the file named by ``$GITHUB_STEP_SUMMARY``; returns a warning when it is not
    set or cannot be written, ``None`` on success."""
    target = os.environ.get("GITHUB_STEP_SUMMARY")
    if not target:
        return "GITHUB_STEP_SUMMARY is not set; no job summary written"
    try:
        with open(target, "a", encoding="utf-8") as handle:
            handle.write(markdown)
    except OSError as exc:
        return f"cannot append to GITHUB_STEP_SUMMARY ({target}): {exc.strerror or exc}"
    return None


def main(argv: Sequence[str] | None = None) -> int:
    """``python -m constructs_lib.report ASSEMBLY --env ENV [options]``; see the module doc for
    the exit codes (0 passed, 1 a gate failed, 2 bad input)."""
    parser = argparse.ArgumentParser(
        prog="python -m constructs_lib.report",
        description="Markdown synth report of a cloud assembly: resources, cdk-nag, cfn-lint, "
        "replacement guard and an architecture diagram. Exit 1 when a gate failed.",
    )
    parser.add_argument("assembly", type=Path, help="a `cdk synth --output DIR` directory")
    parser.add_argument("--env", required=True, help="environment name (report title, guard)")
    parser.add_argument("--out", type=Path, help="write the Markdown here (default: stdout)")
    parser.add_argument("--svg", type=Path, help="render the diagram to this SVG (needs `dot`)")
    parser.add_argument("--dot", type=Path, help="write the diagram's Graphviz source here")
    parser.add_argument(
        "--step-summary", action="store_true", help="append the report to $GITHUB_STEP_SUMMARY"
    )
    parser.add_argument("--no-lint", action="store_true", help="do not run cfn-lint")
    parser.add_argument("--require-nag", action="store_true", help="fail when cdk-nag did not run")
    parser.add_argument("--baselines", type=Path, default=Path("replacement-guard"))
    parser.add_argument("--ack", type=Path, default=Path("replacement-guard/ack.json"))
    parser.add_argument("--cfnlintrc", type=Path, help="cfn-lint config (default: .cfnlintrc)")
    args = parser.parse_args(argv)
    try:
        report = build_report(
            args.assembly,
            args.env,
            baselines=args.baselines,
            ack_file=args.ack,
            lint=not args.no_lint,
            cfnlintrc=args.cfnlintrc,
            require_nag=args.require_nag,
        )
    except (EcskitValidationError, OSError, ValueError) as exc:
        print(f"synth report: {exc}", file=sys.stderr)
        return 2
    dot_source = report.graph.to_dot()
    if args.dot:
        args.dot.write_text(dot_source)
    if args.svg:
        skipped = render_svg(dot_source, args.svg)
        report.svg_note = (
            f"SVG skipped: {skipped}" if skipped else f"Diagram also rendered to `{args.svg}`."
        )
        if skipped:
            print(f"synth report: SVG skipped: {skipped}", file=sys.stderr)
    markdown = report.markdown()
    if args.out:
        args.out.parent.mkdir(parents=True, exist_ok=True)
        args.out.write_text(markdown)
    else:
        sys.stdout.write(markdown)
    if args.step_summary and (warning := append_step_summary(markdown)):
        print(f"synth report: warning: {warning}", file=sys.stderr)
    for gate in report.gates:
        print(
            f"synth report ({args.env}): {gate.name}: {gate.status}: {gate.summary}",
            file=sys.stderr,
        )
    return 1 if report.failed else 0


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
