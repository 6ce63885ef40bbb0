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
import signal
import sys
import threading
from collections.abc import Callable, Sequence
from typing import IO, Any, NoReturn

from constructs_lib import __version__
from constructs_lib.runtime import format as fmt
from constructs_lib.runtime.aws import Clients, Clock, describe_aws_error, make_clients
from constructs_lib.runtime.errors import EcskitError
from constructs_lib.runtime.format import step_summary
from constructs_lib.runtime.logs import (
    LogEvent,
    LogsOptions,
    fetch_logs,
    follow_logs,
    parse_duration,
)
from constructs_lib.runtime.rollback import RollbackOptions, rollback
from constructs_lib.runtime.rollout import RolloutOptions, watch_rollout
from constructs_lib.runtime.run import RunOptions, parse_command, parse_env, run_task
from constructs_lib.runtime.status import StatusOptions, service_status

__all__ = ["COMMANDS", "build_parser", "main"]

EXIT_USAGE = 2
EXIT_INTERRUPTED = 130
COMMANDS = ("run", "rollout", "status", "logs", "rollback")


class _Parser(argparse.ArgumentParser):
    """argparse with one-line errors: ``ecskit run: error: <message> (see ecskit run --help)``."""

    def error(self, message: str) -> NoReturn:
        self.exit(EXIT_USAGE, f"{self.prog}: error: {message} (see {self.prog} --help)\n")


class Reporter:
    """Human output on stderr: progress rewritten in place on a TTY, plain lines otherwise.

    ``tty`` (default: ``stream.isatty()`` and ``TERM`` is not ``dumb``) decides. On a TTY a
    progress message is cut to the terminal's width (a wrapped line could not be rewritten)
    and :meth:`clear` removes it before anything else is printed to the same terminal.
    """

    def __init__(self, stream: IO[str], *, tty: bool | None = None) -> None:
        self.stream = stream
        self.tty = _is_tty(stream) if tty is None else tty
        self._transient = False
        self._last = ""

    def _width(self) -> int:
        try:
            return os.get_terminal_size(self.stream.fileno()).columns
        except (AttributeError, OSError, ValueError):
            return 0  # unknown (not a real terminal): do not cut

    def progress(self, message: str) -> None:
        """A status update: overwritten on a TTY; printed once per change otherwise."""
        if self.tty:
            width = self._width()
            shown = message[: width - 1] if width > 1 else message
            self.stream.write("\r\x1b[K" + shown)
            self._transient = True
        elif message != self._last:
            self.stream.write(message + "\n")
        self._last = message
        self.stream.flush()

    def clear(self) -> None:
        """Remove the progress line (on a TTY) so that the next output starts a clean line."""
        if self._transient:
            self.stream.write("\r\x1b[K")
            self.stream.flush()
            self._transient = False

    def line(self, message: str) -> None:
        """A permanent line."""
        if self._transient:
            self.stream.write("\r\x1b[K")
            self._transient = False
        self.stream.write(message + "\n")
        self.stream.flush()


def _is_tty(stream: IO[str]) -> bool:
    try:
        return bool(stream.isatty()) and os.environ.get("TERM") != "dumb"
    except (AttributeError, OSError, ValueError):  # closed or not a file
        return False


def _common(parser: argparse.ArgumentParser) -> None:
    group = parser.add_argument_group("AWS and output")
    group.add_argument(
        "--region", help="AWS region (default: AWS_REGION/AWS_DEFAULT_REGION/profile)"
    )
    group.add_argument("--profile", help="AWS named profile (default: AWS_PROFILE or the default)")
    group.add_argument(
        "--endpoint-url",
        metavar="URL",
        help="send every AWS call here, e.g. a local emulator (default: the AWS endpoints)",
    )
    group.add_argument(
        "--json",
        action="store_true",
        help="print one JSON document on stdout; human text goes to stderr (default: off)",
    )


def _seconds(text: str) -> float:
    """argparse type of ``--timeout``: argparse prefixes "argument --timeout: "."""
    try:
        return parse_duration(text, flag="--timeout")
    except EcskitError:
        raise argparse.ArgumentTypeError(
            f"{text!r} is not a duration; use seconds or a unit, e.g. 900, 90s, 15m, 2h"
        ) from None


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
            "130 interrupted, 2 usage error, 1 the task ran but ECS reported no exit code."
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
        "--subnets",
        nargs="+",
        default=[],
        metavar="ID",
        help="awsvpc subnets (default: the service's)",
    )
    run.add_argument(
        "--security-groups",
        nargs="+",
        default=[],
        metavar="ID",
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
    rollout.add_argument(
        "services", nargs="+", metavar="SERVICE", help="service names or ARNs (required)"
    )
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
    logs.add_argument(
        "service", nargs="?", metavar="SERVICE", help="service (default: none; give it or --task)"
    )
    logs.add_argument(
        "--task", metavar="ID", help="task id or ARN instead of a SERVICE (default: none)"
    )
    logs.add_argument("--container", help="only this container (default: all)")
    logs.add_argument(
        "--follow", "-f", action="store_true", help="keep printing new lines (default: off)"
    )
    logs.add_argument(
        "--since",
        default="10m",
        metavar="DURATION",
        help="how far back to start, e.g. 30s, 10m, 2h (default: 10m)",
    )
    _common(logs)

    rollback = sub.add_parser(
        "rollback", help="stop the in-progress deployment and roll back (StopServiceDeployment)"
    )
    rollback.add_argument("--cluster", required=True, help="cluster name or ARN (required)")
    rollback.add_argument("service", metavar="SERVICE", help="the service to roll back (required)")
    _common(rollback)
    return parser


class _Output:
    """stdout plus the bookkeeping that keeps ``--json`` to exactly one document."""

    def __init__(self, stream: IO[str], reporter: Reporter, *, json_mode: bool) -> None:
        self.stream = stream
        self.reporter = reporter
        self.json_mode = json_mode
        self.json_written = False

    def text(self, line: str) -> None:
        """A line of the command's output proper (log lines, status): stdout."""
        self.reporter.clear()  # stdout and stderr are often the same terminal
        self.stream.write(line + "\n")
        self.stream.flush()

    def document(self, command: str, result: Any) -> None:
        """The one JSON document of ``--json`` (ignored without it)."""
        if self.json_mode and not self.json_written:
            self.stream.write(fmt.to_json(command, result) + "\n")
            self.stream.flush()
            self.json_written = True

    def error(self, command: str, message: str, exit_code: int) -> None:
        """With ``--json`` and no document yet: an error document, so stdout is still JSON."""
        if self.json_mode and not self.json_written:
            self.stream.write(fmt.error_json(command, message, exit_code) + "\n")
            self.stream.flush()
            self.json_written = True


def _write_summary(command: str, result: Any, reporter: Reporter) -> None:
    path = os.environ.get("GITHUB_STEP_SUMMARY")
    if not path:
        return
    try:
        with open(path, "a", encoding="utf-8") as handle:
            handle.write(step_summary(command, result))
    except OSError as exc:  # the summary is a courtesy: it never changes the exit code
        reporter.line(
            f"ecskit {command}: warning: cannot append to GITHUB_STEP_SUMMARY {path!r}: "
            f"{exc.strerror or exc}"
        )


def _dispatch(
    args: argparse.Namespace,
    clients: Clients,
    clock: Clock | None,
    reporter: Reporter,
    out: _Output,
) -> int:
    def report(lines: list[str], result: Any) -> None:
        """Human lines (stderr with ``--json``, else stdout), the document, the summary."""
        for line in lines:
            if args.json:
                reporter.line(line)
            else:
                out.text(line)
        out.document(args.cmd, result)
        _write_summary(args.cmd, result, reporter)

    # Log lines are the output proper (stdout), except with --json: then stderr.
    log_sink: Callable[[str], None] = reporter.line if args.json else out.text

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
        for line in fmt.format_task_result(result):
            reporter.line(line)
        out.document("run", result)
        _write_summary("run", result, reporter)
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
        out.document("rollout", rollout_result)
        _write_summary("rollout", rollout_result, reporter)
        return rollout_result.exit_code

    if args.cmd == "status":
        statuses = service_status(
            clients, StatusOptions(cluster=args.cluster, services=tuple(args.services))
        )
        report(fmt.format_status(statuses), statuses)
        return 0

    if args.cmd == "logs":
        return _logs(args, clients, clock, reporter, out)

    rollback_result = rollback(clients, RollbackOptions(cluster=args.cluster, service=args.service))
    report(fmt.format_rollback(rollback_result), rollback_result)
    return 0


def _logs(
    args: argparse.Namespace,
    clients: Clients,
    clock: Clock | None,
    reporter: Reporter,
    out: _Output,
) -> int:
    log_sink: Callable[[str], None] = reporter.line if args.json else out.text
    options = LogsOptions(
        cluster=args.cluster,
        service=args.service,
        task=args.task,
        container=args.container,
        since_seconds=parse_duration(args.since),
        follow=args.follow,
    )
    events: list[LogEvent] = []
    code = 0
    if args.follow:

        def deliver(event: LogEvent) -> None:
            if args.json:
                events.append(event)
            log_sink(fmt.format_log_event(event, with_container=True))

        try:
            follow_logs(clients, options, deliver, clock=clock)
        except KeyboardInterrupt:  # the usual way to end --follow: still write the document
            reporter.line("ecskit logs: interrupted")
            code = EXIT_INTERRUPTED
    else:
        events = fetch_logs(clients, options)
        for event in events:
            log_sink(fmt.format_log_event(event, with_container=True))
    out.document("logs", events)
    _write_summary("logs", events, reporter)
    return code


def _raise_interrupt(_signum: int, _frame: object) -> None:
    raise KeyboardInterrupt


def treat_sigterm_as_interrupt() -> None:
    """A cancelled CI job sends SIGTERM: handle it like Ctrl-C, so ``run`` stops its task and
    exits 130 instead of dying with the task left running."""
    if threading.current_thread() is threading.main_thread():
        signal.signal(signal.SIGTERM, _raise_interrupt)


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
    built from ``--region``/``--profile``/``--endpoint-url`` and the clock is real. Errors are
    one line on stderr (``ecskit <command>: error: ...``), never a traceback; with ``--json``
    stdout then holds ``{"command": ..., "error": {"message": ..., "exit_code": ...}}``.
    """
    if argv is None:  # the real command line (tests pass argv)
        treat_sigterm_as_interrupt()
    out_stream = stdout or sys.stdout
    err = stderr or sys.stderr
    parser = build_parser()
    try:
        with contextlib.redirect_stderr(err), contextlib.redirect_stdout(out_stream):
            args = parser.parse_args(argv)
    except SystemExit as exc:  # argparse exits on --help/--version/usage errors
        return int(exc.code or 0)
    if not args.cmd:
        err.write(
            f"ecskit: error: a COMMAND is required: one of {', '.join(COMMANDS)} "
            "(see ecskit --help)\n"
        )
        return EXIT_USAGE
    reporter = Reporter(err)
    out = _Output(out_stream, reporter, json_mode=args.json)
    prog = f"ecskit {args.cmd}"

    def fail(message: str, exit_code: int, *, label: str = "error: ") -> int:
        reporter.line(f"{prog}: {label}{message}")
        out.error(args.cmd, message, exit_code)
        return exit_code

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
        return fail(exc.message, exc.exit_code)
    except KeyboardInterrupt:
        return fail("interrupted", EXIT_INTERRUPTED, label="")
    except Exception as exc:
        module = type(exc).__module__.split(".")[0]
        if module not in {"botocore", "boto3", "urllib3"}:
            raise
        return fail(describe_aws_error(exc).message, 1)


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
