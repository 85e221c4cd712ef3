"""Where the console draws a state graph: Graphviz's `dot` places nodes, groups and edges.

Graphviz (through pygraphviz, whose wheels carry it) lays the graph out; it is only given keys
and sizes, never a state's name, so no name is ever read as a Graphviz escape or an HTML-like
label. It holds Python's GIL while it works: the server calls it in a process of its own
(`layout_worker`). A node's width follows its label's length. Coordinates come back in points
with y growing upwards; here they are SVG pixels with y growing downwards.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass

import pygraphviz

from redstep.web.graph import Edge, EdgeKind, Group, Node, NodeKind, StateGraph

POINTS_PER_INCH = 72
CHAR_WIDTH = 7.2
"""An estimate of the console's label font (13 px sans-serif), per character."""
NODE_HEIGHT = 34
NODE_PADDING = 28
MIN_NODE_WIDTH = 90
TERMINAL_SIZE = (64, 30)
JOIN_SIZE = 10
MARGIN = 8


@dataclass(frozen=True, slots=True)
class Box:
    x: float
    y: float
    width: float
    height: float

    @property
    def center_x(self) -> float:
        return self.x + self.width / 2

    @property
    def center_y(self) -> float:
        return self.y + self.height / 2


@dataclass(frozen=True, slots=True)
class PlacedNode:
    node: Node
    box: Box


@dataclass(frozen=True, slots=True)
class PlacedGroup:
    group: Group
    box: Box


@dataclass(frozen=True, slots=True)
class PlacedEdge:
    edge: Edge
    path: str
    """An SVG path (`M … C …`) from the source's border to where the arrowhead begins."""
    arrow: str
    """The arrowhead, an SVG polygon's points."""


@dataclass(frozen=True, slots=True)
class Layout:
    width: float
    height: float
    nodes: tuple[PlacedNode, ...]
    groups: tuple[PlacedGroup, ...]
    edges: tuple[PlacedEdge, ...]


def lay_out(graph: StateGraph) -> Layout:
    """Place `graph`'s nodes, groups and edges."""
    drawing = pygraphviz.AGraph(directed=True, strict=False)
    drawing.graph_attr.update(rankdir="TB", nodesep="0.2", ranksep="0.4", margin="0", fontsize="1")
    drawing.node_attr.update(shape="box", fixedsize="true", label="")
    clusters: dict[str | None, pygraphviz.AGraph] = {None: drawing}
    for group in graph.groups:  # a group always comes after its parent
        clusters[group.key] = clusters[group.parent].add_subgraph(
            name=f"cluster_{group.key}", margin="14"
        )
    for node in graph.nodes:
        width, height = _node_size(node)
        clusters[node.group].add_node(
            node.key,
            width=f"{width / POINTS_PER_INCH:.3f}",
            height=f"{height / POINTS_PER_INCH:.3f}",
            shape="ellipse" if node.kind in (NodeKind.START, NodeKind.END) else "box",
        )
    loops = back_edges(graph)
    for edge in graph.edges:
        drawing.add_edge(
            edge.source,
            edge.target,
            key=_edge_key(edge),
            constraint="false" if edge in loops else "true",
        )
    drawing.layout(prog="dot")

    left, bottom, right, top = _floats(drawing.graph_attr["bb"])
    height = top - bottom

    def point(x: float, y: float) -> tuple[float, float]:
        return x - left + MARGIN, height - (y - bottom) + MARGIN

    nodes = []
    for node in graph.nodes:
        attributes = drawing.get_node(node.key).attr
        x, y = point(*_floats(attributes["pos"]))
        width = float(attributes["width"]) * POINTS_PER_INCH
        node_height = float(attributes["height"]) * POINTS_PER_INCH
        nodes.append(PlacedNode(node, Box(x - width / 2, y - node_height / 2, width, node_height)))
    groups = []
    for group in graph.groups:
        x0, y0, x1, y1 = _floats(clusters[group.key].graph_attr["bb"])
        (left_x, top_y), (right_x, bottom_y) = point(x0, y1), point(x1, y0)
        groups.append(PlacedGroup(group, Box(left_x, top_y, right_x - left_x, bottom_y - top_y)))
    edges = []
    for edge in graph.edges:
        spline = drawing.get_edge(edge.source, edge.target, key=_edge_key(edge))
        edges.append(_placed_edge(edge, spline.attr["pos"], point))
    return Layout(
        width=right - left + 2 * MARGIN,
        height=height + 2 * MARGIN,
        nodes=tuple(nodes),
        groups=tuple(groups),
        edges=tuple(edges),
    )


def back_edges(graph: StateGraph) -> frozenset[Edge]:
    """The edges that go back up the flow (a poll's loop, a retry): those reaching a node that
    leads to them, walking from Start along Next before Choice rules, Defaults and Catchers.

    Graphviz ranks nodes top-down along edges; an edge it must draw upwards it picks itself,
    and in a polling loop it may pick the forward one, placing a Choice above the task it
    follows. Edges named here keep their line but do not rank.
    """
    order = {kind: index for index, kind in enumerate(EdgeKind)}
    leaving: dict[str, list[Edge]] = {}
    for edge in sorted(graph.edges, key=lambda edge: order[edge.kind]):
        leaving.setdefault(edge.source, []).append(edge)
    found: set[Edge] = set()
    on_path: set[str] = set()
    done: set[str] = set()
    start = next(node.key for node in graph.nodes if node.kind is NodeKind.START)
    stack: list[tuple[str, Iterator[Edge]]] = [(start, iter(leaving.get(start, [])))]
    on_path.add(start)
    while stack:
        node, edges = stack[-1]
        taken = next(edges, None)
        if taken is None:
            stack.pop()
            on_path.discard(node)
            done.add(node)
        elif taken.target in on_path:
            found.add(taken)
        elif taken.target not in done:
            on_path.add(taken.target)
            stack.append((taken.target, iter(leaving.get(taken.target, []))))
    return frozenset(found)


def _edge_key(edge: Edge) -> str:
    """Two edges may join the same nodes (a rule and the Default, a Next and a Catch): each is
    its own spline."""
    return f"{edge.source}-{edge.target}-{edge.kind}"


def _node_size(node: Node) -> tuple[float, float]:
    match node.kind:
        case NodeKind.START | NodeKind.END:
            return TERMINAL_SIZE
        case NodeKind.JOIN:
            return JOIN_SIZE, JOIN_SIZE
        case NodeKind.STATE:
            return max(MIN_NODE_WIDTH, len(node.label) * CHAR_WIDTH + NODE_PADDING), NODE_HEIGHT


def _placed_edge(
    edge: Edge,
    spline: str,
    point: Callable[[float, float], tuple[float, float]],
) -> PlacedEdge:
    """An edge from Graphviz's spline: `e,x,y` (the arrow's tip) then 3n+1 Bézier points."""
    tip: tuple[float, float] | None = None
    points: list[tuple[float, float]] = []
    for part in spline.split():
        if part.startswith("e,"):
            tip = point(*_floats(part[2:]))
        elif not part.startswith("s,"):
            points.append(point(*_floats(part)))
    start, *rest = points
    curves = " ".join(
        "C " + " ".join(f"{x:.1f} {y:.1f}" for x, y in rest[index : index + 3])
        for index in range(0, len(rest), 3)
    )
    path = f"M {start[0]:.1f} {start[1]:.1f} {curves}"
    return PlacedEdge(edge, path, _arrowhead(points[-1], tip or points[-1]))


def _arrowhead(base: tuple[float, float], tip: tuple[float, float]) -> str:
    (bx, by), (tx, ty) = base, tip
    dx, dy = tx - bx, ty - by
    length = max((dx * dx + dy * dy) ** 0.5, 1e-6)
    nx, ny = -dy / length * 4, dx / length * 4  # half the arrowhead's width, across the edge
    corners: Sequence[tuple[float, float]] = ((tx, ty), (bx + nx, by + ny), (bx - nx, by - ny))
    return " ".join(f"{x:.1f},{y:.1f}" for x, y in corners)


def _floats(text: str) -> tuple[float, ...]:
    return tuple(float(part) for part in text.split(","))
