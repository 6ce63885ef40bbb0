"""A local AWS target for ``make deploy``: moto server on 127.0.0.1, patched for the ecskit app.

``python -m constructs_lib.local start|stop|status|env|deploy|destroy`` (see ``--help``), or
``make deploy`` / ``make destroy``. Needs the ``local`` extra (``pip install "ecskit[local]"``,
moto pinned exactly: the patches in :mod:`constructs_lib.local.patches` touch its internals).
No ``aws_cdk`` import in this package: the CDK app is deployed with the real CDK CLI.
"""

from __future__ import annotations

from constructs_lib.local.errors import LocalEmulatorError
from constructs_lib.local.server import (
    DEFAULT_PORT,
    Emulator,
    emulator_env,
    running,
    start,
    stop,
)

__all__ = [
    "DEFAULT_PORT",
    "Emulator",
    "LocalEmulatorError",
    "emulator_env",
    "running",
    "start",
    "stop",
]
