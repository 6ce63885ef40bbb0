"""The prod environment, synthesized in-process once (with CloudFormation validation)."""

from __future__ import annotations

import json
from typing import Any

import pytest
from aws_cdk.assertions import Match, Template

from tests.conftest import assert_tagged


def test_prod_is_production_grade(prod_templates: dict[str, Template]) -> None:
    net = prod_templates["ecskit-prod-Network"]
    net.resource_count_is("AWS::EC2::NatGateway", 3)
    net.resource_count_is("AWS::EC2::Subnet", 9)  # public, private, isolated x 3 AZs
    net.resource_count_is("AWS::EC2::VPCEndpoint", 5)
    net.has_resource(
        "AWS::Logs::LogGroup", {"Properties": {"RetentionInDays": 365}, "DeletionPolicy": "Retain"}
    )
    platform = prod_templates["ecskit-prod-Platform"]
    platform.has_resource(
        "AWS::ECR::Repository", {"DeletionPolicy": "Retain", "UpdateReplacePolicy": "Retain"}
    )
    platform.has_resource_properties(
        "AWS::ECS::ClusterCapacityProviderAssociations",
        {
            "DefaultCapacityProviderStrategy": [
                {"CapacityProvider": "FARGATE", "Weight": 1, "Base": 2},
                {"CapacityProvider": "FARGATE_SPOT", "Weight": 1},
            ]
        },
    )
    platform.has_resource_properties(
        "AWS::ECS::Cluster",
        {"ClusterSettings": [{"Name": "containerInsights", "Value": "enhanced"}]},
    )
    params = json.dumps(platform.to_json()["Parameters"])
    assert "/aws/service/bottlerocket/aws-ecs-2/arm64/latest/image_id" in params


def stack_artifacts(manifest: dict[str, Any]) -> dict[str, Any]:
    return {
        name: artifact
        for name, artifact in manifest["artifacts"].items()
        if artifact["type"] == "aws:cloudformation:stack"
    }


def test_prod_stacks_are_pinned_to_the_account(prod_manifest: dict[str, Any]) -> None:
    stacks = stack_artifacts(prod_manifest)
    assert len(stacks) == 3
    for artifact in stacks.values():
        assert artifact["environment"] == "aws://222222222222/eu-west-1"


def test_every_taggable_prod_resource_is_tagged(prod_templates: dict[str, Template]) -> None:
    assert_tagged(prod_templates, "prod")


def test_prod_synth_needs_no_aws_lookup(prod_manifest: dict[str, Any]) -> None:
    assert "missing" not in prod_manifest  # the account-pinned VPC's AZs come from the config
    assert set(stack_artifacts(prod_manifest)) == {
        "ecskit-prod-Network",
        "ecskit-prod-Platform",
        "ecskit-prod-Services",
    }


SERVICES = ("web", "api", "tcp", "worker", "nightly", "agent")


def by_service(t: Template, type_: str) -> dict[str, dict[str, Any]]:
    """Properties of ``type_`` resources by configured service name (logical id prefix)."""
    found = t.find_resources(type_)
    return {next(n for n in SERVICES if k.startswith(n)): v["Properties"] for k, v in found.items()}


def test_prod_https_load_balancer(prod_templates: dict[str, Template]) -> None:
    t = prod_templates["ecskit-prod-Services"]
    listeners = {
        r["Properties"]["Port"]: r["Properties"]
        for r in t.find_resources("AWS::ElasticLoadBalancingV2::Listener").values()
        if r["Properties"]["Protocol"] != "TCP"
    }
    assert sorted(listeners) == [80, 443, 9443]
    assert listeners[80]["DefaultActions"][0]["RedirectConfig"] == {
        "Port": "443",
        "Protocol": "HTTPS",
        "StatusCode": "HTTP_301",
    }
    for port in (443, 9443):
        assert listeners[port]["Protocol"] == "HTTPS"
        assert listeners[port]["SslPolicy"] == "ELBSecurityPolicy-TLS13-1-2-Res-PQ-2025-09"
    t.has_resource_properties(
        "AWS::CertificateManager::Certificate",
        {
            "DomainName": "app.example.com",
            "SubjectAlternativeNames": ["api.example.com"],
            "ValidationMethod": "DNS",
        },
    )
    t.has_resource_properties(
        "AWS::Route53::RecordSet",
        {"Name": "app.example.com.", "Type": "A", "HostedZoneId": "Z0123456789EXAMPLE"},
    )
    alb = next(
        r["Properties"]
        for r in t.find_resources("AWS::ElasticLoadBalancingV2::LoadBalancer").values()
        if r["Properties"]["Type"] == "application"
    )
    attributes = {a["Key"]: a["Value"] for a in alb["LoadBalancerAttributes"]}
    assert attributes["deletion_protection.enabled"] == "true"
    assert attributes["access_logs.s3.enabled"] == "true"
    t.has_resource(
        "AWS::S3::Bucket",
        {
            "DeletionPolicy": "Retain",
            "Properties": Match.object_like(
                {
                    "LifecycleConfiguration": {
                        "Rules": [
                            {
                                "ExpirationInDays": 365,
                                "Id": "expire-access-logs",
                                "Status": "Enabled",
                            }
                        ]
                    }
                }
            ),
        },
    )
    test_ingress = [
        rule
        for sg in t.find_resources("AWS::EC2::SecurityGroup").values()
        for rule in sg["Properties"].get("SecurityGroupIngress", [])
        if rule["FromPort"] == 9443
    ]
    assert [r["CidrIp"] for r in test_ingress] == ["10.20.0.0/16"]  # test listener: VPC only


def test_prod_services_deploy_safely(prod_templates: dict[str, Template]) -> None:
    t = prod_templates["ecskit-prod-Services"]
    services = by_service(t, "AWS::ECS::Service")
    assert set(services) == {"web", "api", "tcp", "worker", "agent"}
    web, api, tcp, worker, agent = (services[n] for n in ("web", "api", "tcp", "worker", "agent"))
    assert web["DeploymentConfiguration"]["Strategy"] == "CANARY"
    assert web["DeploymentConfiguration"]["CanaryConfiguration"] == {
        "CanaryBakeTimeInMinutes": 10,
        "CanaryPercent": 10,
    }
    assert api["DeploymentConfiguration"]["Strategy"] == "BLUE_GREEN"
    assert api["DeploymentConfiguration"]["BakeTimeInMinutes"] == 10
    advanced = api["LoadBalancers"][0]["AdvancedConfiguration"]
    assert {
        "AlternateTargetGroupArn",
        "ProductionListenerRule",
        "TestListenerRule",
        "RoleArn",
    } <= set(advanced)
    # Autoscaling owns every count (issue 4: tcp moved from desired_count 2 to min_tasks 2).
    assert [n for n, p in services.items() if "DesiredCount" in p] == []
    assert "DesiredCount" not in tcp
    targets = {
        name: (p["MinCapacity"], p["MaxCapacity"])
        for name, p in by_service(t, "AWS::ApplicationAutoScaling::ScalableTarget").items()
    }
    assert targets == {"web": (2, 10), "api": (2, 6), "tcp": (2, 6), "worker": (1, 4)}
    for name in ("web", "tcp", "worker"):  # NAT in prod: Fargate tasks stay private
        network = services[name]["NetworkConfiguration"]["AwsvpcConfiguration"]
        assert network["AssignPublicIp"] == "DISABLED", name
        assert "PrivateSubnet" in json.dumps(network["Subnets"]), name
    assert worker["CapacityProviderStrategy"] == [{"CapacityProvider": "FARGATE_SPOT", "Weight": 1}]
    assert agent["SchedulingStrategy"] == "DAEMON"
    assert agent["LaunchType"] == "EC2"
    assert agent["PlacementConstraints"] == [
        {"Expression": "attribute:ecs.cpu-architecture == arm64", "Type": "memberOf"}
    ]
    t.has_resource_properties(
        "AWS::Scheduler::Schedule", {"ScheduleExpressionTimezone": "Europe/Paris"}
    )
    t.has_resource(
        "AWS::Logs::LogGroup", {"Properties": {"RetentionInDays": 365}, "DeletionPolicy": "Retain"}
    )


def test_prod_synth_has_no_warnings(prod_manifest: dict[str, Any]) -> None:
    found = [
        f"{name}: {path}: {entry['data']}"
        for name, artifact in stack_artifacts(prod_manifest).items()
        for path, entries in artifact.get("metadata", {}).items()
        for entry in entries
        if entry["type"] in ("aws:cdk:warning", "aws:cdk:error")
    ]
    assert found == []


PROD_STACKS = ["ecskit-prod-Network", "ecskit-prod-Platform", "ecskit-prod-Services"]


@pytest.mark.parametrize("stack", PROD_STACKS)
def test_prod_stack_snapshot(
    prod_templates: dict[str, Template], template_snapshot: Any, stack: str
) -> None:
    """The whole prod template, logical ids included (asset hashes normalised); accept an
    intended change with ``make snapshot-update``."""
    assert prod_templates[stack].to_json() == template_snapshot
