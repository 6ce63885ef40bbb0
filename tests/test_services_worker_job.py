"""constructs_lib.WorkerService (queue + DLQ) and ScheduledJob (EventBridge Scheduler)."""

from __future__ import annotations

import json
from typing import Any

import pytest
from aws_cdk import Duration
from aws_cdk import aws_ec2 as ec2
from aws_cdk import aws_sqs as sqs
from aws_cdk.assertions import Template

from constructs_lib import (
    BlueGreenDeployment,
    CapacityShare,
    ContainerSpec,
    EcskitValidationError,
    ImageRef,
    LinearDeployment,
    RollingDeployment,
    ScheduledJob,
    WorkerService,
)
from tests.conftest import unit_app
from tests.helpers import cluster_stack, only, synth_with_messages

BUSYBOX = ImageRef.from_registry("public.ecr.aws/docker/library/busybox:stable")
LOOP = ContainerSpec(image=BUSYBOX, command=("sh", "-c", "sleep 3600"))


@pytest.fixture(scope="module")
def synthesized() -> tuple[dict[str, Template], dict[str, list[str]]]:
    app = unit_app()
    stack, cluster = cluster_stack(app, "Worker")
    WorkerService(
        stack,
        "Queue",
        cluster=cluster,
        container=LOOP,
        capacity=[CapacityShare("FARGATE_SPOT")],
        cpu_architecture="arm64",
        queue=True,
        queue_visibility_timeout=Duration.minutes(2),
        queue_retention=Duration.days(7),
        max_receive_count=3,
    )
    WorkerService(
        stack,
        "Plain",
        cluster=cluster,
        container=LOOP,
        capacity=[CapacityShare("general")],
        cpu_architecture="arm64",
        deployment=RollingDeployment(
            min_healthy_percent=50, max_healthy_percent=100, availability_zone_rebalancing=False
        ),
        desired_count=0,
    )

    stack, cluster = cluster_stack(app, "Jobs")
    ScheduledJob(
        stack,
        "Nightly",
        cluster=cluster,
        container=LOOP,
        schedule="cron(0 3 * * ? *)",
        time_zone="Europe/Paris",
        capacity=[CapacityShare("FARGATE_SPOT")],
        assign_public_ip=True,
        retry_attempts=2,
        max_event_age=Duration.minutes(30),
        task_count=2,
        description="nightly clean-up",
    )
    own_dlq = sqs.Queue(stack, "OwnDlq")
    ScheduledJob(
        stack,
        "Hourly",
        cluster=cluster,
        container=LOOP,
        schedule="rate(1 hour)",
        capacity=[CapacityShare("intel")],
        dead_letter_queue=own_dlq,
        enabled=False,
        enable_execute_command=True,
    )
    return synth_with_messages(app)


@pytest.fixture(scope="module")
def templates(synthesized: tuple[dict[str, Template], Any]) -> dict[str, Template]:
    return synthesized[0]


def test_worker_queue_dead_letter_queue_and_grant(templates: dict[str, Template]) -> None:
    t = templates["Worker"]
    queue, queue_props = only(t, "AWS::SQS::Queue", "/Queue/Queue/")
    dlq, dlq_props = only(t, "AWS::SQS::Queue", "/Queue/DeadLetterQueue/")
    assert queue_props == {
        "MessageRetentionPeriod": 7 * 86400,
        "RedrivePolicy": {
            "deadLetterTargetArn": {"Fn::GetAtt": [dlq, "Arn"]},
            "maxReceiveCount": 3,
        },
        "SqsManagedSseEnabled": True,
        "VisibilityTimeout": 120,
    }
    assert dlq_props == {"MessageRetentionPeriod": 14 * 86400, "SqsManagedSseEnabled": True}
    policies = [
        p["Properties"]["PolicyDocument"]["Statement"][0]
        for p in t.find_resources("AWS::SQS::QueuePolicy").values()
    ]
    assert all(
        p["Effect"] == "Deny" and p["Condition"] == {"Bool": {"aws:SecureTransport": "false"}}
        for p in policies
    )
    _, task_policy = only(t, "AWS::IAM::Policy", "/Queue/TaskDefinition/Resource/TaskRole")
    (statement,) = task_policy["PolicyDocument"]["Statement"]
    assert statement["Resource"] == {"Fn::GetAtt": [queue, "Arn"]}
    assert set(statement["Action"]) == {
        "sqs:ReceiveMessage",
        "sqs:ChangeMessageVisibility",
        "sqs:GetQueueUrl",
        "sqs:DeleteMessage",
        "sqs:GetQueueAttributes",
    }
    _, task = only(t, "AWS::ECS::TaskDefinition", "/Queue/")
    assert task["ContainerDefinitions"][0]["Environment"] == [
        {"Name": "QUEUE_URL", "Value": {"Ref": queue}}
    ]
    assert task["RuntimePlatform"]["CpuArchitecture"] == "ARM64"


def test_worker_on_fargate_spot_without_load_balancer_or_inbound(
    templates: dict[str, Template],
) -> None:
    t = templates["Worker"]
    _, svc = only(t, "AWS::ECS::Service", "/Queue/")
    assert svc["CapacityProviderStrategy"] == [{"CapacityProvider": "FARGATE_SPOT", "Weight": 1}]
    assert svc["LoadBalancers"] == []
    assert "HealthCheckGracePeriodSeconds" not in svc
    _, sg = only(t, "AWS::EC2::SecurityGroup", "/Queue/Service/SecurityGroup")
    assert "SecurityGroupIngress" not in sg
    t.resource_count_is("AWS::EC2::SecurityGroupIngress", 0)


def test_worker_rolling_options_on_ec2(templates: dict[str, Template]) -> None:
    _, svc = only(templates["Worker"], "AWS::ECS::Service", "/Plain/")
    assert svc["DeploymentConfiguration"] == {
        "DeploymentCircuitBreaker": {"Enable": True, "Rollback": True},
        "MaximumPercent": 100,
        "MinimumHealthyPercent": 50,
    }
    assert svc["AvailabilityZoneRebalancing"] == "DISABLED"
    assert svc["DesiredCount"] == 0
    templates["Worker"].resource_count_is("AWS::SQS::Queue", 2)  # Plain has none


def test_fargate_job_schedule_retry_and_dead_letter_queue(templates: dict[str, Template]) -> None:
    t = templates["Jobs"]
    cluster, _ = only(t, "AWS::ECS::Cluster")
    dlq, dlq_props = only(t, "AWS::SQS::Queue", "/Nightly/DeadLetterQueue/")
    assert dlq_props["SqsManagedSseEnabled"] is True
    task, _ = only(t, "AWS::ECS::TaskDefinition", "/Nightly/")
    sg, sg_props = only(t, "AWS::EC2::SecurityGroup", "/Nightly/SecurityGroup")
    assert "SecurityGroupIngress" not in sg_props
    _, schedule = only(t, "AWS::Scheduler::Schedule", "/Nightly/")
    target = schedule.pop("Target")
    assert schedule == {
        "Description": "nightly clean-up",
        "FlexibleTimeWindow": {"Mode": "OFF"},
        "ScheduleExpression": "cron(0 3 * * ? *)",
        "ScheduleExpressionTimezone": "Europe/Paris",
        "State": "ENABLED",
    }
    assert target["Arn"] == {"Fn::GetAtt": [cluster, "Arn"]}
    assert target["DeadLetterConfig"] == {"Arn": {"Fn::GetAtt": [dlq, "Arn"]}}
    assert target["RetryPolicy"] == {"MaximumEventAgeInSeconds": 1800, "MaximumRetryAttempts": 2}
    params = target["EcsParameters"]
    assert params["TaskDefinitionArn"] == {"Ref": task}
    assert params["TaskCount"] == 2
    assert params["CapacityProviderStrategy"] == [{"CapacityProvider": "FARGATE_SPOT", "Weight": 1}]
    assert "LaunchType" not in params
    network = params["NetworkConfiguration"]["AwsvpcConfiguration"]
    assert network["AssignPublicIp"] == "ENABLED"
    assert network["SecurityGroups"] == [{"Fn::GetAtt": [sg, "GroupId"]}]
    assert all("Public" in json.dumps(s) for s in network["Subnets"])


def test_ec2_job_with_given_dead_letter_queue(templates: dict[str, Template]) -> None:
    t = templates["Jobs"]
    own, _ = only(t, "AWS::SQS::Queue", "/OwnDlq/")
    _, schedule = only(t, "AWS::Scheduler::Schedule", "/Hourly/")
    assert schedule["ScheduleExpression"] == "rate(1 hour)"
    assert schedule["State"] == "DISABLED"
    target = schedule["Target"]
    assert target["DeadLetterConfig"] == {"Arn": {"Fn::GetAtt": [own, "Arn"]}}
    assert target["RetryPolicy"] == {"MaximumEventAgeInSeconds": 3600, "MaximumRetryAttempts": 3}
    intel, _ = only(t, "AWS::ECS::CapacityProvider", "/intel/")
    params = target["EcsParameters"]
    assert params["CapacityProviderStrategy"] == [{"CapacityProvider": {"Ref": intel}, "Weight": 1}]
    assert params["EnableExecuteCommand"] is True
    network = params["NetworkConfiguration"]["AwsvpcConfiguration"]
    assert "AssignPublicIp" not in network
    assert all("Private" in json.dumps(s) for s in network["Subnets"])
    _, task = only(t, "AWS::ECS::TaskDefinition", "/Hourly/")
    assert task["RequiresCompatibilities"] == ["EC2"]
    _, policy = only(t, "AWS::IAM::Policy", "/Hourly/TaskDefinition/Resource/TaskRole")
    assert policy["PolicyDocument"]["Statement"][0]["Action"] == [
        "ssmmessages:CreateControlChannel",
        "ssmmessages:CreateDataChannel",
        "ssmmessages:OpenControlChannel",
        "ssmmessages:OpenDataChannel",
    ]
    t.resource_count_is("AWS::SQS::Queue", 2)  # Nightly's and the given one


def test_scheduler_role_may_run_the_tasks_and_pass_their_roles(
    templates: dict[str, Template],
) -> None:
    t = templates["Jobs"]
    actions = json.dumps(
        [p["Properties"]["PolicyDocument"] for p in t.find_resources("AWS::IAM::Policy").values()]
    )
    assert '"ecs:RunTask"' in actions
    assert '"iam:PassRole"' in actions
    assert '"sqs:SendMessage"' in actions


def test_no_synth_warnings(synthesized: tuple[Any, dict[str, list[str]]]) -> None:
    assert {name: found for name, found in synthesized[1].items() if found} == {}


# --- validation -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("props", "message"),
    [
        ({"deployment": BlueGreenDeployment()}, r"WorkerService\.deployment must be RollingDeployment for WorkerService \(blue/green, canary and linear shift traffic between target groups of an Application Load Balancer: use a WebService\), got 'BlueGreenDeployment'"),
        ({"deployment": LinearDeployment()}, r"WorkerService\.deployment must be RollingDeployment .*got 'LinearDeployment'"),
        ({"queue": True, "container": ContainerSpec(image=BUSYBOX, environment={"QUEUE_URL": "x"})}, r"WorkerService\.queue_env_name must be a variable the container does not set itself, got 'QUEUE_URL'"),
        ({"queue": True, "max_receive_count": 0}, r"WorkerService\.max_receive_count must be between 1 and 1000, got 0"),
        ({"queue": True, "queue_visibility_timeout": Duration.hours(13)}, r"queue_visibility_timeout \(seconds\) must be between 0 and 43200, got 46800"),
        ({"queue": True, "queue_retention": Duration.days(15)}, r"queue_retention \(seconds\) must be between 60 and 1209600, got 1296000"),
        ({"desired_count": -1}, r"WorkerService\.desired_count must be >= 0, got -1"),
        ({"capacity": [CapacityShare("FARGATE_SPOT")], "cpu": 4096, "memory_mib": 4096}, r"WorkerService\.memory_mib must be 8192 to 30720 in steps of 1024 MiB with cpu 4096 on Fargate"),
    ],
)  # fmt: skip
def test_bad_worker_props(props: dict[str, Any], message: str) -> None:
    stack, cluster = cluster_stack(unit_app(), "S")
    kwargs: dict[str, Any] = {"container": LOOP, **props}
    with pytest.raises(EcskitValidationError, match=message):
        WorkerService(stack, "Worker", cluster=cluster, **kwargs)


@pytest.mark.parametrize(
    ("props", "message"),
    [
        ({"schedule": "every day"}, r"ScheduledJob\.schedule must be 'rate\(<n> minutes\|hours\|days\)' \(singular for 1\) or a six-field 'cron\(.*got 'every day'"),
        ({"schedule": "rate(1 hours)"}, r"ScheduledJob\.schedule must be 'rate\(<n> minutes\|hours\|days\)'.*got 'rate\(1 hours\)'"),
        ({"schedule": "cron(0 3 * * * *)"}, r"ScheduledJob\.schedule must be a cron expression with '\?' in exactly one of day-of-month and day-of-week, e\.g\. 'cron\(0 3 \* \* \? \*\)', got 'cron\(0 3 \* \* \* \*\)'"),
        ({"schedule": "cron(0 3 * *)"}, r"ScheduledJob\.schedule must be 'rate"),
        ({"retry_attempts": 186}, r"ScheduledJob\.retry_attempts must be between 0 and 185, got 186"),
        ({"max_event_age": Duration.seconds(30)}, r"ScheduledJob\.max_event_age \(seconds\) must be between 60 and 86400, got 30"),
        ({"task_count": 0}, r"ScheduledJob\.task_count must be between 1 and 10, got 0"),
        ({"capacity": [CapacityShare("intel")], "assign_public_ip": True}, r"ScheduledJob\.assign_public_ip must be False on EC2 capacity"),
        ({"assign_public_ip": True, "vpc_subnets": ec2.SubnetSelection(subnet_group_name="Private")}, r"ScheduledJob\.vpc_subnets must be SubnetSelection\(subnet_type=PUBLIC\) with assign_public_ip"),
        ({"capacity": [CapacityShare("general")]}, r"ScheduledJob\.cpu_architecture must be 'arm64' to run on EC2 capacity 'general'"),
        ({"capacity": [CapacityShare("nope")]}, r"ScheduledJob\.capacity\[0\]\.provider must be one of"),
    ],
)  # fmt: skip
def test_bad_job_props(props: dict[str, Any], message: str) -> None:
    stack, cluster = cluster_stack(unit_app(), "S")
    kwargs: dict[str, Any] = {"container": LOOP, "schedule": "rate(5 minutes)", **props}
    with pytest.raises(EcskitValidationError, match=message):
        ScheduledJob(stack, "Job", cluster=cluster, **kwargs)


def test_patterns_are_connectable() -> None:
    """Security group rules between patterns: they implement ec2.IConnectable."""
    from constructs_lib import WebService
    from tests.helpers import web_container

    app = unit_app()
    stack, cluster = cluster_stack(app, "S")
    web = WebService(stack, "Web", cluster=cluster, container=web_container(), access_logs=False)
    worker = WorkerService(stack, "Worker", cluster=cluster, container=LOOP)
    job = ScheduledJob(stack, "Job", cluster=cluster, container=LOOP, schedule="rate(1 day)")
    web.connections.allow_from(worker, ec2.Port.tcp(80), "worker to web")
    web.connections.allow_from(job, ec2.Port.tcp(80), "job to web")
    t = Template.from_stack(stack)
    web_sg, _ = only(t, "AWS::EC2::SecurityGroup", "/Web/Service/SecurityGroup")
    worker_sg, _ = only(t, "AWS::EC2::SecurityGroup", "/Worker/Service/SecurityGroup")
    job_sg, _ = only(t, "AWS::EC2::SecurityGroup", "/Job/SecurityGroup")
    sources = {
        r["Properties"]["Description"]: r["Properties"]["SourceSecurityGroupId"]
        for r in t.find_resources("AWS::EC2::SecurityGroupIngress").values()
        if r["Properties"]["GroupId"] == {"Fn::GetAtt": [web_sg, "GroupId"]}
    }
    assert sources["worker to web"] == {"Fn::GetAtt": [worker_sg, "GroupId"]}
    assert sources["job to web"] == {"Fn::GetAtt": [job_sg, "GroupId"]}
