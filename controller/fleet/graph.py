"""Shortest paths on the layout graph: Dijkstra over lane lengths, one-way lanes, lanes to
avoid (blocked, or refused by a vehicle)."""

from __future__ import annotations

import heapq
import math
from collections.abc import Collection
from dataclasses import dataclass

from plc_configs.fleet import Layout, LayoutEdge


@dataclass(frozen=True, slots=True)
class Route:
    """A path: its nodes in driving order, the lanes between them and its length (m).

    ``edges[i]`` joins ``nodes[i]`` and ``nodes[i + 1]``; a lane driven against its
    ``start -> end`` keeps its id (``edge.id``)."""

    nodes: tuple[str, ...]
    edges: tuple[LayoutEdge, ...]
    length: float

    def __post_init__(self) -> None:
        if len(self.edges) != len(self.nodes) - 1:
            raise ValueError("a route has one edge fewer than nodes")


class Graph:
    """The layout as a directed graph weighted by straight-line lane length."""

    def __init__(self, layout: Layout):
        self.layout = layout
        self._next: dict[str, list[tuple[str, LayoutEdge, float]]] = {}
        for edge in layout.edges:
            length = layout.distance(edge.start, edge.end)
            self._next.setdefault(edge.start, []).append((edge.end, edge, length))
            if not edge.one_way:
                self._next.setdefault(edge.end, []).append((edge.start, edge, length))

    def route(self, start: str, goal: str, *, avoid: Collection[str] = ()) -> Route | None:
        """The shortest route from ``start`` to ``goal`` not using the lanes (edge ids) in
        ``avoid``; None when there is none. Ties are broken by node id (deterministic)."""
        if start == goal:
            return Route((start,), (), 0.0)
        best: dict[str, float] = {start: 0.0}
        came: dict[str, tuple[str, LayoutEdge]] = {}
        todo: list[tuple[float, str]] = [(0.0, start)]
        done: set[str] = set()
        while todo:
            dist, node = heapq.heappop(todo)
            if node in done:
                continue
            if node == goal:
                break
            done.add(node)
            for nxt, edge, length in self._next.get(node, ()):
                if edge.id in avoid or nxt in done:
                    continue
                new = dist + length
                if new < best.get(nxt, math.inf) - 1e-9:
                    best[nxt] = new
                    came[nxt] = (node, edge)
                    heapq.heappush(todo, (new, nxt))
        if goal not in came:
            return None
        nodes, edges = [goal], []
        while nodes[-1] != start:
            prev, edge = came[nodes[-1]]
            nodes.append(prev)
            edges.append(edge)
        return Route(tuple(reversed(nodes)), tuple(reversed(edges)), best[goal])

    def distance(self, start: str, goal: str, *, avoid: Collection[str] = ()) -> float:
        """The length of the shortest route (m); ``math.inf`` when unreachable."""
        found = self.route(start, goal, avoid=avoid)
        return math.inf if found is None else found.length

    def join(self, *routes: Route) -> Route:
        """Routes driven one after the other (each starts where the previous ends)."""
        nodes: list[str] = list(routes[0].nodes)
        edges: list[LayoutEdge] = list(routes[0].edges)
        for more in routes[1:]:
            if more.nodes[0] != nodes[-1]:
                raise ValueError(f"route starting at {more.nodes[0]} does not follow {nodes[-1]}")
            nodes.extend(more.nodes[1:])
            edges.extend(more.edges)
        return Route(tuple(nodes), tuple(edges), sum(r.length for r in routes))
