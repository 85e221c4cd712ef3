"""What the console draws of a state machine: its states, the transitions between them, and the
groups that Parallel branches and Map iterations form.

A Parallel or a Map state is a group holding the state itself (at its top), its branches or its
item processor, and a join point where they end; the state's Next and Catch leave from the join.
A Start node leads to the top level's StartAt, and every state that ends the top level leads to
an End node. Nodes are keyed `n0`, `n1`, …, never by name: a state's name is only ever a label,
whatever characters it holds. Pure: no layout, no I/O (`layout` places what this describes).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum
from typing import assert_never

from redstep.asl.model import (
    ChoiceState,
    FailState,
    MapState,
    ParallelState,
    PassState,
    State,
    StateMachine,
    SucceedState,
    TaskState,
    WaitState,
)


class NodeKind(StrEnum):
    START = "start"
    END = "end"
    STATE = "state"
    JOIN = "join"


class EdgeKind(StrEnum):
    NEXT = "next"
    CHOICE = "choice"
    DEFAULT = "default"
    CATCH = "catch"


class GroupKind(StrEnum):
    PARALLEL = "parallel"
    BRANCH = "branch"
    MAP = "map"


@dataclass(frozen=True, slots=True)
class Node:
    key: str
    kind: NodeKind
    label: str
    state_type: str = ""
    """The state's Type (`Task`, `Choice`, …); empty for Start, End and join points."""
    group: str | None = None
    """The key of the innermost group holding the node."""


@dataclass(frozen=True, slots=True)
class Edge:
    source: str
    target: str
    kind: EdgeKind


@dataclass(frozen=True, slots=True)
class Group:
    key: str
    kind: GroupKind
    label: str
    parent: str | None


@dataclass(frozen=True, slots=True)
class StateGraph:
    nodes: tuple[Node, ...]
    edges: tuple[Edge, ...]
    groups: tuple[Group, ...]


def state_graph(machine: StateMachine) -> StateGraph:
    """The graph of a parsed definition."""
    builder = _Builder()
    start = builder.node(NodeKind.START, "Start", group=None)
    end = builder.node(NodeKind.END, "End", group=None)
    builder.add_machine(machine, group=None, entry=start, exit=end)
    return StateGraph(
        nodes=tuple(builder.nodes),
        edges=tuple(dict.fromkeys(builder.edges)),  # two rules to one state: one edge
        groups=tuple(builder.groups),
    )


@dataclass
class _Builder:
    nodes: list[Node] = field(default_factory=list)
    edges: list[Edge] = field(default_factory=list)
    groups: list[Group] = field(default_factory=list)

    def node(self, kind: NodeKind, label: str, *, group: str | None, state_type: str = "") -> str:
        key = f"n{len(self.nodes)}"
        self.nodes.append(Node(key, kind, label, state_type, group))
        return key

    def group(self, kind: GroupKind, label: str, parent: str | None) -> str:
        key = f"g{len(self.groups)}"
        self.groups.append(Group(key, kind, label, parent))
        return key

    def add_machine(
        self, machine: StateMachine, *, group: str | None, entry: str, exit: str
    ) -> None:
        """Add a (sub) state machine's states, nested ones included."""
        keys: dict[str, str] = {}
        groups: dict[str, str] = {}
        for name, state in machine.states.items():
            if isinstance(state, ParallelState | MapState):
                kind = GroupKind.PARALLEL if isinstance(state, ParallelState) else GroupKind.MAP
                groups[name] = self.group(kind, name, group)
            keys[name] = self.node(
                NodeKind.STATE,
                name,
                group=groups.get(name, group),
                state_type=_state_type(state),
            )
        self.edges.append(Edge(entry, keys[machine.start_at], EdgeKind.NEXT))
        for name, state in machine.states.items():
            leaves = keys[name]
            if isinstance(state, ParallelState | MapState):
                leaves = self.node(NodeKind.JOIN, "", group=groups[name])
                self._add_inner(state, groups[name], keys[name], leaves)
            self._add_transitions(state, leaves, keys, exit)

    def _add_inner(
        self, state: ParallelState | MapState, group: str, entry: str, join: str
    ) -> None:
        if isinstance(state, MapState):
            self.add_machine(state.processor, group=group, entry=entry, exit=join)
            return
        for index, branch in enumerate(state.branches):
            branch_group = self.group(GroupKind.BRANCH, f"Branch {index + 1}", group)
            self.add_machine(branch, group=branch_group, entry=entry, exit=join)

    def _add_transitions(self, state: State, source: str, keys: dict[str, str], exit: str) -> None:
        match state:
            case PassState() | TaskState() | WaitState() | ParallelState() | MapState():
                target = keys[state.transition.next] if state.transition.next else exit
                self.edges.append(Edge(source, target, EdgeKind.NEXT))
                if not isinstance(state, PassState | WaitState):
                    for catcher in state.catch:
                        self.edges.append(Edge(source, keys[catcher.next], EdgeKind.CATCH))
            case ChoiceState():
                for rule in state.choices:
                    self.edges.append(Edge(source, keys[rule.next], EdgeKind.CHOICE))
                if state.default is not None:
                    self.edges.append(Edge(source, keys[state.default], EdgeKind.DEFAULT))
            case SucceedState() | FailState():
                self.edges.append(Edge(source, exit, EdgeKind.NEXT))
            case _:
                assert_never(state)


def _state_type(state: State) -> str:
    return type(state).__name__.removesuffix("State")
