"""Alarms for the service patterns, the notification topic, ECS event notifications.

* :class:`NotificationTopic`: the SNS topic alarms and events go to, created (KMS-encrypted with
  a customer key CloudWatch and EventBridge may use, TLS only) or imported by ARN; email
  subscriptions.
* :class:`ServiceAlarms`: CPU, memory, running tasks, ALB / NLB and queue alarms of one service,
  thresholds named with direction and unit and grouped by severity, defaults first and the
  caller's overrides last; names ``<prefix>-<what>-<severity>``. The critical alarms that mean a
  bad release become the service's deployment alarms with rollback (``rollback_on_alarm``).
* :class:`EcsEventNotifications`: EventBridge rules on ECS events (failed deployments, tasks
  that stop with an error) to the topic.

Metric factories live in :mod:`constructs_lib.metrics`; this module only wires alarms.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Final

import jsii
from aws_cdk import Stack, Token
from aws_cdk import aws_cloudwatch as cw
from aws_cdk import aws_cloudwatch_actions as cw_actions
from aws_cdk import aws_events as events
from aws_cdk import aws_iam as iam
from aws_cdk import aws_kms as kms
from aws_cdk import aws_sns as sns
from aws_cdk import aws_sns_subscriptions as subscriptions
from aws_cdk import aws_sqs as sqs
from constructs import Construct

from constructs_lib import metrics
from constructs_lib._service_base import EcsServiceBase
from constructs_lib._validate import (
    SEVERITIES,
    check_evaluation,
    check_threshold,
)
from constructs_lib.cluster import ComputeCluster
from constructs_lib.errors import invalid
from constructs_lib.network_service import NetworkService
from constructs_lib.web_service import WebService
from constructs_lib.worker_service import WorkerService

_EMAIL = r"^[^@\s]+@[^@\s]+\.[^@\s]+$"


@dataclass(frozen=True)
class Threshold:
    """A threshold with its own evaluation window.

    :param value: the threshold, in the unit its name says.
    :param evaluation_periods: 1-minute periods evaluated. Default: the alarm's default.
    :param datapoints: breaching periods (of those) that fire the alarm. Default: the alarm's.
    """

    value: float
    evaluation_periods: int | None = None
    datapoints: int | None = None


ThresholdValue = float | int | Threshold | None
"""A number, a :class:`Threshold`, or None (that alarm is off at that severity)."""

Thresholds = Mapping[str, Mapping[str, ThresholdValue]]
"""``{"warning": {"max_cpu_percent": 80, ...}, "critical": {...}}``."""

DEFAULT_THRESHOLDS: Final[dict[str, dict[str, float]]] = {
    "warning": {
        "max_cpu_percent": 80,
        "max_memory_percent": 80,
        "max_5xx_percent": 1,
        "max_elb_5xx_count": 10,
        "max_p99_latency_ms": 1000,
        "max_rejected_connections": 0,
        "max_tcp_resets": 100,
        "max_queue_age_seconds": 300,
    },
    "critical": {
        "max_cpu_percent": 95,
        "max_memory_percent": 95,
        "min_running_tasks_percent": 100,
        "max_5xx_percent": 5,
        "max_unhealthy_hosts": 0,
        "max_queue_age_seconds": 900,
        "max_dlq_messages": 0,
    },
}
"""What every service gets unless overridden (thresholds not applicable to a kind are skipped)."""

BAD_RELEASE_THRESHOLDS: Final = (
    "max_5xx_percent",
    "max_unhealthy_hosts",
    "min_running_tasks_percent",
)
"""Critical alarms that signal a bad release: the service's deployment alarms."""

GT = cw.ComparisonOperator.GREATER_THAN_THRESHOLD
LT = cw.ComparisonOperator.LESS_THAN_THRESHOLD


@dataclass(frozen=True)
class _Spec:
    what: str
    metric: Callable[[Any], cw.IMetric | None]
    comparison: cw.ComparisonOperator
    missing: cw.TreatMissingData
    evaluation_periods: int
    datapoints: int
    scale: float = 1.0  # threshold unit -> metric unit
    uses_service_name: bool = False


def _web(fn: Callable[[WebService], cw.IMetric]) -> Callable[[Any], cw.IMetric | None]:
    return lambda s: fn(s) if isinstance(s, WebService) else None


def _nlb(fn: Callable[[NetworkService], cw.IMetric]) -> Callable[[Any], cw.IMetric | None]:
    return lambda s: fn(s) if isinstance(s, NetworkService) else None


def _worker(fn: Callable[[WorkerService], cw.IMetric]) -> Callable[[Any], cw.IMetric | None]:
    return lambda s: fn(s) if isinstance(s, WorkerService) and s.queue is not None else None


def _unhealthy(s: Any) -> cw.IMetric | None:
    if isinstance(s, WebService):
        return s.metric_unhealthy_host_count()
    if isinstance(s, NetworkService):
        return metrics.nlb_target_metric(
            "UnHealthyHostCount", s.load_balancer, s.target_group, statistic="Maximum"
        )
    return None


def _name(queue: sqs.Queue | None) -> str:
    assert queue is not None  # _worker() only calls with a queue
    return queue.queue_name


NOT_BREACHING = cw.TreatMissingData.NOT_BREACHING
MISSING = cw.TreatMissingData.MISSING

_SPECS: Final[dict[str, _Spec]] = {
    "max_cpu_percent": _Spec(
        "cpu", lambda s: s.metric_cpu_utilization(), GT, MISSING, 5, 5, uses_service_name=True
    ),
    "max_memory_percent": _Spec(
        "memory", lambda s: s.metric_memory_utilization(), GT, MISSING, 5, 5,
        uses_service_name=True,
    ),
    # Missing: Container Insights off, or no task ever started; neither is a bad release.
    "min_running_tasks_percent": _Spec(
        "running-tasks",
        lambda s: metrics.running_tasks_percent(s.cluster.cluster.cluster_name, s.service_name),
        LT, MISSING, 5, 5, uses_service_name=True,
    ),
    # No requests means no errors.
    "max_5xx_percent": _Spec(
        "target-5xx-rate", _web(lambda s: s.metric_http_code_target_5xx_percent()),
        GT, NOT_BREACHING, 3, 3,
    ),
    "max_elb_5xx_count": _Spec(
        "elb-5xx",
        _web(lambda s: metrics.alb_metric("HTTPCode_ELB_5XX_Count", s.load_balancer.load_balancer)),
        GT, NOT_BREACHING, 5, 3,
    ),
    "max_p99_latency_ms": _Spec(
        "p99-latency", _web(lambda s: s.metric_target_response_time("p99")),
        GT, NOT_BREACHING, 5, 3, scale=0.001,
    ),
    "max_unhealthy_hosts": _Spec("unhealthy-hosts", _unhealthy, GT, NOT_BREACHING, 3, 2),
    "max_rejected_connections": _Spec(
        "rejected-connections",
        _web(
            lambda s: metrics.alb_metric("RejectedConnectionCount", s.load_balancer.load_balancer)
        ),
        GT, NOT_BREACHING, 1, 1,
    ),
    "max_tcp_resets": _Spec(
        "tcp-resets",
        # A load balancer metric (no TargetGroup dimension); each NetworkService has its own NLB.
        _nlb(lambda s: metrics.nlb_metric("TCP_Target_Reset_Count", s.load_balancer)),
        GT, NOT_BREACHING, 5, 5,
    ),
    "max_queue_age_seconds": _Spec(
        "queue-age",
        _worker(lambda s: metrics.sqs_metric("ApproximateAgeOfOldestMessage", _name(s.queue))),
        GT, NOT_BREACHING, 5, 5,
    ),
    "max_dlq_messages": _Spec(
        "dlq-not-empty",
        _worker(
            lambda s: metrics.sqs_metric(
                "ApproximateNumberOfMessagesVisible", _name(s.dead_letter_queue)
            )
        ),
        GT, NOT_BREACHING, 1, 1,
    ),
}  # fmt: skip


def merge_thresholds(prop: str, overrides: Thresholds | None) -> dict[str, dict[str, Threshold]]:
    """Defaults first, ``overrides`` last; None switches an alarm off. Validated."""
    merged: dict[str, dict[str, ThresholdValue]] = {
        sev: dict(values) for sev, values in DEFAULT_THRESHOLDS.items()
    }
    for severity, values in (overrides or {}).items():
        if severity not in SEVERITIES:
            raise invalid(f"{prop}", severity, f"a severity, one of {list(SEVERITIES)}")
        merged[severity].update(values)
    result: dict[str, dict[str, Threshold]] = {}
    for severity, values in merged.items():
        result[severity] = {}
        for name, raw in values.items():
            where = f"{prop}.{severity}"
            if raw is None:
                check_threshold(where, name, 0)
                continue
            threshold = raw if isinstance(raw, Threshold) else Threshold(float(raw))
            check_threshold(where, name, threshold.value)
            spec = _SPECS[name]
            check_evaluation(
                f"{where}.{name}",
                threshold.evaluation_periods or spec.evaluation_periods,
                threshold.datapoints or min(spec.datapoints, threshold.evaluation_periods or 99),
            )
            result[severity][name] = threshold
    return result


class NotificationTopic(Construct):
    """The SNS topic an environment's alarms and ECS events go to.

    Created: encrypted with a new customer-managed KMS key (rotation on) whose policy lets
    CloudWatch and EventBridge publish (they cannot use the AWS-managed ``alias/aws/sns`` key),
    TLS-only, CloudWatch alarms of this account allowed to publish. Imported (``topic_arn``):
    used as is; its owner must allow ``cloudwatch.amazonaws.com`` and ``events.amazonaws.com``.

    Attributes: ``topic`` (``sns.ITopic``), ``key`` (the KMS key, or None when imported).
    """

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        topic_arn: str | None = None,
        topic_name: str | None = None,
        emails: Sequence[str] = (),
    ) -> None:
        """:param topic_arn: use this existing topic. Default: create one.
        :param topic_name: the created topic's name. Default: generated.
        :param emails: addresses subscribed to the topic (each confirms by email).
            Default: none.
        """
        super().__init__(scope, construct_id)
        import re  # noqa: PLC0415

        for i, email in enumerate(emails):
            if not re.match(_EMAIL, email):
                raise invalid(f"NotificationTopic.emails[{i}]", email, "an email address")
        arn_pattern = r"^arn:aws[a-z-]*:sns:[a-z0-9-]+:[0-9]{12}:[A-Za-z0-9_-]+$"
        if (
            topic_arn is not None
            and not Token.is_unresolved(topic_arn)
            and not re.match(arn_pattern, topic_arn)
        ):
            raise invalid("NotificationTopic.topic_arn", topic_arn, "an SNS topic ARN")
        self.key: kms.Key | None = None
        """The topic's KMS key (created topics only)."""
        self.created = topic_arn is None
        """Whether the topic is created here (so its policy can be extended)."""
        if topic_arn is not None:
            self.topic: sns.ITopic = sns.Topic.from_topic_arn(self, "Resource", topic_arn)
            """The notification topic."""
        else:
            self.key = kms.Key(
                self,
                "Key",
                enable_key_rotation=True,
                description="Encrypts the ecskit notification topic",
            )
            for service in ("cloudwatch.amazonaws.com", "events.amazonaws.com"):
                self.key.add_to_resource_policy(
                    iam.PolicyStatement(
                        principals=[iam.ServicePrincipal(service)],
                        actions=["kms:Decrypt", "kms:GenerateDataKey*"],
                        resources=["*"],
                        conditions={"StringEquals": {"aws:SourceAccount": Stack.of(self).account}},
                    )
                )
            topic = sns.Topic(
                self, "Resource", topic_name=topic_name, master_key=self.key, enforce_ssl=True
            )
            topic.add_to_resource_policy(
                iam.PolicyStatement(
                    sid="CloudWatchAlarms",
                    principals=[iam.ServicePrincipal("cloudwatch.amazonaws.com")],
                    actions=["sns:Publish"],
                    resources=[topic.topic_arn],
                    conditions={"StringEquals": {"aws:SourceAccount": Stack.of(self).account}},
                )
            )
            self.topic = topic
        for i, email in enumerate(emails):
            self.topic.add_subscription(subscriptions.EmailSubscription(email))
            del i

    def allow_events_from(self, rule: events.IRule) -> None:
        """Let EventBridge publish to the topic for ``rule`` only (``aws:SourceArn``)."""
        if self.created:
            self.topic.add_to_resource_policy(
                iam.PolicyStatement(
                    principals=[iam.ServicePrincipal("events.amazonaws.com")],
                    actions=["sns:Publish"],
                    resources=[self.topic.topic_arn],
                    conditions={"ArnEquals": {"aws:SourceArn": rule.rule_arn}},
                )
            )


@jsii.implements(events.IRuleTarget)
class _TopicTarget:
    """An SNS target without CDK's unconditioned topic policy (we add a scoped one)."""

    def __init__(self, topic: NotificationTopic) -> None:
        self._topic = topic

    def bind(self, rule: events.IRule, id: str | None = None) -> events.RuleTargetConfig:  # noqa: ARG002
        self._topic.allow_events_from(rule)
        return events.RuleTargetConfig(arn=self._topic.topic.topic_arn)


class ServiceAlarms(Construct):
    """The alarms of one service, to ``topic``; the bad-release ones roll deployments back.

    Thresholds (``{"warning": {...}, "critical": {...}}``, see :data:`DEFAULT_THRESHOLDS`):
    ``max_cpu_percent``, ``max_memory_percent``, ``min_running_tasks_percent`` (Container
    Insights running ÷ desired), and where they apply ``max_5xx_percent`` (target 5xx ÷
    requests), ``max_elb_5xx_count``, ``max_p99_latency_ms``, ``max_unhealthy_hosts``,
    ``max_rejected_connections`` (ALB), ``max_unhealthy_hosts``, ``max_tcp_resets`` (NLB),
    ``max_queue_age_seconds``, ``max_dlq_messages`` (worker queue). Each evaluates 1-minute
    periods with its own evaluation periods / datapoints and missing-data treatment.

    Attributes: ``alarms`` (``{"<what>-<severity>": cw.Alarm}``), ``deployment_alarm_names``.
    """

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        service: EcsServiceBase,
        alarm_name_prefix: str,
        topic: NotificationTopic | None = None,
        thresholds: Thresholds | None = None,
        rollback_on_alarm: bool | None = None,
    ) -> None:
        """:param service: a ``WebService``, ``NetworkService`` or ``WorkerService``.
        :param alarm_name_prefix: alarm names are ``<prefix>-<what>-<severity>``, e.g.
            ``ecskit-dev-web`` -> ``ecskit-dev-web-cpu-warning``.
        :param topic: where alarm (and, for critical, OK) notifications go. Default: none.
        :param thresholds: overrides of :data:`DEFAULT_THRESHOLDS` by severity; None turns an
            alarm off. Default: the defaults.
        :param rollback_on_alarm: make the critical 5xx-rate, unhealthy-hosts and running-tasks
            alarms the service's deployment alarms, with rollback. Default: True for a
            ``WebService``, False otherwise.
        """
        super().__init__(scope, construct_id)
        prop = f"{type(self).__name__}.thresholds"
        if not Token.is_unresolved(alarm_name_prefix) and not alarm_name_prefix.strip():
            raise invalid("ServiceAlarms.alarm_name_prefix", alarm_name_prefix, "non-empty")
        merged = merge_thresholds(prop, thresholds)
        if rollback_on_alarm is None:
            rollback_on_alarm = isinstance(service, WebService)
        self.alarms: dict[str, cw.Alarm] = {}
        """The alarms by ``<what>-<severity>``."""
        self.deployment_alarm_names: list[str] = []
        """Names of the alarms that roll a deployment back (empty unless rollback_on_alarm)."""
        for severity in SEVERITIES:
            for name, threshold in merged[severity].items():
                spec = _SPECS[name]
                metric = spec.metric(service)
                if metric is None:
                    continue
                key = f"{spec.what}-{severity}"
                periods = threshold.evaluation_periods or spec.evaluation_periods
                datapoints = threshold.datapoints or min(spec.datapoints, periods)
                alarm = cw.Alarm(
                    self,
                    key,
                    alarm_name=f"{alarm_name_prefix}-{key}",
                    alarm_description=(
                        f"{severity}: {name.replace('_', ' ')} {threshold.value:g} "
                        f"({datapoints} of {periods} minutes)"
                    ),
                    metric=metric,
                    threshold=threshold.value * spec.scale,
                    comparison_operator=spec.comparison,
                    evaluation_periods=periods,
                    datapoints_to_alarm=datapoints,
                    treat_missing_data=spec.missing,
                )
                if topic is not None:
                    action = cw_actions.SnsAction(topic.topic)
                    alarm.add_alarm_action(action)
                    if severity == "critical":
                        alarm.add_ok_action(action)
                self.alarms[key] = alarm
                if rollback_on_alarm and severity == "critical" and name in BAD_RELEASE_THRESHOLDS:
                    self.deployment_alarm_names.append(f"{alarm_name_prefix}-{key}")
                    if not spec.uses_service_name:
                        # The alarm exists before the service deploys with it. (Alarms on the
                        # service's own metrics cannot: that would be a cycle; ECS reads them by
                        # name during a deployment.)
                        cfn_service = service.service.node.default_child
                        assert cfn_service is not None
                        cfn_service.node.add_dependency(alarm)
        if self.deployment_alarm_names:
            service.add_deployment_alarms(self.deployment_alarm_names, rollback=True)


class EcsEventNotifications(Construct):
    """EventBridge rules that send a cluster's failed deployments (``ECS Deployment State
    Change`` / ``SERVICE_DEPLOYMENT_FAILED``) and tasks that stop with an error (``ECS Task
    State Change``, ``STOPPED`` with stop code ``TaskFailedToStart`` or a container exit code
    other than 0) to ``topic``.

    Attributes: ``deployment_rule``, ``task_rule``.
    """

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        cluster: ComputeCluster,
        topic: NotificationTopic,
    ) -> None:
        """:param cluster: the cluster whose services are watched.
        :param topic: the :class:`NotificationTopic`."""
        super().__init__(scope, construct_id)
        stack = Stack.of(self)
        service_prefix = stack.format_arn(
            service="ecs", resource="service", resource_name=f"{cluster.cluster.cluster_name}/"
        )
        self.deployment_rule = events.Rule(
            self,
            "DeploymentFailed",
            description="ECS deployments that failed (and rolled back) in the cluster",
            event_pattern=events.EventPattern(
                source=["aws.ecs"],
                detail_type=["ECS Deployment State Change"],
                resources=events.Match.prefix(service_prefix),
                detail={"eventName": ["SERVICE_DEPLOYMENT_FAILED"]},
            ),
            targets=[_TopicTarget(topic)],  # type: ignore[list-item]
        )
        """Rule on failed deployments."""
        self.task_rule = events.Rule(
            self,
            "TaskStoppedWithError",
            description="ECS tasks in the cluster that failed to start or exited non-zero",
            event_pattern=events.EventPattern(
                source=["aws.ecs"],
                detail_type=["ECS Task State Change"],
                detail={
                    "clusterArn": [cluster.cluster.cluster_arn],
                    "lastStatus": ["STOPPED"],
                    "$or": [
                        {"stopCode": ["TaskFailedToStart"]},
                        {"containers": {"exitCode": [{"anything-but": 0}]}},
                    ],
                },
            ),
            targets=[_TopicTarget(topic)],  # type: ignore[list-item]
        )
        """Rule on tasks that stopped with an error."""
