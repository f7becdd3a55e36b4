"""Shift report: KPIs for a chosen period on screen, and the same as a CSV download."""

from __future__ import annotations

import time
from datetime import datetime, timedelta
from typing import Any

from nicegui import ui

from controller.errors import ControllerError
from hmi.context import Hmi, plain
from hmi.sessions import Session

PERIODS = {
    "shift": "Last 8 hours",
    "today": "Today since 00:00",
    "hour": "Last hour",
    "custom": "From … to …",
}


def period_bounds(choice: str, start: str, end: str, now: datetime) -> tuple[float, float]:
    """The period as epoch seconds; ``start``/``end`` (``YYYY-MM-DD HH:MM``) for custom.

    Raises ValueError with the field in words when the custom period is not valid.
    """
    if choice == "hour":
        return (now - timedelta(hours=1)).timestamp(), now.timestamp()
    if choice == "today":
        midnight = now.replace(hour=0, minute=0, second=0, microsecond=0)
        return midnight.timestamp(), now.timestamp()
    if choice == "custom":
        try:
            since = datetime.strptime(start.strip(), "%Y-%m-%d %H:%M")
        except ValueError:
            raise ValueError(f"From: {start!r} is not a time like 2026-11-22 06:00") from None
        try:
            until = datetime.strptime(end.strip(), "%Y-%m-%d %H:%M")
        except ValueError:
            raise ValueError(f"To: {end!r} is not a time like 2026-11-22 14:00") from None
        if until <= since:
            raise ValueError("To must be after From")
        return since.timestamp(), until.timestamp()
    return (now - timedelta(hours=8)).timestamp(), now.timestamp()


def _rows(data: dict[str, Any], prefix: str = "") -> list[dict[str, str]]:
    """A nested KPI dict flattened to (KPI, value) rows."""
    rows = []
    for key, value in data.items():
        name = f"{prefix}{key}".replace("_", " ")
        if isinstance(value, dict):
            rows.extend(_rows(value, f"{prefix}{key} · "))
        elif isinstance(value, float):
            rows.append({"kpi": name, "value": f"{value:,.2f}"})
        else:
            rows.append(
                {
                    "kpi": name,
                    "value": "–"
                    if value is None
                    else f"{value:,}"
                    if isinstance(value, int)
                    else str(value),
                }
            )
    return rows


def _fmt(value: object, unit: str = "") -> str:
    if value is None:
        return "–"
    if isinstance(value, float):
        return f"{value:,.1f}{unit}"
    return f"{value:,}{unit}" if isinstance(value, int) else f"{value}{unit}"


def _duration(seconds: float) -> str:
    minutes = round(seconds / 60)
    return f"{minutes // 60} h {minutes % 60:02d} min" if minutes >= 60 else f"{minutes} min"


def _draw(data: dict[str, Any], tiles: ui.row, rejects: ui.column, downtime: ui.column) -> None:
    """The headline KPIs as tiles, rejects by reason and downtime by cause as lists."""
    headline = (
        ("Parcels", _fmt(data["parcels"]["inducted"])),
        ("Throughput / h running", _fmt(round(data["throughput"]["parcels_per_h_running"] or 0))),
        ("Read rate", _fmt(data["read"]["read_rate_pct"], " %")),
        ("Reject rate", _fmt(data["rejects"]["reject_rate_pct"], " %")),
        ("Weighed and measured", _fmt(data["measurement"]["with_both_pct"], " %")),
        ("Availability", _fmt(data["period"]["availability_pct"], " %")),
        ("Downtime", _duration(data["period"]["downtime_s"])),
    )
    tiles.clear()
    with tiles:
        for label, value in headline:
            with ui.column().classes("ls-panel gap-0 min-w-[150px]"):
                ui.label(label).classes("ls-kpi-label")
                ui.label(value).classes("text-3xl font-bold")
    rejects.clear()
    with rejects:
        ui.label("Rejects by reason").classes("ls-kpi-label")
        counts = data["rejects_by_reason_count"]
        if not counts:
            ui.label("none").classes("text-lg")
        for reason, count in sorted(counts.items(), key=lambda kv: -kv[1]):
            pct = data["rejects_by_reason_pct"].get(reason)
            ui.label(f"{reason.replace('_', ' ')}: {count:,} ({_fmt(pct, ' %')})").classes(
                "text-lg"
            )
    downtime.clear()
    with downtime:
        ui.label("Downtime by cause").classes("ls-kpi-label")
        causes = data["downtime_by_cause_s"]
        if not causes:
            ui.label("none").classes("text-lg")
        for cause, seconds in sorted(causes.items(), key=lambda kv: -kv[1]):
            ui.label(f"{cause}: {_duration(seconds)}").classes("text-lg")


def build(hmi: Hmi, session: Session) -> None:
    """The report page's content."""
    now = datetime.now()
    with ui.row().classes("w-full items-end gap-3"):
        period = ui.toggle(PERIODS, value="shift").props('data-testid="report-period"')
        start = ui.input("From", value=(now - timedelta(hours=8)).strftime("%Y-%m-%d %H:%M"))
        end = ui.input("To", value=now.strftime("%Y-%m-%d %H:%M"))
        show = (
            ui.button("Show", icon="assessment")
            .classes("ls-touch")
            .props('color=primary data-testid="report-show"')
        )
        csv_button = (
            ui.button("Download CSV", icon="download")
            .classes("ls-touch")
            .props('data-testid="report-csv"')
        )
    heading = ui.label().classes("text-xl font-bold")
    tiles = ui.row().classes("w-full gap-3").props('data-testid="report-kpis"')
    with ui.row().classes("w-full gap-3 items-start no-wrap"):
        rejects = ui.column().classes("ls-panel gap-1 grow").props('data-testid="report-rejects"')
        downtime = ui.column().classes("ls-panel gap-1 grow").props('data-testid="report-downtime"')
    ui.label("Every figure").classes("ls-kpi-label mt-2")
    table = (
        ui.table(
            columns=[
                {"name": "kpi", "label": "KPI", "field": "kpi", "align": "left"},
                {"name": "value", "label": "Value", "field": "value", "align": "right"},
            ],
            rows=[],
            row_key="kpi",
            pagination=0,
        )
        .classes("w-full")
        .props('dense data-testid="report-table"')
    )
    current: dict[str, Any] = {}

    async def load() -> None:
        try:
            since, until = period_bounds(
                period.value, start.value or "", end.value or "", datetime.now()
            )
            report = await hmi.line.shift_report(since, until)
        except ValueError as err:
            ui.notify(str(err), type="warning")
            return
        except ControllerError as err:
            ui.notify(plain(err), type="negative", multi_line=True)
            return
        current["report"] = report
        current["span"] = (since, until)
        heading.set_text(
            "From "
            + time.strftime("%Y-%m-%d %H:%M", time.localtime(since))
            + " to "
            + time.strftime("%Y-%m-%d %H:%M", time.localtime(until))
        )
        data = report.to_dict()
        _draw(data, tiles, rejects, downtime)
        table.rows = _rows(data)
        table.update()

    async def download() -> None:
        if "report" not in current:
            await load()
        report = current.get("report")
        if report is None:
            return
        since, until = current["span"]
        name = "lanesort-shift-{}-{}-{}.csv".format(
            hmi.line.config.line.name,
            time.strftime("%Y%m%d-%H%M", time.localtime(since)),
            time.strftime("%Y%m%d-%H%M", time.localtime(until)),
        )
        # bytes with a BOM: spreadsheets then read the UTF-8 text right
        ui.download.content(report.to_csv().encode("utf-8-sig"), name, "text/csv")

    show.on_click(load)
    csv_button.on_click(download)
    ui.timer(0.1, load, once=True)
