"""The supervisors' HMI: NiceGUI pages mounted on the controller's FastAPI app.

:func:`mount_hmi` is the controller's web extension (``run_line(..., web=[mount_hmi])``):
it builds the :class:`~hmi.context.Hmi`, registers the pages and mounts NiceGUI at
``hmi.path`` (``/hmi``). Every asset (Vue, Quasar, ECharts, fonts, the alarm
sound) is served by this process: nothing is fetched from the internet.

Pages: ``/login``, ``/`` overview, ``/line`` mimic, ``/chutes`` and
``/chutes/{id}``, ``/planning`` (route plan and sort-plan proposals), ``/alarms``,
``/parcels``, ``/report``, ``/audit`` (supervisors), ``/logout``; on a line with an AMR
fleet also ``/fleet`` (vehicles and transport tasks) and ``/asrs`` (the AS/RS buffer,
containers on their way, container lookup).
"""

from __future__ import annotations

import asyncio
import logging
import secrets
import time
from collections.abc import Callable

from fastapi import FastAPI, HTTPException
from fastapi.responses import FileResponse, Response
from nicegui import app, background_tasks, ui

from controller.api.hardening import session_cookie_options
from controller.auth import Actor, UserStore, users_path
from controller.errors import ControllerError, LoginRefused
from controller.line import LineController
from hmi.context import Hmi, browser_id, current_session
from hmi.feed import LineFeed
from hmi.layout import CSS, frame
from hmi.pages import (
    alarms,
    asrs,
    audit,
    chutes,
    fleet,
    line_view,
    loading,
    overview,
    parcels,
    planning,
    putwall,
    report,
)
from hmi.sessions import Session, Sessions
from hmi.sound import alarm_wav

log = logging.getLogger("lanesort.hmi")


def make_hmi(line: LineController, users: UserStore | None = None) -> Hmi:
    """The HMI context of ``line`` (users from ``hmi.users_path`` unless given)."""
    cfg = line.config.hmi
    users = users or UserStore(
        users_path(line.data_dir, cfg.users_path), max_attempts=cfg.login_attempts
    )

    def expired(session: Session, why: str) -> None:
        line.audit.record(session.actor, "logout", detail=why)

    return Hmi(
        line=line,
        feed=LineFeed(line),
        sessions=Sessions(cfg.session_idle_min * 60, cfg.session_max_h * 3600, on_expired=expired),
        users=users,
    )


def register_pages(hmi: Hmi) -> None:
    """Register every page and the HMI's own routes on NiceGUI's app."""

    @ui.page("/", title="LaneSort · Overview")
    def overview_page() -> None:
        _show(hmi, "Overview", overview.build)

    @ui.page("/line", title="LaneSort · Line")
    def line_page() -> None:
        _show(hmi, "Line", line_view.build)

    @ui.page("/chutes", title="LaneSort · Chutes")
    def chutes_page() -> None:
        _show(hmi, "Chutes", chutes.build_grid)

    @ui.page("/chutes/{chute}", title="LaneSort · Chute")
    def chute_page(chute: int) -> None:
        _show(hmi, "Chutes", chutes.build_chute, chute)

    @ui.page("/planning", title="LaneSort · Planning")
    def planning_page() -> None:
        _show(hmi, "Planning", planning.build)

    @ui.page("/putwall", title="LaneSort · Put wall")
    def putwall_page() -> None:
        _show(hmi, "Put wall", putwall.build)

    @ui.page("/putwall/{wall_id}", title="LaneSort · Put wall")
    def putwall_one_page(wall_id: str) -> None:
        _show(hmi, "Put wall", putwall.build, wall_id)

    @ui.page("/loading", title="LaneSort · Loading")
    def loading_page() -> None:
        _show(hmi, "Loading", loading.build)

    @ui.page("/loading/{truck_id}", title="LaneSort · Loading")
    def loading_truck_page(truck_id: str) -> None:
        _show(hmi, "Loading", loading.build, truck_id)

    @ui.page("/fleet", title="LaneSort · Fleet")
    def fleet_page() -> None:
        _show(hmi, "Fleet", fleet.build)

    @ui.page("/asrs", title="LaneSort · AS/RS")
    def asrs_page() -> None:
        _show(hmi, "AS/RS", asrs.build)

    @ui.page("/alarms", title="LaneSort · Alarms")
    def alarms_page() -> None:
        _show(hmi, "Alarms", alarms.build)

    @ui.page("/parcels", title="LaneSort · Parcels")
    def parcels_page(barcode: str | None = None) -> None:
        _show(hmi, "Parcels", parcels.build, barcode)

    @ui.page("/report", title="LaneSort · Report")
    def report_page() -> None:
        _show(hmi, "Report", report.build)

    @ui.page("/audit", title="LaneSort · Audit")
    def audit_page() -> None:
        _show(hmi, "Audit", audit.build, supervisor_only=True)

    @ui.page("/login", title="LaneSort · Login")
    async def login_page(expired: str | None = None) -> None:
        # The cookie (the browser's id) is issued again from here, so it lives the
        # session's longest life from about the login on, not from the browser's first visit.
        if (browser := browser_id()) is not None:
            app.storage.browser["id"] = browser
        no_users = not await asyncio.to_thread(hmi.users.has_users)
        _login(hmi, expired is not None, no_users)

    @ui.page("/logout")
    def logout_page() -> None:
        session = hmi.sessions.end(browser_id())
        if session is not None:
            hmi.line.audit.record(session.actor, "logout")
        ui.navigate.to("/login")

    @app.get("/alarm.wav", include_in_schema=False)
    def alarm_sound() -> Response:
        return Response(alarm_wav(), media_type="audio/wav")

    @app.get("/parcel-image", include_in_schema=False)
    async def parcel_image(path: str) -> FileResponse:
        if current_session(hmi, touch=False) is None:
            raise HTTPException(401, "log in first")
        try:
            file = await asyncio.to_thread(hmi.line.image_file, path)
        except ControllerError as err:
            raise HTTPException(404, str(err)) from err
        if not await asyncio.to_thread(file.is_file):
            raise HTTPException(404, "no such image")
        return FileResponse(file, media_type="image/jpeg")


def _show(
    hmi: Hmi, name: str, build: Callable[..., None], *args: object, supervisor_only: bool = False
) -> None:
    """A page: to the login page without a live session, else the frame and ``build``."""
    session = current_session(hmi)
    if session is None:
        ui.navigate.to("/login")
        return
    started = time.perf_counter()
    with frame(hmi, session, name):
        if supervisor_only and not session.may_act:
            ui.label("This page is for supervisors.").classes("text-2xl")
            return
        build(hmi, session, *args)
    took_ms = (time.perf_counter() - started) * 1000
    log.log(
        logging.INFO if took_ms > 20 else logging.DEBUG, "page %s built in %.1f ms", name, took_ms
    )


def _login(hmi: Hmi, expired: bool, no_users: bool) -> None:
    ui.dark_mode(True)
    ui.add_css(CSS)
    with (
        ui.column()
        .classes("absolute-center items-stretch gap-4 ls-panel p-8")
        .style("min-width:440px")
    ):
        ui.label(f"LaneSort · {hmi.line.config.line.name}").classes("text-3xl font-bold")
        if expired:
            ui.label("Your session ended. Please log in again.").classes("text-lg")
        name = ui.input("User name").props('autofocus data-testid="login-user"').classes("text-xl")
        password = (
            ui.input("Password", password=True, password_toggle_button=True)
            .props('data-testid="login-password"')
            .classes("text-xl")
        )
        message = (
            ui.label()
            .classes("text-lg")
            .style("color:#ff9e7a")
            .props('data-testid="login-message"')
        )

        async def submit() -> None:
            user, secret = (name.value or "").strip(), password.value or ""
            if not user or not secret:
                message.set_text("Enter your user name and password.")
                return
            try:
                info = await asyncio.to_thread(hmi.users.verify, user, secret)
            except LoginRefused as err:
                message.set_text(str(err))
                hmi.line.audit.record(
                    Actor(user[:64], "-", "hmi"), "login", detail=str(err), ok=False
                )
                return
            except ControllerError as err:
                message.set_text(f"Login is not possible now: {err}")
                return
            session = hmi.sessions.start(browser_id(), info.name, info.role.value)
            hmi.line.audit.record(session.actor, "login")
            ui.navigate.to("/")

        password.on("keydown.enter", submit)
        ui.button("Log in", on_click=submit).props(
            'color=primary data-testid="login-submit"'
        ).classes("ls-touch text-xl")
        if no_users:
            ui.label(
                "There are no HMI users yet. On the controller's computer run: "
                "lanesort user add --name NAME --role supervisor"
            ).classes("text-base opacity-90")


def mount_hmi(fastapi_app: FastAPI, line: LineController) -> str | None:
    """Mount the HMI on the controller's web app; the line to announce (its address)."""
    cfg = line.config.hmi
    if not cfg.enabled:
        return None
    hmi = make_hmi(line)
    register_pages(hmi)

    async def start_feed() -> None:
        background_tasks.create(hmi.feed.run(), name="hmi-feed")

    app.on_startup(start_feed)
    # NiceGUI's session cookie carries the browser's id, which the HMI's sessions are
    # keyed by: it lives as long as a session may (hmi.session_max_h), Secure under HTTPS.
    https = line.config.api.tls is not None
    ui.run_with(
        fastapi_app,
        mount_path=cfg.path,
        title="LaneSort",
        dark=True,
        storage_secret=secrets.token_urlsafe(32),
        session_middleware_kwargs=session_cookie_options(cfg.session_max_h * 3600, https),
        binding_refresh_interval=None,
        show_welcome_message=False,
        reconnect_timeout=10.0,
    )
    fastapi_app.state.hmi = hmi
    url = f"{line.api_url}{cfg.path}/" if line.api_url else cfg.path
    return f"HMI on {url}"
