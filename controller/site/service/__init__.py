"""The site service (``lanesort site --config SITE.yaml``): one view of the hub's lines.

Reads the site store (:mod:`.store`, PostgreSQL, filled by each line's relay; never
written here), distributes manifests and route plans to the lines by route
(:mod:`.assign`, :mod:`.distribute`), watches every line's own REST API (:mod:`.watch`),
and serves the site REST API and Prometheus metrics (:mod:`.app`, :func:`create_site_app`).
The site HMI page mounts itself on that app from the ``hmi`` package.

May use: :mod:`controller.api` (token checks, problem answers), :mod:`controller.auth`,
:mod:`controller.site.schema`.
"""

from controller.site.service.app import create_site_app
from controller.site.service.errors import SiteServiceError, SiteStoreUnavailable
from controller.site.service.site import Site

__all__ = ["Site", "SiteServiceError", "SiteStoreUnavailable", "create_site_app"]
