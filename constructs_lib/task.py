"""Task definitions from typed container specs: ``ContainerSpec`` -> ``ContainerTaskDefinition``.

A :class:`ContainerSpec` describes one container (image, ports, environment, secrets, command,
health check, dependencies); :class:`ContainerTaskDefinition` turns a main container and its
sidecars into an ECS task definition for Fargate or EC2, with one log group per task
definition, CPU/memory checked against what Fargate accepts, and roles that hold exactly what
the containers need (CDK grants the execution role the image pull, the log stream and each
secret named in the specs, nothing else).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Final, Literal

from aws_cdk import Duration, RemovalPolicy, Size, Token
from aws_cdk import aws_ecr as ecr
from aws_cdk import aws_ecs as ecs
from aws_cdk import aws_iam as iam
from aws_cdk import aws_logs as logs
from aws_cdk import aws_secretsmanager as secretsmanager
from aws_cdk import aws_ssm as ssm
from constructs import Construct

from constructs_lib._validate import (
    Architecture,
    check_container_name,
    check_cpu_architecture,
    check_distinct,
    check_env_names,
    check_fargate_cpu_memory,
    check_image_reference,
    check_port,
    check_range,
    whole,
)
from constructs_lib.errors import EcskitValidationError, invalid
from constructs_lib.image_repository import ImageRepository

Protocol = Literal["tcp", "udp"]
DependencyCondition = Literal["START", "COMPLETE", "SUCCESS", "HEALTHY"]
_CONDITIONS: Final[dict[str, ecs.ContainerDependencyCondition]] = {
    "START": ecs.ContainerDependencyCondition.START,
    "COMPLETE": ecs.ContainerDependencyCondition.COMPLETE,
    "SUCCESS": ecs.ContainerDependencyCondition.SUCCESS,
    "HEALTHY": ecs.ContainerDependencyCondition.HEALTHY,
}


@dataclass(frozen=True)
class ImageRef:
    """Where a container image comes from: an ECR repository (tag or digest) or any registry.

    Build one with :meth:`from_repository` or :meth:`from_registry`.
    """

    registry_name: str | None = None
    repository: ecr.IRepository | None = None
    tag: str | None = None
    digest: str | None = None

    @classmethod
    def from_repository(
        cls,
        repository: ImageRepository | ecr.IRepository,
        *,
        tag: str | None = None,
        digest: str | None = None,
    ) -> ImageRef:
        """An image of an ECR repository, by ``tag`` or by ``digest`` (``sha256:...``; pins the
        exact image). The execution role gets pull rights on that repository only."""
        if not (tag is not None and Token.is_unresolved(tag)):
            check_image_reference("ImageRef.from_repository", tag, digest)
        repo = repository.repository if isinstance(repository, ImageRepository) else repository
        return cls(repository=repo, tag=tag, digest=digest)

    @classmethod
    def from_registry(cls, name: str) -> ImageRef:
        """A public (or Docker Hub / other registry) image, e.g.
        ``public.ecr.aws/nginx/nginx:stable``. Synth needs no Docker and no network."""
        if not name or any(c.isspace() for c in name):
            raise invalid("ImageRef.from_registry name", name, "an image reference like 'nginx:1'")
        return cls(registry_name=name)

    def container_image(self) -> ecs.ContainerImage:
        if self.repository is not None:
            return ecs.ContainerImage.from_ecr_repository(
                self.repository, self.digest or self.tag or "latest"
            )
        if self.registry_name is None:
            raise EcskitValidationError(
                "ImageRef needs a registry name or a repository: use "
                "ImageRef.from_registry(...) or ImageRef.from_repository(...)"
            )
        return ecs.ContainerImage.from_registry(self.registry_name)


@dataclass(frozen=True)
class SecretRef:
    """A secret injected as an environment variable at task start (never in the template).

    Build one with :meth:`secrets_manager` or :meth:`ssm_parameter`; the task's execution role
    is granted read on exactly the secrets and parameters referenced.
    """

    secret: secretsmanager.ISecret | None = None
    field: str | None = None
    parameter: ssm.IParameter | None = None

    @classmethod
    def secrets_manager(cls, secret: secretsmanager.ISecret, field: str | None = None) -> SecretRef:
        """A Secrets Manager secret, or one JSON ``field`` of it."""
        return cls(secret=secret, field=field)

    @classmethod
    def ssm_parameter(cls, parameter: ssm.IParameter) -> SecretRef:
        """An SSM parameter (``SecureString`` or ``String``)."""
        return cls(parameter=parameter)

    def ecs_secret(self) -> ecs.Secret:
        if self.secret is not None:
            return ecs.Secret.from_secrets_manager(self.secret, self.field)
        if self.parameter is not None:
            return ecs.Secret.from_ssm_parameter(self.parameter)
        raise EcskitValidationError(
            "SecretRef needs a secret or a parameter: use SecretRef.secrets_manager(...) or "
            "SecretRef.ssm_parameter(...)"
        )


@dataclass(frozen=True)
class HealthCheck:
    """A container health check (Docker ``HEALTHCHECK``), run by the ECS agent.

    :param command: e.g. ``("CMD-SHELL", "curl -f http://localhost/ || exit 1")``; see
        :meth:`shell`.
    :param interval: between checks, 5-300 s. Default: 30 seconds.
    :param timeout: for one check, 2-60 s. Default: 5 seconds.
    :param retries: failures before unhealthy, 1-10. Default: 3.
    :param start_period: grace after start, 0-300 s. Default: 0 (none).
    """

    command: tuple[str, ...]
    interval: Duration = field(default_factory=lambda: Duration.seconds(30))
    timeout: Duration = field(default_factory=lambda: Duration.seconds(5))
    retries: int = 3
    start_period: Duration = field(default_factory=lambda: Duration.seconds(0))

    @classmethod
    def shell(
        cls,
        command: str,
        *,
        interval: Duration | None = None,
        timeout: Duration | None = None,
        retries: int = 3,
        start_period: Duration | None = None,
    ) -> HealthCheck:
        """``CMD-SHELL <command>``; exit 0 means healthy. Defaults as for the class."""
        return cls(
            ("CMD-SHELL", command),
            interval=interval or Duration.seconds(30),
            timeout=timeout or Duration.seconds(5),
            retries=retries,
            start_period=start_period or Duration.seconds(0),
        )

    def validate(self, prop: str) -> None:
        if not self.command or self.command[0] not in ("CMD", "CMD-SHELL", "NONE"):
            raise invalid(
                f"{prop}.command",
                list(self.command),
                "a command starting with 'CMD' or 'CMD-SHELL', e.g. ('CMD-SHELL', 'true')",
            )
        check_range(
            f"{prop}.interval (seconds)",
            whole(f"{prop}.interval", self.interval.to_seconds(integral=False)),
            5,
            300,
        )
        check_range(
            f"{prop}.timeout (seconds)",
            whole(f"{prop}.timeout", self.timeout.to_seconds(integral=False)),
            2,
            60,
        )
        check_range(f"{prop}.retries", self.retries, 1, 10)
        check_range(
            f"{prop}.start_period (seconds)",
            whole(f"{prop}.start_period", self.start_period.to_seconds(integral=False)),
            0,
            300,
        )

    def ecs_health_check(self) -> ecs.HealthCheck:
        return ecs.HealthCheck(
            command=list(self.command),
            interval=self.interval,
            timeout=self.timeout,
            retries=self.retries,
            start_period=self.start_period,
        )


@dataclass(frozen=True)
class PortSpec:
    """An extra container port.

    :param container_port: 1-65535.
    :param protocol: ``tcp`` or ``udp``. Default: ``tcp``.
    :param name: the port mapping name (for Service Connect). Default: none.
    """

    container_port: int
    protocol: Protocol = "tcp"
    name: str | None = None


@dataclass(frozen=True)
class ContainerSpec:
    """One container of a task.

    :param image: where the image comes from (:class:`ImageRef`).
    :param name: container name, unique in the task. Default: ``app``.
    :param port: the container port a load balancer sends traffic to. Default: none.
    :param protocol: protocol of ``port``: ``tcp`` or ``udp``. Default: ``tcp``.
    :param extra_ports: more ports (:class:`PortSpec`). Default: none.
    :param environment: plain environment variables (visible in the template: no secrets).
        Default: none.
    :param secrets: environment variables resolved from Secrets Manager or SSM at start
        (:class:`SecretRef`). Default: none.
    :param command: overrides the image's ``CMD``. Default: the image's.
    :param entry_point: overrides the image's ``ENTRYPOINT``. Default: the image's.
    :param health_check: container health check (:class:`HealthCheck`). Default: none (the
        load balancer's health check decides for services behind one).
    :param essential: the task stops when this container stops. Default: True.
    :param depends_on: other containers of the task this one waits for, by name, with the
        condition ``START``, ``COMPLETE``, ``SUCCESS`` or ``HEALTHY`` (the other container
        needs a health check). Default: none.
    :param cpu: container CPU units within the task's. Default: no reservation.
    :param memory_limit_mib: hard memory limit. Default: the task's memory.
    :param memory_reservation_mib: soft memory limit. Default: none.
    :param readonly_root_filesystem: mount the root filesystem read-only. Default: False.
    :param user: user (and group) to run as, e.g. ``"1000:1000"``. Default: the image's.
    :param working_directory: Default: the image's.
    :param stop_timeout: time between SIGTERM and SIGKILL (Fargate: at most 120 s).
        Default: the ECS default (30 s).
    """

    image: ImageRef
    name: str = "app"
    port: int | None = None
    protocol: Protocol = "tcp"
    extra_ports: tuple[PortSpec, ...] = ()
    environment: Mapping[str, str] = field(default_factory=dict)
    secrets: Mapping[str, SecretRef] = field(default_factory=dict)
    command: tuple[str, ...] | None = None
    entry_point: tuple[str, ...] | None = None
    health_check: HealthCheck | None = None
    essential: bool = True
    depends_on: Mapping[str, DependencyCondition] = field(default_factory=dict)
    cpu: int | None = None
    memory_limit_mib: int | None = None
    memory_reservation_mib: int | None = None
    readonly_root_filesystem: bool = False
    user: str | None = None
    working_directory: str | None = None
    stop_timeout: Duration | None = None

    def validate(self, prop: str) -> None:
        """Check this spec alone (cross-container rules are in ContainerTaskDefinition)."""
        check_container_name(f"{prop}.name", self.name)
        if self.port is not None:
            check_port(f"{prop}.port", self.port)
        if self.protocol not in ("tcp", "udp"):
            raise invalid(f"{prop}.protocol", self.protocol, "'tcp' or 'udp'")
        for i, extra in enumerate(self.extra_ports):
            check_port(f"{prop}.extra_ports[{i}].container_port", extra.container_port)
            if extra.protocol not in ("tcp", "udp"):
                raise invalid(f"{prop}.extra_ports[{i}].protocol", extra.protocol, "'tcp' or 'udp'")
        ports = [(p.container_port, p.protocol) for p in self.extra_ports]
        if self.port is not None:
            ports.insert(0, (self.port, self.protocol))
        check_distinct(f"{prop} ports", ports, "container ports")
        check_env_names(f"{prop}.environment", self.environment)
        check_env_names(f"{prop}.secrets", self.secrets)
        both = sorted(set(self.environment) & set(self.secrets))
        if both:
            raise invalid(
                f"{prop}.secrets",
                both,
                "names not also set in environment (a variable comes from one place)",
            )
        for name, condition in self.depends_on.items():
            if condition not in _CONDITIONS:
                raise invalid(
                    f"{prop}.depends_on[{name!r}]", condition, f"one of {list(_CONDITIONS)}"
                )
        if self.health_check is not None:
            self.health_check.validate(f"{prop}.health_check")
        for label, value in (
            ("cpu", self.cpu),
            ("memory_limit_mib", self.memory_limit_mib),
            ("memory_reservation_mib", self.memory_reservation_mib),
        ):
            if value is not None:
                check_range(f"{prop}.{label}", value, 0 if label == "cpu" else 6)
        if self.stop_timeout is not None:
            check_range(
                f"{prop}.stop_timeout (seconds)",
                whole(f"{prop}.stop_timeout", self.stop_timeout.to_seconds(integral=False)),
                1,
                120,
            )

    def port_mappings(self, *, static_host_ports: bool = False) -> list[ecs.PortMapping]:
        """The ports as ECS port mappings; ``static_host_ports`` publishes each on the same
        host port (``bridge`` networking behind a Classic Load Balancer)."""
        ports: list[tuple[int, Protocol, str | None]] = []
        if self.port is not None:
            ports.append((self.port, self.protocol, None))
        ports += [(p.container_port, p.protocol, p.name) for p in self.extra_ports]
        return [
            ecs.PortMapping(
                container_port=port,
                host_port=port if static_host_ports else None,
                protocol=_protocol(protocol),
                name=name,
            )
            for port, protocol, name in ports
        ]


def _protocol(name: Protocol) -> ecs.Protocol:
    return ecs.Protocol.UDP if name == "udp" else ecs.Protocol.TCP


class ContainerTaskDefinition(Construct):
    """An ECS task definition built from a main :class:`ContainerSpec` and its sidecars.

    * Fargate (``fargate=True``): CPU/memory must be a pair Fargate accepts (checked here),
      ``awsvpc`` networking, the CPU architecture set as the runtime platform, optional
      ephemeral storage.
    * EC2 (``fargate=False``): ``awsvpc`` by default (each task its own security group), or
      ``bridge``/``host`` for daemons and the legacy Classic Load Balancer pattern.

    One CloudWatch log group receives every container's output (stream prefix: the container
    name), non-blocking so a slow log pipe never stalls the app. The task role has no
    permissions until you grant some; the execution role is created by CDK with exactly the
    image pull, log and secret reads the containers need (or pass your own roles).
    """

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        container: ContainerSpec,
        sidecars: Sequence[ContainerSpec] = (),
        fargate: bool = True,
        cpu: int = 256,
        memory_mib: int = 512,
        cpu_architecture: Architecture = "x86_64",
        network_mode: ecs.NetworkMode | None = None,
        ephemeral_storage_gib: int | None = None,
        task_role: iam.IRole | None = None,
        execution_role: iam.IRole | None = None,
        log_retention: logs.RetentionDays = logs.RetentionDays.ONE_MONTH,
        log_removal_policy: RemovalPolicy = RemovalPolicy.RETAIN,
        family: str | None = None,
        static_host_ports: bool = False,
        prop_prefix: str = "ContainerTaskDefinition",
    ) -> None:
        """Create the task definition, its containers and log group.

        :param container: the main container (the one a load balancer targets).
        :param sidecars: more containers (e.g. a log router or proxy), usually
            ``essential=False``; use ``depends_on`` to order start-up. Default: none.
        :param fargate: build for Fargate (True) or EC2 (False). Default: True.
        :param cpu: task CPU units (1024 = 1 vCPU). Default: 256.
        :param memory_mib: task memory. Default: 512.
        :param cpu_architecture: ``x86_64`` or ``arm64`` (Graviton). Default: ``x86_64``.
        :param network_mode: EC2 only: ``AWS_VPC``, ``BRIDGE`` or ``HOST``. Default: AWS_VPC.
        :param ephemeral_storage_gib: Fargate task storage, 21-200 GiB. Default: 20 GiB
            (Fargate's default, not rendered).
        :param task_role: the role the app's code uses. Default: a new role with no
            permissions.
        :param execution_role: the role ECS uses to pull the image, write logs and read the
            secrets. Default: a new role with exactly those permissions.
        :param log_retention: retention of the log group. Default: one month.
        :param log_removal_policy: what happens to the log group when it leaves the stack.
            Default: RETAIN.
        :param family: task definition family name. Default: generated from the construct path.
        :param static_host_ports: ``bridge`` mode: publish each container port on the same
            host port instead of a dynamic one. Default: False.
        :param prop_prefix: how error messages name the owner, e.g. ``WebService``.
        """
        super().__init__(scope, construct_id)
        specs = [container, *sidecars]
        self._validate(
            prop_prefix,
            specs,
            fargate=fargate,
            cpu=cpu,
            memory_mib=memory_mib,
            cpu_architecture=cpu_architecture,
            network_mode=network_mode,
            ephemeral_storage_gib=ephemeral_storage_gib,
        )
        self.fargate = fargate
        self.cpu_architecture: Architecture = cpu_architecture
        self.log_group = logs.LogGroup(
            self, "Logs", retention=log_retention, removal_policy=log_removal_policy
        )
        """The log group every container writes to."""
        common = {
            "cpu": str(cpu),
            "memory_mib": str(memory_mib),
            "task_role": task_role,
            "execution_role": execution_role,
            "family": family,
        }
        if fargate:
            self.task_definition: ecs.TaskDefinition = ecs.TaskDefinition(
                self,
                "Resource",
                compatibility=ecs.Compatibility.FARGATE,
                network_mode=ecs.NetworkMode.AWS_VPC,
                runtime_platform=ecs.RuntimePlatform(
                    cpu_architecture=(
                        ecs.CpuArchitecture.ARM64
                        if cpu_architecture == "arm64"
                        else ecs.CpuArchitecture.X86_64
                    ),
                    operating_system_family=ecs.OperatingSystemFamily.LINUX,
                ),
                ephemeral_storage_gib=ephemeral_storage_gib,
                **common,  # type: ignore[arg-type]
            )
        else:
            self.task_definition = ecs.TaskDefinition(
                self,
                "Resource",
                compatibility=ecs.Compatibility.EC2,
                network_mode=network_mode or ecs.NetworkMode.AWS_VPC,
                **common,  # type: ignore[arg-type]
            )
        """The ECS task definition."""
        self.containers: dict[str, ecs.ContainerDefinition] = {}
        """Container definitions by name; the main one is :attr:`container`."""
        for spec in specs:
            self.containers[spec.name] = self._add_container(spec, static_host_ports)
        for spec in specs:
            for other, condition in spec.depends_on.items():
                self.containers[spec.name].add_container_dependencies(
                    ecs.ContainerDependency(
                        container=self.containers[other], condition=_CONDITIONS[condition]
                    )
                )
        self.container: ecs.ContainerDefinition = self.containers[container.name]
        """The main container."""
        self.spec = container
        """The main container's spec."""

    @property
    def task_role(self) -> iam.IRole:
        return self.task_definition.task_role

    @property
    def execution_role(self) -> iam.IRole:
        """The execution role (created on first use by CDK when not passed in)."""
        return self.task_definition.obtain_execution_role()

    def _add_container(
        self, spec: ContainerSpec, static_host_ports: bool
    ) -> ecs.ContainerDefinition:
        return self.task_definition.add_container(
            spec.name,
            container_name=spec.name,
            image=spec.image.container_image(),
            essential=spec.essential,
            port_mappings=spec.port_mappings(static_host_ports=static_host_ports) or None,
            environment=dict(spec.environment) or None,
            secrets={k: v.ecs_secret() for k, v in spec.secrets.items()} or None,
            command=list(spec.command) if spec.command is not None else None,
            entry_point=list(spec.entry_point) if spec.entry_point is not None else None,
            health_check=spec.health_check.ecs_health_check() if spec.health_check else None,
            cpu=spec.cpu,
            memory_limit_mib=spec.memory_limit_mib,
            memory_reservation_mib=spec.memory_reservation_mib,
            readonly_root_filesystem=spec.readonly_root_filesystem,
            user=spec.user,
            working_directory=spec.working_directory,
            stop_timeout=spec.stop_timeout,
            logging=ecs.LogDrivers.aws_logs(
                stream_prefix=spec.name,
                log_group=self.log_group,
                mode=ecs.AwsLogDriverMode.NON_BLOCKING,
                max_buffer_size=Size.mebibytes(25),
            ),
        )

    @staticmethod
    def _validate(
        prefix: str,
        specs: Sequence[ContainerSpec],
        *,
        fargate: bool,
        cpu: int,
        memory_mib: int,
        cpu_architecture: str,
        network_mode: ecs.NetworkMode | None,
        ephemeral_storage_gib: int | None,
    ) -> None:
        check_cpu_architecture(f"{prefix}.cpu_architecture", cpu_architecture)
        if fargate:
            check_fargate_cpu_memory(prefix, cpu, memory_mib)
            if network_mode not in (None, ecs.NetworkMode.AWS_VPC):
                raise invalid(f"{prefix}.network_mode", network_mode, "AWS_VPC on Fargate")
        else:
            check_range(f"{prefix}.cpu", cpu, 128, 196_608)
            check_range(f"{prefix}.memory_mib", memory_mib, 128)
        if ephemeral_storage_gib is not None:
            if not fargate:
                raise invalid(
                    f"{prefix}.ephemeral_storage_gib",
                    ephemeral_storage_gib,
                    "None on EC2 capacity (the instance's volume holds the task's storage; "
                    "size it with root_volume_size_gib)",
                )
            check_range(f"{prefix}.ephemeral_storage_gib", ephemeral_storage_gib, 21, 200)
        for i, spec in enumerate(specs):
            spec.validate(f"{prefix}.container" if i == 0 else f"{prefix}.sidecars[{i - 1}]")
        names = [s.name for s in specs]
        check_distinct(f"{prefix} container names", names, "container names")
        if not specs[0].essential:
            raise invalid(f"{prefix}.container.essential", False, "True for the main container")
        by_name = {s.name: s for s in specs}
        for spec in specs:
            for other, condition in spec.depends_on.items():
                if other == spec.name or other not in by_name:
                    raise invalid(
                        f"{prefix} container {spec.name!r} depends_on",
                        other,
                        "another container of the task, one of "
                        f"{[n for n in names if n != spec.name]}",
                    )
                if condition == "HEALTHY" and by_name[other].health_check is None:
                    raise invalid(
                        f"{prefix} container {spec.name!r} depends_on[{other!r}]",
                        condition,
                        f"START, COMPLETE or SUCCESS, or give {other!r} a health_check "
                        "(HEALTHY waits for its health check)",
                    )
        sized = [s.memory_limit_mib for s in specs if s.memory_limit_mib is not None]
        if sum(sized) > memory_mib:
            raise invalid(
                f"{prefix} containers' memory_limit_mib total",
                sum(sized),
                f"<= the task's memory_mib ({memory_mib})",
            )
