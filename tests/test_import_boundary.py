"""The runtime CLI must never load the CDK (aws_cdk, jsii, constructs): it has to start fast."""

from __future__ import annotations

import pkgutil
import subprocess
import sys
from pathlib import Path

import constructs_lib.runtime

ROOT = Path(__file__).resolve().parents[1]
RUNTIME_MODULES = sorted(
    f"constructs_lib.runtime.{m.name}"
    for m in pkgutil.iter_modules(constructs_lib.runtime.__path__)
)


def _run(code: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, check=False
    )


def test_runtime_modules_do_not_import_the_cdk() -> None:
    assert "constructs_lib.runtime.cli" in RUNTIME_MODULES
    imports = "; ".join(f"import {m}" for m in RUNTIME_MODULES)
    code = (
        "import constructs_lib.runtime, constructs_lib.runtime.cli, sys; "
        f"{imports}; "
        "cdk = ('aws_cdk', 'jsii', 'constructs'); "
        "bad = sorted(m for m in sys.modules if m.split('.')[0] in cdk); "
        "assert not bad, bad"
    )
    result = _run(code)
    assert result.returncode == 0, result.stderr


def test_local_emulator_does_not_import_the_cdk() -> None:
    """constructs_lib.local deploys with the CDK CLI, never by importing the CDK: importing
    every module and applying the moto patches loads no aws_cdk/jsii/constructs."""
    import constructs_lib.local

    modules = sorted(
        f"constructs_lib.local.{m.name}"
        for m in pkgutil.iter_modules(constructs_lib.local.__path__)
    )
    assert {"constructs_lib.local.patches", "constructs_lib.local.server"} <= set(modules)
    imports = "; ".join(f"import {m}" for m in modules if not m.endswith("__main__"))
    code = (
        f"import sys; {imports}; "
        "from constructs_lib.local import patches; patches.apply('http://127.0.0.1:1'); "
        "import constructs_lib.local.__main__; "
        "cdk = ('aws_cdk', 'jsii', 'constructs'); "
        "bad = sorted(m for m in sys.modules if m.split('.')[0] in cdk); "
        "assert not bad, bad"
    )
    result = _run(code)
    assert result.returncode == 0, result.stderr


def test_cli_help_does_not_import_boto3() -> None:
    code = (
        "import sys, contextlib, io; from constructs_lib.runtime.cli import main; "
        "out = io.StringIO(); rc = main(['--help'], stdout=out); "
        "assert rc == 0; assert 'boto3' not in sys.modules and 'botocore' not in sys.modules; "
        "print(out.getvalue())"
    )
    result = _run(code)
    assert result.returncode == 0, result.stderr
    for command in ("run", "rollout", "status", "logs", "rollback"):
        assert command in result.stdout


def test_sigterm_is_handled_like_ctrl_c() -> None:
    """A CI cancel (SIGTERM) must reach the same path as Ctrl-C: KeyboardInterrupt, exit 130."""
    code = (
        "import os, signal; from constructs_lib.runtime.cli import treat_sigterm_as_interrupt; "
        "treat_sigterm_as_interrupt()\n"
        "try:\n    os.kill(os.getpid(), signal.SIGTERM); import time; time.sleep(5)\n"
        "except KeyboardInterrupt:\n    print('interrupted')"
    )
    result = _run(code)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "interrupted"
