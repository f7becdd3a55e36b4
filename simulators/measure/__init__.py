"""Simulated scales and dimensioners, each speaking its real wire protocol.

- :mod:`~simulators.measure.faults`: fault draws and link faults, shared by all;
- :mod:`~simulators.measure.base`: the handler interface and the weighing platform;
- protocol handlers (pure): :mod:`~simulators.measure.mtsics`,
  :mod:`~simulators.measure.sma`, :mod:`~simulators.measure.nci`,
  :mod:`~simulators.measure.toledo`, :mod:`~simulators.measure.cubiscan`,
  :mod:`~simulators.measure.telegram`;
- :mod:`~simulators.measure.server`: one handler served over TCP or a pty
  (:mod:`~simulators.measure.ptylink`);
- :mod:`~simulators.measure.devices`: the line config's devices as simulators.
"""
