"""The LaneSort controller, one package per capability.

Read the folder names top-down as the order of who may use whom (``pyproject.toml``'s
import-linter contracts check it on every test run):

* front doors, used by nothing else in the controller:
  :mod:`~controller.cli` (``lanesort run|demo|probe|token|user|check-config``),
  :mod:`~controller.api` (REST under ``/api/v1``), :mod:`~controller.opcua` (the OPC UA
  server for SCADA); the web HMI (package ``hmi``) sits above them all;
* :mod:`~controller.line`: the composition root and the running line: the PLC handshake,
  the tunnel's readers, scales and dimensioners, operator actions;
* :mod:`~controller.putwall` (put walls under pick-to-light: cubbies by stop or
  consignee, close-outs, labels, check-weighs) and :mod:`~controller.loading` (load
  plans last stop first, door scans in sequence, truck ledgers, load sheets); these two
  use each other;
* :mod:`~controller.containers` (chute containers and fill), :mod:`~controller.reports`
  (shift and demo reports), :mod:`~controller.manifest` (the TMS manifest: rows, store,
  imports), :mod:`~controller.sortplan` (the route -> chutes plan, its validation,
  history and optimiser), :mod:`~controller.routeplan` (the TMS's trucks, doors, routes
  and stops, versioned), :mod:`~controller.printing` (container labels as ZPL, the
  print spooler);
* :mod:`~controller.upstream` (every parcel's events to the TMS webhook, from the outbox),
  :mod:`~controller.auth` (API tokens, HMI users, the audit log),
  :mod:`~controller.devices` (device supervision: reconnect, link state, link alarms);
* :mod:`~controller.alarms` (the alarm board and its history), :mod:`~controller.packml`
  (legal commands per PackML state, the line-state history);
* :mod:`~controller.journal` (what happened, in SQLite: parcel events, alarms, images;
  the parcels left open by a crash; parcel queries);
* :mod:`~controller.parcels`: pure logic, no I/O: the decision, the parcel state
  machine, labels and GS1, the measurement policy, incidents, restart recovery.

Two modules serve every package: :mod:`controller.errors` (the typed errors, one root)
and :mod:`controller.histogram` (latency histograms and percentiles).

Names kept free for the capabilities that come next: ``fleet`` (AMRs over VDA 5050),
``storage`` (the AS/RS buffer) and ``site`` (many lines).
"""
