"""Put walls: the cubbies as the lights show them, a scan field, the last scans and wrong puts.

Made for a 10-inch touch screen at the wall: big cubby tiles (green = put here, orange =
container closed/complete, red outline = module offline), a scan field that takes a
keyboard-wedge scanner's input, and the supervisor's actions (close a cubby's container,
free a cubby, release a held container) behind a confirmation; each is audited.
"""

from __future__ import annotations

import asyncio
import time
from typing import Any

from nicegui import ui

from controller.putwall.records import read_wall_events
from hmi.context import Hmi, action
from hmi.layout import confirm
from hmi.sessions import Session

_GREEN, _ORANGE, _GREY, _RED = "#009E73", "#E69F00", "#3a4a5c", "#D55E00"


def _tile_colour(cubby: dict[str, Any]) -> str:
    if cubby["pending"]:
        return _GREEN
    if cubby["full"] or cubby["complete"]:
        return _ORANGE
    return _GREY


def _group_text(group: list[Any] | None) -> str:
    if not group:
        return "free"
    route, stop, consignee = group
    return f"{route} stop {stop}" + (f" · {consignee}" if consignee else "")


def build(hmi: Hmi, session: Session, wall_id: str | None = None) -> None:
    """One wall (the first if none is named), with a tab per wall."""
    service = hmi.line.putwall
    walls = service.snapshot()
    if not walls:
        ui.label("This line has no put wall (putwall.walls in the line config).").classes(
            "text-2xl"
        )
        return
    wall_id = wall_id if any(w["id"] == wall_id for w in walls) else walls[0]["id"]
    with ui.row().classes("gap-2"):
        for wall in walls:
            button = ui.button(
                f"Wall {wall['id']}", on_click=lambda w=wall["id"]: ui.navigate.to(f"/putwall/{w}")
            ).classes("ls-touch")
            if wall["id"] == wall_id:
                button.props("color=primary")
    with ui.row().classes("w-full gap-4 items-center"):
        scan = ui.input("Scan a parcel or a container").classes("text-2xl grow")
        scan.props('autofocus clearable data-testid="wall-scan"').mark("wall-scan")
        status = ui.label("").classes("text-xl").props('data-testid="wall-status"')

    async def scanned(session_: Session) -> None:
        code = (scan.value or "").strip()
        scan.value = ""
        if code:
            step = await service.scan(wall_id, code, source=f"hmi:{session_.user}")
            status.text = ", ".join(f"{r.kind} {r.reason}".strip() for r in step.records) or (
                f"{code}: light on"
            )

    scan.on("keydown.enter", action(hmi, scanned, supervisor=False))
    counts = ui.label("").classes("text-lg opacity-90").props('data-testid="wall-counts"')
    grid = (
        ui.element("div")
        .classes("w-full")
        .style("display:grid;grid-template-columns:repeat(auto-fill,minmax(130px,1fr));gap:10px")
    )
    grid.props('data-testid="cubby-grid"')
    with ui.row().classes("w-full gap-6 items-start mt-2"):
        with ui.column().classes("ls-panel grow"):
            ui.label("Last events").classes("ls-kpi-label")
            events = ui.column().classes("gap-0").props('data-testid="wall-events"')
        with ui.column().classes("ls-panel"):
            ui.label("Held containers").classes("ls-kpi-label")
            held = ui.column().classes("gap-2").props('data-testid="held-containers"')

    def cubby_menu(cubby: dict[str, Any]) -> None:
        if not session.may_act:
            ui.notify("Supervisors only: you are logged in as a viewer.", type="warning")
            return

        async def close(_s: Session) -> None:
            await service.close_cubby(wall_id, cubby["id"], _s.actor)

        async def free(_s: Session) -> None:
            await service.reassign(wall_id, cubby["id"], None, _s.actor)

        with ui.dialog() as dialog, ui.card().classes("p-6"):
            ui.label(f"Cubby {cubby['id']} · {_group_text(cubby['group'])}").classes("text-2xl")
            ui.label(f"{cubby['parcels']} of {cubby['capacity']} parcels").classes("text-lg")
            with ui.row().classes("gap-3 mt-3"):
                ui.button(
                    "Close container",
                    on_click=lambda: (
                        dialog.close(),
                        confirm(
                            f"Close the container of {cubby['id']}?",
                            "Its label prints and it goes to the check scale.",
                            action(hmi, close, done="Container closed"),
                        ),
                    ),
                ).classes("ls-touch").props('data-testid="cubby-close"')
                ui.button(
                    "Free the cubby",
                    on_click=lambda: (
                        dialog.close(),
                        confirm(
                            f"Free cubby {cubby['id']}?",
                            "Only an empty cubby can be freed; its stop takes another one.",
                            action(hmi, free, done="Cubby freed"),
                        ),
                    ),
                ).classes("ls-touch").props('data-testid="cubby-free"')
                ui.button("Cancel", on_click=dialog.close).props("flat").classes("ls-touch")
        dialog.open()

    def release(container_id: str) -> None:
        async def do(_s: Session) -> None:
            await service.closeout.release(container_id, _s.actor, "released on the HMI")

        confirm(
            f"Release container {container_id}?",
            "Its weight did not match its parcels. Release it only after checking its content.",
            action(hmi, do, done=f"{container_id} released"),
            yes_text="Release",
        )

    async def refresh() -> None:
        wall = next(w for w in service.snapshot() if w["id"] == wall_id)
        c = wall["counts"]
        counts.text = (
            f"put {c.get('put', 0)} · wrong puts {c.get('wrong_put', 0)} · short "
            f"{c.get('short', 0)} · exceptions {c.get('exception', 0)} · stops complete "
            f"{c.get('stop_complete', 0)}" + ("" if wall["link_up"] else " · LIGHTS OFFLINE")
        )
        grid.clear()
        with grid:
            for cubby in wall["cubbies"]:
                border = "" if cubby["online"] else f"outline:4px solid {_RED};"
                with (
                    ui.column()
                    .classes("p-2 gap-0 cursor-pointer rounded")
                    .style(f"background:{_tile_colour(cubby)};min-height:96px;{border}")
                    .props(f'data-testid="cubby-{cubby["id"]}"')
                    .on("click", lambda _e, cb=cubby: cubby_menu(cb))
                ):
                    ui.label(cubby["id"]).classes("text-lg font-bold")
                    ui.label(_group_text(cubby["group"])).classes("text-sm")
                    ui.label(f"{cubby['parcels']}/{cubby['capacity']}").classes("text-2xl")
        rows = await asyncio.to_thread(read_wall_events, hmi.line.journal.path, wall_id, 15)
        events.clear()
        with events:
            for row in rows:
                when = time.strftime("%H:%M:%S", time.localtime(row["time"]))
                text = f"{when} {row['kind']} {row['parcel_id'] or row['container_id'] or ''}"
                label = ui.label(f"{text} {row['cubby'] or ''} {row['reason'] or ''}")
                if row["kind"] in ("wrong_put", "exception", "weight_mismatch"):
                    label.style(f"color:{_ORANGE}")
        held.clear()
        with held:
            holds = [
                c
                for c in service.closeout.containers.values()
                if c.wall == wall_id and c.state == "held"
            ]
            if not holds:
                ui.label("none")
            for container in holds:
                ui.button(
                    f"{container.id}: {container.measured_kg} kg, expected {container.expected_kg}",
                    on_click=lambda _e=None, cid=container.id: release(cid),
                ).classes("ls-touch").props(f'data-testid="release-{container.id}"')

    ui.timer(1.0, refresh)
