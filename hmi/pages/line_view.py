"""The line mimic: induct, scan tunnel, sorter belt with parcels moving, chutes on both sides.

Odd chutes are drawn above the belt and even ones below (as on a sorter with
chutes on both sides), so 20+ chutes keep touch-sized tiles on a 1280 px panel.
Parcels are drawn where the controller expects them (scan time × belt speed,
stopped at their chute); colour and shape say whether they have a destination.
"""

from __future__ import annotations

from html import escape

from nicegui import ui

from hmi.chute_board import ChuteBoard
from hmi.context import Hmi
from hmi.feed import FeedState
from hmi.layout import BLUE, GREY, ORANGE, YELLOW
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
