"""A function's deployment package, as Lambda takes it.

A file handler ships the folder it is in (every file there, hidden ones and `__pycache__` left
out; a handler in the project folder itself is refused, as it would ship the whole project), a
module handler its top-level package; a `requirements.txt` in the package's folder (the handler's
folder, or the project's for a module handler) is installed into the package for Lambda's
platform, as `sam build` does. The package's S3 key carries a
digest of what goes in it, so a changed function is a new object and a stack update, and an
unchanged one neither. A single small file with no requirements goes inline in the template
(`Code.ZipFile`, which Lambda saves as `index.py`).
"""

from __future__ import annotations

import hashlib
import subprocess
import sys
import zipfile
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from redstep.deploy.errors import ExportError
from redstep.project import FunctionConfig, Project

RUNTIME = "python3.12"
"""The Lambda runtime functions are exported with."""
ARCHITECTURE = "x86_64"
PIP_PLATFORMS = ("manylinux_2_28_x86_64", "manylinux2014_x86_64")
"""The wheels that run on Lambda's x86_64 Python 3.12 runtime (Amazon Linux 2023, glibc 2.34)."""
INLINE_LIMIT = 4096
"""Bytes: the largest source redstep puts inline in `Code.ZipFile`, keeping the template
readable and far below the 51,200 bytes CloudFormation takes in a call."""
REQUIREMENTS = "requirements.txt"
KEY_PREFIX = "redstep/functions"
_FIXED_TIME = (1980, 1, 1, 0, 0, 0)
"""Every entry's timestamp, so the same files make the same zip."""

Installer = Callable[[Path, Path], None]
"""`install(requirements_file, target_folder)`: put the requirements' packages in the folder."""


@dataclass(frozen=True, slots=True)
class FunctionPackage:
    """What one function's package holds, and where it goes."""

    name: str
    root: Path
    files: tuple[Path, ...]
    """Absolute paths of the project's files shipped, relative to `root` in the zip."""
    requirements: Path | None
    handler: str
    """Lambda's `module.function` for the handler in the package."""
    digest: str

    @property
    def key(self) -> str:
        """The S3 key of the package's zip."""
        return f"{KEY_PREFIX}/{self.name}/{self.digest[:24]}.zip"

    @property
    def inline_source(self) -> str | None:
        """The handler's source when the package is one small file with no requirements."""
        if self.requirements is not None or len(self.files) != 1:
            return None
        source = self.files[0].read_bytes()
        if self.files[0].suffix != ".py" or len(source) > INLINE_LIMIT:
            return None
        return source.decode("utf-8")

    @property
    def inline_handler(self) -> str:
        """The handler when inline: Lambda names the inline file `index.py`."""
        return f"index.{self.handler.rsplit('.', 1)[1]}"


def function_package(project: Project, config: FunctionConfig) -> FunctionPackage:
    """The package of `config`'s function (see the module)."""
    root = package_root(project, config)
    files = [path for path in package_files(project, config) if path.name != REQUIREMENTS]
    requirements = root / REQUIREMENTS if (root / REQUIREMENTS).is_file() else None
    if config.is_file_handler:
        module = ".".join(config.source.relative_to(root).with_suffix("").parts)
    else:
        module = config.handler_module
    digest = hashlib.sha256(RUNTIME.encode())
    for path in [*files, *([requirements] if requirements else [])]:
        digest.update(str(path.relative_to(root)).encode() + b"\0")
        digest.update(hashlib.sha256(path.read_bytes()).digest())
    return FunctionPackage(
        name=config.name,
        root=root,
        files=tuple(files),
        requirements=requirements,
        handler=f"{module}.{config.handler_function}",
        digest=digest.hexdigest(),
    )


def package_root(project: Project, config: FunctionConfig) -> Path:
    """The folder a function's package is made of: a file handler's folder, or the project
    folder for a module handler (whose top package is what it ships)."""
    if not config.is_file_handler:
        return project.root
    if config.source.parent == project.root:
        raise ExportError(
            f"function {config.name!r}: its handler file is in the project folder itself, and "
            "its package (the handler's folder) would be the whole project: move it to a "
            "folder of its own"
        )
    return config.source.parent


def package_files(project: Project, config: FunctionConfig) -> list[Path]:
    """The files of a function's package, sorted: every file beside a file handler, or a
    module handler's top-level package (or module)."""
    root = package_root(project, config)
    if config.is_file_handler:
        top = root
    else:
        first = config.handler_module.split(".", 1)[0]
        top = root / first if (root / first).is_dir() else root / f"{first}.py"
    files = [top] if top.is_file() else sorted(top.rglob("*"))
    return [
        path
        for path in files
        if path.is_file()
        and "__pycache__" not in path.relative_to(root).parts
        and not any(part.startswith(".") for part in path.relative_to(root).parts)
    ]


def pip_install(requirements: Path, target: Path) -> None:
    """Install `requirements` into `target` as wheels for Lambda's platform and Python."""
    version = RUNTIME.removeprefix("python")
    command = [
        sys.executable, "-m", "pip", "install", "--quiet", "--disable-pip-version-check",
        "--requirement", str(requirements), "--target", str(target),
        *(option for platform in PIP_PLATFORMS for option in ("--platform", platform)),
        "--implementation", "cp", "--python-version", version, "--only-binary=:all:",
    ]  # fmt: skip
    finished = subprocess.run(command, capture_output=True, text=True, check=False)
    if finished.returncode != 0:
        raise RuntimeError(f"installing {requirements} failed:\n{finished.stderr.strip()}")


def build_zip(package: FunctionPackage, destination: Path, install: Installer) -> Path:
    """Write the package's zip to `destination` (a file path) and return it."""
    entries: dict[str, Path] = {str(path.relative_to(package.root)): path for path in package.files}
    staging = destination.with_suffix(".deps")
    if package.requirements is not None:
        staging.mkdir(parents=True, exist_ok=True)
        install(package.requirements, staging)
        for path in sorted(staging.rglob("*")):
            relative = path.relative_to(staging)
            if path.is_file() and "__pycache__" not in relative.parts:
                entries.setdefault(str(relative), path)
    with zipfile.ZipFile(destination, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        for name in sorted(entries):
            info = zipfile.ZipInfo(name, date_time=_FIXED_TIME)
            info.external_attr = 0o644 << 16
            info.compress_type = zipfile.ZIP_DEFLATED
            archive.writestr(info, entries[name].read_bytes())
    return destination
