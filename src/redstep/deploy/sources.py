"""What a function's Python source calls on AWS, read without running it.

The files read are the handler's module and the project modules it imports (`import x`,
`from x import y`, `from . import y`), followed transitively: a sibling file the handler never
imports is another function's, not this one's. In them, a client is a name bound to
`boto3.client("service")` (or to `….client(…)` of a session), or an alias of one; each
`name.method(...)` is a call of that service (`get_paginator("op")` and `get_waiter("w")` count
as what they name). A client or resource that is not kept in a name of its own, or a client name
used any other way (passed to a function, stored in a list), cannot be followed: that is an
ExportError saying where, as a call the code makes but the role would not allow fails only on
AWS.
"""

from __future__ import annotations

import ast
from collections.abc import Iterator
from pathlib import Path

from redstep.deploy.errors import ExportError

NO_CALL = frozenset({"can_paginate", "close", "exceptions", "meta"})
"""A client's own members that call no operation."""
BY_NAME = frozenset({"get_paginator", "get_waiter"})
"""A client's methods that call what their first argument names."""


def imported_files(handler: Path, root: Path) -> list[Path]:
    """The handler's file and every project module it imports, transitively (under `root`)."""
    seen: dict[Path, None] = {}
    pending = [handler]
    while pending:
        path = pending.pop()
        if path in seen:
            continue
        seen[path] = None
        tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
        for node in ast.walk(tree):
            pending += _local_modules(node, path, root)
    return sorted(seen)


def _local_modules(node: ast.AST, path: Path, root: Path) -> list[Path]:
    if isinstance(node, ast.Import):
        names = [alias.name for alias in node.names]
        base = root
    elif isinstance(node, ast.ImportFrom):
        base = root if node.level == 0 else path.parents[node.level - 1]
        module = node.module or ""
        names = [f"{module}.{alias.name}".strip(".") for alias in node.names] + [module]
    else:
        return []
    found = []
    for name in filter(None, names):
        parts = name.split(".")
        for depth in range(1, len(parts) + 1):
            stem = base.joinpath(*parts[:depth])
            for candidate in (stem.with_suffix(".py"), stem / "__init__.py"):
                if candidate.is_file() and candidate.resolve().is_relative_to(root.resolve()):
                    found.append(candidate)
    return found


def client_calls(files: list[Path], root: Path, shown_from: Path) -> Iterator[tuple[str, str, str]]:
    """(where, service, method) for each call on a client in `files`, modules of the package
    at `root` (see the module); a client imported by name from another of the files (`from
    clients import s3`) is one here too. `where` names the file relative to `shown_from`."""
    trees = {
        path: ast.parse(path.read_text(encoding="utf-8"), filename=str(path)) for path in files
    }
    own = {path: _clients(tree, path, shown_from) for path, tree in trees.items()}
    by_module = {_module_name(path, root): clients for path, clients in own.items()}
    for path, tree in trees.items():
        parents = {child: node for node in ast.walk(tree) for child in ast.iter_child_nodes(node)}
        clients = dict(own[path])
        for node in ast.walk(tree):
            if isinstance(node, ast.ImportFrom) and node.level == 0 and node.module in by_module:
                for alias in node.names:
                    if alias.name in by_module[node.module]:
                        clients[alias.asname or alias.name] = by_module[node.module][alias.name]
        for node in ast.walk(tree):
            if not (isinstance(node, ast.Name) and node.id in clients):
                continue
            where = f"{path.relative_to(shown_from)} line {node.lineno}"
            parent = parents.get(node)
            if isinstance(node.ctx, ast.Store) or _is_alias(parent, clients):
                continue
            if not isinstance(parent, ast.Attribute):
                raise ExportError(
                    f"{where}: the {clients[node.id]} client {node.id!r} is used other than by "
                    "calling its methods: redstep cannot tell what it calls"
                )
            method = parent.attr
            call = parents.get(parent)
            if method in NO_CALL or not isinstance(call, ast.Call):
                continue
            if method in BY_NAME and call.args and isinstance(call.args[0], ast.Constant):
                method = str(call.args[0].value)
            yield where, clients[node.id], method


def _module_name(path: Path, root: Path) -> str:
    """The dotted name a file under `root` is imported by."""
    parts = path.relative_to(root).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _clients(tree: ast.AST, path: Path, root: Path) -> dict[str, str]:
    """Name -> service of every client bound in the module; an ExportError for a client or
    resource made where it cannot be followed."""
    clients: dict[str, str] = {}
    kept: set[int] = set()
    for node in ast.walk(tree):
        value, targets = _assignment(node)
        service = _client_service(value) if value is not None else None
        names = [target.id for target in targets if isinstance(target, ast.Name)]
        if service is not None and names and len(names) == len(targets):
            kept.add(id(value))
            clients.update(dict.fromkeys(names, service))
    for node in ast.walk(tree):  # aliases, in source order after their clients
        value, targets = _assignment(node)
        if isinstance(value, ast.Name) and value.id in clients:
            for target in targets:
                if isinstance(target, ast.Name):
                    clients[target.id] = clients[value.id]
    for node in ast.walk(tree):
        service = _client_service(node) if isinstance(node, ast.expr) else None
        if service is not None and isinstance(node, ast.expr) and id(node) not in kept:
            raise ExportError(
                f"{path.relative_to(root)} line {node.lineno}: a {service} client not kept in a "
                "name of its own (name = boto3.client(...)): redstep cannot tell what it calls"
            )
    return clients


def _assignment(node: ast.AST) -> tuple[ast.expr | None, list[ast.expr]]:
    """(value, targets) of `a = b = value` or `a: T = value`; (None, []) for anything else."""
    if isinstance(node, ast.Assign):
        return node.value, list(node.targets)
    if isinstance(node, ast.AnnAssign) and node.value is not None:
        return node.value, [node.target]
    return None, []


def _is_alias(parent: ast.AST | None, clients: dict[str, str]) -> bool:
    """Whether a client's name is read only to bind another name to it (`out = s3`)."""
    value, targets = _assignment(parent) if parent is not None else (None, [])
    return isinstance(value, ast.Name) and all(
        isinstance(target, ast.Name) and target.id in clients for target in targets
    )


def _client_service(node: ast.expr) -> str | None:
    """The service of `….client("service", …)` or `….resource("service", …)`, or None."""
    if (
        isinstance(node, ast.Call)
        and isinstance(node.func, ast.Attribute)
        and node.func.attr in ("client", "resource")
        and node.args
        and isinstance(node.args[0], ast.Constant)
        and isinstance(node.args[0].value, str)
    ):
        return node.args[0].value
    return None
