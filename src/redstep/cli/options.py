"""Options several commands share, declared once."""

from __future__ import annotations

from pathlib import Path

import click

project_option = click.option(
    "--project",
    "project_dir",
    type=click.Path(file_okay=False, path_type=Path),
    default=".",
    show_default=True,
    help="The project folder (redstep.toml); a folder without one uses every default.",
)
"""`--project DIR`, passed to the command as `project_dir`."""
