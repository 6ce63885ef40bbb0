"""The one error type of the local emulator (no moto or aws_cdk import here)."""

from __future__ import annotations


class LocalEmulatorError(RuntimeError):
    """The emulator cannot start, stop or deploy. The message is one line naming what failed,
    the value and the fix, e.g. ``port 4566: already in use on 127.0.0.1; ...``."""
