"""``ecskit rollback``: stop a service's in-progress deployment and roll it back.

Uses ``StopServiceDeployment(stopType=ROLLBACK)`` on the service's
``currentServiceDeployment`` (from ``DescribeServices``; ``ListServiceDeployments`` only when
the service does not report one).
"""

from __future__ import annotations

from dataclasses import dataclass

from constructs_lib.runtime.aws import Clients, error_code
from constructs_lib.runtime.errors import EcskitError
from constructs_lib.runtime.rollout import _describe_services

__all__ = ["RollbackOptions", "RollbackResult", "rollback"]

_IN_PROGRESS = {"PENDING", "IN_PROGRESS"}


@dataclass(frozen=True)
class RollbackOptions:
    """Options of ``ecskit rollback``: the cluster and one service."""

    cluster: str
    service: str


@dataclass(frozen=True)
class RollbackResult:
    """The service deployment that ECS was asked to roll back."""

    cluster: str
    service: str
    service_deployment_arn: str
    previous_status: str


def rollback(clients: Clients, options: RollbackOptions) -> RollbackResult:
    """Request a rollback of ``options.service``'s in-progress deployment.

    Raises :class:`EcskitError` (exit 1) when the service has no deployment in progress.
    """
    service = _describe_services(clients, options.cluster, [options.service])[0]
    arn = service.get("currentServiceDeployment")
    status = ""
    if arn:
        described = clients.ecs.describe_service_deployments(serviceDeploymentArns=[arn])
        for deployment in described.get("serviceDeployments", []):
            status = str(deployment.get("status", ""))
    else:
        listed = clients.ecs.list_service_deployments(
            cluster=options.cluster, service=options.service, status=["PENDING", "IN_PROGRESS"]
        )
        briefs = listed.get("serviceDeployments", [])
        if briefs:
            arn = briefs[0].get("serviceDeploymentArn")
            status = str(briefs[0].get("status", ""))
    if not arn or status not in _IN_PROGRESS:
        raise EcskitError(
            f"SERVICE {options.service!r}: no deployment in progress"
            + (f" (current {arn} is {status})" if arn else "")
            + "; nothing to roll back"
        )
    try:
        clients.ecs.stop_service_deployment(serviceDeploymentArn=arn, stopType="ROLLBACK")
    except Exception as exc:
        if error_code(exc) in {"InvalidParameterException", "ClientException", "ConflictException"}:
            raise EcskitError(
                f"SERVICE {options.service!r}: ECS refused the rollback of {arn}: "
                f"{str(exc).splitlines()[0]}"
            ) from None
        raise
    return RollbackResult(
        cluster=options.cluster,
        service=options.service,
        service_deployment_arn=str(arn),
        previous_status=status,
    )
