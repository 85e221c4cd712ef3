"""The example project, exported, and small projects written for one case each."""

from __future__ import annotations

import json
import textwrap
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

import pytest

from redstep.cli.init import create_project
from redstep.project import Project, load_project

ProjectMaker = Callable[..., Project]


@pytest.fixture
def sales(tmp_path: Path) -> Project:
    """A copy of the sales data pipeline example."""
    return load_project(create_project(tmp_path / "sales", example="sales"))


@pytest.fixture
def make_project(tmp_path: Path) -> ProjectMaker:
    """`make_project(machines={name: definition}, functions={name: source}, toml="...")`: a
    project with those state machines (workflows/<name>.asl.json), functions
    (functions/<name>.py, handler `handler`), a bucket `data` (folder data/) and extra TOML."""

    def make(
        machines: Mapping[str, Mapping[str, Any]] | None = None,
        functions: Mapping[str, str] | None = None,
        toml: str = "",
    ) -> Project:
        root = tmp_path / "project"
        (root / "workflows").mkdir(parents=True)
        (root / "functions").mkdir()
        (root / "data").mkdir()
        (root / "data" / "input.csv").write_text("a,b\n1,2\n")
        config = ['[buckets.data]\npath = "data"\n']
        for name, definition in (machines or {}).items():
            (root / "workflows" / f"{name}.asl.json").write_text(json.dumps(definition))
            config.append(f'[state_machines.{name}]\ndefinition = "workflows/{name}.asl.json"\n')
        for name, source in (functions or {}).items():
            (root / "functions" / f"{name}.py").write_text(textwrap.dedent(source))
            config.append(f'[functions.{name}]\nhandler = "functions/{name}.py:handler"\n')
        (root / "redstep.toml").write_text("\n".join(config) + textwrap.dedent(toml))
        return load_project(root)

    return make
