"""The machine a benchmark ran on, as every script in bench/ reports it."""

from __future__ import annotations

import os
import platform
from collections.abc import Mapping
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path
from typing import Any


def describe_machine(*libraries: str) -> dict[str, Any]:
    """CPU model and count, memory, platform, Python, and the versions of `libraries`."""
    return {
        "cpu": _cpuinfo("model name") or platform.processor() or "?",
        "cpus": os.cpu_count(),
        "memory_gb": round(_memory_kb() / 2**20, 1),
        "platform": platform.platform(),
        "python": platform.python_version(),
        "libraries": {name: _version(name) for name in ("redstep", *libraries)},
    }


def machine_line(machine: Mapping[str, Any]) -> str:
    """One line for a printed report."""
    libraries = ", ".join(f"{name} {v}" for name, v in machine["libraries"].items())
    return (
        f"machine: {machine['cpu']}, {machine['cpus']} CPUs, {machine['memory_gb']} GB, "
        f"{machine['platform']}, Python {machine['python']}, {libraries}"
    )


def _cpuinfo(field: str) -> str | None:
    return _proc_field(Path("/proc/cpuinfo"), field)


def _memory_kb() -> int:
    total = _proc_field(Path("/proc/meminfo"), "MemTotal")
    return int(total.split()[0]) if total else 0


def _proc_field(path: Path, field: str) -> str | None:
    try:
        lines = path.read_text(encoding="utf-8").splitlines()
    except OSError:
        return None
    for line in lines:
        name, _, value = line.partition(":")
        if name.strip() == field:
            return value.strip()
    return None


def _version(name: str) -> str:
    try:
        return version(name)
    except PackageNotFoundError:
        return "absent"
