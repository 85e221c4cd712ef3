"""redstep.toml: defaults, routing by identifier, and errors that name the file and the key."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from redstep.project import DEFAULT_WAREHOUSE, DEFAULT_WAREHOUSE_URL, ProjectError, load_project


def write_config(folder: Path, text: str) -> Path:
    path = folder / "redstep.toml"
    path.write_text(text, encoding="utf-8")
    return path


def test_a_folder_without_config_has_every_default(tmp_path: Path) -> None:
    project = load_project(tmp_path)
    assert project.root == tmp_path.resolve()
    assert project.state_dir == tmp_path.resolve() / ".redstep"
    assert dict(project.warehouses) == {DEFAULT_WAREHOUSE: DEFAULT_WAREHOUSE_URL}
    assert dict(project.buckets) == {}


def test_named_warehouses_route_by_cluster_or_workgroup(tmp_path: Path) -> None:
    write_config(
        tmp_path,
        """
        [warehouse]
        url = "duckdb:///:memory:"
        [warehouses.analytics]
        url = "postgresql://postgres@127.0.0.1:5432/test"
        """,
    )
    project = load_project(tmp_path)
    assert project.warehouses[DEFAULT_WAREHOUSE] == "duckdb:///:memory:"
    assert project.warehouse_name("analytics") == "analytics"
    assert project.warehouse_name("some-other-cluster") == DEFAULT_WAREHOUSE
    assert project.warehouse_name(None) == DEFAULT_WAREHOUSE


def test_buckets_resolve_against_the_project_folder(tmp_path: Path) -> None:
    write_config(tmp_path, '[buckets.sales]\npath = "data/sales"\n')
    assert load_project(tmp_path).buckets["sales"] == (tmp_path / "data" / "sales").resolve()


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ('[warehouse]\nurl = "mysql://x"\n', r"warehouse\.url: unknown warehouse scheme 'mysql'"),
        ('[warehouse]\nurl = "duckdbb:///x.db"\n', r"did you mean 'duckdb'\?"),
        ('[warehouse]\nurl = "not a url"\n', r"warehouse\.url: 'not a url' is not a warehouse URL"),
        ('[warehouse]\nurl = "duckdb://"\n', r"names no database file"),
        ("[warehouse]\nurl = 3\n", r"warehouse\.url must be a string"),
        ('[warehouse]\nurl = "duckdb:///:memory:"\nurll = 1\n', r"unknown key 'warehouse\.urll'"),
        ('[warehouses.a]\nurl = "duckdb:///:memory:"\nx = 1\n', r"unknown key 'warehouses\.a\.x'"),
        ('[warehousez]\nurl = "duckdb:///:memory:"\n', r"unknown key 'warehousez'"),
        ('[buckets.b]\nfolder = "x"\n', r"unknown key 'buckets\.b\.folder'"),
        ("[buckets.b]\npath = 1\n", r"buckets\.b\.path must be a folder path"),
        ("warehouses = 1\n", r"warehouses must hold tables"),
        ("[warehouse\n", r"redstep\.toml: "),
    ],
)
def test_bad_config_names_the_file_and_the_key(tmp_path: Path, text: str, expected: str) -> None:
    path = write_config(tmp_path, text)
    with pytest.raises(ProjectError, match=expected) as raised:
        load_project(tmp_path)
    assert str(path) in str(raised.value)


def test_a_missing_project_folder_is_an_error(tmp_path: Path) -> None:
    with pytest.raises(ProjectError, match="no such project folder"):
        load_project(tmp_path / "absent")


OWN_STATE_SCRIPT = """
import sys
from redstep.project import ProjectInUse, load_project
try:
    load_project(sys.argv[1]).own_state()
except ProjectInUse as error:
    print(error)
    sys.exit(3)
"""


def test_one_process_owns_the_state_at_a_time(tmp_path: Path) -> None:
    ownership = load_project(tmp_path).own_state()
    assert (tmp_path / ".redstep" / "owner.lock").read_text().strip() == str(os.getpid())
    other = subprocess.run(
        [sys.executable, "-c", OWN_STATE_SCRIPT, str(tmp_path)],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert other.returncode == 3, other.stderr
    assert f"in use by another redstep process (PID {os.getpid()})" in other.stdout
    ownership.release()
    again = subprocess.run(
        [sys.executable, "-c", OWN_STATE_SCRIPT, str(tmp_path)],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert again.returncode == 0, again.stdout + again.stderr
