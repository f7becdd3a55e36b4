"""Alarms (ISA-18.2): active with their state, acknowledge, shelve, history with filters."""

from __future__ import annotations

import time

from nicegui import ui

from controller.alarms import Alarm
from hmi.context import Hmi, action
from hmi.layout import BLUE, ORANGE, VERMILLION, PeriodSelect, columns, page_dialog
from hmi.sessions import Session

SEVERITY_LOOK = {
    "critical": (VERMILLION, "report", "CRITICAL"),
    "warning": (ORANGE, "warning", "WARNING"),
    "info": (BLUE, "info", "INFO"),
}
STATE_WORDS = {
    "unacknowledged": "Active · not acknowledged",
    "acknowledged": "Active · acknowledged",
    "returned-unacknowledged": "Cleared · not acknowledged",
}
SHELVE_MINUTES = (15, 30, 60, 120, 240, 480)


def _clock(hmi: Hmi, monotonic: float | None) -> str:
    if monotonic is None:
        return "–"
    return time.strftime("%H:%M:%S", time.localtime(monotonic + hmi.line.journal.wall_offset))


def _key(alarm: Alarm) -> tuple:
    return (alarm.key, alarm.count, alarm.text, alarm.state, alarm.shelved_until, alarm.acked_by)


def build(hmi: Hmi, session: Session) -> None:
    """The alarms page's content."""
    line = hmi.line
    ui.label("Active alarms").classes("text-2xl font-bold")
    active = ui.column().classes("w-full gap-2").props('data-testid="active-alarms"')
    ui.label("Shelved").classes("text-xl font-bold mt-2")
    shelved = ui.column().classes("w-full gap-2").props('data-testid="shelved-alarms"')
    shown: dict[str, tuple | None] = {"active": None, "shelved": None}

    async def ack(who: Session, key: str) -> None:
        line.acknowledge_alarm(key, who.actor)
        ui.notify(f"Alarm {key} acknowledged", type="positive")
        hmi.feed.refresh_now()
        refresh()

    async def unshelve(who: Session, key: str) -> None:
        line.unshelve_alarm(key, who.actor)
        ui.notify(f"Alarm {key} is back on the list", type="positive")
        hmi.feed.refresh_now()
        refresh()

    def shelve_dialog(alarm: Alarm) -> None:
        with page_dialog() as dialog, ui.card().classes("p-6").style("min-width:480px"):
            ui.label(f"Shelve “{alarm.text}”").classes("text-xl font-bold")
            ui.label(
                "A shelved alarm is hidden from the list and the banner until the time is up; "
                "it stays in the history."
            ).classes("text-base opacity-90")
            minutes = ui.toggle(
                {m: f"{m} min" if m < 60 else f"{m // 60} h" for m in SHELVE_MINUTES}, value=60
            )
            minutes.props('data-testid="shelve-minutes"')
            reason = ui.input("Why").classes("w-full")

            async def do(who: Session) -> None:
                line.shelve_alarm(alarm.key, float(minutes.value), reason.value or None, who.actor)
                dialog.close()
                ui.notify(f"Alarm shelved for {minutes.value} min", type="positive")
                hmi.feed.refresh_now()
                refresh()

            with ui.row().classes("w-full justify-end gap-3 mt-4"):
                ui.button("Cancel", on_click=dialog.close).props("flat").classes("ls-touch")
                ui.button("Shelve", on_click=action(hmi, do)).props(
                    'color=primary data-testid="shelve-apply"'
                ).classes("ls-touch").mark("shelve-apply")
        dialog.open()

    def alarm_row(alarm: Alarm, is_shelved: bool) -> None:
        colour, icon, word = SEVERITY_LOOK.get(alarm.severity.value, SEVERITY_LOOK["info"])
        state_value = alarm.state.value
        unacked = state_value in ("unacknowledged", "returned-unacknowledged")
        with (
            ui.row()
            .classes("ls-panel w-full items-center gap-3")
            .style(f"border-left: 10px solid {colour}")
            .props(f'data-testid="alarm-{alarm.key}" data-state="{state_value}"')
        ):
            ui.icon(icon).style(f"color:{colour};font-size:34px")
            with ui.column().classes("gap-0 grow"):
                ui.label(f"{word} · {alarm.device or 'line'} · {alarm.text}").classes(
                    "text-lg font-bold" if unacked else "text-lg"
                )
                extra = f" · ×{alarm.count}" if alarm.count > 1 else ""
                status = STATE_WORDS.get(state_value or "", "Active")
                if is_shelved:
                    status = f"Shelved until {_clock(hmi, alarm.shelved_until)}"
                elif alarm.acked_by:
                    status += f" by {alarm.acked_by}"
                ui.label(f"since {_clock(hmi, alarm.since)}{extra} · {status}").classes(
                    "text-base opacity-80"
                )
            if is_shelved:
                button = ui.button(
                    "Unshelve", on_click=action(hmi, lambda who, k=alarm.key: unshelve(who, k))
                ).classes("ls-touch")
                if not session.may_act:
                    button.disable()
                return
            if unacked:
                ack_button = (
                    ui.button(
                        "Acknowledge",
                        icon="done",
                        on_click=action(hmi, lambda who, k=alarm.key: ack(who, k)),
                    )
                    .classes("ls-touch")
                    .props(f'color=primary data-testid="ack-{alarm.key}"')
                    .mark(f"ack-{alarm.key}")
                )
                if not session.may_act:
                    ack_button.disable()
            else:
                ui.label("✓ acknowledged").classes("text-lg px-4")
            shelve_button = (
                ui.button("Shelve", icon="snooze", on_click=lambda a=alarm: shelve_dialog(a))
                .classes("ls-touch")
                .props(f'flat data-testid="shelve-{alarm.key}"')
                .mark(f"shelve-{alarm.key}")
            )
            if not session.may_act:
                shelve_button.disable()

    def refresh() -> None:
        snap = hmi.feed.state.snapshot
        now_active = tuple(_key(a) for a in snap.alarms)
        parked = snap.shelved
        now_shelved = tuple(_key(a) for a in parked)
        if now_active != shown["active"]:
            shown["active"] = now_active
            active.clear()
            with active:
                if not snap.alarms:
                    ui.label("No active alarms.").classes("text-lg")
                for alarm in snap.alarms:
                    alarm_row(alarm, False)
        if now_shelved != shown["shelved"]:
            shown["shelved"] = now_shelved
            shelved.clear()
            with shelved:
                if not parked:
                    ui.label("None.").classes("text-base opacity-80")
                for alarm in parked:
                    alarm_row(alarm, True)

    refresh()
    ui.timer(1.0, refresh)
    _history(hmi)


def _history(hmi: Hmi) -> None:
    """The alarm history with filters."""
    ui.label("History").classes("text-2xl font-bold mt-4")
    with ui.row().classes("gap-3 items-end"):
        period = PeriodSelect(8)
        severity = ui.select(
            {"": "any", "critical": "critical", "warning": "warning", "info": "info"},
            value="",
            label="Severity",
        ).classes("min-w-[140px]")
        devices = ["", *sorted({lk.device for lk in hmi.feed.state.snapshot.links})]
        device = ui.select({d: d or "any" for d in devices}, value="", label="Device").classes(
            "min-w-[180px]"
        )
        text = ui.input("Text contains").props('data-testid="history-text"')
        search = (
            ui.button("Show", icon="search").classes("ls-touch").props('data-testid="history-show"')
        )
    table_columns = columns(
        time="Time", severity="Severity", state="Event", device="Device", text="Text", user="By"
    )
    table = ui.table(columns=table_columns, rows=[], row_key="id", pagination=15).classes("w-full")
    table.props(
        'dense wrap-cells data-testid="alarm-history" no-data-label="No alarms in this period"'
    )

    async def load() -> None:
        since = period.since()
        rows = await hmi.line.alarm_history.query(
            since=since,
            severity=severity.value or None,
            device=device.value or None,
            text=text.value or None,
            limit=500,
        )
        table.rows = [
            {
                "id": i,
                "time": time.strftime("%m-%d %H:%M:%S", time.localtime(r["time"])),
                "severity": r["severity"],
                "state": r["state"],
                "device": r.get("device") or "line",
                "text": r["text"],
                "user": r.get("user") or "",
            }
            for i, r in enumerate(rows)
        ]
        table.update()

    search.on_click(load)
    ui.timer(0.1, load, once=True)
