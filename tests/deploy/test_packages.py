"""A function's deployment package: what goes in, its key, its zip."""

from __future__ import annotations

import zipfile
from pathlib import Path

import pytest

from redstep.deploy.errors import ExportError
from redstep.deploy.packages import build_zip, function_package
from redstep.project import Project, load_project


def test_the_examples_package_is_its_folder_with_its_requirements(sales: Project) -> None:
    package = function_package(sales, sales.functions["redshift_batch_data_api"])
    folder = sales.root / "functions"
    assert package.root == folder
    assert package.files == (folder / "redshift_batch_data_api.py",)
    assert package.requirements == folder / "requirements.txt"
    assert package.handler == "redshift_batch_data_api.handler"
    assert package.inline_source is None  # it has requirements
    assert package.key == f"redstep/functions/redshift_batch_data_api/{package.digest[:24]}.zip"


def test_the_key_changes_with_the_code_and_only_with_it(sales: Project) -> None:
    config = sales.functions["redshift_batch_data_api"]
    first = function_package(sales, config)
    assert function_package(sales, config).key == first.key
    (sales.root / "functions" / "__pycache__").mkdir()
    (sales.root / "functions" / "__pycache__" / "x.pyc").write_bytes(b"cache")
    assert function_package(sales, config).key == first.key
    source = sales.root / "functions" / "redshift_batch_data_api.py"
    source.write_text(source.read_text() + "\n# changed\n")
    assert function_package(sales, config).key != first.key


def test_the_zip_holds_the_code_and_the_installed_requirements(
    sales: Project, tmp_path: Path
) -> None:
    package = function_package(sales, sales.functions["redshift_batch_data_api"])
    installed: list[tuple[Path, Path]] = []

    def install(requirements: Path, target: Path) -> None:
        installed.append((requirements, target))
        (target / "sqlparse").mkdir()
        (target / "sqlparse" / "__init__.py").write_text("# sqlparse\n")
        (target / "sqlparse" / "__pycache__").mkdir()
        (target / "sqlparse" / "__pycache__" / "x.pyc").write_bytes(b"cache")

    first = build_zip(package, tmp_path / "first.zip", install)
    assert [requirements for requirements, _ in installed] == [package.requirements]
    with zipfile.ZipFile(first) as archive:
        assert archive.namelist() == ["redshift_batch_data_api.py", "sqlparse/__init__.py"]
        assert archive.read("redshift_batch_data_api.py") == package.files[0].read_bytes()
    second = build_zip(package, tmp_path / "second.zip", install)
    assert first.read_bytes() == second.read_bytes()  # the same files make the same zip


def test_a_module_handler_ships_its_top_package(tmp_path: Path) -> None:
    (tmp_path / "etl" / "jobs").mkdir(parents=True)
    (tmp_path / "etl" / "__init__.py").write_text("")
    (tmp_path / "etl" / "jobs" / "__init__.py").write_text("")
    (tmp_path / "etl" / "jobs" / "load.py").write_text("def handler(event, context):\n    pass\n")
    (tmp_path / "notes.txt").write_text("not shipped")
    (tmp_path / "redstep.toml").write_text('[functions.load]\nhandler = "etl.jobs.load.handler"\n')
    project = load_project(tmp_path)
    package = function_package(project, project.functions["load"])
    assert package.handler == "etl.jobs.load.handler"
    assert [path.relative_to(tmp_path).as_posix() for path in package.files] == [
        "etl/__init__.py", "etl/jobs/__init__.py", "etl/jobs/load.py",
    ]  # fmt: skip
    assert package.inline_source is None  # three files


def test_a_module_handlers_requirements_are_the_project_folders(tmp_path: Path) -> None:
    (tmp_path / "etl.py").write_text("def handler(event, context):\n    pass\n")
    (tmp_path / "requirements.txt").write_text("sqlparse\n")
    (tmp_path / "redstep.toml").write_text('[functions.load]\nhandler = "etl.handler"\n')
    project = load_project(tmp_path)
    package = function_package(project, project.functions["load"])
    assert package.requirements == tmp_path / "requirements.txt"
    assert package.files == (tmp_path / "etl.py",)


def test_a_file_handler_in_the_project_folder_is_refused(tmp_path: Path) -> None:
    (tmp_path / "app.py").write_text("def handler(event, context):\n    pass\n")
    (tmp_path / "redstep.toml").write_text('[functions.app]\nhandler = "app.py:handler"\n')
    project = load_project(tmp_path)
    with pytest.raises(ExportError, match="its handler file is in the project folder itself"):
        function_package(project, project.functions["app"])
