"""The graph the console draws of a definition: its nodes, edges, and groups (and so what each
Parallel and Map holds)."""

from __future__ import annotations

import json
import re
from typing import Any

from graph_members import members

from redstep.asl.parse import parse_definition
from redstep.web.graph import EdgeKind, GroupKind, NodeKind, StateGraph, state_graph

TASK = "arn:aws:lambda:us-east-1:123456789012:function:work"

NEXT, CHOICE, DEFAULT, CATCH = EdgeKind.NEXT, EdgeKind.CHOICE, EdgeKind.DEFAULT, EdgeKind.CATCH


def graph_of(definition: dict[str, Any]) -> StateGraph:
    return state_graph(parse_definition(json.dumps(definition)))


def labels(graph: StateGraph) -> dict[str, str]:
    """Node key -> a readable name: the state's name, Start, End, or `join:<group label>`."""
    groups = {group.key: group.label for group in graph.groups}
    named = {}
    for node in graph.nodes:
        if node.kind is NodeKind.JOIN:
            assert node.group is not None
            named[node.key] = f"join:{groups[node.group]}"
        else:
            named[node.key] = node.label
    return named


def edges(graph: StateGraph) -> list[tuple[str, str, EdgeKind]]:
    named = labels(graph)
    return [(named[edge.source], named[edge.target], edge.kind) for edge in graph.edges]


def group_of(graph: StateGraph, label: str) -> str | None:
    """The label of the innermost group holding the state `label` (None: the top level)."""
    groups = {group.key: group.label for group in graph.groups}
    (node,) = [node for node in graph.nodes if node.kind is NodeKind.STATE and node.label == label]
    return None if node.group is None else groups[node.group]


def test_a_flat_machine_has_start_end_and_an_edge_per_transition() -> None:
    graph = graph_of(
        {
            "StartAt": "Prepare",
            "States": {
                "Prepare": {"Type": "Pass", "Next": "Work"},
                "Work": {
                    "Type": "Task",
                    "Resource": TASK,
                    "Catch": [
                        {"ErrorEquals": ["Custom"], "Next": "Broken"},
                        {"ErrorEquals": ["States.ALL"], "Next": "Rest"},
                    ],
                    "Next": "Route",
                },
                "Route": {
                    "Type": "Choice",
                    "Choices": [
                        {"Variable": "$.x", "NumericEquals": 1, "Next": "Done"},
                        {"Variable": "$.x", "NumericEquals": 2, "Next": "Done"},
                        {"Variable": "$.x", "NumericEquals": 3, "Next": "Rest"},
                    ],
                    "Default": "Broken",
                },
                "Rest": {"Type": "Wait", "Seconds": 1, "End": True},
                "Done": {"Type": "Succeed"},
                "Broken": {"Type": "Fail", "Error": "Broken"},
            },
        }
    )
    assert [(node.kind, node.label, node.state_type) for node in graph.nodes] == [
        (NodeKind.START, "Start", ""),
        (NodeKind.END, "End", ""),
        (NodeKind.STATE, "Prepare", "Pass"),
        (NodeKind.STATE, "Work", "Task"),
        (NodeKind.STATE, "Route", "Choice"),
        (NodeKind.STATE, "Rest", "Wait"),
        (NodeKind.STATE, "Done", "Succeed"),
        (NodeKind.STATE, "Broken", "Fail"),
    ]
    assert all(node.group is None for node in graph.nodes)
    assert edges(graph) == [
        ("Start", "Prepare", NEXT),
        ("Prepare", "Work", NEXT),
        ("Work", "Route", NEXT),
        ("Work", "Broken", CATCH),
        ("Work", "Rest", CATCH),
        ("Route", "Done", CHOICE),  # two rules lead to Done: one edge
        ("Route", "Rest", CHOICE),
        ("Route", "Broken", DEFAULT),
        ("Rest", "End", NEXT),
        ("Done", "End", NEXT),
        ("Broken", "End", NEXT),
    ]
    assert graph.groups == ()
    assert members(graph) == {}


def test_a_choice_rule_and_the_default_to_one_state_are_two_edges() -> None:
    graph = graph_of(
        {
            "StartAt": "Route",
            "States": {
                "Route": {
                    "Type": "Choice",
                    "Choices": [{"Variable": "$.x", "IsPresent": True, "Next": "Done"}],
                    "Default": "Done",
                },
                "Done": {"Type": "Succeed"},
            },
        }
    )
    assert edges(graph) == [
        ("Start", "Route", NEXT),
        ("Route", "Done", CHOICE),
        ("Route", "Done", DEFAULT),
        ("Done", "End", NEXT),
    ]


def test_a_parallel_is_a_group_with_a_branch_group_per_branch_and_a_join() -> None:
    graph = graph_of(
        {
            "StartAt": "Both",
            "States": {
                "Both": {
                    "Type": "Parallel",
                    "Branches": [
                        {
                            "StartAt": "Left",
                            "States": {
                                "Left": {"Type": "Pass", "Next": "LeftDone"},
                                "LeftDone": {"Type": "Succeed"},
                            },
                        },
                        {"StartAt": "Right", "States": {"Right": {"Type": "Fail", "Error": "E"}}},
                    ],
                    "Catch": [{"ErrorEquals": ["States.ALL"], "Next": "Handle"}],
                    "Next": "After",
                },
                "Handle": {"Type": "Pass", "End": True},
                "After": {"Type": "Pass", "End": True},
            },
        }
    )
    assert [(group.kind, group.label) for group in graph.groups] == [
        (GroupKind.PARALLEL, "Both"),
        (GroupKind.BRANCH, "Branch 1"),
        (GroupKind.BRANCH, "Branch 2"),
    ]
    parallel, first, second = graph.groups
    assert (parallel.parent, first.parent, second.parent) == (None, parallel.key, parallel.key)
    assert group_of(graph, "Both") == "Both"
    assert (group_of(graph, "Left"), group_of(graph, "LeftDone")) == ("Branch 1", "Branch 1")
    assert group_of(graph, "Right") == "Branch 2"
    assert (group_of(graph, "Handle"), group_of(graph, "After")) == (None, None)
    joins = [node for node in graph.nodes if node.kind is NodeKind.JOIN]
    assert [(join.group, join.label, join.state_type) for join in joins] == [(parallel.key, "", "")]
    assert edges(graph) == [
        ("Start", "Both", NEXT),
        ("Both", "Left", NEXT),
        ("Left", "LeftDone", NEXT),
        ("LeftDone", "join:Both", NEXT),  # a Succeed inside a branch ends at the join
        ("Both", "Right", NEXT),
        ("Right", "join:Both", NEXT),  # so does a Fail
        ("join:Both", "After", NEXT),  # Next and Catch leave from the join
        ("join:Both", "Handle", CATCH),
        ("Handle", "End", NEXT),
        ("After", "End", NEXT),
    ]
    assert members(graph) == {"Both": frozenset({"Left", "LeftDone", "Right"})}


def test_a_map_with_an_item_processor_holding_a_parallel() -> None:
    graph = graph_of(
        {
            "StartAt": "Each",
            "States": {
                "Each": {
                    "Type": "Map",
                    "ItemProcessor": {
                        "ProcessorConfig": {"Mode": "INLINE"},
                        "StartAt": "Inner",
                        "States": {
                            "Inner": {"Type": "Pass", "Next": "Fork"},
                            "Fork": {
                                "Type": "Parallel",
                                "Branches": [
                                    {
                                        "StartAt": "X",
                                        "States": {"X": {"Type": "Pass", "End": True}},
                                    },
                                    {"StartAt": "Y", "States": {"Y": {"Type": "Succeed"}}},
                                ],
                                "End": True,
                            },
                        },
                    },
                    "Next": "Last",
                },
                "Last": {"Type": "Succeed"},
            },
        }
    )
    assert [(group.kind, group.label) for group in graph.groups] == [
        (GroupKind.MAP, "Each"),
        (GroupKind.PARALLEL, "Fork"),
        (GroupKind.BRANCH, "Branch 1"),
        (GroupKind.BRANCH, "Branch 2"),
    ]
    each, fork, first, second = graph.groups
    assert (each.parent, fork.parent, first.parent, second.parent) == (
        None,
        each.key,
        fork.key,
        fork.key,
    )
    assert (group_of(graph, "Each"), group_of(graph, "Inner")) == ("Each", "Each")
    assert (group_of(graph, "Fork"), group_of(graph, "X")) == ("Fork", "Branch 1")
    assert group_of(graph, "Last") is None
    assert edges(graph) == [
        ("Start", "Each", NEXT),
        ("Each", "Inner", NEXT),
        ("Inner", "Fork", NEXT),
        ("Fork", "X", NEXT),
        ("X", "join:Fork", NEXT),
        ("Fork", "Y", NEXT),
        ("Y", "join:Fork", NEXT),
        ("join:Fork", "join:Each", NEXT),  # the processor's last state ends at the Map's join
        ("join:Each", "Last", NEXT),
        ("Last", "End", NEXT),
    ]
    assert members(graph) == {
        "Each": frozenset({"Inner", "Fork", "X", "Y"}),
        "Fork": frozenset({"X", "Y"}),
    }


def test_a_map_with_the_old_iterator_is_a_group_with_a_join() -> None:
    graph = graph_of(
        {
            "StartAt": "Each",
            "States": {
                "Each": {
                    "Type": "Map",
                    "Iterator": {
                        "StartAt": "Item",
                        "States": {"Item": {"Type": "Pass", "End": True}},
                    },
                    "Catch": [{"ErrorEquals": ["States.ALL"], "Next": "Failed"}],
                    "End": True,
                },
                "Failed": {"Type": "Fail"},
            },
        }
    )
    assert [(group.kind, group.label, group.parent) for group in graph.groups] == [
        (GroupKind.MAP, "Each", None)
    ]
    assert edges(graph) == [
        ("Start", "Each", NEXT),
        ("Each", "Item", NEXT),
        ("Item", "join:Each", NEXT),
        ("join:Each", "End", NEXT),
        ("join:Each", "Failed", CATCH),
        ("Failed", "End", NEXT),
    ]
    assert members(graph) == {"Each": frozenset({"Item"})}


def test_members_reach_every_depth_and_nest_per_group() -> None:
    branch = {
        "StartAt": "Deep",
        "States": {
            "Deep": {
                "Type": "Map",
                "ItemProcessor": {
                    "StartAt": "Deepest",
                    "States": {"Deepest": {"Type": "Pass", "End": True}},
                },
                "End": True,
            }
        },
    }
    graph = graph_of(
        {
            "StartAt": "Outer",
            "States": {
                "Outer": {
                    "Type": "Parallel",
                    "Branches": [
                        {
                            "StartAt": "Middle",
                            "States": {
                                "Middle": {"Type": "Parallel", "Branches": [branch], "End": True}
                            },
                        },
                        {"StartAt": "Side", "States": {"Side": {"Type": "Pass", "End": True}}},
                    ],
                    "End": True,
                }
            },
        }
    )
    assert members(graph) == {
        "Outer": frozenset({"Middle", "Deep", "Deepest", "Side"}),
        "Middle": frozenset({"Deep", "Deepest"}),
        "Deep": frozenset({"Deepest"}),
    }


def test_node_keys_are_never_names() -> None:
    odd = ["n0", "n1", "g0", 'a "quoted" <b>name</b>', "\\N", "Start", "End", " "]
    states: dict[str, Any] = {}
    for index, name in enumerate(odd):
        following = odd[index + 1] if index + 1 < len(odd) else None
        states[name] = {
            "Type": "Pass",
            **({"Next": following} if following is not None else {"End": True}),
        }
    graph = graph_of({"StartAt": odd[0], "States": states})
    keys = [node.key for node in graph.nodes]
    assert keys == [f"n{index}" for index in range(len(odd) + 2)]
    assert all(re.fullmatch(r"n\d+", edge.source) for edge in graph.edges)
    assert all(re.fullmatch(r"n\d+", edge.target) for edge in graph.edges)
    states_by_label = {node.label: node.key for node in graph.nodes if node.kind is NodeKind.STATE}
    assert list(states_by_label) == odd
    assert states_by_label["n0"] == "n2"
    assert states_by_label["n1"] == "n3"
