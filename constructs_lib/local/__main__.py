"""``python -m constructs_lib.local COMMAND``: the local emulator's command line.

Commands: ``start`` (background server, prints the ``env`` file to source), ``stop``,
``status``, ``env`` (``export`` lines), ``deploy`` / ``destroy`` (what ``make deploy`` and
``make destroy`` run), ``serve`` (the server process itself; ``start`` runs it). Errors are one
line on stderr (``ecskit local: ...``) and exit 1; usage errors exit 2.
"""

from __future__ import annotations

import argparse
import signal
import sys
import time
from collections.abc import Sequence
from pathlib import Path

from constructs_lib.local.errors import LocalEmulatorError
from constructs_lib.local.server import (
    DEFAULT_PORT,
    emulator_env,
    free_port,
    running,
    serve,
    start,
    stop,
)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m constructs_lib.local",
        description="A local AWS emulator (patched moto server on 127.0.0.1) for the ecskit app.",
    )
    parser.add_argument(
        "--state-dir",
        type=Path,
        default=None,
        help="where pid, port, log and env files live (default: $ECSKIT_LOCAL_DIR or "
        ".ecskit-local in the current directory)",
    )
    commands = parser.add_subparsers(dest="cmd", required=True)

    def port_option(sub: argparse.ArgumentParser) -> None:
        sub.add_argument(
            "--port",
            type=int,
            default=DEFAULT_PORT,
            help=f"TCP port on 127.0.0.1; 0 = any free port (default: {DEFAULT_PORT})",
        )

    port_option(commands.add_parser("start", help="start the emulator in the background"))
    commands.add_parser("stop", help="stop the emulator (everything deployed is gone)")
    commands.add_parser("status", help="is it running, where")
    commands.add_parser("env", help="print export lines for the CDK CLI / ecskit / boto3")
    deploy = commands.add_parser(
        "deploy", help="start (or reuse) the emulator, cdk bootstrap + deploy, ecskit status"
    )
    port_option(deploy)
    deploy.add_argument("--env", default="dev", help="environment of cdk.json (default: dev)")
    deploy.add_argument(
        "--app",
        type=Path,
        default=None,
        help="deploy this cloud assembly (default: cdk synth -c env=ENV into the state dir)",
    )
    destroy = commands.add_parser("destroy", help="cdk destroy the stacks, stop the emulator")
    destroy.add_argument("--env", default="dev", help="environment of cdk.json (default: dev)")
    serve_cmd = commands.add_parser("serve", help=argparse.SUPPRESS)
    serve_cmd.add_argument("--port", type=int, required=True)
    return parser


def main(argv: Sequence[str] | None = None) -> int:  # noqa: PLR0911 - one return per command
    """Entry point; returns the exit code (0 ok, 1 error, 2 usage)."""
    try:
        args = build_parser().parse_args(argv)
    except SystemExit as exc:
        return int(exc.code or 0)
    state: Path | None = args.state_dir.resolve() if args.state_dir else None
    try:
        if args.cmd == "serve":
            return serve(args.port)
        if args.cmd == "start":
            _interrupt_on_termination()
            emulator = start(args.port, state_dir=state)
            print(f"emulator: running on {emulator.endpoint} (pid {emulator.pid})")
            print(
                f"use it: source {emulator.env_file}; stop it: python -m constructs_lib.local stop"
            )
            return 0
        if args.cmd == "stop":
            stopped = stop(state)
            print(f"emulator: stopped (pid {stopped.pid})" if stopped else "emulator: not running")
            return 0
        if args.cmd == "status":
            current = running(state)
            if current is None:
                print("emulator: not running")
                return 3
            print(f"emulator: running on {current.endpoint} (pid {current.pid})")
            return 0
        if args.cmd == "env":
            current = running(state)
            if current is None:
                raise LocalEmulatorError("emulator: not running; start it first (make deploy)")
            for key, value in emulator_env(current.port, current.state_dir).items():
                print(f"export {key}={value}")
            return 0
        from constructs_lib.local import deploy as deploying  # noqa: PLC0415 - boto3 on demand

        if args.cmd == "deploy":
            _interrupt_on_termination()
            current = running(state)  # deploy reuses it: name its port, not --port
            args.port = current.port if current else args.port or free_port()
            print(
                f"ecskit deploy: target local (moto server on http://localhost:{args.port}, "
                "no AWS account used)",
                flush=True,
            )
            began = time.monotonic()
            result = deploying.deploy(
                args.env, port=args.port, state_dir=state, app=args.app, echo=_echo
            )
            spent = ", ".join(f"{k} {v:.1f} s" for k, v in result.timings.items())
            print(
                f"ecskit deploy: {len(result.stacks)} stacks deployed to "
                f"{result.emulator.endpoint} in {time.monotonic() - began:.1f} s ({spent})"
            )
            print(
                f"the emulator keeps running (pid {result.emulator.pid}): "
                f"source {result.emulator.env_file} to use it with ecskit/aws/cdk; "
                "stop it with `make destroy` or `python -m constructs_lib.local stop`"
            )
            return 0 if result.status_exit_code == 0 else 1
        if args.cmd == "destroy":
            _interrupt_on_termination()
            print("ecskit destroy: target local (moto server)", flush=True)
            deploying.destroy(args.env, state_dir=state, echo=_echo)
            return 0
    except LocalEmulatorError as exc:
        print(f"ecskit local: {exc}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print("ecskit local: interrupted", file=sys.stderr)
        return 130
    return 2  # pragma: no cover - argparse requires a command


def _interrupt_on_termination() -> None:
    """SIGTERM (a CI job's timeout) and SIGHUP (the terminal closed) end ``start``, ``deploy``
    and ``destroy`` like Ctrl-C: as an exception, so an emulator this call started is stopped,
    not orphaned (it runs in its own session and gets neither signal)."""

    def interrupt(signum: int, frame: object) -> None:  # noqa: ARG001 - signal handler API
        raise KeyboardInterrupt

    signal.signal(signal.SIGTERM, interrupt)
    signal.signal(signal.SIGHUP, interrupt)


def _echo(line: str) -> None:
    print(line, flush=True)


if __name__ == "__main__":
    sys.exit(main())
