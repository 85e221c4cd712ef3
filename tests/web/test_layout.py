"""Where the console draws a state graph: boxes inside the drawing and apart, groups around their
members, edges from border to border, loops drawn back up, and names never read by Graphviz."""

from __future__ import annotations

import io
import itertools
import json
import pickle
import re
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from graph_members import members as graph_members

from redstep.asl.parse import parse_definition
from redstep.web.graph import EdgeKind, NodeKind, StateGraph, state_graph
from redstep.web.layout import Box, Layout, back_edges, lay_out
from redstep.web.layout_worker import LayoutWorker, read_frame, serve, write_frame

SALES = (
    Path(__file__).resolve().parents[2]
    / "examples"
    / "sales_data_pipeline"
    / "workflows"
    / "sales_data_pipeline.asl.json"
)
STEPS = ["Setup", "LoadCustomerAddress", "LoadItem", "LoadStoreSales", "Validate"]
"""The sales pipeline's SQL steps: each submits, polls (DescribeX, IsXFinished) and may resubmit."""
NUMBER = r"-?\d+(?:\.\d+)?"
PATH = re.compile(rf"M {NUMBER} {NUMBER}(?: C(?: {NUMBER} {NUMBER}){{3}})+")
TOUCHING = 2.0
"""How far (px) an edge's ends may lie from the border of the box they leave or reach."""


def sales_definition() -> str:
    """The sales workflow, its `${...}` substitutions replaced by plain strings."""
    return re.sub(r'"\$\{(\w+)\}"', r'"\1"', SALES.read_text(encoding="utf-8"))


@pytest.fixture(scope="module")
def sales_graph() -> StateGraph:
    return state_graph(parse_definition(sales_definition()))


@pytest.fixture(scope="module")
def sales_layout(sales_graph: StateGraph) -> Layout:
    return lay_out(sales_graph)


def boxes(layout: Layout) -> dict[str, Box]:
    """State name -> its box."""
    return {
        placed.node.label: placed.box
        for placed in layout.nodes
        if placed.node.kind is NodeKind.STATE
    }


def is_inside(inner: Box, outer: Box) -> bool:
    return (
        outer.x <= inner.x
        and outer.y <= inner.y
        and inner.x + inner.width <= outer.x + outer.width
        and inner.y + inner.height <= outer.y + outer.height
    )


def overlap(one: Box, other: Box) -> bool:
    return (
        one.x < other.x + other.width
        and other.x < one.x + one.width
        and one.y < other.y + other.height
        and other.y < one.y + one.height
    )


def distance(box: Box, x: float, y: float) -> float:
    """How far a point lies outside a box (0 inside)."""
    dx = max(box.x - x, 0.0, x - (box.x + box.width))
    dy = max(box.y - y, 0.0, y - (box.y + box.height))
    return float((dx * dx + dy * dy) ** 0.5)


def test_every_box_lies_inside_the_drawing(sales_layout: Layout) -> None:
    drawing = Box(0, 0, sales_layout.width, sales_layout.height)
    assert len(sales_layout.nodes) == 51  # Start, End, 30 + 18 states, one join
    for placed in sales_layout.nodes:
        assert placed.box.width > 0, placed
        assert placed.box.height > 0, placed
        assert is_inside(placed.box, drawing), placed
    for group in sales_layout.groups:
        assert is_inside(group.box, drawing), group


def test_no_two_state_boxes_overlap(sales_layout: Layout) -> None:
    states = [placed for placed in sales_layout.nodes if placed.node.kind is not NodeKind.JOIN]
    for one, other in itertools.combinations(states, 2):
        assert not overlap(one.box, other.box), (one.node.label, other.node.label)


def test_every_group_box_holds_its_members_boxes(
    sales_graph: StateGraph, sales_layout: Layout
) -> None:
    group_boxes = {placed.group.key: placed.box for placed in sales_layout.groups}
    parents = {group.key: group.parent for group in sales_graph.groups}
    assert [placed.group.label for placed in sales_layout.groups] == [
        "LoadDimensions",
        "Branch 1",
        "Branch 2",
    ]
    inside = 0
    for placed in sales_layout.nodes:
        group = placed.node.group
        while group is not None:  # the node's group and every group around it
            assert is_inside(placed.box, group_boxes[group]), (placed.node, group)
            inside += 1
            group = parents[group]
    assert inside == 2 + 2 * 18  # LoadDimensions and its join; 9 states in each branch
    for group in sales_graph.groups:
        if group.parent is not None:
            assert is_inside(group_boxes[group.key], group_boxes[group.parent])
    members = boxes(sales_layout)
    inside = graph_members(sales_graph)["LoadDimensions"]
    for name in inside:
        assert is_inside(members[name], group_boxes["g0"]), name
    assert len(inside) == 18


def test_each_edge_is_a_bezier_path_from_border_to_border(sales_layout: Layout) -> None:
    node_boxes = {placed.node.key: placed.box for placed in sales_layout.nodes}
    assert len(sales_layout.edges) == len(set(sales_layout.edges)) > 0
    for placed in sales_layout.edges:
        assert placed.path.startswith("M "), placed.path
        assert " C " in placed.path, placed.path
        assert PATH.fullmatch(placed.path), placed.path
        start_x, start_y = (float(value) for value in placed.path.split()[1:3])
        assert distance(node_boxes[placed.edge.source], start_x, start_y) <= TOUCHING, placed
        corners = placed.arrow.split()
        assert len(corners) == 3, placed.arrow
        tip_x, tip_y = (float(value) for value in corners[0].split(","))
        assert distance(node_boxes[placed.edge.target], tip_x, tip_y) <= TOUCHING, placed


def test_polling_loops_and_resubmissions_are_the_back_edges(sales_graph: StateGraph) -> None:
    labels = {node.key: node.label for node in sales_graph.nodes}
    found = {
        (labels[edge.source], labels[edge.target], edge.kind) for edge in back_edges(sales_graph)
    }
    expected = set()
    for step in STEPS:
        expected |= {
            (f"Is{step}Finished", f"Describe{step}", EdgeKind.DEFAULT),
            (f"Resubmit{step}", step, EdgeKind.NEXT),
            (f"Resubmit{step}Again", step, EdgeKind.NEXT),
        }
    assert found == expected
    forward = {(labels[edge.source], labels[edge.target]) for edge in sales_graph.edges} - {
        (source, target) for source, target, _ in found
    }
    for step in STEPS:
        assert (step, f"Describe{step}") in forward
        assert (f"Describe{step}", f"Is{step}Finished") in forward


def test_a_polls_choice_is_drawn_below_its_task(sales_layout: Layout) -> None:
    placed = boxes(sales_layout)
    for step in STEPS:
        task, choice = placed[f"Describe{step}"], placed[f"Is{step}Finished"]
        assert choice.y > task.y + task.height, step
        assert placed[f"Describe{step}"].y > placed[step].y + placed[step].height, step


def test_a_back_edge_of_a_self_loop_and_a_retry_back_to_the_start() -> None:
    graph = state_graph(
        parse_definition(
            json.dumps(
                {
                    "StartAt": "Poll",
                    "States": {
                        "Poll": {"Type": "Wait", "Seconds": 1, "Next": "Check"},
                        "Check": {
                            "Type": "Choice",
                            "Choices": [
                                {"Variable": "$.done", "BooleanEquals": True, "Next": "Ok"}
                            ],
                            "Default": "Poll",
                        },
                        "Ok": {"Type": "Succeed"},
                    },
                }
            )
        )
    )
    labels = {node.key: node.label for node in graph.nodes}
    assert {(labels[edge.source], labels[edge.target]) for edge in back_edges(graph)} == {
        ("Check", "Poll")
    }
    placed = boxes(lay_out(graph))
    assert placed["Check"].y > placed["Poll"].y


ODD_NAMES = [
    "\\N",
    "<b>x</b>",
    '"q"',
    "\\G \\E \\T \\H \\L",
    "<<TABLE><TR><TD>cell</TD></TR></TABLE>>",
    "a;b=c [label=x] -> d",
    "}{",
    "ünïcödé ✓",
]


def chain(names: list[str]) -> dict[str, Any]:
    states = {
        name: {
            "Type": "Pass",
            **({"Next": names[index + 1]} if index + 1 < len(names) else {"End": True}),
        }
        for index, name in enumerate(names)
    }
    return {"StartAt": names[0], "States": states}


def test_names_with_graphviz_escapes_or_html_labels_lay_out_as_any_other() -> None:
    layout = lay_out(state_graph(parse_definition(json.dumps(chain(ODD_NAMES)))))
    placed = boxes(layout)
    assert list(placed) == ODD_NAMES
    tops = [placed[name].y for name in ODD_NAMES]
    assert tops == sorted(tops)  # one below the other
    assert len(set(tops)) == len(tops)
    plain = boxes(lay_out(state_graph(parse_definition(json.dumps(chain(["x" * 40, "y"]))))))
    # A width follows the label's length alone: 40 characters are as wide whatever they are.
    forty = "<" * 20 + "\\N" * 10
    assert len(forty) == 40
    odd = boxes(lay_out(state_graph(parse_definition(json.dumps(chain([forty, "y"]))))))
    assert odd[forty].width == pytest.approx(plain["x" * 40].width, abs=0.01)
    assert len(layout.edges) == len(ODD_NAMES) + 1


def test_the_worker_lays_definitions_out_in_its_own_process_and_keeps_them() -> None:
    text = json.dumps(chain(["One", "Two"]))
    worker = LayoutWorker()
    try:
        first = worker.layout(text)
        assert first == lay_out(state_graph(parse_definition(text)))
        assert worker.layout(text) is first
        other = worker.layout(json.dumps(chain(["One", "Three"])))
        assert [placed.node.label for placed in other.nodes] == ["Start", "End", "One", "Three"]
        process = worker._process  # the worker's process, to see it end
        assert process is not None
    finally:
        worker.close()
    assert process.poll() is not None


def test_a_worker_that_died_is_replaced_and_its_layout_made_anyway() -> None:
    worker = LayoutWorker()
    try:
        worker.layout(json.dumps(chain(["One"])))
        dead = worker._process
        assert dead is not None
        dead.kill()
        dead.wait()
        text = json.dumps(chain(["Two"]))
        assert worker.layout(text) == lay_out(state_graph(parse_definition(text)))
        worker.layout(json.dumps(chain(["Three"])))  # a new worker
        assert worker._process is not None
        assert worker._process is not dead
    finally:
        worker.close()


def test_the_workers_protocol_answers_each_definition_with_its_layout() -> None:
    texts = [json.dumps(chain(["One"])), json.dumps(chain(["Two", "Three"]))]
    requests = io.BytesIO()
    for text in texts:
        write_frame(requests, text.encode())
    requests.seek(0)
    answers = io.BytesIO()
    serve(requests, answers)
    answers.seek(0)
    for text in texts:
        frame = read_frame(answers)
        assert frame is not None
        assert pickle.loads(frame) == lay_out(state_graph(parse_definition(text)))
    assert read_frame(answers) is None


def test_a_script_read_from_standard_input_lays_out_through_the_worker() -> None:
    # A multiprocessing pool would run the parent's __main__ again in the worker, which for a
    # script read from standard input (or one without a __main__ guard) breaks or repeats it.
    script = (
        "import json\n"
        "from redstep.web.layout_worker import LayoutWorker, read_frame, serve, write_frame\n"
        "worker = LayoutWorker()\n"
        "definition = {'StartAt': 'A', 'States': {'A': {'Type': 'Succeed'}}}\n"
        "print(len(worker.layout(json.dumps(definition)).nodes))\n"
        "worker.close()\n"
    )
    ran = subprocess.run(
        [sys.executable, "-"], input=script, capture_output=True, text=True, timeout=60
    )
    assert (ran.returncode, ran.stdout, ran.stderr) == (0, "3\n", "")


def test_two_edges_between_the_same_states_are_two_splines() -> None:
    definition = {
        "StartAt": "Ask",
        "States": {
            "Ask": {
                "Type": "Choice",
                "Choices": [{"Variable": "$.x", "IsPresent": True, "Next": "Work"}],
                "Default": "Work",
            },
            "Work": {
                "Type": "Task",
                "Resource": "arn:aws:states:::lambda:invoke",
                "Catch": [{"ErrorEquals": ["States.ALL"], "Next": "Done"}],
                "Next": "Done",
            },
            "Done": {"Type": "Succeed"},
        },
    }
    layout = lay_out(state_graph(parse_definition(json.dumps(definition))))
    paths: dict[str, list[str]] = {}
    for placed in layout.edges:
        paths.setdefault(placed.edge.kind, []).append(placed.path)
    assert len(layout.edges) == len({placed.path for placed in layout.edges})
    assert set(paths) == {"next", "choice", "default", "catch"}


def test_a_projects_module_named_like_the_standard_librarys_does_not_reach_the_worker(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # `python -c` puts the current folder first on sys.path: a struct.py there would shadow
    # the standard library's in the worker (and here break it, printing as it goes).
    (tmp_path / "struct.py").write_text("print('not a frame')\nraise ImportError('ours')\n")
    monkeypatch.chdir(tmp_path)
    text = json.dumps(chain(["One"]))
    worker = LayoutWorker()
    try:
        assert worker.layout(text) == lay_out(state_graph(parse_definition(text)))
        process = worker._process
        assert process is not None  # the worker answered, and was not replaced
        assert process.poll() is None
    finally:
        worker.close()
