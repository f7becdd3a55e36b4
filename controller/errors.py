"""The controller layer's errors: one root, each wrapping its cause ``from`` it.

::

    ControllerError             anything the controller refuses or cannot do
    ├── ConfigError             the line config file is missing or invalid (file:line: key: why)
    ├── ManifestError           a manifest file or upload cannot be read (file:line: why)
    ├── JournalError            the SQLite journal cannot be opened or written
    ├── ReportError             a report's period is invalid (since >= until, too long)
    ├── CommandRefused          a line command is not allowed now (PackML state, link down)
    ├── TransportError          a container could not be moved (fleet task or AS/RS failed)
    ├── SortPlanError           a sort plan change is invalid (every problem, by route)
    │   └── PlanningError       a planning instance is invalid (by field) or cannot be planned
    ├── RoutePlanError          a route plan from the TMS is invalid (every problem, by field)
    ├── UpstreamError           the outbox cannot be read or changed
    ├── TokenError              an API token cannot be created, found or revoked
    └── UserError               an HMI user cannot be added, found or changed
        └── LoginRefused        a login is refused (wrong name or password, locked, disabled)

Driver errors (:mod:`drivers.errors`) are caught at the device supervisors and
become alarms; they reach the user as the alarm text, never as a crash.
"""

from __future__ import annotations


class ControllerError(Exception):
    """Root of the controller's errors."""


class ConfigError(ControllerError):
    """The line configuration is missing or invalid; the message lists every problem."""


class ManifestError(ControllerError):
    """The manifest cannot be read; the message names the file and line."""


class JournalError(ControllerError):
    """The journal database cannot be opened or written."""


class ReportError(ControllerError):
    """A report cannot be made for this period; ``field`` names the bad argument."""

    def __init__(self, field: str, message: str):
        self.field = field
        super().__init__(message)


class TransportError(ControllerError):
    """A container could not be moved: a fleet task failed, or the AS/RS refused or faulted."""


class CommandRefused(ControllerError):
    """A command is not allowed in the line's current state."""


class SortPlanError(ControllerError):
    """A sort plan change is invalid; ``problems`` maps a field path to why."""

    def __init__(self, problems: dict[str, str]):
        self.problems = dict(problems)
        super().__init__("; ".join(f"{k}: {v}" for k, v in self.problems.items()))

    def __reduce__(self) -> tuple[type, tuple[dict[str, str]]]:
        # Pickled by its problems (it crosses from the planning worker process).
        return (type(self), (self.problems,))


class PlanningError(SortPlanError):
    """A sort-plan instance is invalid (``problems`` by field) or has no plan at all
    (``problems["plan"]`` names the cause: which truck needs how many chutes)."""


class RoutePlanError(ControllerError):
    """A route plan (trucks, routes, stops) is refused; ``problems`` maps a field path
    (``routes.R017.stops.2.sequence``) to why."""

    def __init__(self, problems: dict[str, str]):
        self.problems = dict(problems)
        super().__init__("; ".join(f"{k}: {v}" for k, v in self.problems.items()))

    def __reduce__(self) -> tuple[type, tuple[dict[str, str]]]:
        # Pickled by its problems, like SortPlanError.
        return (type(self), (self.problems,))


class UpstreamError(ControllerError):
    """The upstream outbox cannot be read or changed."""


class TokenError(ControllerError):
    """An API token cannot be created, found or revoked."""


class UserError(ControllerError):
    """An HMI user cannot be added, found or changed (bad name, role or password)."""


class LoginRefused(UserError):
    """A login is refused; the message says why in plain words, fit for the login page."""
