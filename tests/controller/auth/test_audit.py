"""The audit log: an entry recorded is seen by the next query (read your writes), although
the journal commits in groups off the event loop."""

from __future__ import annotations

import time
from pathlib import Path

from controller.auth import audit
from controller.auth.audit import Actor, AuditLog
from controller.journal.writer import Journal


async def test_a_query_sees_every_entry_recorded_before_it(tmp_path: Path) -> None:
    journal = Journal(tmp_path / "journal.sqlite", "audit-test")
    journal.add_schema(audit.SCHEMA)
    await journal.open()
    log = AuditLog(journal.append, journal.path, time.time, journal.committed)
    who = Actor("supervisor-1", "supervisor", "api")
    try:
        for n in range(5):
            log.record(who, "plan.apply", f"proposal {n}", ok=n % 2 == 0)
            rows = await log.query(action="plan.apply")
            assert [r["target"] for r in rows] == [f"proposal {k}" for k in range(n, -1, -1)]
    finally:
        await journal.close()
