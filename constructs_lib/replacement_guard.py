"""Replacement guard: catch a change that would replace a resource whose replacement hurts.

A refactor that renames a construct ID renames the CloudFormation logical ID, and CloudFormation
then creates a new resource and deletes the old one: a new load balancer (new DNS name), a new
target group (aws-cdk#36149: a production outage), a new queue (messages lost). The same happens
when a property CloudFormation replaces on changes (a target group's ``Port``, a subnet's
``CidrBlock``).

The guard works on synthesized template dicts (no ``aws_cdk`` import) in three steps:

* :func:`snapshot` keeps, per guarded resource, its type and the values of the properties that
  cause a replacement (canonical JSON, so a changed ``Ref``/``Fn::GetAtt`` counts too);
* a committed baseline per environment and stack (``<baseline_dir>/<env>/<stack>.json``),
  written on purpose with ``python -m constructs_lib.replacement_guard update``;
* :func:`compare` (one stack) and :func:`check` (one environment) report every guarded resource
  that was removed or renamed and every replacement property that changed, unless an
  acknowledgement (an entry with a reason in the acknowledgement file) lets it through.

Acknowledgement file (JSON)::

    {"acknowledged": [
        {"environment": "dev", "stack": "ecskit-dev-Services", "logical_id": "WebTG1234",
         "property": "Port", "reason": "port moves to 8080; dev only, no traffic"}
    ]}

``property`` is a replacement property path (as in :data:`GUARDED_TYPES`) or ``"removed"`` for
a removed or renamed resource. An entry without a reason is an error; an entry that matches no
finding is stale (it would silently allow a later replacement) and fails the check too.
"""

from __future__ import annotations

import argparse
import builtins
import json
import sys
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from constructs_lib.errors import EcskitValidationError

REMOVED = "removed"
"""The ``property`` of an acknowledgement for a removed or renamed resource."""


@dataclass(frozen=True)
class GuardedType:
    """What is guarded for one resource type.

    ``replaces_on``: property paths (``/`` between nested keys) CloudFormation always replaces
    the resource on ("Update requires: Replacement"; the registry schema's
    ``createOnlyProperties``). ``may_replace_on``: paths that replace it only in some cases
    (``conditionalCreateOnlyProperties``); a change is reported too, as "may replace".
    ``impact``: why a replacement hurts, for the message.
    """

    replaces_on: tuple[str, ...]
    impact: str
    may_replace_on: tuple[str, ...] = ()


# Sources: the AWS CloudFormation Template Reference, "Update requires: Replacement" on each page
# https://docs.aws.amazon.com/AWSCloudFormation/latest/TemplateReference/aws-resource-<name>.html
# (e.g. aws-resource-elasticloadbalancingv2-targetgroup.html, aws-resource-ecs-service.html),
# and the same facts in machine-readable form: the CloudFormation registry resource schemas,
# `createOnlyProperties` / `conditionalCreateOnlyProperties` (as bundled with cfn-lint 1.58,
# cfnlint/data/schemas/resources/; tests/test_replacement_guard.py checks this table against
# them). Properties a template never sets for these types (e.g. Subnet OutpostArn) are listed
# anyway: setting one later replaces the resource just the same.
GUARDED_TYPES: dict[str, GuardedType] = {
    "AWS::ElasticLoadBalancingV2::LoadBalancer": GuardedType(
        replaces_on=("Name", "Scheme", "Type"),
        impact="a new load balancer gets a new DNS name and ARN: clients, DNS records and "
        "listeners pointing at the old one break",
    ),
    "AWS::ElasticLoadBalancingV2::Listener": GuardedType(
        replaces_on=("LoadBalancerArn",),
        impact="the port stops accepting traffic until the new listener exists; two listeners "
        "on one port make the deployment fail",
    ),
    "AWS::ElasticLoadBalancingV2::TargetGroup": GuardedType(
        replaces_on=(
            "IpAddressType",
            "Name",
            "Port",
            "Protocol",
            "ProtocolVersion",
            "TargetType",
            "VpcId",
        ),
        impact="the service deregisters from the old target group and registers with a new "
        "one: requests fail in between (aws-cdk#36149)",
    ),
    "AWS::ECS::Service": GuardedType(
        replaces_on=("Cluster", "Role", "SchedulingStrategy", "ServiceName"),
        may_replace_on=("LaunchType",),
        impact="a new service starts new tasks and the old one is deleted; a named service "
        "cannot be replaced at all (name conflict) and the stack update fails",
    ),
    "AWS::ECS::Cluster": GuardedType(
        replaces_on=("ClusterName",),
        impact="every service and capacity provider in the cluster is replaced with it",
    ),
    "AWS::ECS::CapacityProvider": GuardedType(
        replaces_on=("AutoScalingGroupProvider/AutoScalingGroupArn", "ClusterName", "Name"),
        impact="services using the capacity provider lose their capacity strategy; a named "
        "capacity provider cannot be replaced (name conflict)",
    ),
    "AWS::ECR::Repository": GuardedType(
        replaces_on=("EncryptionConfiguration", "RepositoryName"),
        impact="a new repository is empty: images running tasks pull from are gone",
    ),
    "AWS::Logs::LogGroup": GuardedType(
        replaces_on=("LogGroupName",),
        impact="logs written so far stay in (or are deleted with) the old log group; "
        "subscriptions, metric filters and alarms on it stop working",
    ),
    "AWS::EC2::VPC": GuardedType(
        replaces_on=("CidrBlock", "Ipv4IpamPoolId", "Ipv4NetmaskLength", "VpcEncryptionControl"),
        may_replace_on=("InstanceTenancy",),
        impact="everything in the VPC (subnets, load balancers, services, endpoints) is "
        "replaced with it, usually failing on dependencies",
    ),
    "AWS::EC2::Subnet": GuardedType(
        replaces_on=(
            "AvailabilityZone",
            "AvailabilityZoneId",
            "CidrBlock",
            "Ipv4IpamPoolId",
            "Ipv4NetmaskLength",
            "Ipv6IpamPoolId",
            "Ipv6Native",
            "Ipv6NetmaskLength",
            "OutpostArn",
            "VpcId",
        ),
        may_replace_on=("Ipv6CidrBlock",),
        impact="network interfaces in the subnet (tasks, load balancer nodes, endpoints) must "
        "move; the replacement fails while they exist or takes the workloads down",
    ),
    "AWS::SQS::Queue": GuardedType(
        replaces_on=("FifoQueue", "QueueName"),
        impact="the messages in the old queue are lost when it is deleted; producers and "
        "consumers with the old URL break",
    ),
    "AWS::AutoScaling::AutoScalingGroup": GuardedType(
        replaces_on=("AutoScalingGroupName", "InstanceId"),
        may_replace_on=(
            "LaunchConfigurationName",
            "LaunchTemplate",
            "MixedInstancesPolicy",
            "VPCZoneIdentifier",
        ),
        impact="all container instances are replaced at once; tasks on them are stopped",
    ),
}


@dataclass(frozen=True)
class Acknowledgement:
    """An intended replacement: ``property`` is a replacement property path or ``"removed"``."""

    environment: str
    stack: str
    logical_id: str
    property: str
    reason: str

    def matches(self, finding: Finding) -> bool:
        """Whether this entry lets exactly ``finding`` through."""
        return (self.environment, self.stack, self.logical_id, self.property) == (
            finding.environment,
            finding.stack,
            finding.logical_id,
            finding.property,
        )


@dataclass(frozen=True)
class Finding:
    """A guarded resource that would be replaced.

    ``property`` is ``"removed"`` for a removed or renamed resource, else the replacement
    property that changed (``old``/``new``: canonical JSON, ``None`` when unset).
    ``acknowledgement`` is the entry that lets it through, ``None`` when it blocks.
    """

    environment: str
    stack: str
    logical_id: str
    resource_type: str
    property: str
    old: str | None = None
    new: str | None = None
    conditional: bool = False
    acknowledgement: Acknowledgement | None = None

    @builtins.property  # the field `property` shadows the builtin in this class body
    def message(self) -> str:
        """One line for a human: where, what, old -> new and why it hurts."""
        where = f"{self.environment}/{self.stack}: {self.logical_id} ({self.resource_type})"
        impact = GUARDED_TYPES[self.resource_type].impact if self.is_guarded_type else ""
        if self.property == REMOVED:
            what = "is removed or renamed (its logical ID is gone), so it would be deleted"
        else:
            verb = "may be replaced" if self.conditional else "would be replaced"
            what = f"{verb}: {self.property} changes {_show(self.old)} -> {_show(self.new)}"
        text = f"{where} {what}; {impact}"
        if self.acknowledgement is not None:
            text += f" [acknowledged: {self.acknowledgement.reason}]"
        return text

    @builtins.property  # the field `property` shadows the builtin in this class body
    def is_guarded_type(self) -> bool:
        """Whether the type is in :data:`GUARDED_TYPES` (custom tables may add others)."""
        return self.resource_type in GUARDED_TYPES


@dataclass(frozen=True)
class Report:
    """The outcome of :func:`check` for one environment.

    ``blocking``: findings without acknowledgement. ``acknowledged``: let through.
    ``stale``: acknowledgements of this environment that match no finding. ``untracked``:
    ``stack/logical_id`` of guarded resources not in the baseline yet (not an error: run
    ``update`` to guard them). ``missing_baselines``: stacks with no baseline file.
    """

    environment: str
    blocking: list[Finding] = field(default_factory=list)
    acknowledged: list[Finding] = field(default_factory=list)
    stale: list[Acknowledgement] = field(default_factory=list)
    untracked: list[str] = field(default_factory=list)
    missing_baselines: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        """No blocking finding, no stale acknowledgement, no stack without a baseline."""
        return not (self.blocking or self.stale or self.missing_baselines)

    def render(self) -> str:
        """The report as text, blocking findings first, with what to do."""
        lines: list[str] = []
        if self.blocking:
            lines.append(f"Replacement guard ({self.environment}): {len(self.blocking)} blocked")
            lines += [f"  BLOCKED {f.message}" for f in self.blocking]
            lines.append(
                "  Fix: restore the logical ID (e.g. keep the construct ID, or "
                "override_logical_id) or the property; for an intended replacement add an "
                "entry with a reason to the acknowledgement file."
            )
        lines += [f"  STALE acknowledgement (matches nothing): {a}" for a in self.stale]
        lines += [
            f"  NO BASELINE for stack {s}: record it with `make guard-update`"
            for s in self.missing_baselines
        ]
        lines += [f"  acknowledged: {f.message}" for f in self.acknowledged]
        lines += [f"  not in baseline yet (run `make guard-update`): {u}" for u in self.untracked]
        return "\n".join(lines) if lines else f"Replacement guard ({self.environment}): ok"


def canonical(value: Any) -> str:
    """``value`` as canonical JSON (sorted keys, no spaces): equal values, equal strings."""
    return json.dumps(value, sort_keys=True, separators=(",", ":"))


def _show(value: str | None) -> str:
    return "(unset)" if value is None else value


def _lookup(properties: Mapping[str, Any], path: str) -> Any:
    node: Any = properties
    for key in path.split("/"):
        if not isinstance(node, Mapping) or key not in node:
            return None
        node = node[key]
    return node


def snapshot(
    template: Mapping[str, Any], guarded: Mapping[str, GuardedType] | None = None
) -> dict[str, Any]:
    """The guarded resources of a template: ``{logical_id: {"type": ..., "props": {...}}}``.

    ``props`` maps each replacement property path that is set to its canonical JSON value
    (tokens such as ``{"Ref": "Vpc"}`` included). ``guarded`` defaults to
    :data:`GUARDED_TYPES`.
    """
    table = GUARDED_TYPES if guarded is None else guarded
    result: dict[str, Any] = {}
    for logical_id, resource in template.get("Resources", {}).items():
        spec = table.get(resource.get("Type", ""))
        if spec is None:
            continue
        properties = resource.get("Properties", {})
        props = {}
        for path in (*spec.replaces_on, *spec.may_replace_on):
            value = _lookup(properties, path)
            if value is not None:
                props[path] = canonical(value)
        result[logical_id] = {"type": resource["Type"], "props": props}
    return result


def compare(
    baseline: Mapping[str, Any],
    current: Mapping[str, Any],
    acknowledged: Iterable[Acknowledgement] = (),
    *,
    environment: str = "",
    stack: str = "",
    guarded: Mapping[str, GuardedType] | None = None,
) -> list[Finding]:
    """Findings for one stack: baseline and current are :func:`snapshot` results.

    A baseline resource missing from ``current`` (or now of another type) is a ``"removed"``
    finding; a changed (set, unset or different) replacement property is a property finding.
    Each finding carries the matching entry of ``acknowledged`` (default: none), if any.
    ``environment``/``stack`` (default ``""``) name the place in messages and acknowledgements;
    ``guarded`` (default :data:`GUARDED_TYPES`) tells which properties may only replace.
    """
    table = GUARDED_TYPES if guarded is None else guarded
    acks = list(acknowledged)
    findings: list[Finding] = []
    for logical_id, old in sorted(baseline.items()):
        new = current.get(logical_id)
        rtype = old["type"]
        if new is None or new["type"] != rtype:
            findings.append(Finding(environment, stack, logical_id, rtype, REMOVED))
            continue
        spec = table.get(rtype)
        conditional = set(spec.may_replace_on) if spec else set()
        for path in sorted(set(old["props"]) | set(new["props"])):
            before, after = old["props"].get(path), new["props"].get(path)
            if before != after:
                findings.append(
                    Finding(
                        environment,
                        stack,
                        logical_id,
                        rtype,
                        path,
                        before,
                        after,
                        conditional=path in conditional,
                    )
                )
    return [_with_ack(f, acks) for f in findings]


def _with_ack(finding: Finding, acks: Sequence[Acknowledgement]) -> Finding:
    for ack in acks:
        if ack.matches(finding):
            return Finding(**{**finding.__dict__, "acknowledgement": ack})
    return finding


_ACK_KEYS = {"environment", "stack", "logical_id", "property", "reason"}


def parse_acknowledgements(data: Any, *, source: str = "acknowledgements") -> list[Acknowledgement]:
    """Validate ``{"acknowledged": [entry, ...]}``; every entry needs all keys and a reason.

    ``source`` (default ``"acknowledgements"``) names the file in error messages. Raises
    :class:`~constructs_lib.errors.EcskitValidationError`.
    """
    entries = data.get("acknowledged") if isinstance(data, Mapping) else None
    if not isinstance(entries, list):
        raise EcskitValidationError(
            f'{source} must be an object {{"acknowledged": [...]}}, got {data!r}'
        )
    result = []
    for index, entry in enumerate(entries):
        where = f"{source}: acknowledged[{index}]"
        if not isinstance(entry, Mapping) or set(entry) != _ACK_KEYS:
            keys = sorted(entry) if isinstance(entry, Mapping) else entry
            raise EcskitValidationError(
                f"{where} must have exactly the keys {sorted(_ACK_KEYS)}, got {keys!r}"
            )
        if not all(isinstance(entry[k], str) and entry[k].strip() for k in _ACK_KEYS):
            raise EcskitValidationError(
                f"{where} must give every key a non-empty string (a reason a reviewer can "
                f"check), got {dict(entry)!r}"
            )
        result.append(Acknowledgement(**{k: entry[k].strip() for k in _ACK_KEYS}))
    return result


def load_acknowledgements(path: Path) -> list[Acknowledgement]:
    """:func:`parse_acknowledgements` of a JSON file; no file means no acknowledgements."""
    if not path.exists():
        return []
    return parse_acknowledgements(json.loads(path.read_text()), source=str(path))


def baseline_path(baseline_dir: Path, environment: str, stack: str) -> Path:
    """``<baseline_dir>/<environment>/<stack>.json``."""
    return baseline_dir / environment / f"{stack}.json"


def check(
    environment: str,
    templates: Mapping[str, Mapping[str, Any]],
    baseline_dir: Path,
    acknowledgements: Sequence[Acknowledgement] = (),
) -> Report:
    """Compare every stack template of one environment with its committed baseline.

    ``templates``: stack name -> template dict. A baseline whose stack is gone reports all its
    resources as removed. ``acknowledgements`` (default none) may span environments; only this
    environment's are applied and checked for staleness.
    """
    acks = [a for a in acknowledgements if a.environment == environment]
    report = Report(environment)
    env_dir = baseline_dir / environment
    baseline_stacks = {p.stem for p in env_dir.glob("*.json")} if env_dir.is_dir() else set()
    findings: list[Finding] = []
    for stack in sorted(set(templates) | baseline_stacks):
        current = snapshot(templates[stack]) if stack in templates else {}
        path = baseline_path(baseline_dir, environment, stack)
        if not path.exists():
            if current:
                report.missing_baselines.append(stack)
            continue
        baseline = json.loads(path.read_text())
        findings += compare(baseline, current, acks, environment=environment, stack=stack)
        report.untracked.extend(f"{stack}/{lid}" for lid in sorted(set(current) - set(baseline)))
    report.blocking.extend(f for f in findings if f.acknowledgement is None)
    report.acknowledged.extend(f for f in findings if f.acknowledgement is not None)
    used = {f.acknowledgement for f in findings}
    report.stale.extend(a for a in acks if a not in used)
    return report


def write_baselines(
    environment: str, templates: Mapping[str, Mapping[str, Any]], baseline_dir: Path
) -> list[Path]:
    """Record the current guarded resources of every stack (pretty JSON, sorted keys).

    Baselines of stacks that no longer exist are deleted. Returns the files written.
    """
    env_dir = baseline_dir / environment
    env_dir.mkdir(parents=True, exist_ok=True)
    for old in env_dir.glob("*.json"):
        if old.stem not in templates:
            old.unlink()
    written = []
    for stack, template in sorted(templates.items()):
        path = baseline_path(baseline_dir, environment, stack)
        path.write_text(json.dumps(snapshot(template), indent=2, sort_keys=True) + "\n")
        written.append(path)
    return written


def read_assembly(assembly_dir: Path) -> dict[str, dict[str, Any]]:
    """Stack name -> template of a cloud assembly (``cdk synth --output DIR``), by its
    ``manifest.json``: only the stacks of that synthesis, not stale files in the directory."""
    manifest = json.loads((assembly_dir / "manifest.json").read_text())
    templates = {}
    for artifact_id, artifact in manifest.get("artifacts", {}).items():
        if artifact.get("type") != "aws:cloudformation:stack":
            continue
        props = artifact["properties"]
        name = props.get("stackName") or artifact_id
        templates[name] = json.loads((assembly_dir / props["templateFile"]).read_text())
    return templates


def main(argv: Sequence[str] | None = None) -> int:
    """``python -m constructs_lib.replacement_guard {check,update} --env ENV ASSEMBLY_DIR``.

    ``check`` exits 1 when the report is not ok. ``update`` re-records the baselines; it
    refuses (exit 1) while a finding is neither acknowledged nor ``--force``d, and then lists
    the acknowledgements the new baseline makes stale (remove them from the file).
    """
    parser = argparse.ArgumentParser(prog="python -m constructs_lib.replacement_guard")
    parser.add_argument("command", choices=["check", "update"])
    parser.add_argument("assembly", type=Path, help="a cdk synth output directory")
    parser.add_argument("--env", required=True, help="environment name (baseline subdirectory)")
    parser.add_argument("--baselines", type=Path, default=Path("replacement-guard"))
    parser.add_argument("--ack", type=Path, default=Path("replacement-guard/ack.json"))
    parser.add_argument("--force", action="store_true", help="update despite blocking findings")
    args = parser.parse_args(argv)
    try:
        acks = load_acknowledgements(args.ack)
    except EcskitValidationError as exc:
        print(f"replacement guard: {exc}", file=sys.stderr)
        return 1
    templates = read_assembly(args.assembly)
    report = check(args.env, templates, args.baselines, acks)
    if args.command == "check":
        print(report.render())
        return 0 if report.ok else 1
    if report.blocking and not args.force:
        print(report.render(), file=sys.stderr)
        print("replacement guard: not updating (acknowledge or pass --force)", file=sys.stderr)
        return 1
    for path in write_baselines(args.env, templates, args.baselines):
        print(f"wrote {path}")
    stale = check(args.env, templates, args.baselines, acks).stale
    for ack in stale:
        print(f"now recorded in the baseline, remove from {args.ack}: {ack}")
    return 0


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
