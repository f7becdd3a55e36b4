"""Device drivers: one package per device kind, one module per wire protocol.

Drivers speak a wire protocol and return plain values in SI units. They know
nothing of parcels, routes or chutes' meaning. Errors are :mod:`drivers.errors`.
"""
