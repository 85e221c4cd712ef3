"""Which states a drawn Parallel or Map holds, read off a `StateGraph`'s groups (for tests)."""

from __future__ import annotations

from redstep.web.graph import GroupKind, NodeKind, StateGraph


def members(graph: StateGraph) -> dict[str, frozenset[str]]:
    """Each Parallel's or Map's name -> the states drawn inside its group, at any depth."""
    parent = {group.key: group.parent for group in graph.groups}
    named = {group.key: group.label for group in graph.groups if group.kind is not GroupKind.BRANCH}
    found: dict[str, set[str]] = {name: set() for name in named.values()}
    for node in graph.nodes:
        key = node.group if node.kind is NodeKind.STATE else None
        while key is not None:
            if key in named and named[key] != node.label:  # a group's own state heads it
                found[named[key]].add(node.label)
            key = parent[key]
    return {name: frozenset(names) for name, names in found.items()}
