"""The prod environment, synthesized in-process once (with CloudFormation validation)."""

from __future__ import annotations

import json
from typing import Any

from aws_cdk.assertions import Template

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


def test_prod_stacks_are_pinned_to_the_account(prod_app: tuple[Any, dict[str, Any]]) -> None:
    _, stacks = prod_app
    for stack in stacks.values():
        assert stack.account == "222222222222"
        assert stack.region == "eu-west-1"


def test_every_taggable_prod_resource_is_tagged(prod_templates: dict[str, Template]) -> None:
    assert_tagged(prod_templates, "prod")
