"""The REST API under ``/api/v1`` (FastAPI), served by the controller process.

OpenAPI at ``/docs``; every endpoint but ``/health`` and ``/ready`` needs a bearer
token (``lanesort token create``); errors are ``application/problem+json``.
"""
