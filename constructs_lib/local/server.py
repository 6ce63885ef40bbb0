"""Start, find and stop the emulator: a moto server process on 127.0.0.1 with the patches.

State lives in a directory (default ``.ecskit-local/`` in the current directory, gitignored):
``server.pid``, ``server.port``, ``server.started`` (the process's start time, so a pid the
system has since given to another process is recognised as stale and never signalled),
``server.log``, ``env`` (``export`` lines for the CDK CLI and ``ecskit``: endpoint, fake
credentials, no profile) and ``lock`` (``start``/``stop`` of one state directory take turns).
``start`` refuses a port in use and never leaves a half-started server behind (an error or
Ctrl-C while it waits stops the server); ``stop`` ends the process ``start`` recorded (by pid).
"""

from __future__ import annotations

import contextlib
import errno
import fcntl
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from constructs_lib.local.errors import LocalEmulatorError

DEFAULT_PORT = 4566
"""The port ``start`` uses when none is given (LocalStack's, so tools expecting it work)."""

HOST = "127.0.0.1"
START_TIMEOUT = 60.0
"""Seconds ``start`` waits for the server to answer (default)."""


def default_state_dir() -> Path:
    """``$ECSKIT_LOCAL_DIR`` or ``.ecskit-local`` in the current directory."""
    return Path(os.environ.get("ECSKIT_LOCAL_DIR") or ".ecskit-local").resolve()


@dataclass(frozen=True)
class Emulator:
    """A running emulator: its process id, port and state directory."""

    pid: int
    port: int
    state_dir: Path

    @property
    def endpoint(self) -> str:
        """``http://localhost:PORT``: the CDK CLI needs a host name (with an IP its template
        URL ``http://127.0.0.1:PORT/bucket/...`` is parsed by moto as bucket ``127``)."""
        return f"http://localhost:{self.port}"

    @property
    def env_file(self) -> Path:
        return self.state_dir / "env"

    @property
    def log_file(self) -> Path:
        return self.state_dir / "server.log"


def emulator_env(port: int, state_dir: Path, region: str | None = None) -> dict[str, str]:
    """What the CDK CLI, boto3 and ``ecskit`` need to reach the emulator and nothing else:
    the endpoint, fake credentials, and no shared config/credentials files (so no profile of
    a real account can be picked up). ``region`` sets ``AWS_DEFAULT_REGION`` when given."""
    env = {
        "AWS_ENDPOINT_URL": f"http://localhost:{port}",
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
        "AWS_SESSION_TOKEN": "testing",
        "AWS_CONFIG_FILE": str(state_dir / "no-aws-config"),
        "AWS_SHARED_CREDENTIALS_FILE": str(state_dir / "no-aws-credentials"),
        "AWS_EC2_METADATA_DISABLED": "true",
    }
    if region:
        env["AWS_DEFAULT_REGION"] = region
    return env


def _pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    with contextlib.suppress(OSError):  # a zombie (exited, not yet reaped) is not alive
        if Path(f"/proc/{pid}/stat").read_text().split(")")[-1].split()[0] == "Z":
            return False
    # A zombie child of ours still "exists": reap it if it is ours.
    with contextlib.suppress(ChildProcessError):
        done, _ = os.waitpid(pid, os.WNOHANG)
        if done == pid:
            return False
    return True


def _started_at(pid: int) -> str | None:
    """When the process started (clock ticks since boot, ``/proc/<pid>/stat`` field 22; else
    ``ps -o lstart=``), None if unknown. The same pid with another start time is another
    process: the emulator died and the system reused its pid."""
    with contextlib.suppress(OSError, IndexError):
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[19]
    with contextlib.suppress(OSError, subprocess.SubprocessError):
        started = subprocess.run(
            ["ps", "-o", "lstart=", "-p", str(pid)],
            capture_output=True,
            text=True,
            check=False,
            timeout=5,
        ).stdout.strip()
        return started or None
    return None


def running(state_dir: Path | None = None) -> Emulator | None:
    """The emulator recorded in ``state_dir`` if its process is alive and is the one that was
    started (same start time), else None (stale files are removed)."""
    state = state_dir or default_state_dir()
    try:
        pid = int((state / "server.pid").read_text())
        port = int((state / "server.port").read_text())
        started = (state / "server.started").read_text().strip()
    except (FileNotFoundError, ValueError):
        return None
    if not _pid_alive(pid) or started != (_started_at(pid) or ""):
        _forget(state)
        return None
    return Emulator(pid=pid, port=port, state_dir=state)


def _forget(state: Path) -> None:
    for name in ("server.pid", "server.port", "server.started", "env"):
        with contextlib.suppress(FileNotFoundError):
            (state / name).unlink()


@contextlib.contextmanager
def _locked(state: Path) -> Iterator[None]:
    """``start``/``stop`` of one state directory, one at a time (two ``make deploy`` at once
    must not both start a server and leave one unrecorded)."""
    state.mkdir(parents=True, exist_ok=True)
    with (state / "lock").open("a") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(lock, fcntl.LOCK_UN)


def free_port() -> int:
    """A port nobody listens on now (for tests and ``--port 0``)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((HOST, 0))
        return int(sock.getsockname()[1])


def _check_port(port: int) -> None:
    if not 0 < port < 65536:
        raise LocalEmulatorError(f"port: got {port}; give a TCP port between 1 and 65535")
    # The endpoint says `localhost`, which the CDK CLI (Node) may resolve to ::1 first: a
    # server there would answer in the emulator's place. A machine without IPv6 is fine.
    for family, host, where, required in (
        (socket.AF_INET, HOST, HOST, True),
        (socket.AF_INET6, "::1", "::1 (localhost)", False),
    ):
        try:
            with socket.socket(family, socket.SOCK_STREAM) as sock:
                sock.bind((host, port))
        except OSError as exc:
            if exc.errno == errno.EADDRINUSE:
                raise LocalEmulatorError(
                    f"port {port}: already in use on {where}; stop what listens there or pick "
                    f"another port (make deploy PORT=<port>, or --port)"
                ) from None
            if required:
                raise LocalEmulatorError(f"port {port}: cannot listen on {host}: {exc}") from None


def _answers(port: int) -> bool:
    try:
        with urllib.request.urlopen(f"http://{HOST}:{port}/moto-api/", timeout=1) as response:
            return bool(response.status < 500)
    except urllib.error.HTTPError as exc:
        return exc.code < 500
    except OSError:
        return False


def _log_tail(path: Path, lines: int = 5) -> str:
    try:
        text = path.read_text(errors="replace").strip().splitlines()
    except FileNotFoundError:
        return ""
    return " | ".join(line.strip() for line in text[-lines:])


def start(
    port: int = DEFAULT_PORT,
    *,
    state_dir: Path | None = None,
    timeout: float = START_TIMEOUT,
    command: list[str] | None = None,
) -> Emulator:
    """Start the emulator in the background on ``127.0.0.1:port`` (0 = a free port) and wait
    until it answers (up to ``timeout`` seconds, default ``START_TIMEOUT``). Writes the pid,
    port and ``env`` file to ``state_dir`` (default :func:`default_state_dir`).

    Raises :class:`LocalEmulatorError` (nothing left running) if an emulator already runs from
    ``state_dir``, the port is in use, or the server exits or does not answer in time; on any
    other exception while waiting (Ctrl-C) the server is stopped too and the exception goes on.
    ``command`` replaces the server command line (tests use it to simulate a broken server).
    """
    state = state_dir or default_state_dir()
    with _locked(state):
        return _start(port, state, timeout, command)


def _start(port: int, state: Path, timeout: float, command: list[str] | None) -> Emulator:
    current = running(state)
    if current is not None:
        raise LocalEmulatorError(
            f"emulator: already running (pid {current.pid}, {current.endpoint}); stop it first: "
            f"python -m constructs_lib.local stop (or make destroy)"
        )
    port = port or free_port()
    _check_port(port)
    log = state / "server.log"
    argv = command or [sys.executable, "-m", "constructs_lib.local", "serve", "--port", str(port)]
    with log.open("w") as log_stream:
        process = subprocess.Popen(
            argv,
            stdin=subprocess.DEVNULL,
            stdout=log_stream,
            stderr=subprocess.STDOUT,
            start_new_session=True,  # Ctrl-C in the terminal does not reach it; stop does
            env={**os.environ, "PYTHONUNBUFFERED": "1"},
        )
    _children[process.pid] = process  # kept (and reaped by stop) while it runs
    # Recorded at once: if this process is killed while waiting, `stop` still finds the server.
    (state / "server.started").write_text(_started_at(process.pid) or "")
    (state / "server.port").write_text(str(port))
    (state / "server.pid").write_text(str(process.pid))
    deadline = time.monotonic() + timeout
    try:
        while not _answers(port):
            if process.poll() is not None:
                raise LocalEmulatorError(
                    f"emulator: the server exited with code {process.returncode} before "
                    f"answering on port {port}: {_log_tail(log) or 'no output'} (log: {log})"
                )
            if time.monotonic() > deadline:
                raise LocalEmulatorError(
                    f"emulator: no answer on port {port} after {timeout:.0f} s; server stopped "
                    f"(log: {log})"
                )
            time.sleep(0.1)
    except BaseException:  # an error, or Ctrl-C while waiting: no half-started server stays
        _terminate(process.pid)
        _forget(state)
        raise
    emulator = Emulator(pid=process.pid, port=port, state_dir=state)
    exports = (
        "".join(f"export {k}={v}\n" for k, v in emulator_env(port, state).items())
        + "unset AWS_PROFILE AWS_DEFAULT_PROFILE\n"
    )
    emulator.env_file.write_text(exports)
    return emulator


_children: dict[int, subprocess.Popen[bytes]] = {}


def _terminate(pid: int, grace: float = 10.0) -> None:
    """SIGTERM the process, SIGKILL after ``grace`` seconds (a child of this process that has
    already exited and been reaped is not signalled: its pid may belong to another process)."""
    child = _children.pop(pid, None)
    if child is not None:
        child.terminate()  # no signal once reaped
        try:
            child.wait(grace)
        except subprocess.TimeoutExpired:
            child.kill()
            child.wait()
        return
    with contextlib.suppress(ProcessLookupError):
        os.kill(pid, signal.SIGTERM)
    deadline = time.monotonic() + grace
    while _pid_alive(pid):
        if time.monotonic() > deadline:
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGKILL)
            return
        time.sleep(0.05)


def stop(state_dir: Path | None = None) -> Emulator | None:
    """Stop the emulator recorded in ``state_dir`` (SIGTERM, then SIGKILL after 10 s) and
    remove its pid/port/env files. Returns what was stopped, None if nothing ran. Everything
    deployed into it is gone: moto keeps its state in memory."""
    state = state_dir or default_state_dir()
    with _locked(state):
        emulator = running(state)
        if emulator is None:
            return None
        _terminate(emulator.pid)
        _forget(state)
        return emulator


def serve(port: int) -> int:
    """The server process itself (``python -m constructs_lib.local serve``): check moto's
    version, apply the patches, serve on 127.0.0.1:port until SIGTERM/SIGINT."""
    import threading  # noqa: PLC0415 - the server process only

    from constructs_lib.local import patches  # noqa: PLC0415 - loads moto: server process only

    patches.check_moto_version()
    os.environ.setdefault("MOTO_EC2_LOAD_DEFAULT_AMIS", "false")
    from moto.moto_server.werkzeug_app import (  # noqa: PLC0415
        DomainDispatcherApplication,
        MotoRequestHandler,
        create_backend_app,
    )
    from werkzeug.serving import make_server  # noqa: PLC0415

    patches.apply(f"http://{HOST}:{port}")
    try:
        server = make_server(
            HOST,
            port,
            DomainDispatcherApplication(create_backend_app),
            threaded=True,
            request_handler=MotoRequestHandler,
        )
    except OSError as exc:
        raise LocalEmulatorError(f"port {port}: cannot listen on {HOST}: {exc}") from None
    stopping = threading.Event()

    def on_signal(signum: int, frame: object) -> None:  # noqa: ARG001 - signal handler API
        stopping.set()

    signal.signal(signal.SIGTERM, on_signal)
    signal.signal(signal.SIGINT, on_signal)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    print(f"ecskit local emulator: moto {patches.MOTO_VERSION} on http://{HOST}:{port}")
    stopping.wait()
    server.shutdown()
    return 0
