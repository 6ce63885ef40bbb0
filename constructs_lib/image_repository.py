"""``ImageRepository``: the ECR repository a service's images live in."""

from __future__ import annotations

import re
from collections.abc import Sequence

from aws_cdk import Duration, RemovalPolicy, Token
from aws_cdk import aws_ecr as ecr
from aws_cdk import aws_iam as iam
from aws_cdk import aws_kms as kms
from constructs import Construct

from constructs_lib._validate import check_account, check_range
from constructs_lib.errors import invalid

_REPOSITORY_NAME = re.compile(r"^(?:[a-z0-9]+(?:[._-][a-z0-9]+)*/)*[a-z0-9]+(?:[._-][a-z0-9]+)*$")

PULL_ACTIONS = (
    "ecr:BatchCheckLayerAvailability",
    "ecr:BatchGetImage",
    "ecr:GetDownloadUrlForLayer",
)


class ImageRepository(Construct):
    """An ECR repository with production defaults.

    Scan on push, immutable tags, and two lifecycle rules: untagged images expire after
    ``untagged_image_expiry``; only the newest ``max_image_count`` images are kept.
    With ``removal_policy=DESTROY`` the images are deleted with the repository (CDK's
    ``empty_on_delete``); with RETAIN (the default, and what production should use) the
    repository and its images stay when the stack is deleted.
    """

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        repository_name: str | None = None,
        scan_on_push: bool = True,
        immutable_tags: bool = True,
        untagged_image_expiry: Duration | None = None,
        max_image_count: int = 50,
        encryption: ecr.RepositoryEncryption | None = None,
        encryption_key: kms.IKey | None = None,
        removal_policy: RemovalPolicy = RemovalPolicy.RETAIN,
        pull_account_ids: Sequence[str] = (),
    ) -> None:
        """Create the repository.

        :param repository_name: ECR name (lower case, ``/`` for namespaces). Default: a name
            CloudFormation generates.
        :param scan_on_push: basic vulnerability scan of every pushed image. Default: True.
        :param immutable_tags: forbid overwriting a tag, so a tag names one image for ever.
            Default: True.
        :param untagged_image_expiry: delete untagged images this long after push.
            Default: 7 days.
        :param max_image_count: keep only the newest N images (1-10000). Default: 50.
        :param encryption: AES256 (S3-managed) or KMS. Default: AES256, or KMS when
            ``encryption_key`` is given.
        :param encryption_key: customer-managed KMS key. Default: none (AWS-managed).
        :param removal_policy: RETAIN keeps repository and images when the stack is deleted;
            DESTROY deletes both. Default: RETAIN.
        :param pull_account_ids: other AWS accounts allowed to pull (a repository policy
            statement with the read-only ECR actions). Default: none.
        """
        super().__init__(scope, construct_id)
        expiry = untagged_image_expiry or Duration.days(7)
        if (
            repository_name is not None
            and not Token.is_unresolved(repository_name)
            and not (2 <= len(repository_name) <= 256 and _REPOSITORY_NAME.match(repository_name))
        ):
            raise invalid(
                "ImageRepository.repository_name",
                repository_name,
                "2-256 lower-case letters, digits and . _ - / (e.g. 'team/app')",
            )
        check_range("ImageRepository.max_image_count", max_image_count, 1, 10_000)
        expiry_ms = expiry.to_milliseconds()
        if expiry_ms < 86_400_000 or expiry_ms % 86_400_000:
            raise invalid(
                "ImageRepository.untagged_image_expiry",
                expiry.to_human_string(),
                "a whole number of days >= 1, e.g. Duration.days(7)",
            )
        for i, account in enumerate(pull_account_ids):
            check_account(f"ImageRepository.pull_account_ids[{i}]", account)
        if encryption_key is not None and encryption not in (None, ecr.RepositoryEncryption.KMS):
            raise invalid(
                "ImageRepository.encryption",
                encryption,
                "KMS (or unset) when encryption_key is given",
            )

        if encryption is None:
            encryption = (
                ecr.RepositoryEncryption.KMS if encryption_key else ecr.RepositoryEncryption.AES_256
            )
        self.repository: ecr.Repository = ecr.Repository(
            self,
            "Resource",
            repository_name=repository_name,
            image_scan_on_push=scan_on_push,
            image_tag_mutability=(
                ecr.TagMutability.IMMUTABLE if immutable_tags else ecr.TagMutability.MUTABLE
            ),
            encryption=encryption,
            encryption_key=encryption_key,
            removal_policy=removal_policy,
            empty_on_delete=True if removal_policy == RemovalPolicy.DESTROY else None,
            lifecycle_rules=[
                ecr.LifecycleRule(
                    rule_priority=1,
                    description=f"Expire untagged images after {int(expiry.to_days())} days",
                    tag_status=ecr.TagStatus.UNTAGGED,
                    max_image_age=expiry,
                ),
                ecr.LifecycleRule(
                    rule_priority=2,
                    description=f"Keep only the newest {max_image_count} images",
                    tag_status=ecr.TagStatus.ANY,
                    max_image_count=max_image_count,
                ),
            ],
        )
        """The ECR repository."""
        if pull_account_ids:
            self.repository.add_to_resource_policy(
                iam.PolicyStatement(
                    sid="CrossAccountPull",
                    principals=[iam.AccountPrincipal(a) for a in pull_account_ids],
                    actions=list(PULL_ACTIONS),
                )
            )

    @property
    def repository_uri(self) -> str:
        """``<account>.dkr.ecr.<region>.amazonaws.com/<name>`` (a token until deploy)."""
        return self.repository.repository_uri

    @property
    def repository_name(self) -> str:
        return self.repository.repository_name

    @property
    def repository_arn(self) -> str:
        return self.repository.repository_arn

    def grant_pull(self, grantee: iam.IGrantable) -> iam.Grant:
        """Let ``grantee`` pull images (and get an ECR auth token)."""
        return self.repository.grant_pull(grantee)

    def grant_push(self, grantee: iam.IGrantable) -> iam.Grant:
        """Let ``grantee`` push images (e.g. a CI role)."""
        return self.repository.grant_push(grantee)

    def grant_pull_push(self, grantee: iam.IGrantable) -> iam.Grant:
        """Let ``grantee`` pull and push images."""
        return self.repository.grant_pull_push(grantee)
