"""constructs_lib.ImageRepository: scan, immutability, lifecycle, removal, grants, validation."""

from __future__ import annotations

import json
from typing import Any

import pytest
from aws_cdk import Duration, RemovalPolicy, Stack
from aws_cdk import aws_ecr as ecr
from aws_cdk import aws_iam as iam
from aws_cdk import aws_kms as kms
from aws_cdk.assertions import Match, Template

from constructs_lib import EcskitValidationError, ImageRepository
from tests.conftest import unit_app


@pytest.fixture(scope="module")
def templates(synth_stacks: Any) -> dict[str, Template]:
    app = unit_app()
    defaults = Stack(app, "Defaults")
    repo = ImageRepository(defaults, "Repo")
    ci_role = iam.Role(defaults, "CiRole", assumed_by=iam.AccountRootPrincipal())
    repo.grant_push(ci_role)
    task_role = iam.Role(
        defaults, "TaskRole", assumed_by=iam.ServicePrincipal("ecs-tasks.amazonaws.com")
    )
    repo.grant_pull(task_role)
    custom = Stack(app, "Custom")
    ImageRepository(
        custom,
        "Repo",
        repository_name="team/app",
        immutable_tags=False,
        scan_on_push=False,
        untagged_image_expiry=Duration.days(2),
        max_image_count=5,
        encryption_key=kms.Key(custom, "Key"),
        removal_policy=RemovalPolicy.DESTROY,
        pull_account_ids=["111111111111", "222222222222"],
    )
    return synth_stacks(app)  # type: ignore[no-any-return]


def test_production_defaults(templates: dict[str, Template]) -> None:
    t = templates["Defaults"]
    t.has_resource(
        "AWS::ECR::Repository",
        {
            "Properties": {
                "ImageScanningConfiguration": {"ScanOnPush": True},
                "ImageTagMutability": "IMMUTABLE",
                # AES256 is ECR's default: CDK leaves the property out.
                "EncryptionConfiguration": Match.absent(),
                "EmptyOnDelete": Match.absent(),
            },
            "DeletionPolicy": "Retain",
            "UpdateReplacePolicy": "Retain",
        },
    )


def lifecycle_rules(template: Template) -> list[dict[str, Any]]:
    (repo,) = template.find_resources("AWS::ECR::Repository").values()
    policy = json.loads(repo["Properties"]["LifecyclePolicy"]["LifecyclePolicyText"])
    return policy["rules"]  # type: ignore[no-any-return]


def test_lifecycle_expires_untagged_then_keeps_newest(templates: dict[str, Template]) -> None:
    rules = lifecycle_rules(templates["Defaults"])
    assert [r["rulePriority"] for r in rules] == [1, 2]
    assert rules[0]["selection"] == {
        "tagStatus": "untagged",
        "countType": "sinceImagePushed",
        "countNumber": 7,
        "countUnit": "days",
    }
    assert rules[1]["selection"] == {
        "tagStatus": "any",
        "countType": "imageCountMoreThan",
        "countNumber": 50,
    }
    assert all(r["action"] == {"type": "expire"} for r in rules)
    custom = lifecycle_rules(templates["Custom"])
    assert custom[0]["selection"]["countNumber"] == 2
    assert custom[1]["selection"]["countNumber"] == 5


def test_custom_options(templates: dict[str, Template]) -> None:
    t = templates["Custom"]
    t.has_resource(
        "AWS::ECR::Repository",
        {
            "Properties": {
                "RepositoryName": "team/app",
                "ImageTagMutability": "MUTABLE",
                "ImageScanningConfiguration": {"ScanOnPush": False},
                # DESTROY empties the repository first (native ECR EmptyOnDelete, no Lambda).
                "EmptyOnDelete": True,
                "EncryptionConfiguration": {
                    "EncryptionType": "KMS",
                    "KmsKey": {"Fn::GetAtt": [Match.any_value(), "Arn"]},
                },
            },
            "DeletionPolicy": "Delete",
        },
    )
    t.resource_count_is("AWS::Lambda::Function", 0)


def test_cross_account_pull_policy(templates: dict[str, Template]) -> None:
    (repo,) = templates["Custom"].find_resources("AWS::ECR::Repository").values()
    statements = repo["Properties"]["RepositoryPolicyText"]["Statement"]
    pull = next(s for s in statements if s.get("Sid") == "CrossAccountPull")
    assert sorted(pull["Action"]) == [
        "ecr:BatchCheckLayerAvailability",
        "ecr:BatchGetImage",
        "ecr:GetDownloadUrlForLayer",
    ]
    principals = json.dumps(pull["Principal"])
    assert "111111111111" in principals
    assert "222222222222" in principals
    assert pull["Effect"] == "Allow"


def test_grants(templates: dict[str, Template]) -> None:
    policies = templates["Defaults"].find_resources("AWS::IAM::Policy")
    by_role = {
        json.dumps(p["Properties"]["Roles"]): [
            a
            for s in p["Properties"]["PolicyDocument"]["Statement"]
            for a in ([s["Action"]] if isinstance(s["Action"], str) else s["Action"])
        ]
        for p in policies.values()
    }
    ci = next(v for k, v in by_role.items() if "CiRole" in k)
    task = next(v for k, v in by_role.items() if "TaskRole" in k)
    assert "ecr:PutImage" in ci
    assert "ecr:BatchGetImage" in task
    assert "ecr:PutImage" not in task
    assert "ecr:GetAuthorizationToken" in task


def test_attributes_are_tokens_of_the_repository() -> None:
    stack = Stack(unit_app(), "S")
    repo = ImageRepository(stack, "Repo")
    assert isinstance(repo.repository, ecr.Repository)
    resolved = stack.resolve(repo.repository_uri)
    assert "Fn::Join" in json.dumps(resolved)
    assert stack.resolve(repo.repository_name) == {
        "Ref": stack.get_logical_id(repo.repository.node.default_child)
    }


@pytest.mark.parametrize(
    ("props", "message"),
    [
        (
            {"repository_name": "Team/App"},
            r"ImageRepository\.repository_name must be 2-256 lower-case .*got 'Team/App'",
        ),
        ({"repository_name": "a"}, r"ImageRepository\.repository_name must be 2-256"),
        (
            {"max_image_count": 0},
            r"ImageRepository\.max_image_count must be between 1 and 10000, got 0",
        ),
        (
            {"untagged_image_expiry": Duration.hours(1)},
            r"ImageRepository\.untagged_image_expiry must be a whole number of days >= 1, .*got '1 hour'",
        ),
        (
            {"pull_account_ids": ["12345"]},
            r"ImageRepository\.pull_account_ids\[0\] must be a 12-digit AWS account id, got '12345'",
        ),
    ],
)
def test_bad_props(props: dict[str, Any], message: str) -> None:
    with pytest.raises(EcskitValidationError, match=message):
        ImageRepository(Stack(unit_app(), "S"), "Repo", **props)


def test_aes_with_a_key_is_rejected() -> None:
    stack = Stack(unit_app(), "S")
    with pytest.raises(
        EcskitValidationError,
        match=r"ImageRepository\.encryption must be KMS \(or unset\) when encryption_key is given",
    ):
        ImageRepository(
            stack,
            "Repo",
            encryption=ecr.RepositoryEncryption.AES_256,
            encryption_key=kms.Key(stack, "K"),
        )
