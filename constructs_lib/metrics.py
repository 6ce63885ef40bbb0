"""CloudWatch metric factories for ECS services, ALBs, NLBs and SQS queues (no alarm wiring).

Official namespaces, metric names and dimensions only; each function returns a ``Metric`` or a
``MathExpression`` that alarms, scaling policies and dashboards share. Target-group metrics
accept several target groups (blue/green, canary and linear shift traffic between two): counts
are summed, maxima are the maximum over the groups.
"""

from __future__ import annotations

from collections.abc import Sequence

from aws_cdk import Duration
from aws_cdk import aws_cloudwatch as cw
from aws_cdk import aws_elasticloadbalancingv2 as elbv2

ONE_MINUTE = Duration.minutes(1)


def ecs_metric(
    metric_name: str, cluster_name: str, service_name: str, *, statistic: str = "Average"
) -> cw.Metric:
    """``AWS/ECS`` ``CPUUtilization`` / ``MemoryUtilization`` of a service (percent)."""
    return cw.Metric(
        namespace="AWS/ECS",
        metric_name=metric_name,
        dimensions_map={"ClusterName": cluster_name, "ServiceName": service_name},
        statistic=statistic,
        period=ONE_MINUTE,
    )


def container_insights_metric(
    metric_name: str, cluster_name: str, service_name: str, *, statistic: str = "Average"
) -> cw.Metric:
    """``ECS/ContainerInsights`` ``RunningTaskCount`` / ``DesiredTaskCount`` /
    ``PendingTaskCount`` of a service (needs Container Insights on the cluster)."""
    return cw.Metric(
        namespace="ECS/ContainerInsights",
        metric_name=metric_name,
        dimensions_map={"ClusterName": cluster_name, "ServiceName": service_name},
        statistic=statistic,
        period=ONE_MINUTE,
    )


def running_tasks_percent(cluster_name: str, service_name: str) -> cw.MathExpression:
    """Running tasks as a percentage of the desired count (100 when nothing is desired)."""
    return cw.MathExpression(
        expression="IF(desired > 0, 100 * running / desired, 100)",
        using_metrics={
            "running": container_insights_metric("RunningTaskCount", cluster_name, service_name),
            "desired": container_insights_metric("DesiredTaskCount", cluster_name, service_name),
        },
        label="Running tasks (% of desired)",
        period=ONE_MINUTE,
    )


def alb_target_metric(
    metric_name: str,
    load_balancer: elbv2.ApplicationLoadBalancer,
    target_group: elbv2.ApplicationTargetGroup,
    *,
    statistic: str = "Sum",
) -> cw.Metric:
    """``AWS/ApplicationELB`` metric of one target group (``LoadBalancer`` + ``TargetGroup``)."""
    return cw.Metric(
        namespace="AWS/ApplicationELB",
        metric_name=metric_name,
        dimensions_map={
            "LoadBalancer": load_balancer.load_balancer_full_name,
            "TargetGroup": target_group.target_group_full_name,
        },
        statistic=statistic,
        period=ONE_MINUTE,
    )


def alb_metric(
    metric_name: str, load_balancer: elbv2.ApplicationLoadBalancer, *, statistic: str = "Sum"
) -> cw.Metric:
    """``AWS/ApplicationELB`` metric of the whole load balancer (``LoadBalancer``)."""
    return cw.Metric(
        namespace="AWS/ApplicationELB",
        metric_name=metric_name,
        dimensions_map={"LoadBalancer": load_balancer.load_balancer_full_name},
        statistic=statistic,
        period=ONE_MINUTE,
    )


def _combined(metrics: Sequence[cw.Metric], *, how: str, label: str, prefix: str) -> cw.IMetric:
    if len(metrics) == 1:
        return metrics[0].with_(label=label)
    ids = [f"{prefix}{i}" for i in range(len(metrics))]
    if how == "sum":
        expression = " + ".join(f"FILL({i}, 0)" for i in ids)
    else:
        expression = f"MAX([{', '.join(ids)}])"
    return cw.MathExpression(
        expression=expression,
        using_metrics=dict(zip(ids, metrics, strict=True)),
        label=label,
        period=ONE_MINUTE,
    )


def alb_target_sum(
    metric_name: str,
    load_balancer: elbv2.ApplicationLoadBalancer,
    target_groups: Sequence[elbv2.ApplicationTargetGroup],
    *,
    label: str,
    statistic: str = "Sum",
) -> cw.IMetric:
    """A target-group metric summed over ``target_groups``."""
    metrics = [
        alb_target_metric(metric_name, load_balancer, tg, statistic=statistic)
        for tg in target_groups
    ]
    return _combined(metrics, how="sum", label=label, prefix="tg")


def alb_target_max(
    metric_name: str,
    load_balancer: elbv2.ApplicationLoadBalancer,
    target_groups: Sequence[elbv2.ApplicationTargetGroup],
    *,
    label: str,
    statistic: str,
) -> cw.IMetric:
    """A target-group metric, the maximum over ``target_groups`` (e.g. p99 latency)."""
    metrics = [
        alb_target_metric(metric_name, load_balancer, tg, statistic=statistic)
        for tg in target_groups
    ]
    return _combined(metrics, how="max", label=label, prefix="tg")


def alb_target_5xx_percent(
    load_balancer: elbv2.ApplicationLoadBalancer,
    target_groups: Sequence[elbv2.ApplicationTargetGroup],
) -> cw.MathExpression:
    """``100 * HTTPCode_Target_5XX_Count / RequestCount`` over the target groups (0 without
    requests)."""
    using: dict[str, cw.IMetric] = {}
    errors, requests = [], []
    for i, tg in enumerate(target_groups):
        using[f"errors{i}"] = alb_target_metric("HTTPCode_Target_5XX_Count", load_balancer, tg)
        using[f"requests{i}"] = alb_target_metric("RequestCount", load_balancer, tg)
        errors.append(f"FILL(errors{i}, 0)")
        requests.append(f"FILL(requests{i}, 0)")
    total_errors, total_requests = " + ".join(errors), " + ".join(requests)
    return cw.MathExpression(
        expression=(f"IF(({total_requests}) > 0, 100 * ({total_errors}) / ({total_requests}), 0)"),
        using_metrics=using,
        label="Target 5xx (% of requests)",
        period=ONE_MINUTE,
    )


def nlb_target_metric(
    metric_name: str,
    load_balancer: elbv2.NetworkLoadBalancer,
    target_group: elbv2.NetworkTargetGroup,
    *,
    statistic: str = "Sum",
) -> cw.Metric:
    """``AWS/NetworkELB`` metric of a target group (``UnHealthyHostCount``,
    ``HealthyHostCount``; ``LoadBalancer`` + ``TargetGroup``). The flow and reset counts
    have no ``TargetGroup`` dimension: use :func:`nlb_metric`."""
    return cw.Metric(
        namespace="AWS/NetworkELB",
        metric_name=metric_name,
        dimensions_map={
            "LoadBalancer": load_balancer.load_balancer_full_name,
            "TargetGroup": target_group.target_group_full_name,
        },
        statistic=statistic,
        period=ONE_MINUTE,
    )


def nlb_metric(
    metric_name: str, load_balancer: elbv2.NetworkLoadBalancer, *, statistic: str = "Sum"
) -> cw.Metric:
    """``AWS/NetworkELB`` metric of the whole load balancer (``TCP_ELB_Reset_Count``,
    ``TCP_Target_Reset_Count``, ``ActiveFlowCount``)."""
    return cw.Metric(
        namespace="AWS/NetworkELB",
        metric_name=metric_name,
        dimensions_map={"LoadBalancer": load_balancer.load_balancer_full_name},
        statistic=statistic,
        period=ONE_MINUTE,
    )


def sqs_metric(metric_name: str, queue_name: str, *, statistic: str = "Maximum") -> cw.Metric:
    """``AWS/SQS`` metric of a queue (``QueueName``), e.g. ``ApproximateAgeOfOldestMessage``."""
    return cw.Metric(
        namespace="AWS/SQS",
        metric_name=metric_name,
        dimensions_map={"QueueName": queue_name},
        statistic=statistic,
        period=ONE_MINUTE,
    )


def queue_backlog_per_task(
    queue_name: str, cluster_name: str, service_name: str
) -> cw.MathExpression:
    """Visible messages / running tasks (the visible count when no task runs, so a stopped
    worker still scales out). Running tasks come from Container Insights' ``RunningTaskCount``:
    ``AWS/ECS`` has no task count metric."""
    return cw.MathExpression(
        expression="IF(running > 0, visible / running, visible)",
        using_metrics={
            "visible": sqs_metric("ApproximateNumberOfMessagesVisible", queue_name),
            "running": container_insights_metric("RunningTaskCount", cluster_name, service_name),
        },
        label="Backlog per task (messages)",
        period=ONE_MINUTE,
    )
