"""AWS plumbing shared by every command: the clock, the rate limiter, the clients, batching.

The clients are created once (:func:`make_clients`) and passed to the command functions. Every
API call of those clients first takes a token from one shared :class:`TokenBucket` (a
``provide-client-params`` hook), so a rollout watching many services cannot burst past the
account's ECS quota; throttling that still happens is retried by botocore's ``standard`` retry mode.

Quota assumption: ECS documents token buckets per action group (e.g. cluster reads: 50 burst);
for service/task reads (``DescribeServices``, ``DescribeTasks``) we assume 100 burst / 20 per
second refill and default to a fraction of it (20 burst, 5 per second) because the account's
bucket is shared with every other tool and the console.
"""

from __future__ import annotations

import time
from collections import Counter
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Protocol, TypeVar

from constructs_lib.runtime.errors import EcskitError, UsageError

if TYPE_CHECKING:
    from mypy_boto3_cloudwatch import CloudWatchClient
    from mypy_boto3_ecs import ECSClient
    from mypy_boto3_logs import CloudWatchLogsClient

__all__ = [
    "DESCRIBE_SERVICES_BATCH",
    "DESCRIBE_SERVICE_DEPLOYMENTS_BATCH",
    "DESCRIBE_TASKS_BATCH",
    "Clients",
    "Clock",
    "SystemClock",
    "TokenBucket",
    "batched",
    "error_code",
    "make_clients",
]

DESCRIBE_SERVICES_BATCH = 10
"""``DescribeServices`` accepts at most 10 services per call."""
DESCRIBE_SERVICE_DEPLOYMENTS_BATCH = 20
"""``DescribeServiceDeployments`` accepts at most 20 ARNs per call."""
DESCRIBE_TASKS_BATCH = 100
"""``DescribeTasks`` accepts at most 100 tasks per call."""
DESCRIBE_ALARMS_BATCH = 100
"""CloudWatch ``DescribeAlarms`` accepts at most 100 alarm names per call."""

T = TypeVar("T")

_TOKEN_TOLERANCE = 1e-6
"""A token counts as whole within this (float rounding of the refill arithmetic)."""


class Clock(Protocol):
    """Monotonic time and sleep; inject a fake one to run waits without real time."""

    def now(self) -> float:
        """Seconds on a monotonic clock."""
        ...

    def sleep(self, seconds: float) -> None:
        """Block for ``seconds`` (may raise ``KeyboardInterrupt``)."""
        ...


class SystemClock:
    """The real clock: :func:`time.monotonic` and :func:`time.sleep`."""

    def now(self) -> float:
        """Return :func:`time.monotonic`."""
        return time.monotonic()

    def sleep(self, seconds: float) -> None:
        """Sleep for ``seconds`` (nothing when ``seconds <= 0``)."""
        if seconds > 0:
            time.sleep(seconds)


@dataclass
class TokenBucket:
    """Client-side token bucket shared by all clients of one :class:`Clients`.

    ``capacity`` is the burst (default 20 calls), ``refill_per_second`` the sustained rate
    (default 5 calls/s). ``calls`` counts the calls made per operation name.
    """

    clock: Clock
    capacity: float = 20.0
    refill_per_second: float = 5.0
    calls: Counter[str] = field(default_factory=Counter)
    _tokens: float = field(init=False)
    _updated: float = field(init=False)

    def __post_init__(self) -> None:
        if self.capacity < 1 or self.refill_per_second <= 0:
            raise ValueError(
                f"TokenBucket needs capacity >= 1 and refill_per_second > 0, got "
                f"{self.capacity:g} and {self.refill_per_second:g}"
            )
        self._tokens = self.capacity
        self._updated = self.clock.now()

    def acquire(self, operation: str = "") -> None:
        """Take one token, sleeping on the injected clock until one is available.

        Token counts are floats: after sleeping exactly until the next token, the refill can
        come out a hair below 1 (0.19999999999999996 s x 5/s). Without the tolerance the next
        sleep would be ~1e-17 s, which does not move a clock, and the loop would never end.
        """
        while True:
            now = self.clock.now()
            self._tokens = min(
                self.capacity, self._tokens + (now - self._updated) * self.refill_per_second
            )
            self._updated = now
            if self._tokens >= 1.0 - _TOKEN_TOLERANCE:
                self._tokens = max(0.0, self._tokens - 1.0)
                self.calls[operation] += 1
                return
            self.clock.sleep((1.0 - self._tokens) / self.refill_per_second)

    @property
    def total_calls(self) -> int:
        """All calls taken through this bucket."""
        return sum(self.calls.values())

    def before_call_hook(self, model: Any, **_: Any) -> None:
        """botocore ``provide-client-params`` handler: one token per API call.

        Retries of a call are botocore's (``standard`` mode) and take no extra token.
        """
        self.acquire(str(getattr(model, "name", "")))


@dataclass
class Clients:
    """The AWS clients of one CLI invocation, created once and passed to every command."""

    ecs: ECSClient
    logs: CloudWatchLogsClient
    cloudwatch: CloudWatchClient
    limiter: TokenBucket


def make_clients(
    *,
    region: str | None = None,
    profile: str | None = None,
    endpoint_url: str | None = None,
    clock: Clock | None = None,
    max_attempts: int = 8,
    limiter: TokenBucket | None = None,
    session: Any | None = None,
) -> Clients:
    """Create the ECS, CloudWatch Logs and CloudWatch clients sharing one rate limiter.

    ``endpoint_url`` (default: AWS) points every client at a local emulator. Retries use
    botocore's ``standard`` mode with ``max_attempts`` (default 8) attempts, which backs off
    exponentially with jitter on ``ThrottlingException``. ``session`` (default: a new
    ``boto3.session.Session`` from ``profile``/``region``) lets callers reuse loaded models.
    """
    # Lazy: importing boto3 costs ~0.2 s, and `ecskit --help` must not pay it.
    import boto3  # noqa: PLC0415
    from botocore.config import Config  # noqa: PLC0415
    from botocore.exceptions import (  # noqa: PLC0415
        InvalidRegionError,
        NoRegionError,
        ProfileNotFound,
    )

    from constructs_lib import __version__  # noqa: PLC0415 - keeps the import graph acyclic

    try:
        if session is None:
            session = boto3.session.Session(profile_name=profile, region_name=region)
    except ProfileNotFound:
        raise UsageError(
            f"--profile {profile!r}: no such profile; check ~/.aws/config or omit --profile"
        ) from None
    config = Config(
        retries={"mode": "standard", "max_attempts": max_attempts},
        user_agent_extra=f"ecskit/{__version__}",
    )
    bucket = limiter or TokenBucket(clock or SystemClock())
    try:
        ecs = session.client("ecs", endpoint_url=endpoint_url, config=config)
        logs = session.client("logs", endpoint_url=endpoint_url, config=config)
        cloudwatch = session.client("cloudwatch", endpoint_url=endpoint_url, config=config)
    except NoRegionError:
        raise UsageError(
            "--region: no AWS region configured; pass --region or set AWS_DEFAULT_REGION"
        ) from None
    except InvalidRegionError:
        raise UsageError(
            f"--region {region!r}: not a region name; pass one such as eu-west-1"
        ) from None
    except ValueError as exc:  # botocore: "Invalid endpoint: localhost:4566"
        if endpoint_url and "endpoint" in str(exc).lower():
            raise UsageError(
                f"--endpoint-url {endpoint_url!r}: not a URL; give scheme and host, "
                "e.g. http://localhost:4566"
            ) from None
        raise
    for client in (ecs, logs, cloudwatch):
        # ``provide-client-params`` is emitted to every handler (``emit``, not
        # ``emit_until_response``) once per API call and before ``before-call``, whose hooks
        # may answer a call: one handler per client sees every call, each page included.
        service_id = client.meta.service_model.service_id.hyphenize()
        client.meta.events.register_first(
            f"provide-client-params.{service_id}", bucket.before_call_hook
        )
    return Clients(ecs=ecs, logs=logs, cloudwatch=cloudwatch, limiter=bucket)


def batched(items: Sequence[T], size: int) -> Iterator[list[T]]:
    """Yield consecutive lists of at most ``size`` items (the APIs' batch limits)."""
    for start in range(0, len(items), size):
        yield list(items[start : start + size])


def error_code(exc: BaseException) -> str:
    """The AWS error code of a botocore ``ClientError`` (``""`` for anything else)."""
    response = getattr(exc, "response", None)
    if isinstance(response, dict):
        return str(response.get("Error", {}).get("Code", ""))
    return ""


def describe_aws_error(exc: BaseException) -> EcskitError:
    """Turn a botocore error into a one-line :class:`EcskitError` (exit 1)."""
    code = error_code(exc)
    text = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
    if type(exc).__name__ in {"NoCredentialsError", "PartialCredentialsError"}:
        return EcskitError(
            "no AWS credentials found; pass --profile, set AWS_PROFILE or AWS_ACCESS_KEY_ID"
        )
    if code:
        return EcskitError(f"AWS error {code}: {text}")
    return EcskitError(f"AWS error: {text}")
