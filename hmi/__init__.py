"""The supervisors' web HMI: NiceGUI pages mounted on the controller's web app, at ``/hmi``.

The top of the layers: it uses the controller's public names (:mod:`controller.line`'s
:class:`~controller.line.LineController` and its frozen snapshots, :mod:`controller.auth`
for logins and the audit actor, :mod:`controller.alarms`, :mod:`controller.packml`) and
nothing in the controller imports it: :mod:`hmi.cli` (the ``lanesort`` script) hands
:func:`hmi.app.mount_hmi` to the controller's command line.

Modules: :mod:`~hmi.app` (mounting, login and logout), :mod:`~hmi.context` (what every
page shares), :mod:`~hmi.sessions` (browser sessions and roles), :mod:`~hmi.feed` (one
snapshot feed for all pages), :mod:`~hmi.layout`, :mod:`~hmi.chute_board`,
:mod:`~hmi.sound` and :mod:`hmi.pages` (overview, line mimic, chutes, planning, alarms,
parcels, shift report, audit).
"""
