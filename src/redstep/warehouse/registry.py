"""Which backend serves a warehouse URL: one line per backend, imported only when used.

URLs follow SQLAlchemy's convention: `duckdb:///relative/path.duckdb` (relative to the project
folder), `duckdb:////absolute/path.duckdb`, `duckdb:///:memory:`, and
`postgresql://user@host:port/database` (`postgres://` is accepted as an alias). A real Redshift,
reached through the Data API, is `redshift-data://<cluster-id>/<database>?db_user=<user>` or
`redshift-data://workgroup:<name>/<database>` (see `redstep.warehouse.redshift`).
"""

from __future__ import annotations

import difflib
import importlib
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import cast
from urllib.parse import urlsplit

from redstep.warehouse.base import Warehouse

# scheme -> "module:factory"; the factory is called as factory(url, options).
BACKENDS: dict[str, str] = {
    "duckdb": "redstep.warehouse.duckdb:open_duckdb",
    "postgresql": "redstep.warehouse.postgres:open_postgres",
    "postgres": "redstep.warehouse.postgres:open_postgres",
    "redshift-data": "redstep.warehouse.redshift:open_redshift",
}


class WarehouseUrlError(ValueError):
    """A warehouse URL names no backend or is malformed for its backend."""


@dataclass(frozen=True, slots=True)
class WarehouseOptions:
    """What a backend needs beyond its URL."""

    root: Path = field(default_factory=Path.cwd)
    """The project folder: relative file paths in URLs resolve against it."""
    buckets: Mapping[str, Path] = field(default_factory=dict)
    """S3 bucket name -> local folder, for COPY and UNLOAD."""


def check_url(url: str) -> str:
    """Return the backend's scheme for `url`, or raise WarehouseUrlError saying what is wrong."""
    parts = urlsplit(url)
    scheme = parts.scheme.lower()
    if not scheme or "://" not in url:
        raise WarehouseUrlError(
            f"{url!r} is not a warehouse URL; expected duckdb:///path.duckdb, "
            "duckdb:///:memory:, postgresql://user@host:port/database or "
            "redshift-data://cluster-id/database?db_user=user"
        )
    if scheme not in BACKENDS:
        close = difflib.get_close_matches(scheme, BACKENDS, n=1)
        hint = f"; did you mean {close[0]!r}?" if close else ""
        known = ", ".join(sorted(BACKENDS))
        raise WarehouseUrlError(f"unknown warehouse scheme {scheme!r} (known: {known}){hint}")
    if scheme == "duckdb" and not parts.path.lstrip("/"):
        raise WarehouseUrlError(f"{url!r} names no database file; use duckdb:///:memory: for none")
    if scheme in ("postgresql", "postgres") and not parts.hostname and not parts.path.strip("/"):
        raise WarehouseUrlError(f"{url!r} names neither a host nor a database")
    if scheme == "redshift-data":
        # Imported here: the URL module imports this one, for WarehouseUrlError.
        from redstep.warehouse.redshift_url import parse_redshift_url

        parse_redshift_url(url)
    return scheme


def open_warehouse(url: str, options: WarehouseOptions | None = None) -> Warehouse:
    """Open the warehouse that `url` names, importing its backend on first use."""
    scheme = check_url(url)
    module_name, _, factory_name = BACKENDS[scheme].partition(":")
    module = importlib.import_module(module_name)
    factory = cast(Callable[[str, WarehouseOptions], Warehouse], getattr(module, factory_name))
    return factory(url, options or WarehouseOptions())
