"""constructs_lib.ComputeCluster: Fargate/Fargate Spot/EC2 capacity, user data, teardown."""

from __future__ import annotations

import json
import re
import tomllib
from typing import Any

import pytest
from aws_cdk import Duration, Stack
from aws_cdk import aws_ec2 as ec2
from aws_cdk import aws_ecs as ecs
from aws_cdk.assertions import Match, Template

from constructs_lib import ComputeCluster, EcskitValidationError, MachineImageKind
from constructs_lib.cluster import CapacityShare
from tests.conftest import ROOT, unit_app

ZONES = ["eu-west-1a", "eu-west-1b"]


def new_cluster(stack: Stack, **props: Any) -> ComputeCluster:
    vpc = ec2.Vpc(stack, "Vpc", availability_zones=ZONES, nat_gateways=1)
    return ComputeCluster(stack, "Cluster", vpc=vpc, **props)


@pytest.fixture(scope="module")
def templates(synth_stacks: Any) -> dict[str, Template]:
    app = unit_app()
    cluster = new_cluster(Stack(app, "Mixed"))
    cluster.add_ec2_capacity(
        "general",
        instance_types=["m6i.large", "m5.large"],
        max_capacity=4,
        on_demand_base_capacity=1,
        on_demand_percentage_above_base=50,
        instance_tags={"team": "payments"},
    )
    cluster.add_ec2_capacity(
        "arm",
        instance_types=["m7g.large"],
        max_capacity=2,
        min_capacity=1,
        machine_image=MachineImageKind.BOTTLEROCKET,
        target_capacity_percent=80,
        root_volume_size_gib=50,
        container_stop_timeout=Duration.seconds(60),
        image_pull_behavior="prefer-cached",
    )
    cluster.set_default_capacity_provider_strategy(
        [CapacityShare("general", weight=1, base=1), CapacityShare("arm", weight=2)]
    )
    new_cluster(Stack(app, "FargateOnly"))
    unprotected = new_cluster(
        Stack(app, "Unprotected"), container_insights=ecs.ContainerInsights.ENABLED
    )
    unprotected.add_ec2_capacity(
        "plain", instance_types=["t3.small"], max_capacity=1, managed_termination_protection=False
    )
    return synth_stacks(app)  # type: ignore[no-any-return]


def logical_id(template: Template, type_: str, path_part: str) -> str:
    found = template.find_resources(type_)
    (match,) = [k for k, v in found.items() if path_part in v["Metadata"]["aws:cdk:path"]]
    return match


def launch_template_data(template: Template, capacity: str) -> dict[str, Any]:
    lt = logical_id(template, "AWS::EC2::LaunchTemplate", f"/{capacity}/LaunchTemplate")
    data: dict[str, Any] = template.to_json()["Resources"][lt]["Properties"]["LaunchTemplateData"]
    return data


def user_data_text(data: dict[str, Any]) -> str:
    """Join the rendered user data, writing tokens as <Ref:...>."""
    parts = data["UserData"]["Fn::Base64"]
    if isinstance(parts, str):
        return parts
    pieces = parts["Fn::Join"][1]
    return "".join(p if isinstance(p, str) else f"<Ref:{p.get('Ref')}>" for p in pieces)


def test_container_insights_enhanced_by_default(templates: dict[str, Template]) -> None:
    templates["FargateOnly"].has_resource_properties(
        "AWS::ECS::Cluster",
        {"ClusterSettings": [{"Name": "containerInsights", "Value": "enhanced"}]},
    )
    templates["Unprotected"].has_resource_properties(
        "AWS::ECS::Cluster",
        {"ClusterSettings": [{"Name": "containerInsights", "Value": "enabled"}]},
    )


def test_fargate_default_strategy_when_none_set(templates: dict[str, Template]) -> None:
    templates["FargateOnly"].has_resource_properties(
        "AWS::ECS::ClusterCapacityProviderAssociations",
        {
            "CapacityProviders": ["FARGATE", "FARGATE_SPOT"],
            "DefaultCapacityProviderStrategy": [{"CapacityProvider": "FARGATE", "Weight": 1}],
        },
    )


def test_ec2_capacity_providers_and_explicit_default_strategy(
    templates: dict[str, Template],
) -> None:
    t = templates["Mixed"]
    general = logical_id(t, "AWS::ECS::CapacityProvider", "/general/")
    arm = logical_id(t, "AWS::ECS::CapacityProvider", "/arm/")
    t.has_resource_properties(
        "AWS::ECS::ClusterCapacityProviderAssociations",
        {
            "CapacityProviders": ["FARGATE", "FARGATE_SPOT", {"Ref": general}, {"Ref": arm}],
            "DefaultCapacityProviderStrategy": [
                {"CapacityProvider": {"Ref": general}, "Weight": 1, "Base": 1},
                {"CapacityProvider": {"Ref": arm}, "Weight": 2},
            ],
        },
    )
    t.has_resource_properties(
        "AWS::ECS::CapacityProvider",
        {
            "AutoScalingGroupProvider": {
                "ManagedScaling": {"Status": "ENABLED", "TargetCapacity": 80},
                "ManagedTerminationProtection": "ENABLED",
                "ManagedDraining": "ENABLED",
                "AutoScalingGroupArn": Match.any_value(),
            }
        },
    )


def test_auto_scaling_group_spot_mix(templates: dict[str, Template]) -> None:
    t = templates["Mixed"]
    asg_id = logical_id(t, "AWS::AutoScaling::AutoScalingGroup", "/general/")
    props = t.to_json()["Resources"][asg_id]["Properties"]
    assert props["MinSize"] == "0"
    assert props["MaxSize"] == "4"
    assert "DesiredCapacity" not in props  # ECS managed scaling owns it; deploys never reset it
    assert props["NewInstancesProtectedFromScaleIn"] is True
    assert props["CapacityRebalance"] is True
    policy = props["MixedInstancesPolicy"]
    assert policy["InstancesDistribution"] == {
        "OnDemandAllocationStrategy": "prioritized",
        "OnDemandBaseCapacity": 1,
        "OnDemandPercentageAboveBaseCapacity": 50,
        "SpotAllocationStrategy": "price-capacity-optimized",
    }
    overrides = policy["LaunchTemplate"]["Overrides"]
    assert [o["InstanceType"] for o in overrides] == ["m6i.large", "m5.large"]


def test_launch_template_hardening(templates: dict[str, Template]) -> None:
    for capacity in ("general", "arm"):
        data = launch_template_data(templates["Mixed"], capacity)
        assert data["MetadataOptions"] == {"HttpPutResponseHopLimit": 1, "HttpTokens": "required"}
        for mapping in data["BlockDeviceMappings"]:
            assert mapping["Ebs"]["Encrypted"] is True
            assert mapping["Ebs"]["VolumeType"] == "gp3"
    general = launch_template_data(templates["Mixed"], "general")
    assert [(m["DeviceName"], m["Ebs"]["VolumeSize"]) for m in general["BlockDeviceMappings"]] == [
        ("/dev/xvda", 30)
    ]
    arm = launch_template_data(templates["Mixed"], "arm")
    assert [(m["DeviceName"], m["Ebs"]["VolumeSize"]) for m in arm["BlockDeviceMappings"]] == [
        ("/dev/xvda", 4),
        ("/dev/xvdb", 50),
    ]


def test_ami_follows_image_kind_and_architecture(templates: dict[str, Template]) -> None:
    params = templates["Mixed"].to_json()["Parameters"]
    defaults = sorted(p["Default"] for p in params.values() if "Default" in p)
    assert "/aws/service/bottlerocket/aws-ecs-2/arm64/latest/image_id" in defaults
    assert "/aws/service/ecs/optimized-ami/amazon-linux-2023/recommended/image_id" in defaults


def test_al2023_user_data_from_template(templates: dict[str, Template]) -> None:
    t = templates["Mixed"]
    text = user_data_text(launch_template_data(t, "general"))
    cluster = logical_id(t, "AWS::ECS::Cluster", "Cluster")
    assert text.startswith("#!/bin/bash\n")
    config = text.split("<<'ECSKIT_ECS_CONFIG'\n", 1)[1].split("\nECSKIT_ECS_CONFIG", 1)[0]
    settings = dict(line.split("=", 1) for line in config.splitlines())
    assert settings == {
        "ECS_CLUSTER": f"<Ref:{cluster}>",
        "ECS_ENABLE_SPOT_INSTANCE_DRAINING": "true",
        "ECS_CONTAINER_STOP_TIMEOUT": "30s",
        "ECS_IMAGE_PULL_BEHAVIOR": "default",
        "ECS_AWSVPC_BLOCK_IMDS": "true",
        "ECS_ENABLE_CONTAINER_METADATA": "true",
        "ECS_CONTAINER_INSTANCE_PROPAGATE_TAGS_FROM": "ec2_instance",
        "ECS_CONTAINER_INSTANCE_TAGS": '{"team": "payments"}',
    }


def test_bottlerocket_user_data_is_valid_toml(templates: dict[str, Template]) -> None:
    t = templates["Mixed"]
    text = user_data_text(launch_template_data(t, "arm"))
    cluster = logical_id(t, "AWS::ECS::Cluster", "Cluster")
    settings = tomllib.loads(text)["settings"]["ecs"]
    assert settings == {
        "cluster": f"<Ref:{cluster}>",
        "enable-spot-instance-draining": False,
        "container-stop-timeout": "60s",
        "image-pull-behavior": "prefer-cached",
        "awsvpc-block-imds": True,
    }


def test_teardown_releases_protection_before_the_group_is_deleted(
    templates: dict[str, Template],
) -> None:
    t = templates["Mixed"]
    for capacity in ("general", "arm"):
        asg = logical_id(t, "AWS::AutoScaling::AutoScalingGroup", f"/{capacity}/")
        # A Ref to the group makes CloudFormation delete the custom resource first.
        t.has_resource_properties(
            "Custom::EcskitCapacityTeardown", {"AutoScalingGroupName": {"Ref": asg}}
        )
    handler = (ROOT / "constructs_lib" / "_teardown_handler.py").read_text()
    t.has_resource_properties(
        "AWS::Lambda::Function",
        {"Code": {"ZipFile": handler}, "Handler": "index.handler", "Runtime": "python3.14"},
    )
    # Its own role: no AWS managed policy (AWSLambdaBasicExecutionRole allows every log group).
    teardown_roles = [
        r
        for r in t.find_resources("AWS::IAM::Role").values()
        if r["Metadata"]["aws:cdk:path"].endswith("/TeardownRole/Resource")
    ]
    assert len(teardown_roles) == 2
    assert all("ManagedPolicyArns" not in r["Properties"] for r in teardown_roles)
    policies = json.dumps(t.find_resources("AWS::IAM::Policy"))
    assert "logs:PutLogEvents" in policies
    assert "autoscaling:SetInstanceProtection" in policies
    assert re.search(r"autoScalingGroup:\*:autoScalingGroupName/", policies)
    templates["Unprotected"].resource_count_is("Custom::EcskitCapacityTeardown", 0)
    templates["Unprotected"].has_resource_properties(
        "AWS::ECS::CapacityProvider",
        {
            "AutoScalingGroupProvider": Match.object_like(
                {"ManagedTerminationProtection": "DISABLED"}
            )
        },
    )


def test_ec2_capacity_attributes() -> None:
    cluster = new_cluster(Stack(unit_app(), "S"))
    capacity = cluster.add_ec2_capacity("graviton", instance_types=["c7g.xlarge"], max_capacity=3)
    assert capacity.architecture == "arm64"
    assert cluster.capacity_provider_names == ["FARGATE", "FARGATE_SPOT", "graviton"]
    assert cluster.ec2_capacities["graviton"] is capacity
    assert isinstance(capacity.capacity_provider, ecs.AsgCapacityProvider)
    assert capacity.instance_types == ("c7g.xlarge",)


def test_default_capacity_shares_for_services() -> None:
    cluster = new_cluster(Stack(unit_app(), "S"))
    assert cluster.default_capacity_shares == (CapacityShare("FARGATE"),)
    cluster.add_ec2_capacity("pool", instance_types=["t3.small"], max_capacity=1)
    cluster.set_default_capacity_provider_strategy([CapacityShare("pool", base=1)])
    assert cluster.default_capacity_shares == (CapacityShare("pool", base=1),)
    assert ComputeCluster.is_fargate_strategy([CapacityShare("FARGATE_SPOT")])
    assert not ComputeCluster.is_fargate_strategy([CapacityShare("pool")])
    ec2_only = new_cluster(Stack(unit_app(), "T"), enable_fargate=False)
    assert ec2_only.default_capacity_shares == ()


@pytest.mark.parametrize(
    ("props", "message"),
    [
        ({"instance_types": ["m7g.large", "m6i.large"]}, r"instance_types mixes CPU architectures"),
        (
            {"instance_types": ["t3.huge"]},
            r"instance_types\[0\] must be an EC2 instance type .*got 't3\.huge'",
        ),
        ({"instance_types": []}, r"instance_types must be a non-empty list"),
        ({"min_capacity": 5}, r"min_capacity \(5\) must be <= max_capacity \(2\)"),
        (
            {"on_demand_percentage_above_base": 120},
            r"on_demand_percentage_above_base must be between 0 and 100, got 120",
        ),
        (
            {"target_capacity_percent": 0},
            r"target_capacity_percent must be between 1 and 100, got 0",
        ),
        ({"image_pull_behavior": "never"}, r"image_pull_behavior must be one of .*got 'never'"),
        (
            {"container_stop_timeout": Duration.seconds(0)},
            r"container_stop_timeout \(seconds\) must be between 1 and 120, got 0",
        ),
        ({"root_volume_size_gib": 4}, r"root_volume_size_gib must be between 8 and 16384, got 4"),
    ],
)
def test_bad_capacity_props(props: dict[str, Any], message: str) -> None:
    cluster = new_cluster(Stack(unit_app(), "S"))
    kwargs: dict[str, Any] = {"instance_types": ["t3.small"], "max_capacity": 2, **props}
    with pytest.raises(EcskitValidationError, match=message):
        cluster.add_ec2_capacity("pool", **kwargs)


@pytest.mark.parametrize(
    ("name", "message"),
    [
        ("FARGATE", r"add_ec2_capacity name must be a name not already used"),
        ("ecs-pool", r"not starting with 'aws', 'ecs' or 'fargate', got 'ecs-pool'"),
        ("my pool", r"letters, digits and '-'"),
    ],
)
def test_bad_capacity_names(name: str, message: str) -> None:
    cluster = new_cluster(Stack(unit_app(), "S"))
    with pytest.raises(EcskitValidationError, match=message):
        cluster.add_ec2_capacity(name, instance_types=["t3.small"], max_capacity=1)


@pytest.mark.parametrize(
    ("shares", "message"),
    [
        (
            [CapacityShare("gpu")],
            r"strategy\[0\]\.provider must be one of \['FARGATE', 'FARGATE_SPOT', 'pool'\], got 'gpu'",
        ),
        (
            [CapacityShare("FARGATE"), CapacityShare("pool")],
            r"Fargate providers or EC2 capacities, not both",
        ),
        (
            [CapacityShare("FARGATE", base=1), CapacityShare("FARGATE_SPOT", base=2)],
            r"a base on at most one provider",
        ),
        ([CapacityShare("FARGATE", weight=0)], r"at least one weight above 0"),
        (
            [CapacityShare("FARGATE", weight=1001)],
            r"strategy\[0\]\.weight must be between 0 and 1000, got 1001",
        ),
        ([CapacityShare("FARGATE"), CapacityShare("FARGATE")], r"each provider at most once"),
        ([], r"at least one capacity provider share"),
    ],
)
def test_bad_strategies(shares: list[CapacityShare], message: str) -> None:
    cluster = new_cluster(Stack(unit_app(), "S"))
    cluster.add_ec2_capacity("pool", instance_types=["t3.small"], max_capacity=1)
    with pytest.raises(EcskitValidationError, match=message):
        cluster.set_default_capacity_provider_strategy(shares)


def test_default_strategy_is_set_once() -> None:
    cluster = new_cluster(Stack(unit_app(), "S"))
    cluster.set_default_capacity_provider_strategy([CapacityShare("FARGATE_SPOT")])
    with pytest.raises(
        EcskitValidationError, match=r"default_capacity_provider_strategy is already set"
    ):
        cluster.set_default_capacity_provider_strategy([CapacityShare("FARGATE")])
