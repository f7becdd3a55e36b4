"""Who is logged in at which browser, and for how long.

A session is kept in this process, keyed by the browser's id (NiceGUI's signed
session cookie), and ends after ``idle_s`` without a touch or ``max_s`` after
login, whichever comes first. A restart of the controller ends every session
(everyone logs in again). Roles are the API's: ``supervisor`` may act,
``viewer`` only reads.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, replace

from controller.auth import Actor

SUPERVISOR = "supervisor"
VIEWER = "viewer"


@dataclass(frozen=True, slots=True)
class Session:
    """One logged-in user at one browser."""

    user: str
    role: str
    started: float
    last_seen: float

    @property
    def actor(self) -> Actor:
        """The audit log's actor for this session's actions."""
        return Actor(self.user, self.role, "hmi")

    @property
    def may_act(self) -> bool:
        """True for a supervisor: commands, chutes, alarms."""
        return self.role == SUPERVISOR


class Sessions:
    """The logged-in browsers."""

    def __init__(
        self,
        idle_s: float,
        max_s: float,
        clock: Callable[[], float] = time.monotonic,
        on_expired: Callable[[Session, str], None] | None = None,
    ):
        self.idle_s = idle_s
        self.max_s = max_s
        self.clock = clock
        self.on_expired = on_expired
        self._by_browser: dict[str, Session] = {}

    def __len__(self) -> int:
        return len(self._by_browser)

    def start(self, browser: str, user: str, role: str) -> Session:
        """Log ``user`` in at ``browser`` (replacing whoever was logged in there)."""
        now = self.clock()
        session = Session(user, role, now, now)
        self._by_browser[browser] = session
        return session

    def get(self, browser: str | None, touch: bool = False) -> Session | None:
        """The browser's live session, or None; an expired one is ended on the way."""
        if browser is None:
            return None
        session = self._by_browser.get(browser)
        if session is None:
            return None
        now = self.clock()
        why = self.expiry_reason(session, now)
        if why is not None:
            del self._by_browser[browser]
            if self.on_expired is not None:
                self.on_expired(session, why)
            return None
        if touch:
            session = replace(session, last_seen=now)
            self._by_browser[browser] = session
        return session

    def expiry_reason(self, session: Session, now: float) -> str | None:
        """Why ``session`` is over at ``now``, or None while it is live."""
        if now - session.started >= self.max_s:
            return f"session ended {self.max_s / 3600:g} h after login"
        if now - session.last_seen >= self.idle_s:
            return f"session ended after {self.idle_s / 60:g} min without a touch"
        return None

    def end(self, browser: str | None) -> Session | None:
        """Log the browser out; the session it had, if any."""
        return self._by_browser.pop(browser, None) if browser is not None else None
