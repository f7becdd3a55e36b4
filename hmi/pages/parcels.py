"""Parcel lookup: type or scan a barcode, see the parcel's whole story."""

from __future__ import annotations

import asyncio
import json
import time
from typing import Any
from urllib.parse import quote

from nicegui import ui

from controller.errors import ControllerError
from hmi.context import Hmi, plain
from hmi.layout import columns
from hmi.sessions import Session

UPSTREAM_WORDS = {
    "delivered": "delivered to the TMS",
    "pending": "waiting to be sent (retrying)",
    "dead": "NOT delivered: dead letter (replay from the API)",
}


def _when(epoch: float | None) -> str:
    if epoch is None:
        return "–"
    return (
        time.strftime("%Y-%m-%d %H:%M:%S", time.localtime(epoch))
        + f".{int(epoch * 1000) % 1000:03d}"
    )


def _detail(detail: dict[str, Any]) -> str:
    if not detail:
        return ""
    text = json.dumps(detail, ensure_ascii=False, separators=(", ", ": "))
    return text if len(text) < 400 else text[:400] + "…"


def build(hmi: Hmi, session: Session, barcode: str | None) -> None:
    """The lookup page; ``barcode`` from the address (``/parcels?barcode=…``) shows it at once."""
    with ui.row().classes("w-full items-end gap-3"):
        entry = (
            ui.input("Barcode (type or scan)", value=barcode or "")
            .props('autofocus clearable data-testid="barcode-input"')
            .classes("text-2xl grow")
        )
        find = (
            ui.button("Look up", icon="search")
            .classes("ls-touch")
            .props('color=primary data-testid="lookup"')
        )
    result = ui.column().classes("w-full gap-3").props('data-testid="parcel-result"')

    async def look_up() -> None:
        code = (entry.value or "").strip()
        result.clear()
        if not code:
            with result:
                ui.label("Type or scan a barcode first.").classes("text-lg")
            return
        try:
            parcel = await asyncio.to_thread(hmi.line.parcels.by_barcode, code)
        except ControllerError as err:
            with result:
                ui.label(plain(err)).classes("text-lg text-red-400")
            return
        with result:
            if parcel is None:
                ui.label(f"No parcel with barcode {code} has been on this line.").classes(
                    "text-xl"
                ).props('data-testid="parcel-none"')
                return
            _show(hmi, parcel)

    find.on_click(look_up)
    entry.on("keydown.enter", look_up)
    if barcode:
        ui.timer(0.05, look_up, once=True)


def _show(hmi: Hmi, p: dict[str, Any]) -> None:
    state = p["state"]
    with ui.row().classes("w-full gap-3 items-stretch"):
        with ui.column().classes("ls-panel gap-1 min-w-[320px]"):
            ui.label(p["barcode"] or "no barcode").classes("text-3xl font-bold").props(
                'data-testid="parcel-barcode"'
            )
            ui.label(f"State: {state}").classes("text-2xl").props('data-testid="parcel-state"')
            if p.get("reason"):
                ui.label(f"Reason: {p['reason'].replace('_', ' ')}").classes("text-xl")
            ui.label(f"Route {p.get('route') or '–'} · chute {p.get('chute') or '–'}").classes(
                "text-xl"
            ).props('data-testid="parcel-chute"')
            ui.label(f"Inducted {_when(p.get('inducted'))}").classes("text-base opacity-80")
            ui.label(f"Tracking id {p['tracking_id']} · parcel {p['parcel_id']}").classes(
                "text-base opacity-80"
            )
            if p.get("answer_ms") is not None:
                ui.label(f"Destination answered in {p['answer_ms']:.2f} ms").classes("text-base")
        with ui.column().classes("ls-panel gap-1 min-w-[320px]"):
            ui.label("Measurements").classes("ls-kpi-label")
            weight = p.get("weight_kg")
            dims = (p.get("length_mm"), p.get("width_mm"), p.get("height_mm"))
            ui.label(f"Weight {weight} kg" if weight is not None else "Weight: none").classes(
                "text-xl"
            )
            ui.label(
                "Size " + " × ".join(f"{d:g}" for d in dims) + " mm"
                if all(d is not None for d in dims)
                else "Size: none"
            ).classes("text-xl")
            measured = p.get("measurements") or {}
            for part in ("weight", "dimensions"):
                reading = measured.get(part) or {}
                if reading.get("raw"):
                    ui.label(f"{reading.get('device', part)} sent:").classes("text-sm opacity-80")
                    ui.label(repr(reading["raw"])).classes("text-sm font-mono break-all").props(
                        f'data-testid="raw-{part}"'
                    )
                for flag in reading.get("flags") or []:
                    ui.label(f"{part}: {flag}").classes("text-base")
        with (
            ui.column()
            .classes("ls-panel gap-1 min-w-[320px]")
            .props('data-testid="parcel-upstream"')
        ):
            ui.label("Reported to the TMS").classes("ls-kpi-label")
            rows = p.get("upstream") or []
            if not rows:
                ui.label("no events for the TMS (yet)").classes("text-lg")
            for row in rows:
                words = UPSTREAM_WORDS.get(row.get("state"), row.get("state"))
                attempts = row.get("attempts")
                error = row.get("last_error")
                ui.label(
                    f"{row.get('type')}: {words}"
                    + (f" after {attempts} attempt(s)" if attempts else "")
                ).classes("text-lg")
                if error and row.get("state") != "delivered":
                    ui.label(f"last error: {error}").classes("text-sm")
    images = p.get("images") or []
    if images:
        ui.label("Camera").classes("ls-kpi-label")
        with ui.row().classes("gap-3"):
            for image in images:
                url = f"parcel-image?path={quote(image['path'])}"
                with ui.column().classes("ls-panel gap-1"):
                    ui.image(url).classes("w-[560px]").props(
                        f'data-testid="parcel-image" alt="camera image from {image["device"]}"'
                    )
                    ui.label(f"{image['device']} · {_when(image.get('time'))}").classes("text-sm")
    table_columns = columns(
        time="Time",
        kind="Event",
        state="State",
        chute="Chute",
        reason="Reason",
        detail="Detail (reads, decision, device text)",
    )
    rows = [
        {
            "id": i,
            "time": _when(e["time"]),
            "kind": e["kind"],
            "state": e["state"],
            "chute": e.get("chute") or "",
            "reason": (e.get("reason") or "").replace("_", " "),
            "detail": _detail(e.get("detail") or {}),
        }
        for i, e in enumerate(p.get("events") or [])
    ]
    ui.label("History").classes("ls-kpi-label")
    ui.table(columns=table_columns, rows=rows, row_key="id").classes("w-full").props(
        'dense wrap-cells data-testid="parcel-events"'
    )
    others = p.get("other_passes") or []
    if others:
        ui.label(
            f"Earlier passes: {len(others)} ("
            + ", ".join(f"{_when(o['inducted'])} {o['state']}" for o in others[:5])
            + ")"
        ).classes("text-base opacity-80")
