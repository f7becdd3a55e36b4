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
from hmi.layout import confirm, page_dialog, set_text
from hmi.sessions import Session

_GREEN, _ORANGE, _GREY, _RED = "#009E73", "#E69F00", "#3a4a5c", "#D55E00"


def _tile_colour(cubby: dict[str, Any]) -> str:
    if cubby["pending"]:
        return _GREEN
    if cubby["full"] or cubby["complete"]:
        return _ORANGE
    return _GREY


def _state(cubby: dict[str, Any]) -> str:
    """The cubby's state in a word (colour is never the only cue)."""
    if not cubby["online"]:
        return "OFFLINE"
    if cubby["pending"]:
        return "PUT HERE"
    if cubby["full"]:
        return "closed"
    return "open" if cubby["group"] else "free"


def _group_text(group: list[Any] | None) -> str:
    if not group:
        return "no stop"
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
            button.props("color=primary" if wall["id"] == wall_id else "outline")
    with ui.row().classes("w-full gap-4 items-center no-wrap"):
        scan = ui.input("Scan a parcel or a container").classes("grow").style("max-width:520px")
        scan.props(
            'outlined autofocus input-class="text-2xl" label-color="grey-4" data-testid="wall-scan"'
        ).mark("wall-scan")
        status = ui.label("").classes("text-2xl font-bold").props('data-testid="wall-status"')

    async def scanned(session_: Session) -> None:
        code = (scan.value or "").strip()
        scan.set_value("")
        if not code:
            return
        step = await service.scan(wall_id, code, source=f"hmi:{session_.user}")
        said = "; ".join(
            " ".join(str(x) for x in (r.kind.replace("_", " "), r.cubby, r.reason) if x)
            for r in step.records
        )
        if not said:
            pending = next(w for w in service.snapshot() if w["id"] == wall_id)["pending"]
            if pending is not None and pending["parcel_id"] == code:
                said = f"put it in {pending['cubby']} (green light)"
        set_text(status, f"{code}: {said or 'done'}")

    scan.on("keydown.enter", action(hmi, scanned, supervisor=False))
    counts = ui.label("").classes("text-lg opacity-90").props('data-testid="wall-counts"')
    grid = (
        ui.element("div")
        .classes("w-full")
        .style("display:grid;grid-template-columns:repeat(auto-fill,minmax(140px,1fr));gap:10px")
    )
    grid.props('data-testid="cubby-grid"')
    tiles: dict[str, tuple[ui.column, ui.label, ui.label, ui.label]] = {}
    shown: dict[str, tuple[str, int, str]] = {}
    with grid:
        for first in next(w for w in walls if w["id"] == wall_id)["cubbies"]:
            with (
                ui.column()
                .classes("p-2 gap-0 cursor-pointer rounded ls-cubby")
                .props(f'data-testid="cubby-{first["id"]}"')
                .on("click", lambda _e, cid=first["id"]: cubby_menu(cid))
            ) as tile:
                ui.label(first["id"]).classes("text-xl font-bold")
                group = ui.label().classes("text-base")
                count = ui.label().classes("text-3xl font-bold")
                state = ui.label().classes("text-base")
            tiles[first["id"]] = (tile, group, count, state)
    with ui.row().classes("w-full gap-6 items-start mt-2"):
        with ui.column().classes("ls-panel grow"):
            ui.label("Last events").classes("ls-kpi-label")
            events = ui.column().classes("gap-0").props('data-testid="wall-events"')
        with ui.column().classes("ls-panel"):
            ui.label("Held containers").classes("ls-kpi-label")
            held = ui.column().classes("gap-2").props('data-testid="held-containers"')

    def cubby_menu(cubby_id: str) -> None:
        if not session.may_act:
            ui.notify("Supervisors only: you are logged in as a viewer.", type="warning")
            return
        wall = next(w for w in service.snapshot() if w["id"] == wall_id)
        cubby = next(c for c in wall["cubbies"] if c["id"] == cubby_id)

        async def close(_s: Session) -> None:
            await service.close_cubby(wall_id, cubby["id"], _s.actor)

        async def free(_s: Session) -> None:
            await service.reassign(wall_id, cubby["id"], None, _s.actor)

        with page_dialog() as dialog, ui.card().classes("p-6"):
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
        for cubby in wall["cubbies"]:
            tile, group, count, state = tiles[cubby["id"]]
            border = "" if cubby["online"] else f"outline:5px dashed {_RED};"
            style = f"background:{_tile_colour(cubby)};min-height:110px;color:#fff;{border}"
            look = (style, cubby["parcels"], _state(cubby))
            if shown.get(cubby["id"]) != look:  # only changes go to the browser
                shown[cubby["id"]] = look
                tile.style(replace=style)
                tile.props(f'data-parcels={cubby["parcels"]} data-state="{_state(cubby)}"')
            set_text(group, _group_text(cubby["group"]))
            set_text(count, f"{cubby['parcels']}/{cubby['capacity']}")
            set_text(state, _state(cubby))
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

    ui.timer(1.0, refresh, immediate=True)
