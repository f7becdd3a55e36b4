"""The AS/RS buffer and the containers on their way to the trucks; where is container X.

The buffer's device and link, how many containers it holds and where (container →
storage location), the store and retrieve orders not finished, the active faults; the
trucks at their doors; every container on its way (phase, location in words, why it is
stuck) with a supervisor's Retry for a stuck one (confirmation with a reason, audited by
the transport); and a lookup: where a container is now and every place it has been,
oldest first, read from the journal off the event loop.
"""

from __future__ import annotations

import asyncio
import time
from typing import Any

from nicegui import ui

from controller.errors import ControllerError
from controller.transport.locations import read_history
from hmi.context import Hmi, plain
from hmi.layout import GREEN, ORANGE, VERMILLION, confirm_with_reason, kpi, set_text
from hmi.sessions import Session

_PHASE_COLOUR = {"stuck": VERMILLION, "loaded": GREEN, "stored": "#0072B2"}


def _clock(epoch: float) -> str:
    return time.strftime("%H:%M:%S", time.localtime(epoch))


def build(hmi: Hmi, session: Session) -> None:
    """The AS/RS page (or why there is none)."""
    line = hmi.line
    transport, buffer = line.transport, line.buffer
    if transport is None:
        ui.label(
            "This line has no container transport (fleet.enabled in the line config)."
        ).classes("text-2xl")
        return
    with ui.row().classes("w-full gap-3 items-stretch"):
        device = kpi("AS/RS", "asrs-device")
        link = kpi(f"Link to {buffer.driver.address}" if buffer else "Link", "asrs-link")
        stored = kpi("Containers stored", "asrs-stored")
        docked_kpi = kpi("Trucks at their doors", "asrs-docked")
    faults = ui.label("").classes("text-xl font-bold").props('data-testid="asrs-faults"')
    with ui.row().classes("w-full gap-4 items-center"):
        query = ui.input("Where is container …").classes("grow").style("max-width:420px")
        query.props('outlined input-class="text-2xl" label-color="grey-4"').mark("where-input")
        query.props('data-testid="where-input"')
        ui.button("Look up", icon="search", on_click=lambda: lookup()).classes("ls-touch").props(
            'data-testid="where-submit"'
        ).mark("where-submit")
    found = ui.column().classes("ls-panel w-full gap-1").props('data-testid="where-result"')
    found.set_visibility(False)
    with ui.row().classes("w-full gap-4 items-start no-wrap"):
        with ui.column().classes("ls-panel grow"):
            ui.label("On their way to the truck").classes("ls-kpi-label")
            moving = ui.column().classes("w-full gap-1").props('data-testid="asrs-moving"')
        with ui.column().classes("ls-panel").style("min-width:340px"):
            ui.label("Stored (container → location)").classes("ls-kpi-label")
            contents = ui.column().classes("gap-0 font-mono").props('data-testid="asrs-contents"')
            ui.label("Orders not finished").classes("ls-kpi-label mt-3")
            pending = ui.column().classes("gap-0").props('data-testid="asrs-pending"')
    shown: dict[str, Any] = {}

    async def lookup() -> None:
        container_id = (query.value or "").strip()
        if not container_id:
            return
        now = transport.where(container_id)
        try:
            history = await asyncio.to_thread(read_history, line.journal.path, container_id)
        except ControllerError as err:
            ui.notify(f"The journal cannot be read now: {plain(err)}", type="negative")
            return
        carriage = transport.carriages.get(container_id)
        found.clear()
        found.set_visibility(True)
        with found:
            if now is None and not history:
                ui.label(
                    f"Container {container_id} is not known to the transport: it never left a "
                    "put wall of this line for a truck."
                ).classes("text-xl").props('data-testid="where-unknown"').mark("where-unknown")
                return
            here = now.as_dict() if now is not None else history[-1]
            ui.label(f"{container_id}: {here['text']}").classes("text-2xl font-bold").props(
                'data-testid="where-now"'
            ).mark("where-now")
            detail = f"since {_clock(here['since'])}"
            if carriage is not None:
                detail += f" · truck {carriage.truck} · {carriage.phase}"
                if carriage.stuck_reason:
                    detail += f" · stuck: {carriage.stuck_reason}"
            ui.label(detail).classes("text-lg")
            ui.label("History, oldest first").classes("ls-kpi-label mt-2")
            if not history:
                ui.label("not journaled yet").classes("opacity-80")
            for step in history:
                task = f" (task {step['task_id']})" if step["task_id"] else ""
                note = f" · {step['note']}" if step["note"] else ""
                ui.label(f"{_clock(step['since'])} {step['text']}{task}{note}").props(
                    'data-testid="where-step"'
                ).mark("where-step")

    query.on("keydown.enter", lookup)

    def ask_retry(container_id: str, reason: str) -> None:
        def do(s: Session, why: str) -> None:
            transport.retry(container_id, s.actor, why)
            refresh()

        confirm_with_reason(
            hmi,
            f"Retry container {container_id}?",
            f"It is stuck: {reason}. Retry only once the cause is solved; it goes on from "
            "where it was last known.",
            do,
            yes_text="Retry",
            done=f"{container_id} moves on",
        )

    def refresh() -> None:
        snap = transport.snapshot()
        docked = snap["docked"]
        set_text(
            docked_kpi,
            ", ".join(f"{t} at {d or 'its door'}" for t, d in sorted(docked.items())) or "none",
        )
        if buffer is None:
            set_text(device, "none")
            set_text(link, "–")
            set_text(stored, "–")
            set_text(faults, "This line has no AS/RS buffer (buffer.asrs): containers wait at "
                     "their wall until their truck is at its door.")  # fmt: skip
            box: dict[str, Any] = {"contents": {}, "pending": []}
        else:
            box = buffer.snapshot()
            set_text(device, box["device"])
            state = "UP" if box["link_up"] else f"DOWN: {box['link_error'] or 'not connected'}"
            set_text(link, state)
            link.style(f"color:{GREEN if box['link_up'] else VERMILLION}")
            set_text(stored, str(box["stored"]))
            text = "; ".join(f"{code}: {why}" for code, why in box["faults"].items())
            set_text(faults, f"FAULT {text}" if text else "No active fault.")
            faults.style(f"color:{ORANGE if text else GREEN}")
        if shown.get("contents") != (box["contents"], box["pending"]):
            shown["contents"] = (box["contents"], box["pending"])
            contents.clear()
            with contents:
                for hu, slot in box["contents"].items():
                    ui.label(f"{hu} → {slot}")
                if not box["contents"]:
                    ui.label("empty")
            pending.clear()
            with pending:
                for order in box["pending"]:
                    ui.label(f"{order['order_id']} {order['kind']} {order['container_id']} "
                             f"since {_clock(order['since'])}")  # fmt: skip
                if not box["pending"]:
                    ui.label("none")
        rows = [r for r in snap["containers"] if r["phase"] != "loaded"]
        rows.sort(key=lambda r: (r["phase"] != "stuck", r["truck"], r["container_id"]))
        if shown.get("rows") != rows:
            shown["rows"] = rows
            moving.clear()
            with moving:
                if not rows:
                    ui.label("No container on its way.").classes("text-lg opacity-80")
                for row in rows:
                    _moving_row(row, ask_retry if session.may_act else None)

    refresh()
    ui.timer(1.0, refresh)


def _moving_row(row: dict[str, Any], retry: Any) -> None:
    """One container on its way: id, truck, phase, where (in words), why it is stuck."""
    where = row["location"]["text"] if row["location"] else "location not known"
    with (
        ui.row()
        .classes("w-full items-center gap-4 px-3 rounded text-lg no-wrap")
        .style(f"background:{_PHASE_COLOUR.get(row['phase'], '#2a3340')};min-height:52px")
        .props(f'data-testid="moving-{row["container_id"]}" data-phase="{row["phase"]}"')
    ):
        ui.label(row["container_id"]).classes("w-40 font-mono")
        ui.label(f"truck {row['truck']}").classes("w-28")
        ui.label(row["phase"].replace("_", " ").upper()).classes("w-32 font-bold")
        ui.label(where + (f" · {row['stuck_reason']}" if row["stuck_reason"] else "")).classes(
            "grow"
        )
        if retry is not None and row["phase"] == "stuck":
            ui.button(
                "Retry",
                icon="replay",
                on_click=lambda _e=None, c=row["container_id"], r=row["stuck_reason"]: retry(c, r),
            ).classes("ls-touch").props(
                f'color=white text-color=black data-testid="retry-{row["container_id"]}"'
            ).mark(f"retry-{row['container_id']}")
