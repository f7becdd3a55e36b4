"""A chute drawn as a tile: id, route, state word and icon, fill bar, container count.

State is coded four ways so it reads without colour: the fill colour, the
outline (solid / white / dashed / double), an icon and a word.
"""

from __future__ import annotations

from collections.abc import Callable

from nicegui import ui

from hmi.feed import ChuteState, ChuteView

LOOK = {
    ChuteState.NORMAL: ("OK", "check"),
    ChuteState.FULL: ("FULL", "inventory_2"),
    ChuteState.DISABLED: ("OFF", "block"),
    ChuteState.JAMMED: ("JAM", "warning"),
}


def describe(view: ChuteView) -> str:
    """The chute's state in words, for a tooltip or a screen reader."""
    word = {
        ChuteState.NORMAL: "in service",
        ChuteState.FULL: "full (the PLC's full sensor)",
        ChuteState.DISABLED: "disabled by a supervisor",
        ChuteState.JAMMED: "taken out by the PLC (jam or local fault)",
    }[view.state]
    route = "reject chute" if view.reject else ("route " + ", ".join(view.routes) or "no route")
    return f"Chute {view.id}: {route}; {word}; {view.container_count} parcels in the container"


class ChuteTile:
    """One tile; :meth:`show` updates it only where the view changed."""

    def __init__(self, view: ChuteView, on_click: Callable[[int], None], big: bool = False):
        self.view: ChuteView | None = None
        self.big = big
        width, height = ("150px", "150px") if big else ("78px", "112px")
        self.root = (
            ui.column()
            .classes("ls-chute gap-0 items-center justify-between p-1 relative")
            .style(f"width:{width};height:{height}")
            .props(f'data-testid="chute-{view.id}" role="button"')
            .on("click", lambda: on_click(view.id))
        )
        with self.root:
            self.fill = ui.element("div").classes("ls-fill absolute bottom-0 left-0")
            with ui.row().classes("gap-1 items-center z-10"):
                self.icon = ui.icon("check").classes("text-xl")
                ui.label(str(view.id)).classes(
                    "text-2xl font-black" if big else "text-xl font-black"
                )
            self.route = ui.label().classes("text-sm z-10 truncate max-w-full")
            self.word = ui.label().classes("text-base font-black z-10")
            self.count = ui.label().classes("text-sm z-10")
            self.tooltip = ui.tooltip("")
        self.show(view)

    def show(self, view: ChuteView) -> None:
        """Draw ``view`` (no message to the browser when nothing changed)."""
        old = self.view
        if old == view:
            return
        self.view = view
        if old is None or old.state != view.state:
            for state in ChuteState:
                self.root.classes(remove=f"ls-chute-{state.value}")
            self.root.classes(f"ls-chute-{view.state.value}")
            word, icon = LOOK[view.state]
            self.word.set_text(word)
            self.icon.name = icon
            self.icon.update()
            self.root.props(f'data-state="{view.state.value}"')
        route = "REJECT" if view.reject else (" ".join(view.routes) or "—")
        if self.route.text != route:
            self.route.set_text(route)
        count = (
            f"{view.container_count} pcs"
            if not self.big
            else f"{view.container_count} in container"
        )
        if self.count.text != count:
            self.count.set_text(count)
        if old is None or round(old.fill, 2) != round(view.fill, 2):
            self.fill.style(f"height:{view.fill * 100:.0f}%")
        self.tooltip.text = describe(view)
        self.tooltip.update()
