"""Overview: line state and commands, throughput, parcels by outcome, latency, device links."""

from __future__ import annotations

import time

from nicegui import ui

from controller.packml import check_command, state_name
from hmi.context import Hmi, action
from hmi.feed import FeedState
from hmi.layout import GREEN, VERMILLION, confirm, kpi, set_text
from hmi.sessions import Session
from plc_configs.contract import PackMLCommand, PackMLState

COMMANDS = (
    (PackMLCommand.START, "Start", "play_arrow", "positive"),
    (PackMLCommand.STOP, "Stop", "stop", "warning"),
    (PackMLCommand.RESET, "Reset", "restart_alt", "primary"),
)


def chart_options(state: FeedState) -> dict:
    """ECharts options of the last hour's throughput (parcels per minute)."""
    points = [[time.strftime("%H:%M", time.localtime(t)), n] for t, n in state.series]
    return {
        "backgroundColor": "transparent",
        "grid": {"left": 50, "right": 16, "top": 40, "bottom": 30},
        "title": {
            "text": "Parcels per minute, last hour",
            "left": 0,
            "textStyle": {"color": "#eef1f4", "fontSize": 15},
        },
        "xAxis": {
            "type": "category",
            "data": [p[0] for p in points],
            "axisLabel": {"color": "#cfd3d8"},
        },
        "yAxis": {"type": "value", "axisLabel": {"color": "#cfd3d8"}, "minInterval": 1},
        "series": [
            {"type": "bar", "data": [p[1] for p in points], "itemStyle": {"color": "#56B4E9"}}
        ],
        "animation": False,
    }


def _since(hmi: Hmi, monotonic: float) -> str:
    wall = monotonic + hmi.line.journal.wall_offset
    return time.strftime("%H:%M:%S", time.localtime(wall))


def build(hmi: Hmi, session: Session) -> None:
    """The overview page's content."""
    line = hmi.line

    def send(command: PackMLCommand, label: str):
        async def do(who: Session) -> None:
            line.command(command, who.actor)
            ui.notify(f"{label} sent to the line", type="positive")

        return lambda: confirm(
            f"{label} the line?",
            f"The PLC is asked to {label.lower()} the sorter now.",
            action(hmi, do),
            yes_text=label,
        )

    with ui.row().classes("w-full gap-3 items-stretch"):
        with ui.column().classes("ls-panel gap-2 min-w-[300px]"):
            ui.label("Line").classes("ls-kpi-label")
            state = (
                ui.label()
                .classes("ls-big")
                .props('data-testid="overview-state"')
                .mark("overview-state")
            )
            conveyor = ui.label().classes("text-lg")
            buttons = {}
            with ui.row().classes("gap-2"):
                for command, label, icon, colour in COMMANDS:
                    button = ui.button(label, icon=icon, on_click=send(command, label))
                    button.props(f'color={colour} data-testid="cmd-{label.lower()}"')
                    button.mark(f"cmd-{label.lower()}")
                    button.classes("ls-touch")
                    buttons[command] = button
                    if not session.may_act:
                        button.disable()
                        button.tooltip("Supervisors only")
            why_not = ui.label().classes("text-sm opacity-80")
        with ui.grid(columns=3).classes("grow gap-3"):
            throughput = kpi("Throughput now / h", "kpi-throughput")
            inducted = kpi("Inducted", "kpi-inducted")
            sorted_ = kpi("Sorted", "kpi-sorted")
            on_belt = kpi("On belt", "kpi-on-belt")
            rejected = kpi("Rejected", "kpi-rejected")
            lost = kpi("Lost", "kpi-lost")
    with ui.row().classes("w-full gap-3 items-stretch no-wrap"):
        with ui.column().classes("ls-panel grow"):
            chart = ui.echart(chart_options(hmi.feed.state)).classes("w-full h-64")
        with ui.column().classes("ls-panel gap-1 min-w-[260px]"):
            ui.label("Destination answer").classes("ls-kpi-label")
            latency = ui.label().classes("text-2xl font-bold").props('data-testid="kpi-latency"')
            ui.label("Reject reasons").classes("ls-kpi-label mt-3")
            reasons = ui.column().classes("gap-0 text-lg").props('data-testid="reject-reasons"')
    ui.label("Devices").classes("ls-kpi-label")
    links = ui.row().classes("w-full gap-2").props('data-testid="links"')
    shown = {"series": None, "reasons": None, "links": None}

    def refresh() -> None:
        st = hmi.feed.state
        snap = st.snapshot
        set_text(state, state_name(snap.packml_state) if snap.packml_state is not None else "–")
        set_text(conveyor, "Conveyor running" if snap.conveyor_running else "Conveyor stopped")
        if session.may_act:
            state_now = (
                snap.packml_state if snap.packml_state is not None else PackMLState.UNDEFINED
            )
            offline = not line.plc.link.up
            for command, button in buttons.items():
                allowed = not offline and check_command(command, state_now) is None
                if button.enabled != allowed:
                    button.set_enabled(allowed)
            set_text(why_not, "The PLC is offline: no commands." if offline else "")
        set_text(throughput, f"{st.throughput_pph:,.0f}")
        set_text(inducted, f"{snap.counts.get('inducted', 0):,}")
        set_text(sorted_, f"{snap.counts.get('sorted', 0):,}")
        set_text(rejected, f"{snap.counts.get('rejected', 0):,}")
        set_text(lost, f"{snap.counts.get('lost', 0):,}")
        set_text(on_belt, f"{snap.on_belt:,}")
        p50, p99 = snap.answer_p50_ms, snap.answer_p99_ms
        set_text(
            latency, "no answers yet" if p50 is None else f"p50 {p50:.1f} ms · p99 {p99:.1f} ms"
        )
        if st.series != shown["series"]:
            shown["series"] = st.series
            chart.options.clear()
            chart.options.update(chart_options(st))
            chart.update()
        reason_rows = tuple(sorted(snap.reasons.items(), key=lambda kv: -kv[1]))
        if reason_rows != shown["reasons"]:
            shown["reasons"] = reason_rows
            reasons.clear()
            with reasons:
                if not reason_rows:
                    ui.label("none")
                for reason, count in reason_rows:
                    ui.label(f"{reason.replace('_', ' ')}: {count:,}")
        link_rows = tuple((lk.device, lk.up, lk.last_error, lk.since) for lk in snap.links)
        if link_rows != shown["links"]:
            shown["links"] = link_rows
            links.clear()
            with links:
                for device, up, error, since in link_rows:
                    with (
                        ui.column()
                        .classes("ls-panel gap-0 min-w-[220px]")
                        .props(f'data-testid="link-{device}"')
                    ):
                        with ui.row().classes("items-center gap-2"):
                            ui.icon("check_circle" if up else "cancel").style(
                                f"color:{GREEN if up else VERMILLION};font-size:28px"
                            )
                            ui.label(device).classes("text-lg font-bold")
                            ui.label("UP" if up else "DOWN").classes(
                                "ls-link-up" if up else "ls-link-down"
                            ).classes("font-bold")
                        ui.label(f"since {_since(hmi, since)}").classes("text-sm opacity-80")
                        if not up and error:
                            ui.label(error).classes("text-sm").style(f"color:{VERMILLION}")

    refresh()
    ui.timer(1.0, refresh)
