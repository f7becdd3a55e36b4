"""The line mimic: induct, scan tunnel, sorter belt with parcels moving, chutes on both sides.

Odd chutes are drawn above the belt and even ones below (as on a sorter with
chutes on both sides), so 20+ chutes keep touch-sized tiles on a 1280 px panel.
Parcels are drawn where the controller expects them (scan time × belt speed,
stopped at their chute); colour and shape say whether they have a destination.
With a route plan from the TMS, each chute carries its truck's colour (a band with
the truck's id), the dock doors are drawn along the belt at their position with the
trucks at them, and a legend names every truck and its door.
"""

from __future__ import annotations

from html import escape

from nicegui import ui

from controller.routeplan import RoutePlan
from hmi.chute_board import ChuteBoard
from hmi.context import Hmi
from hmi.feed import FeedState
from hmi.layout import BLUE, GREY, ORANGE, YELLOW, truck_colour
from hmi.sessions import Session

VIEW_W = 1000.0
MARGIN = 30.0


def x_of(position_mm: float, length_mm: float) -> float:
    """Horizontal position in the drawing's 0..1000 units."""
    return MARGIN + (VIEW_W - 2 * MARGIN) * max(0.0, min(1.0, position_mm / length_mm))


_last_svg: tuple[FeedState | None, str] = (None, "")


def belt_svg(hmi: Hmi, state: FeedState) -> str:
    """The belt with its zones and the parcels on it, as SVG text (made once per feed state,
    however many screens show it)."""
    global _last_svg
    if _last_svg[0] is state:
        return _last_svg[1]
    svg = _draw_belt(hmi, state)
    _last_svg = (state, svg)
    return svg


def _draw_belt(hmi: Hmi, state: FeedState) -> str:
    topo = hmi.line.config.topology
    length = state.belt_length_mm
    tunnel0, tunnel1 = (
        x_of(topo.scan_point_mm, length),
        x_of(topo.scan_point_mm + topo.scan_field_mm, length),
    )
    request = x_of(topo.request_point_mm, length)
    decision = x_of(topo.decision_point_mm, length)
    parts = [
        f'<svg viewBox="0 0 {VIEW_W:.0f} 100" preserveAspectRatio="none" '
        'xmlns="http://www.w3.org/2000/svg" style="width:100%;height:100%" '
        'data-testid="belt">',
        f'<rect x="{MARGIN}" y="35" width="{VIEW_W - 2 * MARGIN}" height="30" fill="#2b3139" '
        'stroke="#cfd3d8" stroke-width="1"/>',
        f'<rect x="{MARGIN}" y="30" width="{tunnel0 - MARGIN:.1f}" height="40" fill="none" '
        f'stroke="{GREY}" stroke-dasharray="4 3"/>',
        f'<text x="{MARGIN + 4}" y="24" fill="#eef1f4" font-size="11">INDUCT</text>',
        f'<rect x="{tunnel0:.1f}" y="25" width="{max(4.0, tunnel1 - tunnel0):.1f}" height="50" '
        f'fill="none" stroke="{YELLOW}" stroke-width="2"/>',
        f'<text x="{tunnel0:.1f}" y="20" fill="{YELLOW}" font-size="11">SCAN TUNNEL</text>',
        f'<line x1="{request:.1f}" y1="30" x2="{request:.1f}" y2="70" stroke="#cfd3d8" '
        'stroke-dasharray="2 2"/>',
        f'<line x1="{decision:.1f}" y1="30" x2="{decision:.1f}" y2="70" stroke="#cfd3d8"/>',
        f'<text x="{decision + 3:.1f}" y="90" fill="#cfd3d8" font-size="10">decision point</text>',
    ]
    for dot in state.parcels:
        x = x_of(dot.position_mm, length)
        title = escape(
            f"tracking {dot.tracking_id}: {dot.barcode or 'no barcode yet'}"
            + (f" → chute {dot.chute}" if dot.chute is not None else "")
        )
        if dot.chute is None:
            # no destination yet: a hollow diamond
            parts.append(
                f'<path d="M{x:.1f} 41 L{x + 9:.1f} 50 L{x:.1f} 59 L{x - 9:.1f} 50 Z" '
                f'fill="none" stroke="{ORANGE}" stroke-width="3"><title>{title}</title></path>'
            )
        else:
            parts.append(
                f'<rect x="{x - 8:.1f}" y="42" width="16" height="16" fill="{BLUE}" '
                f'stroke="#111" stroke-width="1"><title>{title}</title></rect>'
            )
    parts.append("</svg>")
    return "".join(parts)


def doors_html(hmi: Hmi, route_plan: RoutePlan, length_mm: float) -> str:
    """The dock doors at their place along the belt, each with its trucks (in their colour)."""
    index = {t.id: i for i, t in enumerate(route_plan.trucks)}
    parts = []
    for door in hmi.line.config.topology.doors:
        left = x_of(door.position_mm, length_mm) / VIEW_W * 100
        trucks = "".join(
            f'<span class="ls-truck-tag ml-1" style="background:{truck_colour(index[t.id])}">'
            f"{escape(t.id)}</span>"
            for t in route_plan.trucks
            if t.door == door.id
        )
        parts.append(
            f'<div class="absolute column items-center no-wrap" '
            f'data-testid="door-{escape(door.id)}" '
            f'title="{escape(f"dock door {door.id} at {door.position_mm:g} mm")}" '
            f'style="left:calc({left:.2f}% - 40px);top:0;width:80px">'
            f'<div style="width:0;height:10px;border-left:3px solid #cfd3d8"></div>'
            f'<div class="row items-center no-wrap px-1 rounded text-sm font-bold" '
            f'style="border:2px solid #cfd3d8;background:#2b3139">'
            f'<i class="q-icon notranslate material-icons" aria-hidden="true">garage</i>'
            f"{escape(door.id)}{trucks}</div></div>"
        )
    return "".join(parts)


def legend_html(route_plan: RoutePlan) -> str:
    """The trucks of the route plan: colour, id and door (``T01 · D01``)."""
    if not route_plan.trucks:
        return ""
    tags = "".join(
        f'<span class="row items-center no-wrap gap-1 mr-3" data-testid="legend-{escape(t.id)}">'
        f'<span class="ls-truck-tag" style="background:{truck_colour(i)}">&nbsp;</span>'
        f"{escape(t.id)} · {escape(t.door)}</span>"
        for i, t in enumerate(route_plan.trucks)
    )
    return f'<span class="font-bold mr-2">Trucks:</span>{tags}'


def build(hmi: Hmi, session: Session) -> None:
    """The mimic page's content."""
    state = hmi.feed.state

    def open_chute(chute: int) -> None:
        ui.navigate.to(f"/chutes/{chute}")

    def at(top: bool):
        def layout(view) -> str:
            left = x_of(view.position_mm, state.belt_length_mm) / VIEW_W * 100
            return f"position:absolute;left:calc({left:.2f}% - 39px);{'bottom' if top else 'top'}:0"

        return layout

    def odd(views):
        return [v for v in views if v.id % 2 == 1]

    def even(views):
        return [v for v in views if v.id % 2 == 0]

    with ui.column().classes("ls-panel w-full gap-0").props('data-testid="mimic"'):
        above = ChuteBoard(
            odd(state.chutes),
            open_chute,
            layout=at(True),
            classes="relative w-full",
            testid="chutes-above",
        )
        above.element.style("height:120px")
        belt = ui.html(belt_svg(hmi, state), sanitize=False).classes("w-full").style("height:110px")
        below = ChuteBoard(
            even(state.chutes),
            open_chute,
            layout=at(False),
            classes="relative w-full",
            testid="chutes-below",
        )
        below.element.style("height:120px")
        doors = ui.html("", sanitize=False).classes("relative w-full").props('data-testid="doors"')
        doors.style("height:44px")
    legend = ui.html("", sanitize=False).classes("row items-center text-base")
    legend.props('data-testid="truck-legend"')
    with ui.row().classes("gap-4 text-base items-center"):
        ui.label("Key:").classes("font-bold")
        for word, css, text in (
            ("OK", "ls-chute-normal", "in service"),
            ("FULL", "ls-chute-full", "full (hatched)"),
            ("OFF", "ls-chute-disabled", "disabled (dashed)"),
            ("JAM", "ls-chute-jammed", "jam / PLC fault (double outline)"),
        ):
            ui.label(word).classes(f"ls-chute {css} px-2")
            ui.label(text)
        ui.label("■ parcel with a destination   ◇ parcel still being identified")
    parcels = ui.label().classes("text-base opacity-80").props('data-testid="parcels-on-belt"')

    def refresh() -> None:
        st = hmi.feed.state
        route_plan = hmi.line.route_plan.active
        door_strip = doors_html(hmi, route_plan, st.belt_length_mm)
        if doors.content != door_strip:
            doors.set_content(door_strip)
        doors.set_visibility(bool(door_strip))
        trucks = legend_html(route_plan)
        if legend.content != trucks:
            legend.set_content(trucks)
        legend.set_visibility(bool(trucks))
        svg = belt_svg(hmi, st)
        if belt.content != svg:
            belt.set_content(svg)
        above.show(odd(st.chutes))
        below.show(even(st.chutes))
        text = f"{len(st.parcels)} parcels on the belt · {st.throughput_pph:,.0f} parcels/h"
        if parcels.text != text:
            parcels.set_text(text)

    refresh()
    ui.timer(0.5, refresh)
