"""Chutes: the grid, and one chute's page with enable/disable, close-out and route moves."""

from __future__ import annotations

import time

from nicegui import ui

from hmi.chute_board import ChuteBoard, describe
from hmi.context import Hmi, action
from hmi.feed import ChuteView
from hmi.layout import confirm, page_dialog
from hmi.sessions import Session


def _view(hmi: Hmi, chute: int) -> ChuteView | None:
    return next((v for v in hmi.feed.state.chutes if v.id == chute), None)


def build_grid(hmi: Hmi, session: Session) -> None:
    """Every chute as a big tile; a touch opens the chute."""
    ui.label("Touch a chute to open it.").classes("text-base opacity-80")
    board = ChuteBoard(
        hmi.feed.state.chutes,
        lambda chute: ui.navigate.to(f"/chutes/{chute}"),
        big=True,
        classes="row w-full gap-3",
        testid="chute-grid",
    )

    def refresh() -> None:
        board.show(hmi.feed.state.chutes)

    ui.timer(1.0, refresh)


def build_chute(hmi: Hmi, session: Session, chute: int) -> None:
    """One chute: its state, its actions and its last containers."""
    line = hmi.line
    view = _view(hmi, chute)
    if view is None:
        ui.label(f"There is no chute {chute} on this line.").classes("text-2xl")
        ui.button("All chutes", on_click=lambda: ui.navigate.to("/chutes")).classes("ls-touch")
        return
    with ui.row().classes("w-full gap-4 items-start"):
        tile = ChuteBoard([view], lambda _c: None, big=True, testid="chute-tile")
        with ui.column().classes("ls-panel gap-2 grow"):
            ui.label(f"Chute {chute}").classes("text-3xl font-bold")
            summary = (
                ui.label(describe(view)).classes("text-lg").props('data-testid="chute-summary"')
            )
            with ui.row().classes("gap-3"):
                toggle = ui.button().classes("ls-touch").props('data-testid="chute-toggle"')
                close = ui.button("Close out container", icon="inventory").classes("ls-touch")
                close.props('color=primary data-testid="chute-close-out"')
                move = ui.button("Move a route here", icon="alt_route").classes("ls-touch")
                move.props('data-testid="chute-move-route"')
            if not session.may_act:
                for button in (toggle, close, move):
                    button.disable()
                ui.label("Supervisors only: you are logged in as a viewer.").classes("opacity-80")
    ui.label("Containers closed at this chute").classes("ls-kpi-label mt-2")
    history = ui.column().classes("w-full gap-1").props('data-testid="container-history"')

    async def load_history() -> None:
        rows = await line.container_history(chute, 20)
        history.clear()
        with history:
            if not rows:
                ui.label("none yet")
            for row in rows:
                closed = row.get("closed")
                when = (
                    closed
                    if isinstance(closed, str)
                    else time.strftime("%Y-%m-%d %H:%M", time.localtime(closed or 0))
                )
                ui.label(
                    f"{when} · {row.get('parcels', 0)} parcels · route {row.get('route') or '—'}"
                    f" · closed by {row.get('closed_by') or '?'} · {row.get('id')}"
                ).classes("text-lg")

    async def set_enabled(who: Session, enabled: bool) -> None:
        line.set_chute_enabled(chute, enabled, who.actor)
        hmi.feed.refresh_now()
        ui.notify(f"Chute {chute} {'enabled' if enabled else 'disabled'}", type="positive")

    def ask_toggle() -> None:
        current = _view(hmi, chute)
        enable = current is not None and current.disabled_by_host
        if enable:
            confirm(
                f"Enable chute {chute}?",
                "Parcels of its route go to it again.",
                action(hmi, lambda who: set_enabled(who, True)),
                "Enable",
            )
        else:
            confirm(
                f"Disable chute {chute}?",
                "Its parcels go to the route's other chutes, or to the reject chute.",
                action(hmi, lambda who: set_enabled(who, False)),
                "Disable",
            )

    async def close_out(who: Session) -> None:
        record = line.close_container(chute, who.actor)
        hmi.feed.refresh_now()
        ui.notify(
            f"Container {record.id} of chute {chute} closed with {record.count} parcels",
            type="positive",
        )
        await load_history()

    toggle.on_click(ask_toggle)
    close.on_click(
        lambda: confirm(
            f"Close out the container of chute {chute}?",
            "The count restarts at 0; the container's parcel list is kept and sent to the TMS.",
            action(hmi, close_out),
            "Close out",
        )
    )
    move.on_click(lambda: _move_route_dialog(hmi, chute))

    def refresh() -> None:
        current = _view(hmi, chute)
        if current is None:
            return
        tile.show([current])
        text = describe(current)
        if summary.text != text:
            summary.set_text(text)
        label = "Enable chute" if current.disabled_by_host else "Disable chute"
        if toggle.text != label:
            toggle.set_text(label)
            toggle.props(f"icon={'check_circle' if current.disabled_by_host else 'block'}")

    refresh()
    ui.timer(1.0, refresh)
    ui.timer(0.1, load_history, once=True)


def _move_route_dialog(hmi: Hmi, chute: int) -> None:
    """Bind a route to this chute (the route's other chutes stay unless unticked)."""
    plan = hmi.line.plan.as_dict()
    if not plan:
        ui.notify("The sort plan has no routes.", type="warning")
        return
    with page_dialog() as dialog, ui.card().classes("p-6").style("min-width:520px"):
        ui.label(f"Move a route to chute {chute}").classes("text-2xl font-bold")
        ui.label(
            "The change goes through the same checks as the API's sort-plan edit: a chute "
            "carries routes of one truck only (several when the route plan puts them on the "
            "same truck); the reject chute carries none."
        ).classes("text-base opacity-90")
        route = ui.select(sorted(plan), label="Route", value=None).classes("w-full text-lg")
        route.props('data-testid="move-route-select"')
        keep = ui.checkbox("Keep the route's other chutes too", value=False)
        reason = ui.input("Why (kept in the plan's history)").classes("w-full")

        async def apply(who: Session) -> None:
            if not route.value:
                ui.notify("Choose a route first.", type="warning")
                return
            chutes = [chute]
            if keep.value:
                chutes = [c for c in plan.get(route.value, []) if c != chute] + [chute]
            version = await hmi.line.plan_service.patch(
                {route.value: chutes}, who.user, who.role, reason.value or None
            )
            hmi.line.audit.record(
                who.actor,
                "sort-plan.patch",
                f"route {route.value}",
                f"chutes {chutes}; version {version.version}",
            )
            dialog.close()
            ui.notify(
                f"Route {route.value} now goes to chute(s) {', '.join(map(str, chutes))} "
                f"(plan version {version.version})",
                type="positive",
            )

        with ui.row().classes("w-full justify-end gap-3 mt-4"):
            ui.button("Cancel", on_click=dialog.close).props("flat").classes("ls-touch")
            ui.button("Move route", on_click=action(hmi, apply)).props(
                'color=primary data-testid="move-route-apply"'
            ).classes("ls-touch").mark("move-route-apply")
    dialog.open()
