"""`redstep init`: a new project, empty or from the example."""

from __future__ import annotations

from pathlib import Path

from click.testing import CliRunner

from redstep.cli import main
from redstep.cli.init import example_source
from redstep.project import DEFAULT_WAREHOUSE_URL, load_project

EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "sales_data_pipeline"


def files(root: Path) -> dict[str, bytes]:
    return {
        str(path.relative_to(root)): path.read_bytes()
        for path in sorted(root.rglob("*"))
        if path.is_file() and ".redstep" not in path.parts and "__pycache__" not in path.parts
    }


def test_an_empty_project_has_every_default(tmp_path: Path) -> None:
    result = CliRunner().invoke(main, ["init", str(tmp_path / "new")])
    assert result.exit_code == 0, result.output
    project = load_project(tmp_path / "new")
    assert project.warehouses == {"default": DEFAULT_WAREHOUSE_URL}
    assert not project.state_machines


def test_the_sales_example_is_copied_whole(tmp_path: Path) -> None:
    result = CliRunner().invoke(main, ["init", str(tmp_path / "sales"), "--example", "sales"])
    assert result.exit_code == 0, result.output
    assert "redstep run sales_data_pipeline" in result.output
    assert files(tmp_path / "sales") == files(EXAMPLE)
    project = load_project(tmp_path / "sales")
    assert sorted(project.state_machines) == ["sales_data_pipeline", "sales_data_pipeline_lambda"]
    assert sorted(project.functions) == ["redshift_batch_data_api"]


def test_the_package_holds_the_examples_folder() -> None:
    source = Path(str(example_source("sales_data_pipeline")))
    assert source.resolve() == EXAMPLE  # through the link in src/redstep


def test_a_folder_with_files_is_left_alone(tmp_path: Path) -> None:
    (tmp_path / "notes.txt").write_text("mine")
    result = CliRunner().invoke(main, ["init", str(tmp_path), "--example", "sales"])
    assert result.exit_code == 1
    assert "is not empty" in result.output
    assert [path.name for path in tmp_path.iterdir()] == ["notes.txt"]


def test_the_warehouse_url_replaces_the_embedded_one(tmp_path: Path) -> None:
    url = "postgresql://postgres@127.0.0.1:5432/sales"
    for example in ([], ["--example", "sales"]):
        folder = tmp_path / f"project{len(example)}"
        result = CliRunner().invoke(main, ["init", str(folder), *example, "--warehouse-url", url])
        assert result.exit_code == 0, result.output
        assert load_project(folder).warehouses == {"default": url}
