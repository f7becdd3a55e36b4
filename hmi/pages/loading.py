"""Loading: every truck's progress, and one door's load in sequence with what is missing.

For a 10-inch touch screen at the dock: the truck at the door, its load plan in loading
order (last stop first) with each unit's state and load position, a scan field for a
keyboard-wedge scanner, what is not loaded and why, the load sheet as CSV and PDF, and
the supervisor's close of a truck (what is not there did not arrive) behind a
confirmation.
"""

from __future__ import annotations

from typing import Any

from nicegui import ui

from hmi.context import Hmi, action
from hmi.layout import confirm, set_text
from hmi.sessions import Session

_STATE_COLOUR = {"loaded": "#009E73", "held": "#D55E00", "closed": "#E69F00"}


def build(hmi: Hmi, session: Session, truck_id: str | None = None) -> None:
    """The trucks as tiles; with ``truck_id``, that truck's load."""
    loading = hmi.line.loading
    trucks = loading.overview()
    if not trucks:
        ui.label("No route plan yet: the TMS sends the trucks and their doors.").classes("text-2xl")
        return
    with ui.row().classes("gap-2").props('data-testid="truck-tiles"'):
        for truck in trucks:
            text = (
                f"{truck['truck']} · door {truck['door']} · {truck['loaded']}/"
                f"{truck['expected']} · {truck['state']}"
            )
            button = (
                ui.button(text, on_click=lambda t=truck["truck"]: ui.navigate.to(f"/loading/{t}"))
                .classes("ls-touch")
                .props(f'data-testid="truck-{truck["truck"]}" data-state="{truck["state"]}"')
            )
            button.props("color=primary" if truck["truck"] == truck_id else "outline")
    if truck_id is None or all(t["truck"] != truck_id for t in trucks):
        ui.label("Touch a truck to see its load.").classes("text-lg opacity-80")
        return
    status = loading.status(truck_id)
    door = status["door"]
    with ui.row().classes("w-full gap-4 items-center"):
        scan = ui.input(f"Scan at door {door}").classes("grow").style("max-width:420px")
        scan.props(
            'outlined autofocus input-class="text-2xl" label-color="grey-4" data-testid="door-scan"'
        ).mark("door-scan")
        verdict = ui.label("").classes("text-2xl font-bold").props('data-testid="door-verdict"')
        for fmt in ("csv", "pdf"):
            ui.button(
                f"Load sheet {fmt.upper()}",
                icon="download",
                on_click=action(hmi, lambda _s, f=fmt: _download(f), supervisor=False),
            ).classes("ls-touch").props(f'data-testid="sheet-{fmt}"')

    async def _download(fmt: str) -> None:
        if fmt == "pdf":
            data, media = await loading.sheet_pdf(truck_id), "application/pdf"
        else:
            data, media = loading.sheet_csv(truck_id).encode("utf-8-sig"), "text/csv"
        ui.download.content(data, f"load-sheet-{truck_id}.{fmt}", media)

    async def scanned(_s: Session) -> None:
        code = (scan.value or "").strip()
        scan.set_value("")
        if not code:
            return
        if not door:
            verdict.set_text(f"{code}: truck {truck_id} has no dock door in the route plan")
            return
        result = await loading.scan(door, code, source=f"hmi:{_s.user}")
        verdict.set_text(f"{code}: {result.kind.replace('_', ' ')} {result.reason or ''}".strip())
        refresh()

    scan.on("keydown.enter", action(hmi, scanned, supervisor=False))
    summary = ui.label("").classes("text-lg").props('data-testid="truck-summary"')
    table = ui.column().classes("w-full gap-1").props('data-testid="load-rows"')
    with ui.column().classes("ls-panel w-full"):
        ui.label("Not loaded, and why").classes("ls-kpi-label")
        missing = ui.column().classes("gap-0").props('data-testid="not-loaded"')

    async def close(_s: Session) -> None:
        await loading.close_truck(truck_id, _s.actor, "closed on the HMI")
        refresh()

    closer = ui.button(
        "Close the truck",
        icon="local_shipping",
        on_click=lambda: confirm(
            f"Close truck {truck_id}?",
            "Parcels not loaded now are reported as not arrived; truck.loaded goes to the TMS.",
            action(hmi, close, done=f"Truck {truck_id} closed"),
            yes_text="Close",
        ),
    ).classes("ls-touch mt-2")
    closer.props('data-testid="truck-close"')
    if not session.may_act:
        closer.disable()
    shown: dict[str, Any] = {}

    def refresh() -> None:
        now: dict[str, Any] = loading.status(truck_id)
        outcomes = now["outcomes"]
        others = ", ".join(f"{k} {v}" for k, v in sorted(outcomes.items()) if k != "loaded")
        set_text(
            summary,
            f"{now['state']}: {outcomes.get('loaded', 0)} of {now['expected']} parcels loaded"
            + (f"; {others}" if others else ""),
        )
        if now["state"] == "loaded" and closer.enabled:
            closer.disable()
        if shown.get("rows") != now["rows"]:  # rebuilt only when a row changed
            shown["rows"] = now["rows"]
            table.clear()
            with table:
                if not now["rows"]:
                    ui.label("No container for this truck has left its wall yet.")
                for row in now["rows"]:
                    _load_row(row)
        if shown.get("missing") != now["not_loaded"]:
            shown["missing"] = now["not_loaded"]
            missing.clear()
            with missing:
                items = now["not_loaded"]
                if not items:
                    ui.label("nothing")
                for item in items[:50]:
                    reason = item.get("reason") or ""
                    ui.label(f"{item.get('parcel_id')}: {item.get('outcome')} {reason}")
                if len(items) > 50:
                    ui.label(f"… and {len(items) - 50} more (see the load sheet)")

    refresh()
    ui.timer(1.0, refresh)


def _load_row(row: dict[str, Any]) -> None:
    """One unit of the load plan: order, load zone, stops, route, unit, parcels, state."""
    colour = _STATE_COLOUR.get(row["state"], "#3a4a5c")
    stops = ",".join(map(str, row["stops"]))
    ink = "#111" if row["state"] == "closed" else "#fff"  # dark text on orange
    with (
        ui.row()
        .classes("w-full items-center gap-4 px-3 rounded text-lg no-wrap")
        .style(f"background:{colour};color:{ink};min-height:48px")
        .props(f'data-testid="load-row-{row["unit_id"]}" data-state="{row["state"]}"')
    ):
        ui.label(f"{row['order']}.").classes("text-2xl font-bold w-10")
        ui.label(row["position"] or "").classes("w-24 uppercase")
        ui.label(f"{row['route']} stop {stops}").classes("w-48")
        ui.label(row["unit_id"]).classes("grow font-mono")
        ui.label(f"{row['parcels']} parcels").classes("w-28")
        ui.label(row["state"]).classes("w-24 font-bold uppercase")
