"""Device supervision: keep a device connected and say how its link is.

Owns :class:`~controller.devices.supervisor.DeviceSupervisor` (connect, reconnect with
backoff, run a session while connected, turn driver errors into link alarms) and the link
types (:mod:`~controller.devices.links`: :class:`Backoff`, :class:`LinkState`). Every
capability that talks to a device (the line's PLC and tunnel, the put walls' lights and
scanners, the docks' scanners) builds its supervisors on these.

May use: :mod:`controller.alarms` and the driver errors.
"""
