"""Files the simulator writes: the TMS manifest (CSV), the route plan and the truth file
(JSON).

Both are written atomically: a temporary file in the same folder, then a rename.
"""

from __future__ import annotations

import csv
import io
import json
import os
import tempfile
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from simulators.parcels import MANIFEST_COLUMNS
from simulators.plc_logic import PlcLogic
from simulators.route_plan import RoutePlan
from simulators.twin import LineTwin


def write_atomic(path: Path, text: str) -> None:
    """Write ``text`` to ``path`` through a temporary file and a rename."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "w", encoding="utf-8", newline="") as handle:
            handle.write(text)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def manifest_csv(rows: Sequence[tuple[str, ...]], columns: Sequence[str] = MANIFEST_COLUMNS) -> str:
    """CSV text with a header of ``columns`` (default ``barcode,route``)."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(list(columns))
    writer.writerows(rows)
    return out.getvalue()


def write_manifest(
    path: Path, rows: Sequence[tuple[str, ...]], columns: Sequence[str] = MANIFEST_COLUMNS
) -> None:
    """Write the manifest CSV atomically."""
    write_atomic(path, manifest_csv(rows, columns))


ROUTE_PLAN_FILE = "route-plan.json"
"""The route plan is written next to the manifest under this name."""


def write_route_plan(path: Path, plan: RoutePlan) -> None:
    """Write the route plan as the TMS sends it (``PUT /api/v1/route-plan``), atomically."""
    write_atomic(path, json.dumps(plan.as_tms_json(), indent=1) + "\n")


def truth(twin: LineTwin, plc: PlcLogic | None, extra_stats: dict[str, Any] | None = None) -> dict:
    """What really happened, for comparison with the controller's journal."""
    parcels = []
    for tid in sorted(twin.parcels):
        p = twin.parcels[tid]
        parcels.append(
            {
                "tracking_id": tid,
                "barcode": p.spec.barcode,
                "route": p.spec.route,
                **(
                    {}
                    if p.spec.stop_sequence is None
                    else {"stop_sequence": p.spec.stop_sequence, "consignee": p.spec.consignee}
                ),
                "in_manifest": p.spec.in_manifest,
                "reader_outcome": p.spec.reader_outcome.value,
                "labels": p.spec.labels,
                "weight_kg": p.spec.weight_kg,
                "length_mm": p.spec.length_mm,
                "width_mm": p.spec.width_mm,
                "height_mm": p.spec.height_mm,
                "answered_chute": p.answered_chute,
                "answer_latency_ms": p.answer_latency_ms,
                "result": p.result.name if p.result is not None else None,
                "landed_chute": p.landed_chute,
            }
        )
    latencies = sorted(
        p["answer_latency_ms"] for p in parcels if p["answer_latency_ms"] is not None
    )
    stats: dict[str, Any] = {
        "inducted": twin.stats.inducted,
        "landed": twin.stats.landed,
        "results": dict(sorted(twin.stats.results.items())),
        "answer_latency_ms_max": latencies[-1] if latencies else None,
        "answer_latency_ms_p50": latencies[len(latencies) // 2] if latencies else None,
    }
    if plc is not None:
        stats.update(
            {
                "requests_posted": plc.stats.requests_posted,
                "answers_accepted": plc.stats.answers_accepted,
                "mismatched_answers": plc.stats.mismatched_answers,
                "invalid_answers": plc.stats.invalid_answers,
                "unanswered": plc.stats.unanswered,
                "invalid_commands": plc.packml.invalid_commands,
                "invalid_host_values": plc.stats.invalid_host_values,
                "ring_overflows": plc.scan_ring.overflowed + plc.confirm_ring.overflowed,
                "scan_ring_overflows": plc.scan_ring.overflowed,
                "confirm_ring_overflows": plc.confirm_ring.overflowed,
                "confirmations_written": plc.confirm_ring.written,
                "final_packml_state": plc.packml.state.name,
            }
        )
    stats.update(extra_stats or {})
    return {
        "seed": twin.seed,
        "rate_pph": twin.rate_pph,
        "belt_speed_mps": twin.belt_speed_mps,
        "parcels": parcels,
        "stats": stats,
    }


def write_truth(path: Path, data: dict) -> None:
    """Write the truth file as JSON, atomically."""
    write_atomic(path, json.dumps(data, indent=1) + "\n")
