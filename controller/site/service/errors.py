"""The site service's errors (one root, under the controller's)."""

from __future__ import annotations

from controller.errors import ControllerError


class SiteServiceError(ControllerError):
    """Root of the site service's errors."""


class SiteStoreUnavailable(SiteServiceError):
    """PostgreSQL (the site store) cannot be reached or answered with an error; the message
    names the server and the cause."""


class SplitError(SiteServiceError):
    """A manifest or route plan cannot be split by route: ``problems`` lists each bad row
    or field (``line 7.route`` → why)."""

    def __init__(self, message: str, problems: list[dict[str, str]] | None = None):
        super().__init__(message)
        self.problems = problems or []
