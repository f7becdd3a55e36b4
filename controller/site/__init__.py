"""The site tier: many lines joined through PostgreSQL and MQTT.

Owns the site store's tables (:mod:`.schema`), each line's relay of its journal into
them, and the site service (``lanesort site``) that reads them. A line never needs the
site: it sorts on while the site is down and its relay catches up after.

May use: :mod:`controller.journal` (read only, on its own connection), the
``drivers.postgres`` and ``drivers.mqtt`` packages, :mod:`controller.auth`.
"""
