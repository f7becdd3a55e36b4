"""Closed containers to their trucks: AMRs to the door in load order, or via the AS/RS buffer.

:mod:`.service` decides and follows each container's way, :mod:`.locations` keeps where
every container is (journaled with each move), :mod:`.sequencing` says whose turn it is at
the door (last stop first), :mod:`.mover` moves containers with the fleet, and
:mod:`.wiring` builds the fleet, the buffer and the transport from the line config.
"""
