"""What every HMI page needs: the line, the feed, the sessions and the users."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

from nicegui import app, ui

from controller.auth import UserStore
from controller.errors import ControllerError
from controller.line import LineController
from hmi.feed import LineFeed
from hmi.sessions import Session, Sessions


@dataclass
class Hmi:
    """The HMI of one line (one per process: NiceGUI is process-wide)."""

    line: LineController
    feed: LineFeed
    sessions: Sessions
    users: UserStore


def browser_id() -> str | None:
    """This browser's id (NiceGUI's signed session cookie)."""
    return app.storage.browser.get("id")


def current_session(hmi: Hmi, touch: bool = True) -> Session | None:
    """The live session of this page's browser, or None (then the page sends it to login)."""
    return hmi.sessions.get(browser_id(), touch=touch)


def plain(err: BaseException) -> str:
    """An error in plain words for a notification."""
    text = str(err).strip() or type(err).__name__
    return text[0].upper() + text[1:]


def action(
    hmi: Hmi,
    do: Callable[[Session], Awaitable[Any] | Any],
    *,
    supervisor: bool = True,
    done: str | None = None,
) -> Callable[..., Awaitable[None]]:
    """An event handler that checks the session (and role), runs ``do`` and reports errors.

    Refusals and controller errors become a red notification in plain words;
    the page stays.
    """

    async def handler(*_args: Any) -> None:
        session = current_session(hmi)
        if session is None:
            ui.navigate.to("/login?expired=1")
            return
        if supervisor and not session.may_act:
            ui.notify(
                "Only a supervisor may do this; you are logged in as a viewer.", type="warning"
            )
            return
        try:
            result = do(session)
            if isinstance(result, Awaitable):
                await result
        except ControllerError as err:
            ui.notify(plain(err), type="negative", multi_line=True, timeout=8000)
            return
        if done:
            ui.notify(done, type="positive")

    return handler
