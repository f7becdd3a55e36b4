"""The site HMI: one page with every line of the hub, for shift managers.

Per line: its own state (PackML state, and its alarms: the most urgent few with their
severity, device and text; asked from the line's API by the site's watcher), parcels
sorted, rejected and lost and the last hour's throughput (from the site store), the
relay's age, and a link to the line's own HMI. The page refreshes every ``hmi.poll_s``;
while PostgreSQL is down it says so and still shows the lines' own states. Login as on a
line, against the site's own users (``auth.users_path``).
"""

from __future__ import annotations

import asyncio
import secrets
from dataclasses import dataclass
from typing import Any

from fastapi import FastAPI
from nicegui import ui

from controller.api.hardening import session_cookie_options
from controller.errors import ControllerError, LoginRefused
from controller.site.service import Site, SiteStoreUnavailable
from hmi.context import browser_id
from hmi.layout import CSS, GREEN, ORANGE, VERMILLION
from hmi.pages.alarms import SEVERITY_LOOK
from hmi.sessions import Sessions


@dataclass
class SiteHmi:
    """The site page's context (one per process: NiceGUI is process-wide)."""

    site: Site
    sessions: Sessions


def make_site_hmi(site: Site) -> SiteHmi:
    """The HMI context of ``site``."""
    auth = site.config.auth
    return SiteHmi(site, Sessions(auth.session_idle_min * 60, auth.session_max_h * 3600))


async def _counters(site: Site) -> tuple[dict[str, Any] | None, str | None]:
    try:
        return await site.store.counters(max_age_s=site.config.hmi.poll_s / 2), None
    except SiteStoreUnavailable as err:
        return None, str(err)


def _age(seconds: float | None) -> str:
    if seconds is None:
        return "never"
    if seconds < 120:
        return f"{seconds:.0f} s"
    if seconds < 7200:
        return f"{seconds / 60:.0f} min"
    return f"{seconds / 3600:.1f} h"


ALARMS_SHOWN = 3
"""Alarms shown per line on the site page (the rest: a count, and the line's own HMI)."""
_URGENCY = {"critical": 0, "warning": 1, "info": 2}


def most_urgent(alarms: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """A line's alarms as the site page lists them: critical first, then warnings, then
    information; within each, not acknowledged first, then the newest first."""
    newest_first = sorted(alarms, key=lambda a: str(a.get("since") or ""), reverse=True)
    return sorted(  # stable: the newest stay first within each rank
        newest_first,
        key=lambda a: (_URGENCY.get(str(a.get("severity")), 3), a.get("state") == "acknowledged"),
    )


def _line_rows(site: Site, counters: dict[str, Any] | None) -> list[dict[str, Any]]:
    rows = []
    for name, cfg in site.config.lines.items():
        status = site.watcher.status[name]
        entry = (counters or {}).get("lines", {}).get(name, {})
        states = entry.get("states", {})
        if status.reachable and status.error is None:
            state = status.packml_state or "?"
        else:
            state = "unreachable" if not status.reachable else "refused"
        rows.append(
            {
                "line": name,
                "state": state,
                "alarms": "-" if status.active_alarms is None else status.active_alarms,
                "alarm_list": most_urgent(status.alarms),
                "sorted": states.get("sorted", 0),
                "rejected": states.get("rejected", 0),
                "lost": states.get("lost", 0),
                "last_hour": entry.get("last_hour", 0),
                "relay": _age(entry.get("relay_age_s")),
                "hmi_url": cfg.hmi_url,
                "error": status.error or "",
            }
        )
    return rows


def _build(hmi: SiteHmi, counters: dict[str, Any] | None, store_error: str | None) -> None:
    site = hmi.site
    if store_error:
        ui.label(f"Site store down: {store_error}").classes("ls-banner").mark("store-down")
    total = (counters or {}).get("site", {})
    with ui.row().classes("gap-4"):
        for label, value in (
            ("Lines", len(site.config.lines)),
            ("Sorted", total.get("states", {}).get("sorted", 0)),
            ("Rejected", total.get("states", {}).get("rejected", 0)),
            ("Lost", total.get("states", {}).get("lost", 0)),
            ("Last hour", total.get("last_hour", 0)),
        ):
            with ui.column().classes("ls-panel gap-0"):
                ui.label(label).classes("ls-kpi-label")
                ui.label(str(value)).classes("ls-big")
    with ui.column().classes("gap-3 w-full"):
        for row in _line_rows(site, counters):
            colour = {"unreachable": VERMILLION, "refused": ORANGE}.get(row["state"], GREEN)
            with ui.row().classes("ls-panel items-center gap-6 w-full").mark(f"line-{row['line']}"):
                ui.label(row["line"]).classes("text-2xl font-bold").style("min-width:160px")
                ui.label(f"● {row['state']}").style(f"color:{colour}").classes("text-xl")
                ui.label(f"alarms {row['alarms']}")
                ui.label(
                    f"sorted {row['sorted']} · rejected {row['rejected']} · lost {row['lost']}"
                )
                ui.label(f"last hour {row['last_hour']}")
                ui.label(f"relay {row['relay']}")
                if row["hmi_url"]:
                    ui.link(f"{row['line']} HMI", row["hmi_url"], new_tab=True).mark(
                        f"hmi-{row['line']}"
                    )
                if row["error"]:
                    ui.label(row["error"]).classes("text-sm opacity-80")
            _alarm_lines(row)


def _alarm_lines(row: dict[str, Any]) -> None:
    """A line's most urgent alarms under its row (the rest: how many)."""
    alarms = row["alarm_list"]
    if not alarms:
        return
    with ui.column().classes("gap-1 w-full pl-8").mark(f"alarms-{row['line']}"):
        for alarm in alarms[:ALARMS_SHOWN]:
            colour, _icon, word = SEVERITY_LOOK.get(
                str(alarm.get("severity")), SEVERITY_LOOK["info"]
            )
            acked = " (acknowledged)" if alarm.get("state") == "acknowledged" else ""
            ui.label(
                f"{word} · {alarm.get('device') or 'line'} · {alarm.get('text', '')}{acked}"
            ).style(f"border-left: 6px solid {colour}; padding-left: 8px")
        if len(alarms) > ALARMS_SHOWN:
            ui.label(f"+ {len(alarms) - ALARMS_SHOWN} more on the line's HMI").classes(
                "text-sm opacity-80"
            )


def register_site_pages(hmi: SiteHmi) -> None:
    """The site page (``/``), ``/login`` and ``/logout`` on NiceGUI's app."""
    site = hmi.site

    @ui.page("/", title=f"LaneSort site · {site.config.site.name}")
    async def site_page() -> None:
        if hmi.sessions.get(browser_id(), touch=True) is None:
            ui.navigate.to("/login")
            return
        ui.dark_mode(True)
        ui.add_css(CSS)
        with ui.row().classes("items-center gap-4 w-full"):
            ui.label(f"LaneSort site · {site.config.site.name}").classes("text-3xl font-bold")
            ui.space()
            ui.link("Log out", "/logout")
        counters, error = await _counters(site)

        @ui.refreshable
        def board(counters: dict[str, Any] | None, error: str | None) -> None:
            _build(hmi, counters, error)

        board(counters, error)

        async def refresh() -> None:
            board.refresh(*await _counters(site))

        ui.timer(site.config.hmi.poll_s, refresh)

    @ui.page("/login", title="LaneSort site · Login")
    def login_page() -> None:
        _login(hmi)

    @ui.page("/logout")
    def logout_page() -> None:
        hmi.sessions.end(browser_id())
        ui.navigate.to("/login")


def _login(hmi: SiteHmi) -> None:
    ui.dark_mode(True)
    ui.add_css(CSS)
    with ui.column().classes("absolute-center items-stretch gap-4 ls-panel p-8"):
        ui.label(f"LaneSort site · {hmi.site.config.site.name}").classes("text-3xl font-bold")
        name = ui.input("User name").props("autofocus")
        password = ui.input("Password", password=True, password_toggle_button=True)
        message = ui.label().style("color:#ff9e7a")

        async def submit() -> None:
            try:
                info = await asyncio.to_thread(
                    hmi.site.users.verify, (name.value or "").strip(), password.value or ""
                )
            except LoginRefused as err:
                message.set_text(str(err))
                return
            except ControllerError as err:
                message.set_text(f"Login is not possible now: {err}")
                return
            hmi.sessions.start(browser_id() or "", info.name, info.role.value)
            ui.navigate.to("/")

        password.on("keydown.enter", submit)
        ui.button("Log in", on_click=submit).classes("ls-touch")


def mount_site_hmi(fastapi_app: FastAPI, site: Site) -> str | None:
    """Mount the site page on the site's web app; the line to announce (its address)."""
    cfg = site.config.hmi
    if not cfg.enabled:
        return None
    register_site_pages(make_site_hmi(site))
    ui.run_with(
        fastapi_app,
        mount_path=cfg.path,
        title=f"LaneSort site {site.config.site.name}",
        dark=True,
        storage_secret=secrets.token_urlsafe(32),
        session_middleware_kwargs=session_cookie_options(
            site.config.auth.session_max_h * 3600, site.https
        ),
        binding_refresh_interval=None,
        show_welcome_message=False,
    )
    return f"site HMI on {site.url}{cfg.path}/" if site.url else f"site HMI on {cfg.path}/"
