"""Pick-to-light simulators: the modules (:mod:`.bank`) behind an Atop or a Banner wire."""
