"""ecskit: ECS on AWS CDK v2 (constructs) plus a boto3 runtime CLI (``constructs_lib.runtime``).

The constructs are exported lazily so that ``import constructs_lib.runtime`` (the CLI) never
loads ``aws_cdk``/jsii. ``from constructs_lib import Network`` imports the CDK only then.
The constructs need the ``cdk`` extra: ``pip install "ecskit[cdk]"``.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

__version__ = "0.1.0"

# Public name -> submodule that defines it. Keep in step with ``__all__`` (tested).
_EXPORTS: dict[str, str] = {
    "EcskitValidationError": "constructs_lib.errors",
    "Network": "constructs_lib.network",
    "InterfaceEndpoint": "constructs_lib.network",
    "ImageRepository": "constructs_lib.image_repository",
    "ComputeCluster": "constructs_lib.cluster",
    "Ec2Capacity": "constructs_lib.cluster",
    "MachineImageKind": "constructs_lib.cluster",
    "CapacityShare": "constructs_lib.cluster",
    "ContainerSpec": "constructs_lib.task",
    "ContainerTaskDefinition": "constructs_lib.task",
    "HealthCheck": "constructs_lib.task",
    "ImageRef": "constructs_lib.task",
    "PortSpec": "constructs_lib.task",
    "SecretRef": "constructs_lib.task",
    "RollingDeployment": "constructs_lib.deployment",
    "BlueGreenDeployment": "constructs_lib.deployment",
    "CanaryDeployment": "constructs_lib.deployment",
    "LinearDeployment": "constructs_lib.deployment",
    "WebLoadBalancer": "constructs_lib.web_service",
    "WebService": "constructs_lib.web_service",
    "NetworkService": "constructs_lib.network_service",
    "WorkerService": "constructs_lib.worker_service",
    "ScheduledJob": "constructs_lib.scheduled_job",
    "DaemonService": "constructs_lib.daemon_service",
    "ClassicLoadBalancedService": "constructs_lib.legacy",
    "ServiceAlarms": "constructs_lib.alarms",
    "NotificationTopic": "constructs_lib.alarms",
    "EcsEventNotifications": "constructs_lib.alarms",
    "Threshold": "constructs_lib.alarms",
    "MonitoringDashboard": "constructs_lib.dashboard",
    "TaskScaling": "constructs_lib.scaling",
    "ScheduledCapacity": "constructs_lib.scaling",
}

__all__ = [
    "BlueGreenDeployment",
    "CanaryDeployment",
    "CapacityShare",
    "ClassicLoadBalancedService",
    "ComputeCluster",
    "ContainerSpec",
    "ContainerTaskDefinition",
    "DaemonService",
    "Ec2Capacity",
    "EcsEventNotifications",
    "EcskitValidationError",
    "HealthCheck",
    "ImageRef",
    "ImageRepository",
    "InterfaceEndpoint",
    "LinearDeployment",
    "MachineImageKind",
    "MonitoringDashboard",
    "Network",
    "NetworkService",
    "NotificationTopic",
    "PortSpec",
    "RollingDeployment",
    "ScheduledCapacity",
    "ScheduledJob",
    "SecretRef",
    "ServiceAlarms",
    "TaskScaling",
    "Threshold",
    "WebLoadBalancer",
    "WebService",
    "WorkerService",
    "__version__",
]

if TYPE_CHECKING:
    from constructs_lib.alarms import (
        EcsEventNotifications,
        NotificationTopic,
        ServiceAlarms,
        Threshold,
    )
    from constructs_lib.cluster import CapacityShare, ComputeCluster, Ec2Capacity, MachineImageKind
    from constructs_lib.daemon_service import DaemonService
    from constructs_lib.dashboard import MonitoringDashboard
    from constructs_lib.deployment import (
        BlueGreenDeployment,
        CanaryDeployment,
        LinearDeployment,
        RollingDeployment,
    )
    from constructs_lib.errors import EcskitValidationError
    from constructs_lib.image_repository import ImageRepository
    from constructs_lib.legacy import ClassicLoadBalancedService
    from constructs_lib.network import InterfaceEndpoint, Network
    from constructs_lib.network_service import NetworkService
    from constructs_lib.scaling import ScheduledCapacity, TaskScaling
    from constructs_lib.scheduled_job import ScheduledJob
    from constructs_lib.task import (
        ContainerSpec,
        ContainerTaskDefinition,
        HealthCheck,
        ImageRef,
        PortSpec,
        SecretRef,
    )
    from constructs_lib.web_service import WebLoadBalancer, WebService
    from constructs_lib.worker_service import WorkerService


def __getattr__(name: str) -> Any:
    module_name = _EXPORTS.get(name)
    if module_name is None:
        raise AttributeError(f"module 'constructs_lib' has no attribute {name!r}")
    try:
        module = importlib.import_module(module_name)
    except ModuleNotFoundError as exc:  # pragma: no cover - depends on the install
        if exc.name and exc.name.split(".")[0] in {"aws_cdk", "constructs"}:
            raise ImportError(
                f"constructs_lib.{name} needs the CDK libraries: pip install 'ecskit[cdk]'"
            ) from exc
        raise
    value = getattr(module, name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(__all__)
