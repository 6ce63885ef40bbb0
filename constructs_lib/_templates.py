"""Locate and render the Jinja2 templates shipped with ecskit (no aws_cdk import here).

In a source checkout the templates live in ``<repo>/templates``; in an installed wheel they are
packaged as ``constructs_lib/templates`` (see ``[tool.hatch.build.targets.wheel.force-include]``).
"""

from __future__ import annotations

from functools import cache
from pathlib import Path
from typing import Any

_PACKAGE_DIR = Path(__file__).resolve().parent


def template_dir() -> Path:
    """Return the directory holding ecskit's Jinja2 templates."""
    for candidate in (_PACKAGE_DIR / "templates", _PACKAGE_DIR.parent / "templates"):
        if candidate.is_dir():
            return candidate
    raise FileNotFoundError(
        f"ecskit templates not found next to {_PACKAGE_DIR}; reinstall the ecskit package"
    )


@cache
def _environment() -> Any:
    import jinja2  # noqa: PLC0415 - imported on first render: keeps CLI start-up light

    return jinja2.Environment(
        loader=jinja2.FileSystemLoader(str(template_dir())),
        undefined=jinja2.StrictUndefined,
        keep_trailing_newline=True,
        trim_blocks=True,
        lstrip_blocks=True,
        autoescape=False,
    )


def render_template(name: str, **context: Any) -> str:
    """Render ``templates/<name>`` with ``context``; undefined variables are errors."""
    return str(_environment().get_template(name).render(**context))
