"""PostgreSQL: a server of our own for the demo, tests and benchmarks (:mod:`.server`)."""
