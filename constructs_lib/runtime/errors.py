"""One error type for the runtime, carrying the exit code the CLI returns for it."""

from __future__ import annotations

__all__ = ["EXIT_NOT_FOUND", "EXIT_USAGE", "EcskitError", "NotFoundError", "UsageError"]

EXIT_USAGE = 2
"""Bad flags or values: malformed ``--env``, ``--launch-type`` with ``--capacity-provider``."""

EXIT_NOT_FOUND = 1
"""A named cluster, service or task does not exist (``ecskit run`` uses 125: it never started)."""


class EcskitError(Exception):
    """A failure the CLI reports as one line (``ecskit <command>: error: <message>``).

    ``message`` names the flag, the value and the fix; ``exit_code`` is what ``main`` returns.
    """

    def __init__(self, message: str, *, exit_code: int = 1) -> None:
        super().__init__(message)
        self.message = message
        self.exit_code = exit_code


class UsageError(EcskitError):
    """Bad input the caller can fix by changing the command line: exit 2."""

    def __init__(self, message: str) -> None:
        super().__init__(message, exit_code=EXIT_USAGE)


class NotFoundError(EcskitError):
    """A cluster, service, task or task definition that does not exist: exit 1 by default."""

    def __init__(self, message: str, *, exit_code: int = EXIT_NOT_FOUND) -> None:
        super().__init__(message, exit_code=exit_code)
