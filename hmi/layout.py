"""The frame around every page: dark floor theme, header, navigation, critical-alarm banner.

Sized for a 1280×800 touch panel read from a metre away: 18 px body text, 56 px
touch targets, high-contrast dark theme. Colours come from the Okabe-Ito palette
(safe for the common colour-vision deficiencies) and never carry meaning alone:
every state also has a word and an icon or outline.
"""

from __future__ import annotations

import time
from collections.abc import Awaitable, Callable, Iterator, Sequence
from contextlib import contextmanager
from html import escape
from typing import Any

from nicegui import ui

from controller.packml import state_name
from hmi.context import Hmi, action, browser_id
from hmi.sessions import Session

# Okabe-Ito: distinguishable with deuteranopia, protanopia and tritanopia.
BLUE = "#56B4E9"
DEEP_BLUE = "#0072B2"
GREEN = "#009E73"
ORANGE = "#E69F00"
VERMILLION = "#D55E00"
YELLOW = "#F0E442"
GREY = "#8a8f98"

#: Trucks' colours, by the truck's place in the route plan (cycled past the tenth). Light
#: enough for black text; never the only cue: the truck's id is written beside it.
TRUCK_COLOURS = (
    "#CC79A7",
    "#009E73",
    YELLOW,
    ORANGE,
    BLUE,
    "#ffffff",
    "#b39ddb",
    "#a1887f",
    "#80cbc4",
    "#f48fb1",
)

CSS = f"""
:root {{ --ls-bg: #111418; --ls-panel: #1c2128; --ls-text: #eef1f4; }}
body {{ background: var(--ls-bg); color: var(--ls-text); font-size: 18px; }}
.ls-panel {{ background: var(--ls-panel); border-radius: 10px; padding: 14px; }}
.ls-big {{ font-size: 40px; font-weight: 700; line-height: 1.1; }}
.ls-kpi-label {{ font-size: 15px; opacity: .8; text-transform: uppercase; letter-spacing: .04em; }}
.ls-navlink {{ display: flex; flex-direction: column; align-items: center; justify-content: center;
               min-height: 56px; min-width: 66px; padding: 2px 6px; border-radius: 6px;
               color: {BLUE}; text-decoration: none; font-size: 13px; font-weight: 600;
               text-transform: uppercase; }}
.ls-navlink .q-icon {{ font-size: 24px; }}
.ls-navlink-on {{ background: {DEEP_BLUE}; color: #fff; }}
.ls-nav-dense .ls-navlink {{ min-width: 52px; padding: 2px 3px; font-size: 12px;
                             letter-spacing: -.02em; }}
.ls-touch {{ min-height: 56px; min-width: 120px; font-size: 18px; }}
.ls-banner {{ background: {VERMILLION}; color: #fff; font-size: 22px; font-weight: 700;
              padding: 10px 16px; border: 4px solid #fff; }}
.ls-chute {{ border-radius: 6px; color: #111; font-weight: 700; text-align: center;
             cursor: pointer; user-select: none; }}
.ls-chute-normal {{ background: {BLUE}; border: 3px solid {BLUE}; }}
.ls-chute-full {{ background: repeating-linear-gradient(45deg, {ORANGE} 0 8px, #f7c96b 8px 16px);
                  border: 3px solid #fff; }}
.ls-chute-disabled {{ background: #3a3f47; color: #eef1f4; border: 3px dashed #cfd3d8; }}
.ls-chute-jammed {{ background: {VERMILLION}; color: #fff; border: 5px double #fff; }}
.ls-truck-band {{ position: absolute; top: 0; left: 0; right: 0; height: 16px; color: #111;
                   font-size: 12px; font-weight: 800; line-height: 16px; z-index: 20;
                   border-bottom: 2px solid #111; border-radius: 3px 3px 0 0; }}
.ls-truck-tag {{ display: inline-block; min-width: 18px; height: 18px; border-radius: 4px;
                 border: 2px solid #111; color: #111; font-weight: 800; padding: 0 4px; }}
.ls-fill {{ background: rgba(0,0,0,.55); width: 100%; border-top: 2px solid #111; }}
.ls-link-up {{ color: {GREEN}; }}
.ls-link-down {{ color: {VERMILLION}; }}
.q-table {{ font-size: 17px; }}
.q-table th {{ font-size: 15px; }}
"""

#: PackML states and how they look: (colour, icon).
STATE_LOOK = {
    "Execute": (GREEN, "play_circle"),
    "Idle": (BLUE, "pause_circle"),
    "Starting": (BLUE, "hourglass_top"),
    "Stopping": (ORANGE, "hourglass_bottom"),
    "Stopped": (ORANGE, "stop_circle"),
    "Held": (ORANGE, "pan_tool"),
    "Suspended": (ORANGE, "pause"),
    "Aborted": (VERMILLION, "report"),
    "Aborting": (VERMILLION, "report"),
}

PAGES = (
    ("/", "Overview", "dashboard"),
    ("/line", "Line", "linear_scale"),
    ("/chutes", "Chutes", "view_module"),
    ("/planning", "Planning", "alt_route"),
    ("/putwall", "Put wall", "grid_view"),
    ("/loading", "Loading", "local_shipping"),
    ("/alarms", "Alarms", "notifications"),
    ("/parcels", "Parcels", "search"),
    ("/report", "Report", "assessment"),
)
#: Shown after Loading on a line with an AMR fleet (``fleet.enabled``).
FLEET_PAGES = (
    ("/fleet", "Fleet", "precision_manufacturing"),
    ("/asrs", "AS/RS", "warehouse"),
)


def state_text(hmi: Hmi) -> str:
    """The PackML state in words, or why it is unknown."""
    snap = hmi.feed.state.snapshot
    if not hmi.line.plc.link.up:
        return "PLC offline"
    return state_name(snap.packml_state) if snap.packml_state is not None else "unknown"


def nav_pages(hmi: Hmi, session: Session) -> list[tuple[str, str, str]]:
    """The pages this session's navigation offers: the fleet's only on a line with a
    fleet, the audit log only to supervisors."""
    pages = list(PAGES)
    if getattr(hmi.line, "fleet", None) is not None:
        at = next(i for i, p in enumerate(pages) if p[0] == "/loading") + 1
        pages[at:at] = FLEET_PAGES
    if session.may_act:
        pages.append(("/audit", "Audit", "history_edu"))
    return pages


def nav_html(prefix: str, pages: Sequence[tuple[str, str, str]], current: str) -> str:
    """Navigation as plain links (no server round trip, no handler to build per page);
    denser past ten entries so the header still fits a 1280 px panel."""
    links = []
    for path, label, icon in pages:
        css = "ls-navlink ls-navlink-on" if label == current else "ls-navlink"
        links.append(
            f'<a class="{css}" href="{prefix}{path if path != "/" else "/"}">'
            f'<i class="q-icon notranslate material-icons" aria-hidden="true">{icon}</i>'
            f"<span>{escape(label)}</span></a>"
        )
    dense = " ls-nav-dense" if len(pages) > 10 else ""
    return f'<nav class="row no-wrap{dense}">{"".join(links)}</nav>'


@contextmanager
def frame(hmi: Hmi, session: Session, current: str) -> Iterator[Callable[[], None]]:
    """Build the header and banner, yield the page's content area's refresher hook.

    The caller adds its content inside the ``with``; the frame's own timer updates
    the header state and the critical-alarm banner twice a second.
    """
    ui.dark_mode(True)
    ui.add_css(CSS)
    ui.page_title(f"LaneSort · {hmi.line.config.line.name} · {current}")
    sound = {"on": True, "heard": set()}
    with ui.header().classes("items-center gap-2 py-1 px-3 no-wrap").style("background:#1c2128"):
        ui.label(hmi.line.config.line.name).classes("text-xl font-bold mr-2 whitespace-nowrap")
        state_chip = (
            ui.label()
            .classes("text-lg font-bold px-3 py-1 rounded")
            .props('data-testid="packml-state"')
        )
        pages = nav_pages(hmi, session)
        ui.html(nav_html(hmi.line.config.hmi.path, pages, current), sanitize=False).classes("ml-1")
        ui.space()
        ui.label(f"{session.user} ({session.role})").classes(
            "text-base opacity-80 whitespace-nowrap"
        ).props('data-testid="who"')
        ui.html(
            nav_html(hmi.line.config.hmi.path, [("/logout", "Log out", "logout")], ""),
            sanitize=False,
        )
    banner = (
        ui.row().classes("ls-banner w-full items-center").props('data-testid="critical-banner"')
    )
    with banner:
        ui.icon("warning").classes("text-3xl")
        banner_text = ui.label()
        ui.space()
        ui.button("Open alarms", on_click=lambda: ui.navigate.to("/alarms")).props(
            "color=white text-color=black"
        ).classes("ls-touch")
        sound_switch = ui.switch("Sound", value=True).props("dark color=white")
        sound_switch.on_value_change(lambda e: sound.update(on=bool(e.value)))
    banner.set_visibility(False)

    def refresh_frame() -> None:
        if hmi.sessions.get(browser_id()) is None:
            ui.navigate.to("/login?expired=1")
            return
        text = state_text(hmi)
        colour, _icon = STATE_LOOK.get(text, (GREY, "help"))
        if state_chip.text != text:
            state_chip.set_text(text)
            state_chip.style(f"background:{colour};color:#111")
        critical = sorted(hmi.feed.state.unacked_critical, key=lambda a: -a.since)
        banner.set_visibility(bool(critical))
        if critical:
            first = critical[0]
            more = f" (+{len(critical) - 1} more)" if len(critical) > 1 else ""
            line = f"CRITICAL: {first.device or 'line'}: {first.text}{more}"
            if banner_text.text != line:
                banner_text.set_text(line)
            new = {a.key for a in critical} - sound["heard"]
            if new and sound["on"]:
                ui.run_javascript(
                    "try { new Audio(window.path_prefix + '/alarm.wav').play(); } catch (e) {}"
                )
            sound["heard"] |= new
        sound["heard"] &= {a.key for a in critical}

    refresh_frame()
    ui.timer(1.0, refresh_frame)
    with ui.column().classes("w-full gap-3 p-2"):
        yield refresh_frame


def page_dialog() -> ui.dialog:
    """A dialog that belongs to the page, not to the section that opened it.

    Made in a section the page redraws (the rows of containers on their way, say), a
    dialog went with the section's next redraw: the question vanished while a supervisor
    typed the reason. The page's dialogs closed earlier are deleted here (nothing holds
    them any more), so a page open all shift does not pile them up.
    """
    layout = ui.context.client.layout
    for old in list(layout.default_slot.children):
        if isinstance(old, ui.dialog) and "ls-page-dialog" in old.classes and not old.value:
            old.delete()
    with layout:
        return ui.dialog().classes("ls-page-dialog")


def confirm(question: str, detail: str, on_yes: Callable, yes_text: str = "Yes") -> None:
    """Ask before acting; big buttons, the question in words."""
    with page_dialog() as dialog, ui.card().classes("p-6").style("min-width:460px"):
        ui.label(question).classes("text-2xl font-bold")
        if detail:
            ui.label(detail).classes("text-lg opacity-90")
        with ui.row().classes("w-full justify-end gap-3 mt-4"):
            ui.button("Cancel", on_click=dialog.close).props("flat").classes("ls-touch")

            async def yes() -> None:
                dialog.close()
                await on_yes()

            ui.button(yes_text, on_click=yes).props(
                'color=primary data-testid="confirm-yes"'
            ).classes("ls-touch").mark("confirm-yes")
    dialog.open()


def confirm_with_reason(
    hmi: Hmi,
    question: str,
    detail: str,
    do: Callable[[Session, str], Awaitable[Any] | Any],
    *,
    yes_text: str = "Yes",
    done: str | None = None,
) -> None:
    """Ask before a supervisor's action, with its reason (required, kept in the audit log);
    then ``do(session, reason)`` as an :func:`~hmi.context.action` (role checked again)."""
    with page_dialog() as dialog, ui.card().classes("p-6").style("min-width:520px"):
        ui.label(question).classes("text-2xl font-bold")
        if detail:
            ui.label(detail).classes("text-lg opacity-90")
        reason = (
            ui.input("Reason (kept in the audit log)")
            .props('outlined autofocus input-class="text-xl" data-testid="reason"')
            .classes("w-full")
            .mark("reason")
        )
        with ui.row().classes("w-full justify-end gap-3 mt-4"):

            def gone() -> None:  # a closed dialog leaves no reason field behind
                dialog.close()
                dialog.delete()

            ui.button("Cancel", on_click=gone).props("flat").classes("ls-touch")

            async def yes() -> None:
                why = (reason.value or "").strip()
                if not why:
                    ui.notify("Say why: the reason is kept in the audit log.", type="warning")
                    return
                dialog.close()
                try:
                    await action(hmi, lambda session: do(session, why), done=done)()
                finally:
                    if not dialog.is_deleted:  # another page dialog may have cleared it
                        dialog.delete()

            ui.button(yes_text, on_click=yes).props(
                'color=primary data-testid="confirm-yes"'
            ).classes("ls-touch").mark("confirm-yes")
    dialog.open()


def truck_colour(index: int | None) -> str | None:
    """The colour of the route plan's ``index``-th truck (None: no truck)."""
    return None if index is None else TRUCK_COLOURS[index % len(TRUCK_COLOURS)]


def kpi(label: str, testid: str) -> ui.label:
    """A big figure with a caption; returns the figure's label to update."""
    with ui.column().classes("ls-panel gap-0 min-w-[150px]"):
        ui.label(label).classes("ls-kpi-label")
        value = ui.label("–").classes("ls-big").props(f'data-testid="{testid}"').mark(testid)
    return value


class PeriodSelect:
    """A "last N hours" choice for history tables."""

    CHOICES = {1: "last hour", 8: "last 8 h", 24: "last 24 h", 168: "last 7 days"}

    def __init__(self, hours: int):
        self.select = ui.select(self.CHOICES, value=hours, label="Period").classes("min-w-[160px]")

    def since(self) -> float:
        """The start of the chosen period, epoch seconds."""
        return time.time() - float(self.select.value) * 3600


def columns(**labels: str) -> list[dict[str, str]]:
    """Table columns from ``field="Label"`` pairs, left-aligned, in order."""
    return [{"name": f, "label": label, "field": f, "align": "left"} for f, label in labels.items()]


def set_text(label: ui.label, text: str) -> None:
    """Change a label only when its text changed (no message to the browser otherwise)."""
    if label.text != text:
        label.set_text(text)
