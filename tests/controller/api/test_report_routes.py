"""The shift report and throughput series through the API, against the running simulated line."""

from __future__ import annotations

import asyncio
import csv
import io
import re
import sqlite3

import pytest

from tests.controller.line.helpers import finished, until

SHIFT = "/api/v1/reports/shift"


async def _all_finished(api) -> None:
    await until(lambda: finished(api.line) == 6)
    await api.line.journal.barrier()


async def test_the_report_counts_the_parcels_the_line_sorted(api):
    await _all_finished(api)
    body = (await api.get(SHIFT)).json()
    counts = api.line.tracker.counts
    assert body["line"] == "test-line"
    assert body["parcels"] == {"inducted": 6}
    assert {s: body["parcels_by_state"][s] for s in ("sorted", "rejected", "lost")} == {
        s: counts[s] for s in ("sorted", "rejected", "lost")
    }
    assert body["read"]["scanned"] == 6
    listed = (await api.get("/api/v1/parcels")).json()["items"]
    assert body["read"]["read"] == sum(1 for p in listed if p["barcode"]) > 0
    assert body["answer"]["answered"] == 6 and body["answer"]["p99_ms"] > 0
    assert body["period"]["running_s"] > 0
    period = body["period"]
    assert period["running_s"] + period["downtime_s"] == pytest.approx(period["period_s"], abs=0.1)
    assert "controller not running" in body["downtime_by_cause_s"]  # the 8 h before the start


async def test_the_csv_is_an_attachment_a_spreadsheet_opens(api):
    await _all_finished(api)
    response = await api.get(SHIFT, params={"format": "csv"})
    assert response.headers["content-type"] == "text/csv; charset=utf-8"
    disposition = response.headers["content-disposition"]
    assert re.fullmatch(
        r'attachment; filename="lanesort-shift-test-line-\d{8}T\d{6}Z-\d{8}T\d{6}Z\.csv"',
        disposition,
    )
    rows = list(csv.reader(io.StringIO(response.text)))
    assert rows[0] == ["section", "key", "value"]
    assert ["parcels", "inducted", "6"] in rows
    by_accept = await api.send("GET", SHIFT, "viewer", headers={"Accept": "text/csv"})
    assert by_accept.headers["content-type"].startswith("text/csv")
    assert ["parcels", "inducted", "6"] in list(csv.reader(io.StringIO(by_accept.text)))


async def test_a_stop_through_the_api_is_downtime_charged_to_the_user(api):
    await until(lambda: api.line.line_states.last and api.line.line_states.last.state == "Execute")
    response = await api.send(
        "POST", "/api/v1/line/commands", "supervisor", json={"command": "stop"}
    )
    assert response.status_code == 202
    await until(lambda: api.line.line_states.last.state == "Stopped", 5)
    await asyncio.sleep(0.2)
    await api.line.journal.barrier()
    body = (await api.get(SHIFT)).json()
    assert body["downtime_by_cause_s"]["stop by supervisor-1"] >= 0.2
    conn = sqlite3.connect(api.line.journal.path)
    try:
        rows = conn.execute("SELECT state, cause FROM line_states ORDER BY id").fetchall()
    finally:
        conn.close()
    assert rows[-2:] == [("Stopping", "stop by supervisor-1"), ("Stopped", "stop by supervisor-1")]


async def test_an_invalid_period_is_422_naming_the_field(api):
    since, until_ = "2024-03-01T06:00:00Z", "2024-03-01T06:00:00Z"
    response = await api.get(SHIFT, params={"since": since, "until": until_})
    assert response.status_code == 422
    assert response.json()["errors"][0]["field"] == "query.until"
    assert "after since" in response.json()["detail"]
    response = await api.get(SHIFT, params={"since": "2024-01-01T00:00Z", "until": until_})
    assert response.status_code == 422 and "31 days" in response.json()["detail"]
    response = await api.get(SHIFT, params={"since": "yesterday"})
    assert response.status_code == 422
    assert response.json()["errors"][0]["field"] == "query.since"


async def test_a_period_in_the_past_reports_no_parcels(api):
    params = {"since": "2024-03-01T06:00:00Z", "until": "2024-03-01T14:00:00Z"}
    body = (await api.get(SHIFT, params=params)).json()
    assert body["period"]["since"] == "2024-03-01T06:00:00Z"
    assert body["parcels"] == {"inducted": 0}
    assert body["downtime_by_cause_s"] == {"controller not running": 28800.0}


async def test_the_throughput_series_has_every_bucket_and_the_parcels(api):
    await _all_finished(api)
    body = (await api.get("/api/v1/line/throughput", params={"minutes": 5})).json()
    assert body["bucket_s"] == 60 and len(body["buckets"]) == 5
    assert sum(b["parcels"] for b in body["buckets"]) == 6
    assert all(b["start"].endswith(":00.000Z") for b in body["buckets"])
    too_many = await api.get("/api/v1/line/throughput", params={"minutes": 10080, "bucket_s": 1})
    assert too_many.status_code == 422
    assert too_many.json()["errors"][0]["field"] == "query.bucket_s"
