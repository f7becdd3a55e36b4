import asyncio
import json

from tests.controller.line.helpers import until

CSV = "barcode,route,stop_sequence,consignee,postal_code\nM001,A,3,Acme,80331\nM002,B,,Beta,\n"


async def _upload(api, body, content_type, **params):
    return await api.send(
        "POST",
        "/api/v1/manifest",
        "tms",
        content=body,
        headers={"Content-Type": content_type},
        params=params,
    )


async def test_a_csv_upload_loads_and_the_rows_can_be_read_and_deleted(api):
    response = await _upload(api, CSV.encode(), "text/csv")
    assert response.status_code == 200, response.text
    job = response.json()
    assert job["state"] == "done" and job["rows_loaded"] == 2 and job["rows_bad"] == 0
    assert response.headers["location"] == f"/api/v1/manifest/jobs/{job['id']}"
    row = (await api.get("/api/v1/manifest/M001")).json()
    assert row == {
        "barcode": "M001",
        "route": "A",
        "stop_sequence": 3,
        "consignee": "Acme",
        "postal_code": "80331",
        "service_level": None,
    }
    assert api.line.manifest.route_of("M002") == "B"
    assert (await api.send("DELETE", "/api/v1/manifest/M002", "tms")).status_code == 204
    assert api.line.manifest.route_of("M002") is None
    assert (await api.get("/api/v1/manifest/M002")).status_code == 404
    job_again = (await api.get(f"/api/v1/manifest/jobs/{job['id']}")).json()
    assert job_again["rows_loaded"] == 2


async def test_ndjson_and_json_uploads(api):
    lines = "\n".join(json.dumps({"barcode": f"N{i}", "route": "C"}) for i in range(5))
    response = await _upload(api, lines.encode(), "application/x-ndjson")
    assert response.status_code == 200 and response.json()["rows_loaded"] == 5
    body = json.dumps({"parcels": [{"barcode": "J1", "route": "A", "service_level": "express"}]})
    response = await _upload(api, body.encode(), "application/json")
    assert response.status_code == 200, response.text
    assert api.line.manifest.route_of("J1") == "A"


async def test_bad_rows_are_reported_by_line_and_nothing_loads_unless_partial(api):
    body = "barcode,route,stop_sequence\nOK1,A,1\nBAD 1,A,1\nOK2,,2\nOK3,B,x\nOK4,C,4\n"
    response = await _upload(api, body.encode(), "text/csv")
    assert response.status_code == 422
    problem = response.json()
    assert problem["type"].endswith("/bad-manifest") and "nothing was loaded" in problem["detail"]
    fields = {e["field"] for e in problem["errors"]}
    assert {"line 3.barcode", "line 4.route", "line 5.stop_sequence"} <= fields
    assert api.line.manifest.route_of("OK1") is None  # all or nothing
    response = await _upload(api, body.encode(), "text/csv", partial="true")
    assert response.status_code == 200
    job = response.json()
    assert job["rows_loaded"] == 2 and job["rows_bad"] == 3
    assert api.line.manifest.route_of("OK1") == "A" and api.line.manifest.route_of("OK4") == "C"
    assert api.line.manifest.route_of("BAD 1") is None


async def test_wrong_formats_are_refused_with_the_reason(api):
    response = await _upload(api, b"<xml/>", "application/xml")
    assert response.status_code == 415 and "not a manifest format" in response.json()["detail"]
    response = await _upload(api, b"", "text/csv")
    assert response.status_code == 422 and "empty" in response.json()["detail"]
    response = await _upload(api, b"code,lane\nX,A\n", "text/csv")
    assert response.status_code == 422 and "barcode" in response.json()["detail"]
    response = await _upload(api, b"[{]", "application/json")
    assert response.status_code == 422


async def test_query_pages_by_barcode_and_filters_by_route(api):
    rows = "".join(f"Q{i:03d},{'A' if i % 2 else 'B'}\n" for i in range(30))
    await _upload(api, ("barcode,route\n" + rows).encode(), "text/csv")
    seen, after = [], None
    while True:
        params = {"route": "A", "limit": 7, **({"after": after} if after else {})}
        page = (await api.get("/api/v1/manifest", params=params)).json()
        seen += [r["barcode"] for r in page["items"]]
        after = page["next_after"]
        if after is None:
            break
    assert [b for b in seen if b.startswith("Q")] == [f"Q{i:03d}" for i in range(30) if i % 2]
    assert len(seen) == len(set(seen))
    jobs = (await api.get("/api/v1/manifest/jobs")).json()
    assert jobs and jobs[0]["rows_loaded"] == 30


async def test_a_changed_manifest_file_is_imported_while_the_line_runs(api):
    path = api.line.manifest_path
    text = await asyncio.to_thread(path.read_text)
    await asyncio.to_thread(path.write_text, text + "FILE0001,B\nBAD ROW,\n")
    await until(lambda: api.line.manifest.route_of("FILE0001") == "B", within=15)
    # The rows are looked up before the import job's summary (bad rows, partial) is
    # recorded: under load the job may still be finishing when the row shows.
    from_file = None
    for _ in range(150):
        jobs = (await api.get("/api/v1/manifest/jobs")).json()
        from_file = next((j for j in jobs if j["actor"] == "file" and j["rows_bad"]), None)
        if from_file is not None:
            break
        await asyncio.sleep(0.1)
    assert from_file is not None, jobs
    assert from_file["partial"] is True and from_file["bad_rows"][0]["line"] > 1
