# moto is imported inside each patch (only the server process loads it), and the models keep
# moto's CloudFormation signatures whether they use every argument or not:
# ruff: noqa: PLC0415, ARG001, ARG003, ARG005
"""What stock moto 5.2.5 lacks for ``cdk bootstrap`` + ``cdk deploy`` of the ecskit app, fixed.

Every patch here touches moto internals, so moto is pinned exactly (``MOTO_VERSION``, the
``local`` extra) and :func:`check_moto_version` refuses any other version. Each patch says which
moto gap it closes. Two kinds:

* **Patches** of moto's CloudFormation engine and models (``_patch_*``, one function per gap,
  its docstring names the gap): the intrinsic ``Fn::GetStackOutput`` (the app's
  ``defaultCrossStackReferences: weak`` flag), stack outputs after ``ExecuteChangeSet``,
  ``Custom::`` resources, the NLB type and ELBv2 attributes, ``Fn::GetAtt`` of target groups and
  load balancers, generated ECR names, the bootstrap SSM parameter, KMS key tags, and the ECS
  Cluster/TaskDefinition/Service properties moto's CloudFormation models drop; plus two
  ``RunTask`` crashes (what ``ecskit run`` needs for a Fargate task).
* **Resource models** (``ReplayModel`` subclasses in :func:`_replay_models`) for the types
  moto's CloudFormation skips without an error (ApplicationAutoScaling ScalableTarget and
  ScalingPolicy, CloudWatch Alarm, ECS CapacityProvider and ClusterCapacityProviderAssociations,
  EC2 SecurityGroupEgress, AutoScaling LifecycleHook, SNS Subscription). Each replays the
  resource as the matching boto3 call into this same moto server (so botocore validates the
  parameters, as CloudFormation would), and answers ``Ref`` / ``Fn::GetAtt`` like
  CloudFormation does.

No ``aws_cdk`` import here (tests/test_import_boundary.py).
"""

from __future__ import annotations

import contextlib
import re
from collections.abc import Callable
from typing import Any, ClassVar

from constructs_lib.local.errors import LocalEmulatorError

MOTO_VERSION = "5.2.5"
"""The only moto version these patches are written for (``pip install "ecskit[local]"``)."""

ACCOUNT_ID = "123456789012"
"""moto's default account: every fake credential maps to it."""

BOOTSTRAP_VERSION = "30"
"""Answered for ``/cdk-bootstrap/<qualifier>/version`` when no bootstrap stack wrote it."""

ENI_PRIVATE_DNS_NAME = "ip-10-0-1-10.ec2.internal"
"""Default ``private_dns_name`` of moto ENIs (see :func:`eni_private_dns_name_patch`)."""

_BOOTSTRAP_PARAMETER = re.compile(r"^/cdk-bootstrap/[A-Za-z0-9_-]+/version$")

_state: dict[str, Any] = {"applied": False, "endpoint": None}


def check_moto_version() -> None:
    """Raise :class:`LocalEmulatorError` unless the installed moto is exactly ``MOTO_VERSION``."""
    try:
        import moto
    except ImportError as exc:
        raise LocalEmulatorError(
            f'moto is not installed; install the local extra: pip install "ecskit[local]" '
            f"(moto[server]=={MOTO_VERSION})"
        ) from exc
    if moto.__version__ != MOTO_VERSION:
        raise LocalEmulatorError(
            f"moto: got {moto.__version__}; the local emulator patches moto internals and needs "
            f'exactly {MOTO_VERSION}: pip install "moto[server]=={MOTO_VERSION}"'
        )


def eni_private_dns_name_patch() -> tuple[type, str, str]:
    """``(class, attribute, value)`` for ``setattr``: moto 5.2.5 sets ``private_dns_name`` on an
    ENI only when its VPC has DNS hostnames enabled, yet ``RunTask`` of an awsvpc task always
    reads it (AttributeError -> HTTP 500). A class-level default fills the gap. Also used by
    tests/runtime/conftest.py for in-process moto."""
    from moto.ec2.models.elastic_network_interfaces import NetworkInterface

    return NetworkInterface, "private_dns_name", ENI_PRIVATE_DNS_NAME


def apply(endpoint: str) -> None:
    """Apply every patch and register the resource models (idempotent). ``endpoint`` is this
    server's own URL (``http://127.0.0.1:PORT``): the resource models call it with boto3."""
    check_moto_version()
    _state["endpoint"] = endpoint
    if _state["applied"]:
        return
    _patch_get_stack_output()
    _patch_change_set_outputs()
    _patch_custom_resources()
    _patch_load_balancer_type()
    _patch_elbv2_attributes()
    _patch_ecr_generated_names()
    _patch_bootstrap_parameter()
    _patch_kms_key()
    _patch_cluster()
    _patch_task_definition()
    _patch_service()
    _patch_run_task()
    _register_models()
    _state["applied"] = True


# --- boto3 into this server -------------------------------------------------------------------


def _client(service: str, region: str) -> Any:
    import boto3

    return boto3.client(
        service,  # type: ignore[call-overload]
        region_name=region,
        endpoint_url=_state["endpoint"],
        aws_access_key_id="testing",
        aws_secret_access_key="testing",
    )


_DATA_MAPS = {"Options", "DockerLabels"}  # maps whose keys are data (log options, labels)


def _camel(value: Any) -> Any:
    """CloudFormation's PascalCase keys -> the camelCase of the JSON APIs (ECS)."""
    if isinstance(value, dict):
        return {
            k[:1].lower() + k[1:]: v if k in _DATA_MAPS else _camel(v) for k, v in value.items()
        }
    if isinstance(value, list):
        return [_camel(v) for v in value]
    return value


def _tags(value: Any) -> list[dict[str, str]]:
    return [{"key": t["Key"], "value": t["Value"]} for t in value or []]


def _name(value: Any) -> str:
    """A resolved reference: moto hands some references over as model objects."""
    if isinstance(value, str):
        return value
    for attr in ("name", "arn", "physical_resource_id"):
        if isinstance(getattr(value, attr, None), str):
            return str(getattr(value, attr))
    return str(value)


# --- patches of moto's CloudFormation engine ----------------------------------------------------


def _patch_get_stack_output() -> None:
    """Gap: moto's template engine knows no ``Fn::GetStackOutput`` (cross-stack references of
    ``@aws-cdk/core:defaultCrossStackReferences: weak``); the property silently became the raw
    dict. Resolved here from the named stack's outputs in moto's CloudFormation backend."""
    from moto.cloudformation import parsing
    from moto.cloudformation.exceptions import ValidationError

    original = parsing.clean_json

    def clean_json(resource_json: Any, resources_map: Any) -> Any:
        if isinstance(resource_json, dict) and "Fn::GetStackOutput" in resource_json:
            from moto.cloudformation.models import cloudformation_backends

            spec = original(resource_json["Fn::GetStackOutput"], resources_map)
            region = spec.get("Region") or resources_map["AWS::Region"]
            account = resources_map["AWS::AccountId"]
            backend = cloudformation_backends[account][region]
            stack = backend.get_stack(spec["StackName"])
            for output in stack.outputs or []:
                if output["OutputKey"] == spec["OutputName"]:
                    return output["OutputValue"]
            raise ValidationError(
                message=(
                    f"Fn::GetStackOutput: stack {spec['StackName']} has no output "
                    f"{spec['OutputName']}"
                )
            )
        return original(resource_json, resources_map)

    parsing.clean_json = clean_json


def _patch_change_set_outputs() -> None:
    """Gap: moto's ``ExecuteChangeSet`` (how the CDK CLI deploys) creates the resources but
    keeps the stack's outputs of the empty template the change set started from, so a deployed
    stack has no outputs (and ``Fn::GetStackOutput`` of the next stack fails). The outputs are
    rebuilt from the change set's template."""
    from moto.cloudformation.models import ChangeSet

    original = ChangeSet.apply

    def apply(self: ChangeSet) -> None:
        original(self)
        stack = self.stack
        stack.template = self.template
        stack._parse_template()
        stack.output_map = stack._create_output_map()
        stack.description = stack.template_dict.get("Description")

    ChangeSet.apply = apply  # type: ignore[method-assign]


def _patch_custom_resources() -> None:
    """Gap: moto runs a ``Custom::*`` resource's Lambda in Docker and leaves the stack
    CREATE_IN_PROGRESS until the function answers (here: never; no Docker). The emulator
    completes custom resources synchronously with empty data (``Fn::GetAtt`` -> None). Our
    custom resources (default SG restriction, capacity teardown) only act on real AWS."""
    from moto.cloudformation.custom_model import CustomModel

    def create(
        cls: type[CustomModel],
        /,
        resource_name: str,
        cloudformation_json: dict[str, Any],
        account_id: str,
        region_name: str,
        **kwargs: Any,
    ) -> CustomModel:
        resource = CustomModel(  # type: ignore[abstract]  # moto instantiates it the same way
            region_name, "local", kwargs["LogicalId"], resource_name
        )
        resource.set_data({})
        return resource

    CustomModel.create_from_cloudformation_json = classmethod(create)  # type: ignore[assignment]


def _patch_load_balancer_type() -> None:
    """Gap: moto creates every ``AWS::ElasticLoadBalancingV2::LoadBalancer`` as an ALB (it
    ignores ``Type``), so the NLB's TCP listener is rejected; and it drops the load balancer
    and target group attributes of the template. The type, IP address type, subnet mappings
    and both attribute lists are passed through."""
    from moto.elbv2.models import FakeLoadBalancer, FakeTargetGroup, elbv2_backends

    def create(
        cls: type[FakeLoadBalancer],
        /,
        resource_name: str,
        cloudformation_json: Any,
        account_id: str,
        region_name: str,
        **kwargs: Any,
    ) -> FakeLoadBalancer:
        props = cloudformation_json["Properties"]
        backend = elbv2_backends[account_id][region_name]
        balancer = backend.create_load_balancer(
            resource_name,
            props.get("SecurityGroups") or [],
            props.get("Subnets") or [],
            subnet_mappings=props.get("SubnetMappings"),
            scheme=props.get("Scheme", "internet-facing"),
            loadbalancer_type=props.get("Type", "application"),
            ip_address_type=props.get("IpAddressType", "ipv4"),
        )
        attributes = {a["Key"]: a["Value"] for a in props.get("LoadBalancerAttributes") or []}
        if attributes:
            backend.modify_load_balancer_attributes(balancer.arn, attributes)
        return balancer

    FakeLoadBalancer.create_from_cloudformation_json = classmethod(create)  # type: ignore[assignment]

    original_group = FakeTargetGroup.create_from_cloudformation_json.__func__  # type: ignore[attr-defined]

    def create_group(
        cls: type[FakeTargetGroup],
        /,
        resource_name: str,
        cloudformation_json: Any,
        account_id: str,
        region_name: str,
        **kwargs: Any,
    ) -> FakeTargetGroup:
        group: FakeTargetGroup = original_group(
            cls, resource_name, cloudformation_json, account_id, region_name, **kwargs
        )
        props = cloudformation_json["Properties"]
        attributes = {a["Key"]: a["Value"] for a in props.get("TargetGroupAttributes") or []}
        if attributes:
            backend = elbv2_backends[account_id][region_name]
            backend.modify_target_group_attributes(group.arn, attributes)
        return group

    FakeTargetGroup.create_from_cloudformation_json = classmethod(create_group)  # type: ignore[assignment]


def _patch_elbv2_attributes() -> None:
    """Gap: ``Fn::GetAtt`` of moto's target groups fails (no ``get_cfn_attribute`` at all) and
    ``LoadBalancerFullName``/``SecurityGroups`` of load balancers raise NotImplementedError;
    the app's alarms and scaling policies use the full names as metric dimensions. Answered
    from the ARNs as AWS does (``targetgroup/<name>/<id>``, ``app|net/<name>/<id>``)."""
    from moto.elbv2.models import FakeLoadBalancer, FakeTargetGroup

    def target_group_attribute(self: FakeTargetGroup, attribute_name: str) -> Any:
        values = {
            "TargetGroupFullName": self.arn.split(":")[-1],
            "TargetGroupName": self.name,
            "TargetGroupArn": self.arn,
            "LoadBalancerArns": list(self.load_balancer_arns),
        }
        return values[attribute_name]

    original = FakeLoadBalancer.get_cfn_attribute

    def load_balancer_attribute(self: FakeLoadBalancer, attribute_name: str) -> Any:
        if attribute_name == "LoadBalancerFullName":
            return self.arn.split(":loadbalancer/")[-1]
        if attribute_name == "SecurityGroups":
            return list(self.security_groups)
        if attribute_name == "CanonicalHostedZoneID":
            return "Z32O12XQLNTSW2"  # eu-west-1 ALB zone; a constant is enough locally
        return original(self, attribute_name)

    FakeTargetGroup.get_cfn_attribute = target_group_attribute  # type: ignore[attr-defined]
    FakeTargetGroup.has_cfn_attr = classmethod(lambda cls, attr: True)  # type: ignore[assignment]
    FakeLoadBalancer.get_cfn_attribute = load_balancer_attribute  # type: ignore[method-assign]


def _patch_ecr_generated_names() -> None:
    """Gap: moto names an ECR repository without ``RepositoryName`` ``<Stack>-<LogicalId>-x``,
    capitals included, which its own ECR then rejects; CloudFormation generates lower case."""
    from moto.cloudformation import parsing

    original = parsing.generate_resource_name

    def generate(resource_type: str, stack_name: str, logical_id: str) -> str:
        name = original(resource_type, stack_name, logical_id)
        return name.lower() if resource_type == "AWS::ECR::Repository" else name

    parsing.generate_resource_name = generate


def _patch_bootstrap_parameter() -> None:
    """Gap: every CDK stack has the SSM-typed parameter ``BootstrapVersion`` (default
    ``/cdk-bootstrap/<qualifier>/version``); moto fails the stack when the SSM parameter is not
    there. It is seeded (``BOOTSTRAP_VERSION``) the first time a template asks for it."""
    from moto.cloudformation.parsing import ResourceMap
    from moto.ssm.models import ssm_backends

    original = ResourceMap.parse_ssm_parameter

    def parse(self: ResourceMap, value: str, value_type: str) -> str:
        backend = ssm_backends[self._account_id][self._region_name]
        if _BOOTSTRAP_PARAMETER.match(value) and backend.get_parameter(value) is None:
            backend.put_parameter(
                name=value,
                description="seeded by the ecskit local emulator",
                value=BOOTSTRAP_VERSION,
                parameter_type="String",
                allowed_pattern=None,  # type: ignore[arg-type]
                keyid=None,  # type: ignore[arg-type]
                overwrite=True,
                tags=[],
                data_type="text",
                tier=None,
                policies=None,
            )
        return original(self, value, value_type)

    ResourceMap.parse_ssm_parameter = parse  # type: ignore[method-assign]


def _patch_kms_key() -> None:
    """Gap: moto's CloudFormation ``AWS::KMS::Key`` hands the template's ``Key``/``Value``
    tags to a tagging service that expects ``TagKey``/``TagValue`` (KeyError -> HTTP 500), and
    the key policy as a dict where KMS stores a JSON string. Both are converted first."""
    from moto.kms.models import Key

    original = Key.create_from_cloudformation_json.__func__  # type: ignore[attr-defined]

    def create(
        cls: type[Key],
        /,
        resource_name: str,
        cloudformation_json: Any,
        account_id: str,
        region_name: str,
        **kwargs: Any,
    ) -> Key:
        props = dict(cloudformation_json["Properties"])
        props["Tags"] = [
            {"TagKey": t["Key"], "TagValue": t["Value"]} for t in props.get("Tags") or []
        ]
        if not isinstance(props.get("KeyPolicy"), str):
            props["KeyPolicy"] = _json(props.get("KeyPolicy"))
        return original(  # type: ignore[no-any-return]
            cls,
            resource_name,
            {**cloudformation_json, "Properties": props},
            account_id,
            region_name,
            **kwargs,
        )

    Key.create_from_cloudformation_json = classmethod(create)  # type: ignore[assignment]


def _patch_cluster() -> None:
    """Gap: moto's CloudFormation ``AWS::ECS::Cluster`` passes the name only: settings
    (Container Insights), configuration, capacity providers, default strategy, Service Connect
    defaults and tags are dropped. The cluster is created with them."""
    from moto.ecs.models import Cluster, ecs_backends

    def create(
        cls: type[Cluster],
        /,
        resource_name: str,
        cloudformation_json: Any,
        account_id: str,
        region_name: str,
        **kwargs: Any,
    ) -> Cluster:
        props = cloudformation_json["Properties"]
        return ecs_backends[account_id][region_name].create_cluster(
            cluster_name=props.get("ClusterName", resource_name),
            tags=_tags(props.get("Tags")) or None,
            cluster_settings=_camel(props.get("ClusterSettings")),
            configuration=_camel(props.get("Configuration")),
            capacity_providers=props.get("CapacityProviders"),
            default_capacity_provider_strategy=_numbers(
                _camel(props.get("DefaultCapacityProviderStrategy"))
            ),
            service_connect_defaults=_camel(props.get("ServiceConnectDefaults")),
        )

    Cluster.create_from_cloudformation_json = classmethod(create)  # type: ignore[assignment]


def _patch_task_definition() -> None:
    """Gap: moto's CloudFormation ``AWS::ECS::TaskDefinition`` keeps only family, containers,
    volumes and memory (no CPU, network mode, compatibilities, roles, runtime platform); the
    task definition is registered with all of them."""
    from moto.ecs.models import TaskDefinition, ecs_backends
    from moto.moto_api._internal import mock_random

    def create(
        cls: type[TaskDefinition],
        /,
        resource_name: str,
        cloudformation_json: Any,
        account_id: str,
        region_name: str,
        **kwargs: Any,
    ) -> TaskDefinition:
        props = cloudformation_json["Properties"]
        family = props.get("Family", f"task-definition-{int(mock_random.random() * 10**6)}")
        containers = _camel(props.get("ContainerDefinitions", []))
        backend = ecs_backends[account_id][region_name]
        return backend.register_task_definition(
            family=family,
            container_definitions=containers,
            volumes=_camel(props.get("Volumes", [])),
            network_mode=props.get("NetworkMode"),
            tags=_tags(props.get("Tags")),
            placement_constraints=_camel(props.get("PlacementConstraints")),
            requires_compatibilities=props.get("RequiresCompatibilities"),
            cpu=props.get("Cpu"),
            memory=props.get("Memory"),
            task_role_arn=props.get("TaskRoleArn"),
            execution_role_arn=props.get("ExecutionRoleArn"),
            runtime_platform=_camel(props.get("RuntimePlatform")),
            pid_mode=props.get("PidMode"),
            ipc_mode=props.get("IpcMode"),
            ephemeral_storage=_camel(props.get("EphemeralStorage")),
        )

    TaskDefinition.create_from_cloudformation_json = classmethod(create)  # type: ignore[assignment]


def _patch_service() -> None:
    """Gap: moto's CloudFormation ``AWS::ECS::Service`` keeps cluster, name, task definition
    and desired count only: a Fargate or capacity-provider service comes back as EC2 without
    load balancers, network configuration or deployment settings. The service is created with
    all that moto's ECS stores (launch type, load balancers, awsvpc configuration, platform
    version, propagate tags, deployment controller, tags); what ``CreateService`` in moto does
    not take (capacity provider strategy, deployment configuration incl. circuit breaker and
    alarms, health check grace period, execute command, placement) is set on the model, so
    ``DescribeServices`` returns it."""
    from moto.ecs.models import Cluster, Service, TaskDefinition, ecs_backends

    def create(
        cls: type[Service],
        /,
        resource_name: str,
        cloudformation_json: Any,
        account_id: str,
        region_name: str,
        **kwargs: Any,
    ) -> Service:
        props = cloudformation_json["Properties"]
        cluster = props.get("Cluster", "default")
        cluster = cluster.name if isinstance(cluster, Cluster) else cluster
        task_definition = props.get("TaskDefinition")
        if isinstance(task_definition, TaskDefinition):
            task_definition = task_definition.arn
        strategy = _camel(props.get("CapacityProviderStrategy"))
        launch_type = props.get("LaunchType") or (None if strategy else "EC2")
        backend = ecs_backends[account_id][region_name]
        service = backend.create_service(
            cluster.split("/")[-1],
            props.get("ServiceName", resource_name),
            props.get("DesiredCount", 1),
            task_definition_str=task_definition,
            load_balancers=_camel(props.get("LoadBalancers")) or [],
            scheduling_strategy=props.get("SchedulingStrategy"),
            tags=_tags(props.get("Tags")),
            deployment_controller=_camel(props.get("DeploymentController")),
            launch_type=launch_type or "EC2",
            service_registries=_camel(props.get("ServiceRegistries")),
            platform_version=props.get("PlatformVersion"),
            propagate_tags=props.get("PropagateTags", "NONE"),
            network_configuration=_camel(props.get("NetworkConfiguration")),
            role_arn=props.get("Role"),
        )
        extra = {
            "capacity_provider_strategy": strategy,
            "deployment_configuration": _camel(props.get("DeploymentConfiguration")),
            "health_check_grace_period_seconds": props.get("HealthCheckGracePeriodSeconds"),
            "enable_execute_command": props.get("EnableExecuteCommand"),
            "enable_ecs_managed_tags": props.get("EnableECSManagedTags"),
            "placement_constraints": _camel(props.get("PlacementConstraints")),
            "placement_strategy": _camel(props.get("PlacementStrategies")),
            "availability_zone_rebalancing": props.get("AvailabilityZoneRebalancing"),
        }
        for attr, value in extra.items():
            if value is not None:
                setattr(service, attr, value)
        if strategy and not props.get("LaunchType"):
            service.launch_type = None
            for deployment in service.deployments:
                deployment["launchType"] = None
                deployment["capacityProviderStrategy"] = strategy
        return service

    Service.create_from_cloudformation_json = classmethod(create)  # type: ignore[assignment]


def _patch_run_task() -> None:
    """Gaps in ``RunTask``: (1) moto adds up per-container memory and crashes (TypeError ->
    HTTP 500) when a container has none, which is normal for Fargate (task-level memory);
    missing values count as 0. (2) the awsvpc ENI ``private_dns_name`` crash, see
    :func:`eni_private_dns_name_patch`."""
    from moto.ecs.models import EC2ContainerServiceBackend

    original: Callable[..., Any] = EC2ContainerServiceBackend._calculate_task_resource_requirements

    def requirements(task_definition: Any) -> Any:
        patched = []
        keys = ("memory", "memoryReservation", "Memory", "MemoryReservation")
        for container in task_definition.container_definitions:
            has_memory = any(container.get(k) for k in keys)
            patched.append(container if has_memory else {**container, "memory": 0})

        class _View:
            container_definitions = patched

        return original(_View())

    EC2ContainerServiceBackend._calculate_task_resource_requirements = staticmethod(requirements)  # type: ignore[method-assign]
    cls, attr, value = eni_private_dns_name_patch()
    setattr(cls, attr, value)


# --- resource models for the types moto's CloudFormation skips ----------------------------------


def _register_models() -> None:
    """moto finds models through ``CloudFormationModel.__subclasses__()`` (cached): importing
    the classes below registers them; the cache is cleared in case moto already looked."""
    from moto.cloudformation import parsing

    _replay_models()
    parsing.get_model_list.cache_clear()
    parsing.get_model_map.cache_clear()
    parsing.get_name_type_map.cache_clear()
    known = parsing.get_model_map()
    missing = [m.TYPE for m in _replay_models() if known.get(m.TYPE) is not m]
    if missing:  # pragma: no cover - a moto upgrade; check_moto_version stops that first
        raise LocalEmulatorError(f"local emulator: resource models not registered: {missing}")


_MODELS: list[type[Any]] = []


def _replay_models() -> list[type[Any]]:
    if _MODELS:
        return _MODELS
    from moto.core.common_models import BaseModel, CloudFormationModel

    class ReplayModel:
        """A resource replayed as boto3 calls. ``ref`` is what ``Ref`` returns, ``attributes``
        answer ``Fn::GetAtt``. A mixin: moto finds models among the *direct* subclasses of
        ``CloudFormationModel``, so every concrete model lists that base itself."""

        TYPE: ClassVar[str] = ""
        NAME_PROPERTY: ClassVar[str] = ""

        def __init__(self, ref: str, attributes: dict[str, Any], props: dict[str, Any]):
            self.ref = ref
            self.attributes = attributes
            self.props = props

        @property
        def physical_resource_id(self) -> str:
            return self.ref

        @classmethod
        def cloudformation_type(cls) -> str:
            return cls.TYPE

        @classmethod
        def cloudformation_name_type(cls) -> str:
            return cls.NAME_PROPERTY

        @classmethod
        def has_cfn_attr(cls, attr: str) -> bool:
            return True

        def get_cfn_attribute(self, attribute_name: str) -> Any:
            return self.attributes.get(attribute_name)

        @classmethod
        def create_from_cloudformation_json(
            cls,
            resource_name: str,
            cloudformation_json: Any,
            account_id: str,
            region_name: str,
            **kwargs: Any,
        ) -> ReplayModel:
            props = dict(cloudformation_json.get("Properties") or {})
            ref, attributes = cls.replay(resource_name, props, region_name)
            return cls(ref, attributes, props)

        @classmethod
        def replay(
            cls, name: str, props: dict[str, Any], region: str
        ) -> tuple[str, dict[str, Any]]:
            raise NotImplementedError

        @classmethod
        def delete_from_cloudformation_json(
            cls, resource_name: str, cloudformation_json: Any, account_id: str, region_name: str
        ) -> None:
            """Best effort: a failed clean-up must not fail the stack deletion."""
            with contextlib.suppress(Exception):  # emulator clean-up: never fail a deletion
                cls.remove(resource_name, cloudformation_json.get("Properties") or {}, region_name)

        @classmethod
        def remove(cls, ref: str, props: dict[str, Any], region: str) -> None:
            return None

    class ScalableTarget(ReplayModel, CloudFormationModel, BaseModel):
        """``RegisterScalableTarget``. Ref: ``resourceId|dimension|namespace`` as in AWS."""

        TYPE = "AWS::ApplicationAutoScaling::ScalableTarget"

        @classmethod
        def replay(
            cls, name: str, props: dict[str, Any], region: str
        ) -> tuple[str, dict[str, Any]]:
            client = _client("application-autoscaling", region)
            params = {
                "ServiceNamespace": props["ServiceNamespace"],
                "ResourceId": props["ResourceId"],
                "ScalableDimension": props["ScalableDimension"],
                "MinCapacity": int(props["MinCapacity"]),
                "MaxCapacity": int(props["MaxCapacity"]),
            }
            if props.get("RoleARN"):
                params["RoleARN"] = props["RoleARN"]
            if props.get("SuspendedState"):
                params["SuspendedState"] = props["SuspendedState"]
            client.register_scalable_target(**params)
            for action in props.get("ScheduledActions") or []:
                client.put_scheduled_action(
                    ServiceNamespace=params["ServiceNamespace"],
                    ResourceId=params["ResourceId"],
                    ScalableDimension=params["ScalableDimension"],
                    **{k: v for k, v in action.items() if k != "ScalableTargetAction"},
                    ScalableTargetAction=action.get("ScalableTargetAction", {}),
                )
            ref = "|".join(
                (params["ResourceId"], params["ScalableDimension"], params["ServiceNamespace"])
            )
            return ref, {"Id": ref}

        @classmethod
        def remove(cls, ref: str, props: dict[str, Any], region: str) -> None:
            resource_id, dimension, namespace = ref.split("|")
            _client("application-autoscaling", region).deregister_scalable_target(
                ServiceNamespace=namespace, ResourceId=resource_id, ScalableDimension=dimension
            )

    class ScalingPolicy(ReplayModel, CloudFormationModel, BaseModel):
        """``PutScalingPolicy``. Ref: the policy ARN."""

        TYPE = "AWS::ApplicationAutoScaling::ScalingPolicy"

        @classmethod
        def replay(
            cls, name: str, props: dict[str, Any], region: str
        ) -> tuple[str, dict[str, Any]]:
            if props.get("ScalingTargetId"):
                resource_id, dimension, namespace = props["ScalingTargetId"].split("|")
            else:
                resource_id = props["ResourceId"]
                dimension = props["ScalableDimension"]
                namespace = props["ServiceNamespace"]
            params: dict[str, Any] = {
                "PolicyName": props["PolicyName"],
                "ServiceNamespace": namespace,
                "ResourceId": resource_id,
                "ScalableDimension": dimension,
                "PolicyType": props["PolicyType"],
            }
            for key in (
                "TargetTrackingScalingPolicyConfiguration",
                "StepScalingPolicyConfiguration",
            ):
                if key in props:
                    params[key] = _numbers(props[key])
            answer = _client("application-autoscaling", region).put_scaling_policy(**params)
            return answer["PolicyARN"], {"Arn": answer["PolicyARN"]}

        @classmethod
        def remove(cls, ref: str, props: dict[str, Any], region: str) -> None:
            if not props.get("ScalingTargetId"):
                return
            resource_id, dimension, namespace = props["ScalingTargetId"].split("|")
            _client("application-autoscaling", region).delete_scaling_policy(
                PolicyName=props["PolicyName"],
                ServiceNamespace=namespace,
                ResourceId=resource_id,
                ScalableDimension=dimension,
            )

    class Alarm(ReplayModel, CloudFormationModel, BaseModel):
        """``PutMetricAlarm`` (the CloudFormation properties are the API's). Ref: the name."""

        TYPE = "AWS::CloudWatch::Alarm"
        NAME_PROPERTY = "AlarmName"

        @classmethod
        def replay(
            cls, name: str, props: dict[str, Any], region: str
        ) -> tuple[str, dict[str, Any]]:
            params = _numbers({k: v for k, v in props.items() if v is not None})
            params["AlarmName"] = props.get("AlarmName", name)
            client = _client("cloudwatch", region)
            client.put_metric_alarm(**params)
            arn = client.describe_alarms(AlarmNames=[params["AlarmName"]])["MetricAlarms"][0][
                "AlarmArn"
            ]
            return params["AlarmName"], {"Arn": arn}

        @classmethod
        def remove(cls, ref: str, props: dict[str, Any], region: str) -> None:
            _client("cloudwatch", region).delete_alarms(AlarmNames=[ref])

    class CapacityProvider(ReplayModel, CloudFormationModel, BaseModel):
        """ECS ``CreateCapacityProvider``. Ref: the name."""

        TYPE = "AWS::ECS::CapacityProvider"
        NAME_PROPERTY = "Name"

        @classmethod
        def replay(
            cls, name: str, props: dict[str, Any], region: str
        ) -> tuple[str, dict[str, Any]]:
            params: dict[str, Any] = {
                "name": props.get("Name", name),
                "autoScalingGroupProvider": _numbers(_camel(props["AutoScalingGroupProvider"])),
            }
            if props.get("Tags"):
                params["tags"] = _tags(props["Tags"])
            _client("ecs", region).create_capacity_provider(**params)
            return params["name"], {}

        @classmethod
        def remove(cls, ref: str, props: dict[str, Any], region: str) -> None:
            _client("ecs", region).delete_capacity_provider(capacityProvider=ref)

    class ClusterCapacityProviderAssociations(ReplayModel, CloudFormationModel, BaseModel):
        """ECS ``PutClusterCapacityProviders``. Ref: the cluster name."""

        TYPE = "AWS::ECS::ClusterCapacityProviderAssociations"

        @classmethod
        def replay(
            cls, name: str, props: dict[str, Any], region: str
        ) -> tuple[str, dict[str, Any]]:
            cluster = _name(props["Cluster"])
            _client("ecs", region).put_cluster_capacity_providers(
                cluster=cluster,
                capacityProviders=[_name(p) for p in props.get("CapacityProviders") or []],
                defaultCapacityProviderStrategy=_numbers(
                    _camel(props.get("DefaultCapacityProviderStrategy") or [])
                ),
            )
            return cluster, {}

    class SecurityGroupEgress(ReplayModel, CloudFormationModel, BaseModel):
        """EC2 ``AuthorizeSecurityGroupEgress``. Ref: a rule id."""

        TYPE = "AWS::EC2::SecurityGroupEgress"

        @classmethod
        def replay(
            cls, name: str, props: dict[str, Any], region: str
        ) -> tuple[str, dict[str, Any]]:
            permission: dict[str, Any] = {"IpProtocol": str(props["IpProtocol"])}
            for key in ("FromPort", "ToPort"):
                if key in props:
                    permission[key] = int(props[key])
            description = {"Description": props["Description"]} if "Description" in props else {}
            if "CidrIp" in props:
                permission["IpRanges"] = [{"CidrIp": props["CidrIp"], **description}]
            if "CidrIpv6" in props:
                permission["Ipv6Ranges"] = [{"CidrIpv6": props["CidrIpv6"], **description}]
            if "DestinationSecurityGroupId" in props:
                permission["UserIdGroupPairs"] = [
                    {"GroupId": props["DestinationSecurityGroupId"], **description}
                ]
            if "DestinationPrefixListId" in props:
                permission["PrefixListIds"] = [
                    {"PrefixListId": props["DestinationPrefixListId"], **description}
                ]
            answer = _client("ec2", region).authorize_security_group_egress(
                GroupId=props["GroupId"], IpPermissions=[permission]
            )
            rules = answer.get("SecurityGroupRules") or [{}]
            rule_id = rules[0].get("SecurityGroupRuleId", name)
            return rule_id, {"Id": rule_id}

    class LifecycleHook(ReplayModel, CloudFormationModel, BaseModel):
        """Auto Scaling ``PutLifecycleHook``. Ref: the hook name."""

        TYPE = "AWS::AutoScaling::LifecycleHook"
        NAME_PROPERTY = "LifecycleHookName"

        @classmethod
        def replay(
            cls, name: str, props: dict[str, Any], region: str
        ) -> tuple[str, dict[str, Any]]:
            params = _numbers(dict(props))
            params["LifecycleHookName"] = props.get("LifecycleHookName", name)
            _client("autoscaling", region).put_lifecycle_hook(**params)
            return params["LifecycleHookName"], {}

    class Subscription(ReplayModel, CloudFormationModel, BaseModel):
        """SNS ``Subscribe``. Ref: the subscription ARN."""

        TYPE = "AWS::SNS::Subscription"

        @classmethod
        def replay(
            cls, name: str, props: dict[str, Any], region: str
        ) -> tuple[str, dict[str, Any]]:
            attributes = {
                key: value if isinstance(value, str) else _json(value)
                for key, value in props.items()
                if key
                in (
                    "DeliveryPolicy",
                    "FilterPolicy",
                    "FilterPolicyScope",
                    "RawMessageDelivery",
                    "RedrivePolicy",
                )
            }
            params: dict[str, Any] = {
                "TopicArn": props["TopicArn"],
                "Protocol": props["Protocol"],
                "Endpoint": props.get("Endpoint", ""),
                "ReturnSubscriptionArn": True,
            }
            if attributes:
                params["Attributes"] = attributes
            arn = _client("sns", region).subscribe(**params)["SubscriptionArn"]
            return arn, {"Arn": arn}

        @classmethod
        def remove(cls, ref: str, props: dict[str, Any], region: str) -> None:
            _client("sns", region).unsubscribe(SubscriptionArn=ref)

    _MODELS.extend(
        [
            ScalableTarget,
            ScalingPolicy,
            Alarm,
            CapacityProvider,
            ClusterCapacityProviderAssociations,
            SecurityGroupEgress,
            LifecycleHook,
            Subscription,
        ]
    )
    return _MODELS


def _json(value: Any) -> str:
    import json

    return json.dumps(value)


_INTEGER_KEYS = {
    "MinCapacity",
    "MaxCapacity",
    "EvaluationPeriods",
    "DatapointsToAlarm",
    "Period",
    "ScaleInCooldown",
    "ScaleOutCooldown",
    "Cooldown",
    "MinAdjustmentMagnitude",
    "ScalingAdjustment",
    "HeartbeatTimeout",
    "weight",
    "base",
    "targetCapacity",
    "minimumScalingStepSize",
    "maximumScalingStepSize",
    "instanceWarmupPeriod",
}
_FLOAT_KEYS = {"Threshold", "TargetValue", "MetricIntervalLowerBound", "MetricIntervalUpperBound"}
_BOOL_KEYS = {"ActionsEnabled", "DisableScaleIn", "ReturnData"}


def _numbers(value: Any) -> Any:
    """CloudFormation passes numbers and booleans as strings as often as not; botocore does
    not accept them so for the API's numeric/boolean members."""
    if isinstance(value, dict):
        out: dict[str, Any] = {}
        for key, item in value.items():
            if key in _INTEGER_KEYS and isinstance(item, str):
                out[key] = int(item)
            elif key in _FLOAT_KEYS and isinstance(item, str):
                out[key] = float(item)
            elif key in _BOOL_KEYS and isinstance(item, str):
                out[key] = item.lower() == "true"
            else:
                out[key] = _numbers(item)
        return out
    if isinstance(value, list):
        return [_numbers(v) for v in value]
    return value
