"""The ``lanesort`` command: the controller's command line with the HMI on its web app.

This module sits above the controller (DESIGN.md layers): it hands the HMI's
mount function to :func:`controller.cli.command.main`, which serves it next to the API
for ``lanesort run`` and ``lanesort demo``. NiceGUI is imported only when a line
actually runs, so ``lanesort check-config`` and friends start fast.
"""

from __future__ import annotations

import sys
from typing import TYPE_CHECKING

from fastapi import FastAPI

from controller.cli import command as cli
from controller.line import LineController

if TYPE_CHECKING:
    from controller.site.service import Site


def mount(app: FastAPI, line: LineController) -> str | None:
    """Mount the HMI (imported here, on first use)."""
    from hmi.app import mount_hmi

    return mount_hmi(app, line)


def mount_site(app: FastAPI, site: Site) -> str | None:
    """Mount the site HMI page (imported here, on first use)."""
    from hmi.site import mount_site_hmi

    return mount_site_hmi(app, site)


def main(argv: list[str] | None = None) -> int:
    """Entry point of the ``lanesort`` console script."""
    return cli.main(argv, web=(mount,), site_web=(mount_site,))


if __name__ == "__main__":
    sys.exit(main())
