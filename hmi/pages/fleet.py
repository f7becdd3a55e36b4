"""The AMR fleet: the layout with every vehicle on it, the vehicles, the transport tasks.

The layout graph is drawn as an SVG (y up, as VDA 5050 coordinates): nodes, lanes (a
one-way lane has an arrow), stations labelled by kind (wall, AS/RS in/out, door, parking,
charger, chute end) and each vehicle at the position it reported, or at the node it last
reported, with its serial number and its state in words; a vehicle that never reported
is listed under the map, never placed by a guess. Below: the vehicles (connection,
battery, charging, driving, paused, errors by level, current task) and the transport
tasks (open ones and the last finished). Supervisors pause and resume the fleet and
cancel a task, each behind a confirmation with a reason; the fleet service audits them.
"""

from __future__ import annotations

from collections.abc import Callable
from html import escape
from typing import Any
from urllib.parse import urlsplit

from nicegui import ui

from hmi.context import Hmi
from hmi.layout import (
    BLUE,
    GREEN,
    GREY,
    ORANGE,
    VERMILLION,
    YELLOW,
    confirm_with_reason,
    kpi,
    set_text,
)
from hmi.sessions import Session
from plc_configs.fleet import Layout

#: A vehicle's state word -> (fill colour, dashed outline). The word is always written.
VEHICLE_LOOK = {
    "idle": (BLUE, False),
    "driving": (GREEN, False),
    "picking": (YELLOW, False),
    "carrying": (ORANGE, False),
    "charging": ("#CC79A7", False),
    "paused": ("#b39ddb", False),
    "lost": (VERMILLION, True),
    "offline": (GREY, True),
    "error": (VERMILLION, False),
}
STATION_LOOK = {  # kind -> (label, colour)
    "put_wall": ("WALL", "#009E73"),
    "chute_end": ("CHUTE END", "#56B4E9"),
    "asrs_in": ("AS/RS IN", "#E69F00"),
    "asrs_out": ("AS/RS OUT", "#E69F00"),
    "dock_door": ("DOOR", "#CC79A7"),
    "parking": ("PARKING", "#8a8f98"),
    "charger": ("CHARGER", "#F0E442"),
}
OPEN = ("queued", "assigned", "picking", "carrying")
FINISHED = ("delivered", "failed", "cancelled")
_W, _H, _PAD = 1200.0, 520.0, 60.0


def vehicle_state(vehicle: dict[str, Any], task_state: str | None) -> tuple[str, str]:
    """The vehicle's state word and why, from its snapshot and its task's state."""
    connection = vehicle["connection"]
    if vehicle["lost"]:
        return "lost", f"no state for too long; last at node {vehicle['last_node'] or '?'}"
    if vehicle["operating_mode"] is None:
        return "offline", f"never reported (connection {connection.lower()})"
    if connection in ("OFFLINE", "CONNECTIONBROKEN"):
        return "offline", f"connection {connection.lower()}"
    fatal = [e for e in vehicle["errors"] if e["level"] == "FATAL"]
    if fatal:
        return "error", fatal[0]["description"] or fatal[0]["type"]
    if vehicle["paused"]:
        return "paused", "paused"
    if vehicle["charging"]:
        return "charging", "charging"
    if task_state in ("picking", "carrying"):
        return task_state, f"task {vehicle['task']}"
    if vehicle["driving"]:
        return "driving", vehicle["job"] or "driving"
    return "idle", "idle"


def _t(x: float, y: float, text: str, size: int = 13, **attrs: str) -> str:
    extra = "".join(f' {k.replace("_", "-")}="{v}"' for k, v in attrs.items())
    return f'<text x="{x:.1f}" y="{y:.1f}" font-size="{size}"{extra}>{escape(text)}</text>'


def layout_svg(layout: Layout, vehicles: list[tuple[dict[str, Any], str]], map_id: str) -> str:
    """One map of the layout with its stations and ``(vehicle, state word)`` markers."""
    nodes = {n.id: n for n in layout.nodes if n.map == map_id}
    xs, ys = [n.x for n in nodes.values()], [n.y for n in nodes.values()]
    span_x, span_y = max(max(xs) - min(xs), 1.0), max(max(ys) - min(ys), 1.0)
    scale = min((_W - 2 * _PAD) / span_x, (_H - 2 * _PAD) / span_y)
    width, height = span_x * scale + 2 * _PAD, span_y * scale + 2 * _PAD

    def at(x: float, y: float) -> tuple[float, float]:
        return _PAD + (x - min(xs)) * scale, height - _PAD - (y - min(ys)) * scale

    out = [
        f'<svg viewBox="0 0 {width:.0f} {height:.0f}" width="100%" style="max-height:60vh" '
        f'role="img" aria-label="fleet layout, map {escape(map_id)}" '
        'font-family="sans-serif" fill="#eef1f4">',
        '<defs><marker id="ls-arrow" viewBox="0 0 10 10" refX="9" refY="5" markerWidth="7" '
        'markerHeight="7" orient="auto-start-reverse"><path d="M0,0 L10,5 L0,10 z" '
        'fill="#cfd3d8"/></marker></defs>',
    ]
    for edge in layout.edges:
        if edge.start not in nodes or edge.end not in nodes:
            continue
        (x1, y1), (x2, y2) = (
            at(nodes[edge.start].x, nodes[edge.start].y),
            at(nodes[edge.end].x, nodes[edge.end].y),
        )
        arrow = ' marker-end="url(#ls-arrow)"' if edge.one_way else ""
        if edge.one_way:  # stop short of the node so the arrow shows
            length = max(((x2 - x1) ** 2 + (y2 - y1) ** 2) ** 0.5, 1.0)
            x2, y2 = x2 - (x2 - x1) * 9 / length, y2 - (y2 - y1) * 9 / length
        dash = ' stroke-dasharray="10 5"' if edge.one_way else ""
        out.append(
            f'<line x1="{x1:.1f}" y1="{y1:.1f}" x2="{x2:.1f}" y2="{y2:.1f}" stroke="#cfd3d8" '
            f'stroke-width="3"{dash}{arrow}><title>{escape(edge.id)}'
            f"{' (one way)' if edge.one_way else ''}</title></line>"
        )
    placed: list[tuple[float, float, float, float]] = []
    for station in layout.stations:
        if station.node not in nodes:
            continue
        x, y = at(nodes[station.node].x, nodes[station.node].y)
        word, colour = STATION_LOOK.get(station.kind, (station.kind.upper(), GREY))
        text = f"{word} {station.ref or station.id}"
        box_w = 8.2 * len(text) + 10
        left = x - box_w / 2  # below the node, else above, else further out
        top = _free_spot(placed, left, box_w, 21, [y + d for d in (10, -31, 34, -55, 58, -79)])
        out.append(
            f'<g data-station="{escape(station.id)}"><rect x="{left:.1f}" y="{top:.1f}" '
            f'width="{box_w:.1f}" height="21" rx="4" fill="{colour}"/>'
            + _t(
                left + box_w / 2,
                top + 15,
                text,
                13,
                fill="#111",
                text_anchor="middle",
                font_weight="700",
            )
            + "</g>"
        )
    for node in nodes.values():
        x, y = at(node.x, node.y)
        out.append(f'<circle cx="{x:.1f}" cy="{y:.1f}" r="5" fill="#cfd3d8"/>')
        out.append(_t(x + 8, y - 8, node.id, 12, fill="#cfd3d8"))
    for vehicle, word in vehicles:
        px, py = at(*_vehicle_xy(layout, vehicle, map_id))
        state = word.upper()
        tag_w = 8.4 * (len(vehicle["serial_number"]) + len(state) + 1) + 14
        tops = [py - 46 - 26 * i for i in range(8)]  # above its marker, clear of other tags
        tag_y = _free_spot(placed, px - tag_w / 2, tag_w, 24, tops)
        colour, dashed = VEHICLE_LOOK[word]
        outline = ' stroke-dasharray="5 4"' if dashed else ""
        serial = escape(vehicle["serial_number"])
        out.append(  # the marker on its place, a tag above it: serial number and state
            f'<line x1="{px:.1f}" y1="{py:.1f}" x2="{px:.1f}" y2="{tag_y + 24:.1f}" '
            f'stroke="{colour}" stroke-width="2"/>'
            f'<g data-vehicle="{escape(vehicle["key"])}" data-state="{word}">'
            f'<circle cx="{px:.1f}" cy="{py:.1f}" r="13" fill="{colour}" stroke="#fff" '
            f'stroke-width="3"{outline}/>'
            f'<rect x="{px - tag_w / 2:.1f}" y="{tag_y:.1f}" width="{tag_w:.1f}" height="24" '
            f'rx="5" fill="#111418" stroke="{colour}" stroke-width="2"{outline}/>'
            f'<text x="{px:.1f}" y="{tag_y + 17:.1f}" font-size="14" text-anchor="middle" '
            f'font-weight="700">{serial} <tspan fill="{colour}">{state}</tspan></text></g>'
        )
    out.append("</svg>")
    return "".join(out)


def _free_spot(
    placed: list[tuple[float, float, float, float]],
    left: float,
    width: float,
    height: float,
    tops: list[float],
) -> float:
    """The first of ``tops`` where a label overlaps none placed before (else the last);
    ``placed`` grows by it."""
    for top in tops:
        if all(
            left + width <= a or left >= a + w or top + height <= b or top >= b + h
            for a, b, w, h in placed
        ):
            break
    placed.append((left, top, width, height))
    return top


def _vehicle_xy(layout: Layout, vehicle: dict[str, Any], map_id: str) -> tuple[float, float]:
    position = vehicle["position"]
    if position is not None and position["map"] == map_id:
        return position["x"], position["y"]
    node = layout.node(vehicle["last_node"])
    return node.x, node.y


def _map_of(layout: Layout, vehicle: dict[str, Any]) -> str | None:
    """The map the vehicle is drawn on: its position's, else its last node's, else None."""
    if vehicle["position"] is not None:
        return vehicle["position"]["map"]
    try:
        return layout.node(vehicle["last_node"]).map if vehicle["last_node"] else None
    except KeyError:
        return None


def _yes_no(flag: bool) -> str:
    return "yes" if flag else "no"


def _errors_text(errors: list[dict[str, Any]]) -> str:
    if not errors:
        return "none"
    order = {"FATAL": 0, "WARNING": 1}
    return "; ".join(
        f"{e['level']}: {e['type']}" + (f" ({e['description']})" if e["description"] else "")
        for e in sorted(errors, key=lambda e: order.get(e["level"], 2))
    )


def build(hmi: Hmi, session: Session) -> None:
    """The fleet page (or why there is none)."""
    fleet = hmi.line.fleet
    if fleet is None:
        ui.label("This line has no AMR fleet (fleet.enabled in the line config).").classes(
            "text-2xl"
        )
        return
    layout = fleet.graph.layout
    broker = urlsplit(hmi.line.config.fleet.mqtt.url) if hmi.line.config.fleet.mqtt else None
    with ui.row().classes("w-full gap-3 items-stretch"):
        status = kpi("Fleet", "fleet-status")
        link = kpi("MQTT broker", "fleet-link")
        done = kpi("Tasks delivered / failed", "fleet-done")
        if session.may_act:
            with ui.column().classes("ls-panel justify-center gap-2"):
                pause_btn = ui.button("Pause fleet", icon="pause", on_click=lambda: ask("pause"))
                pause_btn.classes("ls-touch").props('data-testid="fleet-pause"').mark("fleet-pause")
                resume_btn = ui.button(
                    "Resume fleet", icon="play_arrow", on_click=lambda: ask("resume")
                )
                resume_btn.classes("ls-touch").props('data-testid="fleet-resume"')
                resume_btn.mark("fleet-resume")
    where = f"{broker.hostname}:{broker.port}" if broker else "none"
    maps = sorted({n.map for n in layout.nodes})
    svgs = {
        m: ui.html("", sanitize=False).classes("w-full ls-panel").props(f'data-testid="map-{m}"')
        for m in maps
    }
    unplaced = ui.label("").classes("text-lg").props('data-testid="fleet-unplaced"')
    ui.label("Vehicles").classes("ls-kpi-label mt-2")
    table = ui.column().classes("w-full gap-1").props('data-testid="fleet-vehicles"')
    ui.label("Transport tasks: open, then the last finished").classes("ls-kpi-label mt-2")
    tasks_box = ui.column().classes("w-full gap-1").props('data-testid="fleet-tasks"')
    shown: dict[str, Any] = {}

    def ask(what: str) -> None:
        async def do(s: Session, why: str) -> None:
            await (fleet.pause if what == "pause" else fleet.resume)(s.actor, why)
            refresh()

        confirm_with_reason(
            hmi,
            f"{what.capitalize()} the fleet?",
            "Every vehicle stops where it is and gets no new order until resumed."
            if what == "pause"
            else "The vehicles go on and tasks are dispatched again.",
            do,
            yes_text=what.capitalize(),
            done=f"Fleet {what}d",
        )

    def ask_cancel(task: dict[str, Any]) -> None:
        async def do(s: Session, why: str) -> None:
            await fleet.cancel_task(task["id"], s.actor, why)
            refresh()

        confirm_with_reason(
            hmi,
            f"Cancel task {task['id']}?",
            f"Container {task['container_id']}: {task['from']} → {task['to']}. "
            "Its vehicle stops the order; a container already picked stays on the vehicle.",
            do,
            yes_text="Cancel the task",
            done=f"Task {task['id']} cancelled",
        )

    def refresh() -> None:
        snap = fleet.snapshot()
        set_text(status, "PAUSED" if snap["paused"] else "RUNNING")
        set_text(link, f"{where} {'UP' if snap['link']['connected'] else 'DOWN'}")
        c = snap["counters"]
        set_text(done, f"{c['delivered']} / {c['failed']}")
        if session.may_act:
            pause_btn.set_enabled(not snap["paused"])
            resume_btn.set_enabled(snap["paused"])
        task_state = {t["id"]: t["state"] for state in OPEN for t in snap["tasks"].get(state, [])}
        words = [(v, vehicle_state(v, task_state.get(v["task"] or ""))) for v in snap["vehicles"]]
        for map_id, svg in svgs.items():
            on_map = [(v, w) for v, (w, _) in words if _map_of(layout, v) == map_id]
            content = layout_svg(layout, on_map, map_id)
            if svg.content != content:
                svg.set_content(content)
        off = [f"{v['key']} ({w}: {why})" for v, (w, why) in words if _map_of(layout, v) is None]
        off_text = ", ".join(off)
        set_text(unplaced, f"Not on the map (no position reported): {off_text}" if off else "")
        if shown.get("vehicles") != words:
            shown["vehicles"] = words
            _vehicle_rows(table, words)
        tasks = [t for s in OPEN for t in snap["tasks"].get(s, [])]
        tasks.sort(key=lambda t: t["created"])
        finished = [t for s in FINISHED for t in snap["tasks"].get(s, [])]
        finished.sort(key=lambda t: -t["updated"])
        view = (tasks, finished[:10])
        if shown.get("tasks") != view:
            shown["tasks"] = view
            _task_rows(tasks_box, *view, ask_cancel if session.may_act else None)

    refresh()
    ui.timer(1.0, refresh)


_VEHICLE_COLS = "minmax(170px,1.3fr) 110px 150px 90px 90px 80px 80px minmax(200px,2fr) 190px"


def _vehicle_rows(box: ui.column, words: list[tuple[dict[str, Any], tuple[str, str]]]) -> None:
    box.clear()
    with box:
        grid = ui.element("div").classes("w-full text-lg")
        grid.style(f"display:grid;grid-template-columns:{_VEHICLE_COLS};gap:4px 10px")
        with grid:
            for head in ("Vehicle", "State", "Connection", "Battery", "Charging", "Driving",
                         "Paused", "Errors", "Task"):  # fmt: skip
                ui.label(head).classes("ls-kpi-label")
            for v, (word, why) in words:
                colour, dashed = VEHICLE_LOOK[word]
                ui.label(v["key"]).classes("font-bold").props(f'data-testid="vehicle-{v["key"]}"')
                border = "dashed" if dashed else "solid"
                ui.label(word.upper()).classes("font-bold px-2 rounded text-center").style(
                    f"background:{colour};color:#111;border:3px {border} #fff"
                ).props(f'data-state="{word}" title="{escape(why)}"')
                mode = v["operating_mode"]  # not AUTOMATIC: the master does not drive it
                manual = f" · {mode}" if mode not in (None, "AUTOMATIC") else ""
                ui.label(v["connection"].lower() + manual)
                battery = v["battery_pct"]
                ui.label("–" if battery is None else f"{battery:.0f} %")
                ui.label(_yes_no(v["charging"]))
                ui.label(_yes_no(v["driving"]))
                ui.label(_yes_no(v["paused"]))
                errors = ui.label(_errors_text(v["errors"]))
                if v["errors"]:
                    errors.style(f"color:{ORANGE}")
                ui.label(v["task"] or ("–" if v["job"] is None else v["job"]))


def _task_rows(
    box: ui.column,
    open_tasks: list[dict[str, Any]],
    finished: list[dict[str, Any]],
    cancel: Callable[[dict[str, Any]], None] | None,
) -> None:
    box.clear()
    with box:
        if not open_tasks and not finished:
            ui.label("No transport task yet.").classes("text-lg opacity-80")
        for task in [*open_tasks, *finished]:
            colour = {"failed": VERMILLION, "cancelled": GREY, "delivered": GREEN}.get(
                task["state"], "#2a3340"
            )
            with (
                ui.row()
                .classes("w-full items-center gap-4 px-3 rounded text-lg no-wrap")
                .style(f"background:{colour};min-height:52px")
                .props(f'data-testid="task-{task["id"]}" data-state="{task["state"]}"')
            ):
                ui.label(task["id"]).classes("w-20 font-mono")
                ui.label(task["state"].upper()).classes("w-28 font-bold")
                ui.label(task["container_id"]).classes("w-40 font-mono")
                ui.label(f"{task['from']} → {task['to']}").classes("w-64")
                ui.label(task["vehicle"] or "no vehicle").classes("w-44")
                ui.label(task["reason"] or task["location"]["text"]).classes("grow")
                if cancel is not None and task["state"] in OPEN:
                    ui.button("Cancel task", on_click=lambda _e=None, t=task: cancel(t)).classes(
                        "ls-touch"
                    ).props(f'color=white text-color=black data-testid="cancel-{task["id"]}"').mark(
                        f"cancel-{task['id']}"
                    )
