"""``WorkerService``: a service without a load balancer (queue consumers, background workers)."""

from __future__ import annotations

from collections.abc import Sequence

from aws_cdk import Duration, RemovalPolicy
from aws_cdk import aws_cloudwatch as cw
from aws_cdk import aws_ec2 as ec2
from aws_cdk import aws_iam as iam
from aws_cdk import aws_logs as logs
from aws_cdk import aws_sqs as sqs
from constructs import Construct

from constructs_lib import metrics
from constructs_lib._service_base import EcsServiceBase
from constructs_lib._validate import Architecture, check_env_names, check_range, whole
from constructs_lib.cluster import CapacityShare, ComputeCluster
from constructs_lib.deployment import Deployment
from constructs_lib.errors import invalid
from constructs_lib.task import ContainerSpec


def secure_queue(
    scope: Construct,
    construct_id: str,
    *,
    retention: Duration,
    visibility_timeout: Duration | None = None,
    dead_letter_queue: sqs.DeadLetterQueue | None = None,
    removal_policy: RemovalPolicy = RemovalPolicy.DESTROY,
) -> sqs.Queue:
    """An SQS queue encrypted at rest (SQS-managed keys) that refuses non-TLS requests."""
    return sqs.Queue(
        scope,
        construct_id,
        encryption=sqs.QueueEncryption.SQS_MANAGED,
        enforce_ssl=True,
        retention_period=retention,
        visibility_timeout=visibility_timeout,
        dead_letter_queue=dead_letter_queue,
        removal_policy=removal_policy,
    )


class WorkerService(EcsServiceBase):
    """A long-running service with no load balancer, e.g. a queue consumer.

    With ``queue=True`` it also creates an SQS queue and its dead-letter queue (both encrypted,
    TLS only), grants the task role consume rights on the queue (receive, delete, change
    visibility) and passes its URL to the main container as ``QUEUE_URL`` (``queue_env_name``).
    The tasks' security group admits nothing. Deployments are rolling.

    Attributes: ``service``, ``task_definition``, ``container``, ``log_group``, ``queue``,
    ``dead_letter_queue``, ``connections``.
    """

    _KIND = "WorkerService"

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        cluster: ComputeCluster,
        container: ContainerSpec,
        sidecars: Sequence[ContainerSpec] = (),
        cpu: int = 256,
        memory_mib: int = 512,
        cpu_architecture: Architecture = "x86_64",
        capacity: Sequence[CapacityShare] | None = None,
        desired_count: int | None = None,
        deployment: Deployment | None = None,
        queue: bool = False,
        queue_env_name: str = "QUEUE_URL",
        queue_visibility_timeout: Duration | None = None,
        queue_retention: Duration | None = None,
        max_receive_count: int = 5,
        queue_removal_policy: RemovalPolicy = RemovalPolicy.DESTROY,
        vpc_subnets: ec2.SubnetSelection | None = None,
        assign_public_ip: bool = False,
        task_role: iam.IRole | None = None,
        execution_role: iam.IRole | None = None,
        log_retention: logs.RetentionDays = logs.RetentionDays.ONE_MONTH,
        log_removal_policy: RemovalPolicy = RemovalPolicy.RETAIN,
        enable_execute_command: bool = False,
        ephemeral_storage_gib: int | None = None,
    ) -> None:
        """Create the task definition, the service and (optionally) the queues.

        :param queue: create an SQS queue + dead-letter queue for the worker. Default: False.
        :param queue_env_name: the environment variable holding the queue URL.
            Default: ``QUEUE_URL``.
        :param queue_visibility_timeout: how long a received message stays hidden, 0-43200 s;
            longer than the worker takes per message. Default: 5 minutes.
        :param queue_retention: how long an unprocessed message is kept, 60 s-14 days.
            Default: 4 days (the dead-letter queue keeps 14 days).
        :param max_receive_count: receives before a message moves to the dead-letter queue,
            1-1000. Default: 5.
        :param queue_removal_policy: what happens to the queues when they leave the stack.
            Default: DESTROY (messages are transient).
        Other props as :class:`WebService` (``deployment`` must be rolling; the default
        ``capacity`` is the cluster's, e.g. ``[CapacityShare("FARGATE_SPOT")]`` for
        interruption-tolerant workers).
        """
        super().__init__(scope, construct_id)
        kind = self._KIND
        visibility = queue_visibility_timeout or Duration.minutes(5)
        retention = queue_retention or Duration.days(4)
        if queue:
            check_env_names(f"{kind}.queue_env_name", [queue_env_name])
            if queue_env_name in container.environment or queue_env_name in container.secrets:
                raise invalid(
                    f"{kind}.queue_env_name",
                    queue_env_name,
                    "a variable the container does not set itself",
                )
            check_range(
                f"{kind}.queue_visibility_timeout (seconds)",
                whole(f"{kind}.queue_visibility_timeout", visibility.to_seconds(integral=False)),
                0,
                43_200,
            )
            check_range(
                f"{kind}.queue_retention (seconds)",
                whole(f"{kind}.queue_retention", retention.to_seconds(integral=False)),
                60,
                1_209_600,
            )
            check_range(f"{kind}.max_receive_count", max_receive_count, 1, 1000)
        self._create_service(
            cluster=cluster,
            container=container,
            sidecars=sidecars,
            cpu=cpu,
            memory_mib=memory_mib,
            cpu_architecture=cpu_architecture,
            capacity=capacity,
            desired_count=desired_count,
            deployment=deployment,
            allow_traffic_shifting=False,
            vpc_subnets=vpc_subnets,
            assign_public_ip=assign_public_ip,
            security_groups=None,
            task_role=task_role,
            execution_role=execution_role,
            log_retention=log_retention,
            log_removal_policy=log_removal_policy,
            enable_execute_command=enable_execute_command,
            ephemeral_storage_gib=ephemeral_storage_gib,
            health_check_grace_period=None,
        )
        self.queue: sqs.Queue | None = None
        """The work queue, or None."""
        self.dead_letter_queue: sqs.Queue | None = None
        """Messages that failed ``max_receive_count`` times, or None."""
        if queue:
            self.dead_letter_queue = secure_queue(
                self,
                "DeadLetterQueue",
                retention=Duration.days(14),
                removal_policy=queue_removal_policy,
            )
            self.queue = secure_queue(
                self,
                "Queue",
                retention=retention,
                visibility_timeout=visibility,
                dead_letter_queue=sqs.DeadLetterQueue(
                    queue=self.dead_letter_queue, max_receive_count=max_receive_count
                ),
                removal_policy=queue_removal_policy,
            )
            self.queue.grant_consume_messages(self.task_role)
            self.container.add_environment(queue_env_name, self.queue.queue_url)

    def _queue_backlog_metric(self) -> cw.IMetric | None:
        if self.queue is None:
            return None
        return metrics.queue_backlog_per_task(
            self.queue.queue_name, self.cluster.cluster.cluster_name, self.service_name
        )
