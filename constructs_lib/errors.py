"""The one error type ecskit constructs raise for bad props (no aws_cdk import here)."""

from __future__ import annotations

from typing import Any


class EcskitValidationError(ValueError):
    """A prop or configuration value is invalid.

    The message names the prop, the value given and what is allowed, e.g.
    ``Network.max_azs must be between 2 and 3, got 0``.
    """


def invalid(prop: str, value: Any, allowed: str) -> EcskitValidationError:
    """Build the standard message: ``<prop> must be <allowed>, got <value>``."""
    return EcskitValidationError(f"{prop} must be {allowed}, got {value!r}")
