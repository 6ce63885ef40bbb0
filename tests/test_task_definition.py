"""constructs_lib.task: ContainerSpec -> ContainerTaskDefinition (Fargate/EC2), roles, logs."""

from __future__ import annotations

import json
from typing import Any

import pytest
from aws_cdk import Duration, RemovalPolicy, Stack
from aws_cdk import aws_ecs as ecs
from aws_cdk import aws_iam as iam
from aws_cdk import aws_logs as logs
from aws_cdk import aws_secretsmanager as secretsmanager
from aws_cdk import aws_ssm as ssm
from aws_cdk.assertions import Template

from constructs_lib import (
    ContainerSpec,
    ContainerTaskDefinition,
    EcskitValidationError,
    HealthCheck,
    ImageRef,
    ImageRepository,
    PortSpec,
    SecretRef,
)
from tests.conftest import unit_app
from tests.helpers import WEB_IMAGE, only, synth_with_messages

SECRET_ARN = "arn:aws:secretsmanager:eu-west-1:111111111111:secret:db-AbCdEf"
DIGEST = "sha256:" + "a" * 64


@pytest.fixture(scope="module")
def synthesized() -> tuple[dict[str, Template], dict[str, list[str]]]:
    app = unit_app()
    stack = Stack(app, "Fargate")
    repo = ImageRepository(stack, "Repo", repository_name="team/app")
    secret = secretsmanager.Secret.from_secret_complete_arn(stack, "Db", SECRET_ARN)
    parameter = ssm.StringParameter.from_secure_string_parameter_attributes(
        stack, "Token", parameter_name="/app/token"
    )
    ContainerTaskDefinition(
        stack,
        "Task",
        container=ContainerSpec(
            image=ImageRef.from_repository(repo, tag="v1.2.3"),
            port=8080,
            extra_ports=(PortSpec(9090, name="metrics"), PortSpec(5353, "udp")),
            environment={"LOG_LEVEL": "info"},
            secrets={
                "DB_PASSWORD": SecretRef.secrets_manager(secret, "password"),
                "API_TOKEN": SecretRef.ssm_parameter(parameter),
            },
            command=("serve", "--port", "8080"),
            entry_point=("/app/entry",),
            health_check=HealthCheck.shell(
                "curl -f http://localhost:8080/health", interval=Duration.seconds(10)
            ),
            depends_on={"envoy": "HEALTHY"},
            readonly_root_filesystem=True,
            user="1000:1000",
            stop_timeout=Duration.seconds(60),
        ),
        sidecars=[
            ContainerSpec(
                image=ImageRef.from_registry("public.ecr.aws/appmesh/aws-appmesh-envoy:v1"),
                name="envoy",
                essential=False,
                health_check=HealthCheck(("CMD", "true")),
                memory_reservation_mib=64,
            )
        ],
        cpu=1024,
        memory_mib=2048,
        cpu_architecture="arm64",
        ephemeral_storage_gib=50,
        log_retention=logs.RetentionDays.TWO_WEEKS,
        log_removal_policy=RemovalPolicy.DESTROY,
    )
    ec2_stack = Stack(app, "Ec2")
    ec2_repo = ImageRepository(ec2_stack, "Repo")
    ContainerTaskDefinition(
        ec2_stack,
        "Task",
        container=ContainerSpec(image=ImageRef.from_repository(ec2_repo, digest=DIGEST), port=80),
        fargate=False,
        cpu=512,
        memory_mib=1024,
        network_mode=ecs.NetworkMode.BRIDGE,
        static_host_ports=True,
    )
    roles_stack = Stack(app, "Roles")
    task_role = iam.Role.from_role_arn(roles_stack, "TaskRole", "arn:aws:iam::111111111111:role/t")
    exec_role = iam.Role.from_role_arn(roles_stack, "ExecRole", "arn:aws:iam::111111111111:role/e")
    ContainerTaskDefinition(
        roles_stack,
        "Task",
        container=ContainerSpec(image=ImageRef.from_registry(WEB_IMAGE)),
        task_role=task_role,
        execution_role=exec_role,
    )
    return synth_with_messages(app)


@pytest.fixture(scope="module")
def templates(synthesized: tuple[dict[str, Template], Any]) -> dict[str, Template]:
    return synthesized[0]


def container(template: Template, name: str) -> dict[str, Any]:
    _, props = only(template, "AWS::ECS::TaskDefinition")
    (found,) = [c for c in props["ContainerDefinitions"] if c["Name"] == name]
    return found  # type: ignore[no-any-return]


def test_fargate_task_size_architecture_and_storage(templates: dict[str, Template]) -> None:
    templates["Fargate"].has_resource_properties(
        "AWS::ECS::TaskDefinition",
        {
            "Cpu": "1024",
            "Memory": "2048",
            "NetworkMode": "awsvpc",
            "RequiresCompatibilities": ["FARGATE"],
            "RuntimePlatform": {"CpuArchitecture": "ARM64", "OperatingSystemFamily": "LINUX"},
            "EphemeralStorage": {"SizeInGiB": 50},
        },
    )


def test_main_container_from_spec(templates: dict[str, Template]) -> None:
    app = container(templates["Fargate"], "app")
    assert app["Essential"] is True
    assert app["PortMappings"] == [
        {"ContainerPort": 8080, "Protocol": "tcp"},
        {"ContainerPort": 9090, "Name": "metrics", "Protocol": "tcp"},
        {"ContainerPort": 5353, "Protocol": "udp"},
    ]
    assert app["Environment"] == [{"Name": "LOG_LEVEL", "Value": "info"}]
    assert app["Command"] == ["serve", "--port", "8080"]
    assert app["EntryPoint"] == ["/app/entry"]
    assert app["HealthCheck"] == {
        "Command": ["CMD-SHELL", "curl -f http://localhost:8080/health"],
        "Interval": 10,
        "Retries": 3,
        "StartPeriod": 0,
        "Timeout": 5,
    }
    assert app["DependsOn"] == [{"Condition": "HEALTHY", "ContainerName": "envoy"}]
    assert app["ReadonlyRootFilesystem"] is True
    assert app["User"] == "1000:1000"
    assert app["StopTimeout"] == 60
    repo, _ = only(templates["Fargate"], "AWS::ECR::Repository")
    parts = app["Image"]["Fn::Join"][1]
    assert parts[-2:] == [
        {"Ref": repo},
        ":v1.2.3",
    ]  # <account>.dkr.ecr.<region>.<suffix>/<repo>:tag


def test_secrets_are_references_not_values(templates: dict[str, Template]) -> None:
    secrets = {s["Name"]: s["ValueFrom"] for s in container(templates["Fargate"], "app")["Secrets"]}
    assert secrets["DB_PASSWORD"] == f"{SECRET_ARN}:password::"
    assert "parameter/app/token" in json.dumps(secrets["API_TOKEN"])


def test_execution_role_gets_exactly_the_secrets_the_image_and_the_logs(
    templates: dict[str, Template],
) -> None:
    t = templates["Fargate"]
    repo, _ = only(t, "AWS::ECR::Repository")
    log_group, _ = only(t, "AWS::Logs::LogGroup")
    _, policy = only(t, "AWS::IAM::Policy", "ExecutionRole")
    statements = {
        json.dumps(s["Action"]): s["Resource"] for s in policy["PolicyDocument"]["Statement"]
    }
    parameter_arn = {
        "Fn::Join": [
            "",
            [
                "arn:",
                {"Ref": "AWS::Partition"},
                ":ssm:",
                {"Ref": "AWS::Region"},
                ":",
                {"Ref": "AWS::AccountId"},
                ":parameter/app/token",
            ],
        ]
    }
    ecr_pull = [
        "ecr:BatchCheckLayerAvailability",
        "ecr:BatchGetImage",
        "ecr:GetDownloadUrlForLayer",
    ]
    ssm_read = [
        "ssm:DescribeParameters",
        "ssm:GetParameter",
        "ssm:GetParameterHistory",
        "ssm:GetParameters",
    ]
    assert statements == {
        json.dumps(ecr_pull): {"Fn::GetAtt": [repo, "Arn"]},  # this repository only
        json.dumps("ecr:GetAuthorizationToken"): "*",  # has no resource-level form
        json.dumps(["logs:CreateLogStream", "logs:PutLogEvents"]): {
            "Fn::GetAtt": [log_group, "Arn"]
        },
        json.dumps(["secretsmanager:DescribeSecret", "secretsmanager:GetSecretValue"]): SECRET_ARN,
        json.dumps(ssm_read): parameter_arn,
    }
    # The task role has no permissions of its own.
    assert not [
        p
        for p in t.find_resources("AWS::IAM::Policy").values()
        if "TaskRole" in json.dumps(p["Properties"]["Roles"])
    ]


def test_one_log_group_non_blocking_for_every_container(templates: dict[str, Template]) -> None:
    t = templates["Fargate"]
    log_group_id, props = only(t, "AWS::Logs::LogGroup", "/Task/Logs")
    assert props == {"RetentionInDays": 14}
    t.has_resource("AWS::Logs::LogGroup", {"DeletionPolicy": "Delete"})
    for name in ("app", "envoy"):
        options = container(t, name)["LogConfiguration"]
        assert options["LogDriver"] == "awslogs"
        assert options["Options"]["awslogs-group"] == {"Ref": log_group_id}
        assert options["Options"]["awslogs-stream-prefix"] == name
        assert options["Options"]["mode"] == "non-blocking"
        assert options["Options"]["max-buffer-size"] == "26214400b"


def test_sidecar(templates: dict[str, Template]) -> None:
    envoy = container(templates["Fargate"], "envoy")
    assert envoy["Essential"] is False
    assert envoy["MemoryReservation"] == 64
    assert envoy["HealthCheck"]["Command"] == ["CMD", "true"]


def test_ec2_task_definition_bridge_static_port_and_digest(templates: dict[str, Template]) -> None:
    t = templates["Ec2"]
    _, props = only(t, "AWS::ECS::TaskDefinition")
    assert props["RequiresCompatibilities"] == ["EC2"]
    assert props["NetworkMode"] == "bridge"
    assert "RuntimePlatform" not in props  # EC2: the capacity's instances decide
    app = container(t, "app")
    assert app["PortMappings"] == [{"ContainerPort": 80, "HostPort": 80, "Protocol": "tcp"}]
    assert f"@{DIGEST}" in json.dumps(app["Image"])


def test_given_roles_are_used_and_not_created(templates: dict[str, Template]) -> None:
    t = templates["Roles"]
    _, props = only(t, "AWS::ECS::TaskDefinition")
    assert props["TaskRoleArn"] == "arn:aws:iam::111111111111:role/t"
    assert props["ExecutionRoleArn"] == "arn:aws:iam::111111111111:role/e"
    t.resource_count_is("AWS::IAM::Role", 0)


def test_no_synth_warnings(synthesized: tuple[Any, dict[str, list[str]]]) -> None:
    assert synthesized[1] == {"Fargate": [], "Ec2": [], "Roles": []}


# --- validation: one error per rule -------------------------------------------------------

IMG = ImageRef.from_registry(WEB_IMAGE)


@pytest.mark.parametrize(
    ("props", "message"),
    [
        (
            {"cpu": 256, "memory_mib": 4096},
            r"ContainerTaskDefinition\.memory_mib must be 512, 1024, 2048 MiB with cpu 256 on Fargate .*got 4096",
        ),
        (
            {"cpu": 1024, "memory_mib": 1024},
            r"memory_mib must be 2048 to 8192 in steps of 1024 MiB with cpu 1024 on Fargate .*got 1024",
        ),
        (
            {"cpu": 300},
            r"ContainerTaskDefinition\.cpu must be one of \[256, 512, 1024, 2048, 4096, 8192, 16384\] on Fargate, got 300",
        ),
        ({"cpu_architecture": "arm"}, r"cpu_architecture must be 'x86_64' or 'arm64', got 'arm'"),
        (
            {"ephemeral_storage_gib": 10},
            r"ephemeral_storage_gib must be between 21 and 200, got 10",
        ),
        (
            {"ephemeral_storage_gib": 30, "fargate": False},
            r"ephemeral_storage_gib must be None on EC2 capacity",
        ),
        ({"fargate": False, "memory_mib": 64}, r"memory_mib must be >= 128, got 64"),
        (
            {"container": ContainerSpec(image=IMG, port=0)},
            r"ContainerTaskDefinition\.container\.port must be between 1 and 65535, got 0",
        ),
        (
            {"container": ContainerSpec(image=IMG, port=70000)},
            r"container\.port must be between 1 and 65535, got 70000",
        ),
        (
            {"container": ContainerSpec(image=IMG, port=80, extra_ports=(PortSpec(80),))},
            r"ports must be distinct container ports",
        ),
        (
            {"container": ContainerSpec(image=IMG, environment={"BAD-NAME": "x"})},
            r"container\.environment must be an environment variable name like 'LOG_LEVEL', got 'BAD-NAME'",
        ),
        (
            {"container": ContainerSpec(image=IMG, essential=False)},
            r"container\.essential must be True for the main container",
        ),
        (
            {"container": ContainerSpec(image=IMG, name="bad name")},
            r"container\.name must be 1-255 letters",
        ),
        (
            {"container": ContainerSpec(image=IMG, depends_on={"ghost": "START"})},
            r"container 'app' depends_on must be another container of the task, one of \[\], got 'ghost'",
        ),
        (
            {
                "container": ContainerSpec(image=IMG, depends_on={"side": "HEALTHY"}),
                "sidecars": [ContainerSpec(image=IMG, name="side", essential=False)],
            },
            r"depends_on\['side'\] must be START, COMPLETE or SUCCESS, or give 'side' a health_check",
        ),
        (
            {
                "container": ContainerSpec(image=IMG, depends_on={"side": "READY"}),
                "sidecars": [ContainerSpec(image=IMG, name="side")],
            },
            r"depends_on\['side'\] must be one of \['START', 'COMPLETE', 'SUCCESS', 'HEALTHY'\], got 'READY'",
        ),
        (
            {"sidecars": [ContainerSpec(image=IMG)]},
            r"container names must be distinct container names .*'app'",
        ),
        (
            {"container": ContainerSpec(image=IMG, health_check=HealthCheck(("curl",)))},
            r"health_check\.command must be a command starting with 'CMD' or 'CMD-SHELL'",
        ),
        (
            {
                "container": ContainerSpec(
                    image=IMG, health_check=HealthCheck(("CMD", "true"), retries=0)
                )
            },
            r"health_check\.retries must be between 1 and 10, got 0",
        ),
        (
            {"container": ContainerSpec(image=IMG, memory_limit_mib=1024)},
            r"memory_limit_mib total must be <= the task's memory_mib \(512\), got 1024",
        ),
        (
            {"container": ContainerSpec(image=IMG, stop_timeout=Duration.seconds(300))},
            r"stop_timeout \(seconds\) must be between 1 and 120, got 300",
        ),
    ],
)
def test_bad_task_props(props: dict[str, Any], message: str) -> None:
    kwargs: dict[str, Any] = {"container": ContainerSpec(image=IMG), **props}
    with pytest.raises(EcskitValidationError, match=message):
        ContainerTaskDefinition(Stack(unit_app(), "S"), "Task", **kwargs)


def test_environment_and_secret_with_the_same_name() -> None:
    secret = SecretRef.ssm_parameter(
        ssm.StringParameter.from_string_parameter_name(Stack(unit_app(), "P"), "P", "/x")
    )
    spec = ContainerSpec(image=IMG, environment={"TOKEN": "x"}, secrets={"TOKEN": secret})
    with pytest.raises(
        EcskitValidationError, match=r"secrets must be names not also set in environment"
    ):
        ContainerTaskDefinition(Stack(unit_app(), "S"), "Task", container=spec)


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"tag": "v1", "digest": DIGEST}, r"from_repository must be exactly one of tag or digest"),
        ({}, r"from_repository must be exactly one of tag or digest"),
        ({"tag": "v1!"}, r"from_repository\.tag must be a Docker tag"),
        (
            {"digest": "sha256:abc"},
            r"from_repository\.digest must be an image digest like 'sha256:<64 hex digits>'",
        ),
    ],
)
def test_bad_image_references(kwargs: dict[str, str], message: str) -> None:
    repo = ImageRepository(Stack(unit_app(), "S"), "Repo")
    with pytest.raises(EcskitValidationError, match=message):
        ImageRef.from_repository(repo, **kwargs)


def test_registry_image_needs_a_name() -> None:
    with pytest.raises(
        EcskitValidationError, match=r"from_registry name must be an image reference"
    ):
        ImageRef.from_registry("nginx latest")
