"""The audit log, for supervisors: who did what, when, through which door."""

from __future__ import annotations

import time

from nicegui import ui

from hmi.context import Hmi
from hmi.layout import PeriodSelect, columns
from hmi.sessions import Session


def build(hmi: Hmi, session: Session) -> None:
    """The audit page's content (the caller lets only supervisors in)."""
    with ui.row().classes("items-end gap-3"):
        period = PeriodSelect(24)
        user = ui.input("User")
        show = ui.button("Show", icon="search").classes("ls-touch")
    table_columns = columns(
        time="Time",
        user="User",
        role="Role",
        via="Via",
        action="Action",
        target="Target",
        result="Result",
    )
    table = ui.table(columns=table_columns, rows=[], row_key="id", pagination=20).classes("w-full")
    table.props(
        'dense wrap-cells data-testid="audit-table" no-data-label="No actions in this period"'
    )

    async def load() -> None:
        since = period.since()
        rows = await hmi.line.audit.query(since=since, user=(user.value or None), limit=1000)
        table.rows = [
            {
                "id": i,
                "time": time.strftime("%m-%d %H:%M:%S", time.localtime(r["time"])),
                "user": r["user"],
                "role": r["role"],
                "via": r["via"],
                "action": r["action"],
                "target": r["target"] or "",
                "result": ("done" if r["ok"] else "refused")
                + (f": {r['detail']}" if r["detail"] else ""),
            }
            for i, r in enumerate(rows)
        ]
        table.update()

    show.on_click(load)
    ui.timer(0.1, load, once=True)
