"""The REST API under ``/api/v1`` (FastAPI): a front door, imported by nothing else in the
controller.

OpenAPI at ``/docs``; every endpoint but ``/health`` and ``/ready`` needs a bearer
token (``lanesort token create``); errors are ``application/problem+json``.
:func:`create_app` (:mod:`~controller.api.app`) builds the app around a running
:class:`~controller.line.LineController`; one ``routes_*`` module per resource, with
:mod:`~controller.api.auth` (token check and audit actor), :mod:`~controller.api.models`
(the request and response bodies), :mod:`~controller.api.problems` (problem+json) and
:mod:`~controller.api.metrics` (Prometheus). The CLI serves it
(:mod:`controller.cli.serve`).

May use: :mod:`controller.line` and the capabilities below it; never the CLI or the
OPC UA server.
"""

from controller.api.app import create_app

__all__ = ["create_app"]
