"""Chutes drawn as tiles: id, routes, state word and icon, fill bar, container count.

State is coded four ways so it reads without colour: the fill colour, the
outline (solid / white / dashed / double), an icon and a word. A chute whose routes
go on a truck of the route plan has a band across its top in the truck's colour,
with the truck's id written in it; the state keeps the rest of the tile.

A whole set of tiles is one HTML element with one click handler: building a
NiceGUI element per tile part cost ~1.5 ms of event-loop time per tile (measured
with py-spy while opening pages), which a page of 23 chutes turned into a 40 ms
pause of the control loop. The HTML is built as a string (about 20 µs a tile) and
sent again only when a tile changed.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from html import escape

from nicegui import ui
from nicegui.events import GenericEventArguments

from hmi.feed import ChuteState, ChuteView
from hmi.layout import truck_colour

LOOK = {
    ChuteState.NORMAL: (ChuteState.NORMAL.word, "check"),
    ChuteState.FULL: (ChuteState.FULL.word, "inventory_2"),
    ChuteState.DISABLED: (ChuteState.DISABLED.word, "block"),
    ChuteState.JAMMED: (ChuteState.JAMMED.word, "warning"),
}

_EMIT_CHUTE = "(e) => { const t = e.target.closest('[data-chute]'); if (t) emit(t.dataset.chute); }"


def describe(view: ChuteView) -> str:
    """The chute's state in words, for a tooltip or a screen reader."""
    word = {
        ChuteState.NORMAL: "in service",
        ChuteState.FULL: "full (the PLC's full sensor)",
        ChuteState.DISABLED: "disabled by a supervisor",
        ChuteState.JAMMED: "taken out by the PLC (jam or local fault)",
    }[view.state]
    return (
        f"Chute {view.id}: {routes_text(view)}; {word}; "
        f"{view.container_count} parcels in the container"
    )


def routes_text(view: ChuteView) -> str:
    """What the chute carries in words: ``routes A, B (truck T1)``, ``no route``."""
    if view.reject:
        return "reject chute"
    if not view.routes:
        return "no route"
    noun = "route" if len(view.routes) == 1 else "routes"
    truck = f" (truck {view.truck})" if view.truck else ""
    return f"{noun} {', '.join(view.routes)}{truck}"


def band_html(view: ChuteView) -> str:
    """The band of the chute's truck (empty without one)."""
    colour = truck_colour(view.truck_index)
    if view.truck is None or colour is None:
        return ""
    return (
        f'<div class="ls-truck-band ellipsis" data-testid="chute-{view.id}-truck" '
        f'style="background:{colour}">{escape(view.truck)}</div>'
    )


def tile_html(view: ChuteView, big: bool = False, style: str = "") -> str:
    """One tile as HTML (every text escaped)."""
    word, icon = LOOK[view.state]
    width, height = ("150px", "150px") if big else ("78px", "112px")
    route = "REJECT" if view.reject else (" ".join(view.routes) or "—")
    count = f"{view.container_count} in container" if big else f"{view.container_count} pcs"
    number = "text-3xl" if big else "text-xl"
    band = band_html(view)
    if band:
        style = f"padding-top:16px;{style}"
    return (
        f'<div class="ls-chute ls-chute-{view.state.value} column items-center justify-between '
        f'no-wrap p-1 relative" role="button" tabindex="0" data-chute="{view.id}" '
        f'data-testid="chute-{view.id}" data-state="{view.state.value}" '
        f'title="{escape(describe(view))}" '
        f'style="width:{width};height:{height};{style}">{band}'
        f'<div class="ls-fill absolute bottom-0 left-0" '
        f'style="height:{view.fill * 100:.0f}%"></div>'
        f'<div class="row items-center no-wrap z-10"><i class="q-icon notranslate material-icons '
        f'text-xl" aria-hidden="true">{icon}</i><span class="{number} font-black">{view.id}</span>'
        f"</div>"
        f'<div class="text-sm z-10 ellipsis" style="max-width:100%">{escape(route)}</div>'
        f'<div class="text-base font-black z-10">{word}</div>'
        f'<div class="text-sm z-10">{escape(count)}</div>'
        f"</div>"
    )


class ChuteBoard:
    """A set of tiles in one element; a touch on a tile calls ``on_open(chute)``."""

    def __init__(
        self,
        views: Sequence[ChuteView],
        on_open: Callable[[int], None],
        *,
        big: bool = False,
        layout: Callable[[ChuteView], str] | None = None,
        classes: str = "row gap-3",
        testid: str = "chute-board",
    ):
        self.big = big
        self.layout = layout
        self.views: tuple[ChuteView, ...] = ()
        self.element = ui.html("", sanitize=False).classes(classes).props(f'data-testid="{testid}"')

        def clicked(event: GenericEventArguments) -> None:
            try:
                on_open(int(event.args))
            except (TypeError, ValueError):
                return

        self.element.on("click", clicked, js_handler=_EMIT_CHUTE)
        self.show(views)

    def show(self, views: Sequence[ChuteView]) -> None:
        """Draw ``views``; nothing is sent to the browser when none changed."""
        views = tuple(views)
        if views == self.views:
            return
        self.views = views
        html = "".join(tile_html(v, self.big, self.layout(v) if self.layout else "") for v in views)
        self.element.set_content(html)
