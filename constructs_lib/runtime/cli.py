"""``ecskit`` command line: parses arguments and dispatches; the work lives in sibling modules.

Exit codes: ``run`` returns the watched container's exit code, 125 (never started, including
a missing cluster/service/task definition), 124 (timeout), 130 (interrupted); ``rollout``
returns 0 (completed), 1 (failed), 124 (timeout); every command returns 2 for usage errors
and 1 for a missing cluster/service/task or an AWS error.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import sys
from collections.abc import Callable, Sequence
from typing import IO, Any, NoReturn

from constructs_lib import __version__
from constructs_lib.runtime import format as fmt
from constructs_lib.runtime.aws import Clients, Clock, describe_aws_error, make_clients
from constructs_lib.runtime.errors import EcskitError
from constructs_lib.runtime.format import step_summary
from constructs_lib.runtime.logs import LogsOptions, fetch_logs, follow_logs, parse_duration
from constructs_lib.runtime.rollback import RollbackOptions, rollback
from constructs_lib.runtime.rollout import RolloutOptions, watch_rollout
from constructs_lib.runtime.run import RunOptions, parse_command, parse_env, run_task
from constructs_lib.runtime.status import StatusOptions, service_status

__all__ = ["build_parser", "main"]

EXIT_USAGE = 2
EXIT_INTERRUPTED = 130


class _Parser(argparse.ArgumentParser):
    """argparse with one-line errors: ``ecskit run: error: <message> (see ecskit run --help)``."""

    def error(self, message: str) -> NoReturn:
        self.exit(EXIT_USAGE, f"{self.prog}: error: {message} (see {self.prog} --help)\n")


class Reporter:
    """Human output on stderr: progress rewritten in place on a TTY, plain lines otherwise."""

    def __init__(self, stream: IO[str], *, tty: bool | None = None) -> None:
        self.stream = stream
        self.tty = stream.isatty() if tty is None else tty
        self._transient = False
        self._last = ""

    def progress(self, message: str) -> None:
        """A status update: overwritten on a TTY; printed once per change otherwise."""
        if self.tty:
            self.stream.write("\r\x1b[K" + message)
            self._transient = True
        elif message != self._last:
            self.stream.write(message + "\n")
        self._last = message
        self.stream.flush()

    def line(self, message: str) -> None:
        """A permanent line."""
        if self._transient:
            self.stream.write("\r\x1b[K")
            self._transient = False
        self.stream.write(message + "\n")
        self.stream.flush()


def _common(parser: argparse.ArgumentParser) -> None:
    group = parser.add_argument_group("AWS and output")
    group.add_argument(
        "--region", help="AWS region (default: AWS_REGION/AWS_DEFAULT_REGION/profile)"
    )
    group.add_argument("--profile", help="AWS named profile (default: AWS_PROFILE or the default)")
    group.add_argument(
        "--endpoint-url",
        help="send every AWS call here, e.g. a local emulator (default: the AWS endpoints)",
    )
    group.add_argument(
        "--json",
        action="store_true",
        help="print one JSON document on stdout; human text goes to stderr (default: off)",
    )


def _seconds(text: str) -> float:
    try:
        return parse_duration(text, flag="--timeout")
    except Exception as exc:
        raise argparse.ArgumentTypeError(getattr(exc, "message", str(exc))) from None


def build_parser() -> argparse.ArgumentParser:
    """The ``ecskit`` argument parser (every flag documents its default)."""
    parser = _Parser(
        prog="ecskit",
        description="Run one-off ECS tasks and watch ECS rollouts (boto3 only).",
        epilog="Exit codes: see `ecskit run --help` and `ecskit rollout --help`.",
    )
    parser.add_argument("--version", action="version", version=f"ecskit {__version__}")
    sub = parser.add_subparsers(dest="cmd", metavar="COMMAND", parser_class=_Parser)

    run = sub.add_parser(
        "run",
        help="run a one-off task, stream its logs, exit with its container's exit code",
        description=(
            "Run a one-off task and exit with the watched container's exit code; 125 the task "
            "never started (or the cluster/service/task definition is missing), 124 timeout, "
            "130 interrupted, 2 usage error."
        ),
    )
    run.add_argument("--cluster", required=True, help="cluster name or ARN (required)")
    run.add_argument(
        "--task-definition",
        required=True,
        metavar="FAMILY[:REV]",
        help="task definition family, family:revision or ARN (required; family = latest ACTIVE)",
    )
    run.add_argument(
        "--service",
        help="copy network configuration and capacity strategy from this service (default: none)",
    )
    run.add_argument(
        "--container", help="container whose exit code and logs count (default: first essential)"
    )
    run.add_argument(
        "--command",
        nargs=argparse.REMAINDER,
        metavar="ARG",
        help="command override for the container; takes the rest of the line; one quoted "
        "string is split like a shell (default: the task definition's)",
    )
    run.add_argument(
        "--env",
        action="append",
        default=[],
        metavar="KEY=VALUE",
        help="environment override for the container, repeatable (default: none)",
    )
    placement = run.add_mutually_exclusive_group()
    placement.add_argument(
        "--launch-type",
        choices=["FARGATE", "EC2", "EXTERNAL"],
        help="launch type (default: the service's, else the cluster's default strategy)",
    )
    placement.add_argument(
        "--capacity-provider",
        metavar="P",
        help="run on this capacity provider (default: the service's strategy, else the cluster's)",
    )
    run.add_argument(
        "--subnets", nargs="+", default=[], help="awsvpc subnets (default: the service's)"
    )
    run.add_argument(
        "--security-groups",
        nargs="+",
        default=[],
        help="awsvpc security groups (default: the service's)",
    )
    run.add_argument(
        "--assign-public-ip",
        action="store_true",
        default=None,
        help="give the task a public IP (default: the service's setting, else DISABLED)",
    )
    run.add_argument(
        "--timeout",
        type=_seconds,
        default=3600.0,
        metavar="SECONDS",
        help="stop the task and exit 124 after this long, e.g. 900 or 15m; 0 = never "
        "(default: 3600)",
    )
    run.add_argument(
        "--no-wait", action="store_true", help="return after starting the task (default: wait)"
    )
    run.add_argument(
        "--no-logs",
        action="store_true",
        help="do not stream the container's logs (default: stream)",
    )
    run.add_argument(
        "--keep-running",
        action="store_true",
        help="on timeout or Ctrl-C leave the task running (default: stop it)",
    )
    _common(run)

    rollout = sub.add_parser(
        "rollout",
        help="wait for the current deployment of services; fail as soon as a rollback starts",
        description=(
            "Wait until the current deployment of every SERVICE has completed. Exit 0 all "
            "completed; 1 any failed (rollout FAILED, circuit breaker, rollback requested or in "
            "progress, deployment alarm), reported as soon as ECS shows it; 124 timeout; 2 usage."
        ),
    )
    rollout.add_argument("--cluster", required=True, help="cluster name or ARN (required)")
    rollout.add_argument("services", nargs="+", metavar="SERVICE", help="service names or ARNs")
    rollout.add_argument(
        "--timeout",
        type=_seconds,
        default=1800.0,
        metavar="SECONDS",
        help="give up and exit 124 after this long, e.g. 900 or 15m (default: 1800)",
    )
    _common(rollout)

    status = sub.add_parser(
        "status", help="desired/running/pending, deployments, events, alarm states"
    )
    status.add_argument("--cluster", required=True, help="cluster name or ARN (required)")
    status.add_argument(
        "services", nargs="*", metavar="SERVICE", help="services (default: all in the cluster)"
    )
    _common(status)

    logs = sub.add_parser("logs", help="show (or follow) a service's or a task's logs")
    logs.add_argument("--cluster", required=True, help="cluster name or ARN (required)")
    logs.add_argument("service", nargs="?", metavar="SERVICE", help="service (or give --task)")
    logs.add_argument("--task", metavar="ID", help="task id or ARN instead of a service")
    logs.add_argument("--container", help="only this container (default: all)")
    logs.add_argument(
        "--follow", "-f", action="store_true", help="keep printing new lines (default: off)"
    )
    logs.add_argument(
        "--since", default="10m", help="how far back to start, e.g. 30s, 10m, 2h (default: 10m)"
    )
    _common(logs)

    rollback = sub.add_parser(
        "rollback", help="stop the in-progress deployment and roll back (StopServiceDeployment)"
    )
    rollback.add_argument("--cluster", required=True, help="cluster name or ARN (required)")
    rollback.add_argument("service", metavar="SERVICE", help="the service to roll back")
    _common(rollback)
    return parser


def _write_summary(command: str, result: Any) -> None:
    path = os.environ.get("GITHUB_STEP_SUMMARY")
    if not path:
        return
    with open(path, "a", encoding="utf-8") as handle:
        handle.write(step_summary(command, result))


def _dispatch(
    args: argparse.Namespace,
    clients: Clients,
    clock: Clock | None,
    reporter: Reporter,
    out: IO[str],
) -> int:
    def emit(lines: list[str], result: Any) -> None:
        if args.json:
            for line in lines:
                reporter.line(line)
            out.write(fmt.to_json(args.cmd, result) + "\n")
        else:
            for line in lines:
                out.write(line + "\n")
        _write_summary(args.cmd, result)

    def to_stdout(text: str) -> None:
        out.write(text + "\n")
        out.flush()

    log_sink: Callable[[str], None] = reporter.line if args.json else to_stdout

    if args.cmd == "run":
        options = RunOptions(
            cluster=args.cluster,
            task_definition=args.task_definition,
            service=args.service,
            container=args.container,
            command=parse_command(args.command),
            env=parse_env(args.env),
            launch_type=args.launch_type,
            capacity_provider=args.capacity_provider,
            subnets=tuple(args.subnets),
            security_groups=tuple(args.security_groups),
            assign_public_ip=args.assign_public_ip,
            timeout=args.timeout,
            wait=not args.no_wait,
            logs=not args.no_logs,
            keep_running=args.keep_running,
        )
        result = run_task(
            clients,
            options,
            clock=clock,
            on_log=lambda e: log_sink(fmt.format_log_event(e)),
            on_progress=reporter.progress,
        )
        lines = fmt.format_task_result(result)
        for line in lines:
            reporter.line(line)
        if args.json:
            out.write(fmt.to_json("run", result) + "\n")
        _write_summary("run", result)
        return result.exit_code

    if args.cmd == "rollout":
        rollout_result = watch_rollout(
            clients,
            RolloutOptions(
                cluster=args.cluster, services=tuple(args.services), timeout=args.timeout
            ),
            clock=clock,
            on_progress=reporter.progress,
        )
        for line in fmt.format_rollout(rollout_result):
            reporter.line(line)
        if args.json:
            out.write(fmt.to_json("rollout", rollout_result) + "\n")
        _write_summary("rollout", rollout_result)
        return rollout_result.exit_code

    if args.cmd == "status":
        statuses = service_status(
            clients, StatusOptions(cluster=args.cluster, services=tuple(args.services))
        )
        emit(fmt.format_status(statuses), statuses)
        return 0

    if args.cmd == "logs":
        logs_options = LogsOptions(
            cluster=args.cluster,
            service=args.service,
            task=args.task,
            container=args.container,
            since_seconds=parse_duration(args.since),
            follow=args.follow,
        )
        if args.follow:
            follow_logs(
                clients,
                logs_options,
                lambda e: log_sink(fmt.format_log_event(e, with_container=True)),
                clock=clock,
            )
            return 0
        events = fetch_logs(clients, logs_options)
        lines = [fmt.format_log_event(e, with_container=True) for e in events]
        if args.json:
            out.write(fmt.to_json("logs", events) + "\n")
        else:
            for line in lines:
                out.write(line + "\n")
        return 0

    rollback_result = rollback(clients, RollbackOptions(cluster=args.cluster, service=args.service))
    emit(fmt.format_rollback(rollback_result), rollback_result)
    return 0


def main(
    argv: Sequence[str] | None = None,
    *,
    clients: Clients | None = None,
    clock: Clock | None = None,
    stdout: IO[str] | None = None,
    stderr: IO[str] | None = None,
) -> int:
    """Entry point: ``ecskit COMMAND [options]``. Returns the process exit code.

    ``clients`` and ``clock`` are injectable (tests, benchmarks); by default the clients are
    built from ``--region``/``--profile``/``--endpoint-url`` and the clock is real.
    """
    out = stdout or sys.stdout
    err = stderr or sys.stderr
    parser = build_parser()
    try:
        with contextlib.redirect_stderr(err), contextlib.redirect_stdout(out):
            args = parser.parse_args(argv)
    except SystemExit as exc:  # argparse exits on --help/--version/usage errors
        return int(exc.code or 0)
    if not args.cmd:
        parser.print_help(err)
        return EXIT_USAGE
    reporter = Reporter(err)
    prog = f"ecskit {args.cmd}"

    try:
        if args.cmd == "run":  # usage errors before any AWS set-up
            parse_env(args.env)
            parse_command(args.command)
        elif args.cmd == "logs":
            parse_duration(args.since)
        if clients is None:
            clients = make_clients(
                region=args.region,
                profile=args.profile,
                endpoint_url=args.endpoint_url,
                clock=clock,
            )
        return _dispatch(args, clients, clock, reporter, out)
    except EcskitError as exc:
        reporter.line(f"{prog}: error: {exc.message}")
        return exc.exit_code
    except KeyboardInterrupt:
        reporter.line(f"{prog}: interrupted")
        return EXIT_INTERRUPTED
    except Exception as exc:
        module = type(exc).__module__.split(".")[0]
        if module not in {"botocore", "boto3", "urllib3"}:
            raise
        reporter.line(f"{prog}: error: {describe_aws_error(exc).message}")
        return 1


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
