"""A redstep project: a folder with `redstep.toml`, its state kept in `.redstep/` beside it.

The file this module reads:

    [warehouse]                       # the default warehouse (this table may be absent)
    url = "duckdb:///.redstep/warehouse.duckdb"

    [warehouses.analytics-cluster]    # ClusterIdentifier / WorkgroupName -> a named warehouse
    url = "postgresql://postgres@127.0.0.1:5432/analytics"

    [buckets.sales-data]              # s3://sales-data/... -> a local folder
    path = "data/sales"

Every problem is reported with the file and the key it concerns.
"""

from __future__ import annotations

import fcntl
import os
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from types import MappingProxyType
from typing import Any

from redstep.warehouse.registry import WarehouseOptions, WarehouseUrlError, check_url

CONFIG_FILE = "redstep.toml"
STATE_DIR = ".redstep"
OWNER_FILE = "owner.lock"
DEFAULT_WAREHOUSE_URL = f"duckdb:///{STATE_DIR}/warehouse.duckdb"
DEFAULT_WAREHOUSE = "default"
"""The name under which the `[warehouse]` table's warehouse is known."""


class ProjectError(ValueError):
    """`redstep.toml` is unreadable or says something redstep does not accept."""


class ProjectInUse(RuntimeError):
    """Another redstep process owns the project's state."""


@dataclass(frozen=True, slots=True)
class Project:
    """A loaded project: where it lives and what its `redstep.toml` says."""

    root: Path
    warehouses: Mapping[str, str] = field(
        default_factory=lambda: MappingProxyType({DEFAULT_WAREHOUSE: DEFAULT_WAREHOUSE_URL})
    )
    """Warehouse name -> URL; `default` is always present."""
    buckets: Mapping[str, Path] = field(default_factory=lambda: MappingProxyType({}))
    """Bucket name -> absolute local folder."""

    @property
    def state_dir(self) -> Path:
        """Where the project's state lives: the store, the DuckDB file, statement results."""
        return self.root / STATE_DIR

    def warehouse_name(self, identifier: str | None) -> str:
        """The warehouse a ClusterIdentifier or WorkgroupName routes to (the default otherwise)."""
        if identifier and identifier in self.warehouses:
            return identifier
        return DEFAULT_WAREHOUSE

    def warehouse_options(self) -> WarehouseOptions:
        """What every backend of this project needs beyond its URL."""
        return WarehouseOptions(root=self.root, buckets=self.buckets)

    def own_state(self) -> StateOwnership:
        """Take the project's state for this process, or raise ProjectInUse naming the owner.

        One process owns `.redstep/` at a time (a DuckDB file takes one writer, and a starting
        process marks the statements it finds running as interrupted). The claim is an advisory
        lock held until `StateOwnership.release` or the process's end, so a killed owner never
        leaves a stale claim behind.
        """
        self.state_dir.mkdir(parents=True, exist_ok=True)
        path = self.state_dir / OWNER_FILE
        descriptor = os.open(path, os.O_RDWR | os.O_CREAT, 0o644)
        try:
            fcntl.flock(descriptor, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            owner = os.pread(descriptor, 64, 0).decode("ascii", "replace").strip() or "unknown"
            os.close(descriptor)
            raise ProjectInUse(
                f"the project at {self.root} is in use by another redstep process (PID {owner})"
            ) from None
        os.ftruncate(descriptor, 0)
        os.pwrite(descriptor, f"{os.getpid()}\n".encode("ascii"), 0)
        return StateOwnership(descriptor)


class StateOwnership:
    """This process's claim on a project's state; see `Project.own_state`."""

    def __init__(self, descriptor: int) -> None:
        self._descriptor: int | None = descriptor

    def release(self) -> None:
        """Give the state up (closing the lock file releases the lock)."""
        if self._descriptor is not None:
            os.close(self._descriptor)
            self._descriptor = None


def load_project(root: Path | str = ".") -> Project:
    """Read `redstep.toml` in `root`; a folder without one is a project with every default."""
    folder = Path(root).resolve()
    if not folder.is_dir():
        raise ProjectError(f"{folder}: no such project folder")
    path = folder / CONFIG_FILE
    if not path.is_file():
        return Project(root=folder)
    try:
        document = tomllib.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError) as error:
        raise ProjectError(f"{path}: {error}") from error
    return _parse(document, folder, path)


def _parse(document: Mapping[str, Any], folder: Path, path: Path) -> Project:
    _reject_unknown(document, {"warehouse", "warehouses", "buckets"}, path, prefix="")
    warehouses = {DEFAULT_WAREHOUSE: DEFAULT_WAREHOUSE_URL}
    if "warehouse" in document:
        warehouses[DEFAULT_WAREHOUSE] = _warehouse_url(document["warehouse"], path, "warehouse")
    for name, table in _tables(document.get("warehouses", {}), path, "warehouses").items():
        warehouses[name] = _warehouse_url(table, path, f"warehouses.{name}")
    buckets: dict[str, Path] = {}
    for name, table in _tables(document.get("buckets", {}), path, "buckets").items():
        key = f"buckets.{name}"
        _reject_unknown(table, {"path"}, path, prefix=key)
        bucket_path = table.get("path")
        if not isinstance(bucket_path, str) or not bucket_path:
            raise ProjectError(f"{path}: {key}.path must be a folder path (a string)")
        buckets[name] = (folder / bucket_path).resolve()
    return Project(
        root=folder,
        warehouses=MappingProxyType(warehouses),
        buckets=MappingProxyType(buckets),
    )


def _warehouse_url(table: object, path: Path, key: str) -> str:
    if not isinstance(table, dict):
        raise ProjectError(f"{path}: {key} must be a table with a `url`")
    _reject_unknown(table, {"url"}, path, prefix=key)
    url = table.get("url")
    if not isinstance(url, str):
        raise ProjectError(f"{path}: {key}.url must be a string")
    try:
        check_url(url)
    except WarehouseUrlError as error:
        raise ProjectError(f"{path}: {key}.url: {error}") from error
    return url


def _tables(value: object, path: Path, key: str) -> dict[str, dict[str, Any]]:
    if not isinstance(value, dict) or not all(isinstance(v, dict) for v in value.values()):
        raise ProjectError(f"{path}: {key} must hold tables, as [{key}.<name>]")
    return value


def _reject_unknown(table: Mapping[str, Any], known: set[str], path: Path, *, prefix: str) -> None:
    for key in table:
        if key not in known:
            name = f"{prefix}.{key}" if prefix else key
            expected = ", ".join(sorted(known))
            raise ProjectError(f"{path}: unknown key {name!r} (expected one of: {expected})")
