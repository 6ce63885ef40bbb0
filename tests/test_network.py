"""constructs_lib.Network: subnets, NAT, flow logs, endpoints, validation."""

from __future__ import annotations

from typing import Any

import pytest
from aws_cdk import App, Stack
from aws_cdk import aws_ec2 as ec2
from aws_cdk.assertions import Match, Template

from constructs_lib import EcskitValidationError, Network
from tests.conftest import unit_app

ENV_AGNOSTIC_ZONES = ["eu-west-1a", "eu-west-1b", "eu-west-1c"]


@pytest.fixture(scope="module")
def templates(synth_stacks: Any) -> dict[str, Template]:
    app = unit_app()
    Network(Stack(app, "Defaults"), "Network")
    Network(
        Stack(app, "Full"),
        "Network",
        cidr="10.1.0.0/16",
        availability_zones=ENV_AGNOSTIC_ZONES,
        nat_gateways=2,
        isolated_subnets=True,
        endpoints=["s3", "ecr.api", "ecr.dkr", "logs", "secretsmanager"],
    )
    Network(Stack(app, "Cheap"), "Network", nat_gateways=0, flow_logs=False)
    return synth_stacks(app)  # type: ignore[no-any-return]


def subnets_by_group(template: Template) -> dict[str, list[dict[str, Any]]]:
    groups: dict[str, list[dict[str, Any]]] = {}
    for subnet in template.find_resources("AWS::EC2::Subnet").values():
        tags = {t["Key"]: t["Value"] for t in subnet["Properties"]["Tags"]}
        groups.setdefault(tags["aws-cdk:subnet-name"], []).append(subnet["Properties"])
    return groups


def test_defaults_two_azs_public_private_one_nat(templates: dict[str, Template]) -> None:
    t = templates["Defaults"]
    t.has_resource_properties("AWS::EC2::VPC", {"CidrBlock": "10.0.0.0/16"})
    groups = subnets_by_group(t)
    assert sorted(groups) == ["Private", "Public"]
    assert [s["CidrBlock"].split("/")[1] for s in groups["Public"]] == ["24", "24"]
    assert [s["CidrBlock"].split("/")[1] for s in groups["Private"]] == ["20", "20"]
    t.resource_count_is("AWS::EC2::NatGateway", 1)
    # Private subnets route to the NAT gateway: egress without public IPs.
    t.has_resource_properties(
        "AWS::EC2::Route",
        {"DestinationCidrBlock": "0.0.0.0/0", "NatGatewayId": Match.any_value()},
    )


def test_flow_logs_to_cloudwatch_with_retention(templates: dict[str, Template]) -> None:
    t = templates["Defaults"]
    t.has_resource_properties(
        "AWS::EC2::FlowLog",
        {"ResourceType": "VPC", "TrafficType": "ALL", "LogDestinationType": "cloud-watch-logs"},
    )
    t.has_resource(
        "AWS::Logs::LogGroup", {"Properties": {"RetentionInDays": 30}, "DeletionPolicy": "Retain"}
    )
    templates["Cheap"].resource_count_is("AWS::EC2::FlowLog", 0)


def test_default_security_group_is_restricted(templates: dict[str, Template]) -> None:
    templates["Defaults"].resource_count_is("Custom::VpcRestrictDefaultSG", 1)


def test_explicit_azs_isolated_subnets_and_endpoints(templates: dict[str, Template]) -> None:
    t = templates["Full"]
    groups = subnets_by_group(t)
    assert sorted(groups) == ["Isolated", "Private", "Public"]
    assert sorted(s["AvailabilityZone"] for s in groups["Private"]) == ENV_AGNOSTIC_ZONES
    t.resource_count_is("AWS::EC2::NatGateway", 2)
    endpoints = t.find_resources("AWS::EC2::VPCEndpoint")
    kinds = sorted(e["Properties"].get("VpcEndpointType", "Gateway") for e in endpoints.values())
    assert kinds == ["Gateway", "Interface", "Interface", "Interface", "Interface"]
    services = sorted(
        e["Properties"]["ServiceName"]["Fn::Join"][1][-1].rsplit(".", 1)[-1]
        for e in endpoints.values()
        if e["Properties"].get("VpcEndpointType") == "Interface"
    )
    assert services == ["api", "dkr", "logs", "secretsmanager"]
    assert all(
        e["Properties"]["PrivateDnsEnabled"]
        for e in endpoints.values()
        if e["Properties"].get("VpcEndpointType") == "Interface"
    )
    # Interface endpoints accept HTTPS from the VPC only.
    t.has_resource_properties(
        "AWS::EC2::SecurityGroup",
        {
            "SecurityGroupIngress": [
                Match.object_like(
                    # the literal CIDR (not a Fn::GetAtt): checkers such as cdk-nag EC23 see it
                    {"FromPort": 443, "ToPort": 443, "CidrIp": "10.1.0.0/16"}
                )
            ]
        },
    )


def test_no_nat_makes_private_subnets_isolated(templates: dict[str, Template]) -> None:
    t = templates["Cheap"]
    t.resource_count_is("AWS::EC2::NatGateway", 0)
    routes = t.find_resources("AWS::EC2::Route")
    assert all("GatewayId" in r["Properties"] for r in routes.values())  # IGW routes only


def test_attributes() -> None:
    app = unit_app()
    net = Network(
        Stack(app, "S"), "Network", nat_gateways=0, endpoints=["ecr.api", "ecr.dkr", "logs", "s3"]
    )
    assert isinstance(net.vpc, ec2.Vpc)
    assert net.has_nat_egress is False
    assert net.can_pull_images_privately is True
    assert sorted(net.endpoints) == ["ecr.api", "ecr.dkr", "logs", "s3"]
    bare = Network(Stack(app, "T"), "Network", nat_gateways=0)
    assert bare.can_pull_images_privately is False


@pytest.mark.parametrize(
    ("props", "message"),
    [
        ({"max_azs": 0}, r"Network\.max_azs must be between 2 and 3, got 0"),
        (
            {"max_azs": 2, "nat_gateways": 3},
            r"Network\.nat_gateways must be between 0 and 2, got 3",
        ),
        (
            {"cidr": "10.0.0.0/8"},
            r"Network\.cidr must be a CIDR block with a prefix between /16 and /24, got '10\.0\.0\.0/8'",
        ),
        ({"cidr": "300.0.0.0/16"}, r"Network\.cidr must be an IPv4 CIDR block"),
        (
            {"cidr": "10.0.0.0/19", "max_azs": 3},
            r"Network\.cidr 10\.0\.0\.0/19 has 8192 addresses but 3 AZs",
        ),
        ({"private_subnet_mask": 29}, r"Network\.private_subnet_mask must be between 17 and 28"),
        (
            {"availability_zones": ["eu-west-1a"]},
            r"Network\.availability_zones must be a list of 2 or 3",
        ),
        (
            {"availability_zones": ["eu-west-1a", "eu-west-1a"]},
            r"Network\.availability_zones must be a list of distinct",
        ),
        (
            {"endpoints": ["ecr", "logs"]},
            r"Network\.endpoints must be a list of names from .*got \['ecr'\]",
        ),
        ({"endpoints": ["logs", "logs"]}, r"Network\.endpoints lists a name twice"),
    ],
)
def test_bad_props_fail_before_any_resource(props: dict[str, Any], message: str) -> None:
    stack = Stack(App(), "S")
    with pytest.raises(EcskitValidationError, match=message):
        Network(stack, "Network", **props)
    assert (
        stack.node.try_find_child("Network") is None
        or not stack.node.find_child("Network").node.children
    )
