"""cdk-nag (AwsSolutions) acknowledgements of the ecskit app: every one, with its reason, as data.

``build_app`` runs the AwsSolutions pack over every stack as a CDK validation plugin, so
``cdk synth`` fails on any finding that is neither fixed nor listed here. Each entry names one
finding (the exact id cdk-nag prints; IAM findings with their ``[Resource::...]``/
``[Action::...]``/``[Policy::...]`` part), the resources it applies to (a construct path
pattern inside one stack kind, optionally a condition such as "internet-facing ALB") and a
reason a reviewer can check. Patterns, not fixed paths: any valid configuration (another
capacity or service name) synthesizes with the same list.

* An entry that matched resources in an environment but suppressed none of them is stale
  (:func:`stale_acknowledgements`): ``python app.py`` / ``cdk synth`` fails on it;
  ``tests/test_nag.py`` also fails on an entry that suppresses nothing in dev and prod.
* README.md ("Security and compliance") carries :func:`markdown_table`, checked by the tests.

Findings in ``constructs_lib`` are fixed in the constructs; what is listed here is inherent to
AWS or aws-cdk-lib (see the constructs' docstrings) or a choice of the configuration
(``cdk.json``: public ingress, no access logs in dev).

Finding ids may contain ``{region}``, ``{account}`` (``<AWS::AccountId>`` when the environment
pins none), ``{prefix}`` (``<app>-<env>``) and ``{capacity_asg}`` (the logical id of the
capacity's Auto Scaling group): cdk-nag prints resolved ARNs in them.
"""

from __future__ import annotations

import fnmatch
import json
import re
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Final

from constructs_lib.errors import EcskitValidationError

if TYPE_CHECKING:
    from constructs import Construct

PACK: Final = "AwsSolutions"
"""The cdk-nag pack (the validation plugin's name, the prefix of acknowledgement ids)."""

REPORT_FILE: Final = "validation-report.json"
"""The cloud assembly's validation report (aws-cdk-lib 2.275 writes it whenever a validation
plugin runs): per plugin its ``violations`` and ``suppressedViolations`` (with
``acknowledgedId``, ``reason``, ``acknowledgedAt``)."""

LEGACY_REPORT_FILE: Final = "policy-validation-report.json"
"""The legacy report (``@aws-cdk/core:validationReportJson`` in cdk.json): unsuppressed
violations only, a plugin listed only when it has some."""


Condition = Callable[["Construct"], bool]
"""Whether an acknowledgement applies to a matched resource (given the resource construct)."""


def _parent(node: Construct, levels: int = 1) -> Any:
    for _ in range(levels):
        node = node.node.scope  # type: ignore[assignment]
    return node


def _internet_facing_alb(resource: Construct) -> bool:
    return bool(getattr(_parent(resource, 2), "internet_facing", False))


def _alb_without_access_logs(resource: Construct) -> bool:
    return getattr(_parent(resource, 2), "access_logs_bucket", True) is None


def _nlb_without_tls(resource: Construct) -> bool:
    return getattr(_parent(resource, 2), "certificate", True) is None


def _scheduled_job_queue(resource: Construct) -> bool:
    from constructs_lib.scheduled_job import ScheduledJob  # noqa: PLC0415

    return isinstance(_parent(resource, 2), ScheduledJob)


def _bottlerocket_capacity(resource: Construct) -> bool:
    from constructs_lib.cluster import MachineImageKind  # noqa: PLC0415

    kind = getattr(_parent(resource, 2), "machine_image_kind", None)
    return kind is MachineImageKind.BOTTLEROCKET


def _vpc_without_flow_logs(resource: Construct) -> bool:
    return getattr(_parent(resource, 2), "flow_log", True) is None


def _cluster_without_insights(resource: Construct) -> bool:
    from aws_cdk import aws_ecs as ecs  # noqa: PLC0415

    setting = getattr(_parent(resource, 2), "container_insights", None)
    return setting is ecs.ContainerInsights.DISABLED


CONDITIONS: Final[dict[str, Condition]] = {
    "cluster without Container Insights": _cluster_without_insights,
    "VPC without flow logs": _vpc_without_flow_logs,
    "Bottlerocket capacity": _bottlerocket_capacity,
    "internet-facing ALB": _internet_facing_alb,
    "ALB without access logs": _alb_without_access_logs,
    "NLB without TLS listener": _nlb_without_tls,
    "a ScheduledJob's queue": _scheduled_job_queue,
}
"""The named conditions :attr:`NagAcknowledgement.when` may use."""


@dataclass(frozen=True)
class NagAcknowledgement:
    """One acknowledged cdk-nag finding, on the resources a path pattern matches.

    :param stack: ``Network``, ``Platform`` or ``Services`` (the stack kind, see ``build_app``).
    :param path: construct path of the CloudFormation resource inside the stack; ``*`` matches
        one path segment (a capacity, load balancer or service name).
    :param finding: the finding id as cdk-nag prints it, e.g. ``AwsSolutions-IAM5[Resource::*]``;
        ``{region}``, ``{account}``, ``{prefix}`` and ``{capacity_asg}`` are filled in.
    :param reason: why it is not a problem here; checked by a reviewer, shown in README.md.
    :param when: the name of a condition in :data:`CONDITIONS` the resource must meet.
        Default: none (every matched resource).
    """

    stack: str
    path: str
    finding: str
    reason: str
    when: str | None = None

    @property
    def display_finding(self) -> str:
        """The finding as people read it: placeholders kept, ``{{``/``}}`` unescaped."""
        return self.finding.format(
            region="{region}", account="{account}", prefix="{prefix}", capacity_asg="{capacity_asg}"
        )

    def matches(self, relative_path: str, resource: Construct) -> bool:
        return _glob(relative_path, self.path) and (
            self.when is None or CONDITIONS[self.when](resource)
        )


_BOTTLEROCKET = (
    "Bottlerocket container instances (machine_image bottlerocket, prod): aws-cdk-lib attaches "
    "this AWS-maintained policy to the instance role of a Bottlerocket capacity provider"
)
_INFRASTRUCTURE = (
    "Canary/blue-green deployment: the AWS-maintained policy ECS documents for the role that "
    "moves listener rules between target groups; only ecs.amazonaws.com assumes it"
)

ACKNOWLEDGEMENTS: Final[tuple[NagAcknowledgement, ...]] = (
    # --- Network -----------------------------------------------------------------------------
    NagAcknowledgement(
        "Network",
        "Network/Resource/Resource",
        "AwsSolutions-VPC7",
        "cdk.json sets network.flow_logs: false for this environment, an explicit opt-out "
        "(e.g. a throwaway environment); the default records ALL traffic to CloudWatch Logs, "
        "and dev and prod keep it",
        "VPC without flow logs",
    ),
    # --- Platform: cluster ---------------------------------------------------------------------
    NagAcknowledgement(
        "Platform",
        "Cluster/Cluster/Resource",
        "AwsSolutions-ECS4",
        "cdk.json sets cluster.container_insights: disabled for this environment, an explicit "
        "opt-out (Container Insights is billed per metric); the default is enhanced and dev "
        "and prod keep it on",
        "cluster without Container Insights",
    ),
    # --- Platform: EC2 capacity (ComputeCluster.add_ec2_capacity) ---------------------------
    NagAcknowledgement(
        "Platform",
        "Cluster/*/InstanceRole/DefaultPolicy/Resource",
        "AwsSolutions-IAM5[Action::ecs:Submit*]",
        "ECS agent permissions written by aws-cdk-lib for every container instance role "
        "(SubmitContainerStateChange, SubmitTaskStateChange, SubmitAttachmentStateChanges), on "
        "this cluster's ARN only; the same grant as AWS's AmazonEC2ContainerServiceforEC2Role",
    ),
    NagAcknowledgement(
        "Platform",
        "Cluster/*/InstanceRole/DefaultPolicy/Resource",
        "AwsSolutions-IAM5[Resource::*]",
        "ECS agent permissions written by aws-cdk-lib: ecr:GetAuthorizationToken and "
        "ecs:DiscoverPollEndpoint support no resource-level permissions; ecs:Poll and "
        "ecs:StartTelemetrySession are limited to this cluster by an ecs:cluster condition; "
        "logs:CreateLogStream/PutLogEvents on * is aws-cdk-lib's default for the agent "
        "(tasks log with their own execution roles)",
    ),
    NagAcknowledgement(
        "Platform",
        "Cluster/*/InstanceRole/Resource",
        "AwsSolutions-IAM4[Policy::arn:<AWS::Partition>:iam::aws:policy/service-role/"
        "AmazonEC2ContainerServiceforEC2Role]",
        f"{_BOTTLEROCKET}: the ECS agent's permissions, kept current by AWS",
        "Bottlerocket capacity",
    ),
    NagAcknowledgement(
        "Platform",
        "Cluster/*/InstanceRole/Resource",
        "AwsSolutions-IAM4[Policy::arn:<AWS::Partition>:iam::aws:policy/"
        "AmazonSSMManagedInstanceCore]",
        f"{_BOTTLEROCKET}: SSM access to the control container (there is no SSH)",
        "Bottlerocket capacity",
    ),
    NagAcknowledgement(
        "Platform",
        "Cluster/*/AutoScalingGroup/ASG",
        "AwsSolutions-EC26",
        "The rule throws on an Auto Scaling group whose launch template comes through a "
        "MixedInstancesPolicy; every block device of the launch template is an encrypted gp3 "
        "volume (tests/test_cluster.py::test_launch_template_hardening)",
    ),
    NagAcknowledgement(
        "Platform",
        "Cluster/*/AutoScalingGroup/ASG",
        "AwsSolutions-AS3",
        "The group is scaled by ECS managed scaling (capacity provider), not by people: its "
        "scaling activity is in the group's activity history and ECS's capacity provider "
        "metrics; nobody would act on raw Auto Scaling notifications",
    ),
    NagAcknowledgement(
        "Platform",
        "Cluster/*/TeardownRole/DefaultPolicy/Resource",
        "AwsSolutions-IAM5[Resource::*]",
        "autoscaling:DescribeAutoScalingGroups and autoscaling:DescribeLifecycleHooks (read "
        "only) support no resource-level permissions",
    ),
    NagAcknowledgement(
        "Platform",
        "Cluster/*/TeardownRole/DefaultPolicy/Resource",
        "AwsSolutions-IAM5[Resource::arn:aws:autoscaling:{region}:{account}:autoScalingGroup:*"
        ":autoScalingGroupName/<{capacity_asg}>]",
        "The * is the group's generated id in the Auto Scaling ARN format; the statement names "
        "this capacity's one group by name",
    ),
    # --- Services: load balancers --------------------------------------------------------------
    NagAcknowledgement(
        "Services",
        "LoadBalancers/*/SecurityGroup/Resource",
        "AwsSolutions-EC23",
        "A public entry point: the load balancer is internet-facing and cdk.json gives it "
        "ingress_cidrs 0.0.0.0/0; it admits them on its listener ports only",
        "internet-facing ALB",
    ),
    NagAcknowledgement(
        "Services",
        "LoadBalancers/*/Resource/Resource",
        "AwsSolutions-ELB2",
        "cdk.json sets access_logs: false for this load balancer (dev: a short-lived "
        "environment, no log bucket to pay for); prod writes access logs (365 days)",
        "ALB without access logs",
    ),
    NagAcknowledgement(
        "Services",
        "LoadBalancers/*/AccessLogs/Resource",
        "AwsSolutions-S1",
        "This bucket receives the load balancer's access logs; logging the accesses to the log "
        "bucket would need yet another bucket. It is private, SSL-only, SSE-S3, with expiry",
    ),
    NagAcknowledgement(
        "Services",
        "*/LoadBalancer/Resource",
        "AwsSolutions-ELB2",
        "Network Load Balancers write access logs for TLS listeners only; this one listens on "
        "TCP or UDP",
        "NLB without TLS listener",
    ),
    # --- Services: tasks, schedules, deployments -----------------------------------------------
    NagAcknowledgement(
        "Services",
        "*/TaskDefinition/Resource/Resource",
        "AwsSolutions-ECS2",
        "Plain environment variables hold non-secret settings only (APP_ENV, a worker's "
        "QUEUE_URL); secrets are injected from Secrets Manager/SSM (ContainerSpec.secrets) and "
        "never appear in the template",
    ),
    NagAcknowledgement(
        "Services",
        "*/DeadLetterQueue/Resource",
        "AwsSolutions-SQS3",
        "This queue is itself a dead-letter queue: the scheduled job's DeadLetterConfig "
        "(EventBridge Scheduler); the rule only recognises SQS redrive policies",
        "a ScheduledJob's queue",
    ),
    NagAcknowledgement(
        "Services",
        "SchedulerRoleForTarget-*/DefaultPolicy/Resource",
        'AwsSolutions-IAM5[Resource::arn:aws:ecs:{region}:{account}:task/{{"Fn::GetStackOutput"'
        ':{{"StackName":"{prefix}-Platform","Region":"{region}","OutputName":'
        '"PublishOutputRefClusterC2E21B66244540A5"}}}}/*]',
        "ecs:TagResource on the tasks the scheduled jobs start in this cluster (task ids are "
        "not known in advance), written by aws-cdk-lib's EcsRunFargateTask/EcsRunEc2Task target",
    ),
    NagAcknowledgement(
        "Services",
        "*/InfrastructureRole/Resource",
        "AwsSolutions-IAM4[Policy::arn:<AWS::Partition>:iam::aws:policy/"
        "AmazonECSInfrastructureRolePolicyForLoadBalancers]",
        _INFRASTRUCTURE,
    ),
)


@dataclass(frozen=True)
class ResolvedAcknowledgement:
    """An entry of :data:`ACKNOWLEDGEMENTS` applied to one resource."""

    entry: NagAcknowledgement
    construct_path: str
    """Full construct path of the resource, ``<stack name>/<path>``."""
    acknowledged_id: str
    """``AwsSolutions::<finding id>``, as CDK records it."""
    resource: Any = field(default=None, compare=False, repr=False)
    """The resource construct (None when built from data only)."""


def match_acknowledgements(
    stacks: Mapping[str, Any],
    *,
    region: str,
    account: str | None,
    prefix: str,
    acknowledgements: Iterable[NagAcknowledgement] = ACKNOWLEDGEMENTS,
) -> list[ResolvedAcknowledgement]:
    """Every (entry, resource) pair: the resources each entry's pattern and condition match,
    with the finding id filled in. ``stacks`` maps kind (``Platform``) to stack. No side
    effects (:func:`acknowledge` applies them). An entry may match nothing in one environment
    (e.g. no EC2 capacity)."""
    import aws_cdk as cdk  # noqa: PLC0415 - this module is importable without jsii

    entries = list(acknowledgements)
    unknown = [e.when for e in entries if e.when is not None and e.when not in CONDITIONS]
    if unknown:
        raise EcskitValidationError(
            f"stacks/compliance.py: unknown condition {unknown[0]!r}; one of {sorted(CONDITIONS)}"
        )
    applied = []
    for kind, stack in stacks.items():
        mine = [e for e in entries if e.stack == kind]
        if not mine:
            continue
        prefix_len = len(stack.node.path) + 1
        for node in stack.node.find_all():
            if not cdk.CfnResource.is_cfn_resource(node):
                continue
            relative = node.node.path[prefix_len:]
            for entry in mine:
                if not entry.matches(relative, node):
                    continue
                finding = entry.finding.format(
                    region=region,
                    account=account or "<AWS::AccountId>",
                    prefix=prefix,
                    capacity_asg=_capacity_asg(node) if "{capacity_asg}" in entry.finding else "",
                )
                applied.append(
                    ResolvedAcknowledgement(entry, node.node.path, f"{PACK}::{finding}", node)
                )
    return applied


def acknowledge(resolved: Iterable[ResolvedAcknowledgement]) -> None:
    """``Validations.of(resource).acknowledge(...)`` for each matched pair, with its reason."""
    import aws_cdk as cdk  # noqa: PLC0415

    for ack in resolved:
        cdk.Validations.of(ack.resource).acknowledge(
            cdk.Acknowledgment(id=ack.acknowledged_id, reason=ack.entry.reason)
        )


def _capacity_asg(resource: Construct) -> str:
    """Logical id of the Auto Scaling group of the EC2 capacity ``resource`` belongs to."""
    from aws_cdk import Stack  # noqa: PLC0415

    capacity = _parent(resource, 3)  # <capacity>/TeardownRole/DefaultPolicy/Resource
    cfn = capacity.auto_scaling_group.node.default_child
    return str(Stack.of(cfn).resolve(cfn.logical_id))


def read_report(assembly_dir: str | Path, name: str = REPORT_FILE) -> dict[str, Any]:
    """A report of the cloud assembly in ``assembly_dir``: :data:`REPORT_FILE` by default."""
    report: dict[str, Any] = json.loads((Path(assembly_dir) / name).read_text())
    return report


def suppressed(report: Mapping[str, Any]) -> list[dict[str, Any]]:
    """The report's acknowledged (suppressed) violations of the AwsSolutions plugin."""
    return [
        violation
        for plugin in report.get("pluginReports", [])
        if plugin.get("pluginName") == PACK
        for violation in plugin.get("suppressedViolations") or []
    ]


def unsuppressed(report: Mapping[str, Any]) -> list[tuple[str, str]]:
    """``(finding, construct path)`` of every violation the report did not suppress, of
    every plugin (either report format)."""
    return [
        (violation["ruleName"], construct["constructPath"])
        for plugin in report.get("pluginReports", [])
        for violation in plugin.get("violations", [])
        for construct in violation.get("violatingConstructs", [])
    ]


def suppressed_by(
    report: Mapping[str, Any], resolved: Iterable[ResolvedAcknowledgement]
) -> dict[NagAcknowledgement, int]:
    """How many violations in ``report`` each matched entry suppressed (0: stale there)."""
    hits = {
        (construct["constructPath"], violation.get("acknowledgedId"))
        for violation in suppressed(report)
        for construct in violation.get("violatingConstructs", [])
    }
    counts: dict[NagAcknowledgement, int] = {}
    for ack in resolved:
        used = (ack.construct_path, ack.acknowledged_id) in hits
        counts[ack.entry] = counts.get(ack.entry, 0) + int(used)
    return counts


def stale_acknowledgements(
    report: Mapping[str, Any], resolved: Iterable[ResolvedAcknowledgement]
) -> list[NagAcknowledgement]:
    """The entries that matched resources but suppressed no violation in ``report``: they
    would hide a future finding. (Entries that matched nothing are not in ``resolved``.)"""
    return [entry for entry, count in suppressed_by(report, resolved).items() if count == 0]


def entry_for(
    violation: Mapping[str, Any],
    construct_path: str,
    acknowledgements: Iterable[NagAcknowledgement] = ACKNOWLEDGEMENTS,
) -> NagAcknowledgement | None:
    """The entry that suppressed ``violation`` (a suppressed violation of the report) on
    ``construct_path``, found from the data alone (stack kind, path pattern, finding, reason),
    or None when it was acknowledged outside this module."""
    stack_name, _, relative = construct_path.partition("/")
    kind = stack_name.rsplit("-", 1)[-1]
    acknowledged = str(violation.get("acknowledgedId", "")).removeprefix(f"{PACK}::")
    for entry in acknowledgements:
        pattern = re.escape(entry.finding.replace("{{", "{").replace("}}", "}"))
        for name in ("region", "account", "prefix", "capacity_asg"):
            pattern = pattern.replace(re.escape("{" + name + "}"), "[^/]+?")
        if (
            entry.stack == kind
            and entry.reason == violation.get("reason")
            and re.fullmatch(pattern, acknowledged)
            and _glob(relative, entry.path)
        ):
            return entry
    return None


def _glob(relative_path: str, pattern: str) -> bool:
    parts, patterns = relative_path.split("/"), pattern.split("/")
    return len(parts) == len(patterns) and all(
        fnmatch.fnmatchcase(p, q) for p, q in zip(parts, patterns, strict=True)
    )


def markdown_table(acknowledgements: Iterable[NagAcknowledgement] = ACKNOWLEDGEMENTS) -> str:
    """The README table of every acknowledgement (README.md, "Security and compliance")."""
    lines = [
        "| Finding | Resource (stack: construct path) | When | Reason |",
        "| --- | --- | --- | --- |",
    ]
    for entry in acknowledgements:
        envs = entry.when or "always"
        cells = (
            f"`{entry.display_finding}`",
            f"{entry.stack}: `{entry.path}`",
            envs,
            entry.reason.replace("|", "\\|"),
        )
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines)
