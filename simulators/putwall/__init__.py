"""The people of the put walls and the dock doors, on the far side of the wires.

- :mod:`~simulators.putwall.operator`: a wall operator (scan, press, weigh, hand off);
- :mod:`~simulators.putwall.loader`: a dock loader (load scans, last stop first);
- :mod:`~simulators.putwall.scale`: a check scale whose load the operator sets;
- :mod:`~simulators.putwall.wiring`: all of them, with the lights, printers and
  scanners, built from a line config (:class:`~simulators.putwall.wiring.PutWallSimulation`).
"""
