"""``MonitoringDashboard``: one CloudWatch dashboard per environment, a row per service."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from aws_cdk import aws_cloudwatch as cw
from constructs import Construct

from constructs_lib import metrics
from constructs_lib._service_base import EcsServiceBase
from constructs_lib.network_service import NetworkService
from constructs_lib.web_service import WebService
from constructs_lib.worker_service import WorkerService

_W = 4  # six graphs of width 4 fill the 24-column grid


def _graph(
    title: str, left: Sequence[cw.IMetric], right: Sequence[cw.IMetric] = ()
) -> cw.GraphWidget:
    return cw.GraphWidget(
        title=title, left=list(left), right=list(right) or None, width=_W, height=6
    )


def service_widgets(name: str, service: EcsServiceBase) -> list[cw.IWidget]:
    """A header and a row of graphs: traffic (requests, 5xx, p99 for web; unhealthy hosts and
    resets for network; queue for worker), CPU, memory, running vs desired tasks."""
    traffic: list[cw.IWidget]
    if isinstance(service, WebService):
        traffic = [
            _graph("Requests", [service.metric_request_count()]),
            _graph("Target 5xx (%)", [service.metric_http_code_target_5xx_percent()]),
            _graph("Latency p99 (s)", [service.metric_target_response_time("p99")]),
        ]
    elif isinstance(service, NetworkService):
        lb, tg = service.load_balancer, service.target_group
        traffic = [
            _graph(
                "Unhealthy hosts",
                [metrics.nlb_target_metric("UnHealthyHostCount", lb, tg, statistic="Maximum")],
            ),
            _graph(
                "TCP resets",
                [
                    metrics.nlb_metric("TCP_Target_Reset_Count", lb),
                    metrics.nlb_metric("TCP_ELB_Reset_Count", lb),
                ],
            ),
            _graph(
                "Active flows", [metrics.nlb_metric("ActiveFlowCount", lb, statistic="Average")]
            ),
        ]
    elif isinstance(service, WorkerService) and service.queue is not None:
        queue = service.queue.queue_name
        traffic = [
            _graph(
                "Visible messages",
                [metrics.sqs_metric("ApproximateNumberOfMessagesVisible", queue)],
            ),
            _graph(
                "Oldest message (s)", [metrics.sqs_metric("ApproximateAgeOfOldestMessage", queue)]
            ),
            _graph(
                "Backlog per task",
                [
                    metrics.queue_backlog_per_task(
                        queue, service.cluster.cluster.cluster_name, service.service_name
                    )
                ],
            ),
        ]
    else:
        traffic = [cw.Spacer(width=_W * 3, height=6)]  # type: ignore[list-item]
    return [
        cw.TextWidget(markdown=f"### {name}", width=24, height=1),
        *traffic,
        _graph("CPU (%)", [service.metric_cpu_utilization()]),
        _graph("Memory (%)", [service.metric_memory_utilization()]),
        _graph(
            "Tasks: running vs desired (scaling)",
            [service.metric_running_task_count(), service.metric_desired_task_count()],
        ),
    ]


class MonitoringDashboard(Construct):
    """A CloudWatch dashboard: the state of every alarm, then a row per service.

    Attributes: ``dashboard``.
    """

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        dashboard_name: str,
        services: Mapping[str, EcsServiceBase],
        alarms: Sequence[cw.IAlarm] = (),
    ) -> None:
        """:param dashboard_name: e.g. ``<app>-<env>``.
        :param services: the services by display name, one row each.
        :param alarms: shown in an alarm status widget at the top. Default: none."""
        super().__init__(scope, construct_id)
        self.dashboard = cw.Dashboard(self, "Resource", dashboard_name=dashboard_name)
        """The CloudWatch dashboard."""
        if alarms:
            self.dashboard.add_widgets(
                cw.AlarmStatusWidget(
                    title="Alarms",
                    alarms=list(alarms),
                    width=24,
                    height=max(2, (len(alarms) + 3) // 4 + 1),
                    sort_by=cw.AlarmStatusWidgetSortBy.STATE_UPDATED_TIMESTAMP,
                )
            )
        for name, service in services.items():
            header, *row = service_widgets(name, service)
            self.dashboard.add_widgets(header)
            self.dashboard.add_widgets(*row)
