"""Chute containers (cage, bag, roll cart): what is in each, their close-outs, how full.

Owns the container book (:mod:`~controller.containers.book`: the container filling in
each chute, closing it out, the ``containers`` table and its ``container.closed`` outbox
row for the TMS) and the chute fill estimate (:mod:`~controller.containers.fill`).
The put wall and loading (next) start from here.

May use: :mod:`controller.parcels`, :mod:`controller.journal`, :mod:`controller.auth`
(who closed it), the upstream outbox and payload.
"""

from controller.containers.book import ContainerBook, ContainerClosed, ContainerInfo
from controller.containers.fill import ChuteFill

__all__ = ["ChuteFill", "ContainerBook", "ContainerClosed", "ContainerInfo"]
