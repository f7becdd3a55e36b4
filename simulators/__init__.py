"""The far side of every wire: a deterministic line twin and one simulator per device.

Modules:

* :mod:`simulators.parcels` - seeded parcel specs (barcode, route, size, reader outcome)
  and the arrival process;
* :mod:`simulators.twin` - the line twin: belt, photo-eyes, decision, chutes (pure, no I/O);
* :mod:`simulators.packml` - the PLC's PackML state machine (pure);
* :mod:`simulators.rings` - ring buffers in registers with an overflow FIFO (pure);
* :mod:`simulators.plc_logic` - the sorter PLC program over a register list (pure);
* :mod:`simulators.plc_modbus` - the sorter PLC as a Modbus TCP server (pymodbus);
* :mod:`simulators.reader_tcp` - a DMCC-style barcode reader over TCP;
* :mod:`simulators.files` - manifest CSV and truth file;
* :mod:`simulators.cli` - ``python -m simulators``.

``simulators`` imports ``plc_configs`` and third-party libraries only.
"""
