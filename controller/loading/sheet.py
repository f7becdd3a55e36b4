"""A truck's load sheet as CSV and as PDF (A4, fpdf2). Pure: text in, bytes out.

Columns, in loading order: ``order`` (1 = loaded first), ``position`` (load zone),
``stops`` (stop sequences, ``1;2``), ``route``, ``unit`` (container id or parcel id),
``kind``, ``parcels``, ``weight_kg`` (measured, else the parcels' tunnel weights; empty
when unknown), ``volume_m3``.
"""

from __future__ import annotations

import csv
import io
import time

from fpdf import FPDF

from controller.loading.plan import LoadPlan, LoadRow

COLUMNS = (
    "order",
    "position",
    "stops",
    "route",
    "unit",
    "kind",
    "parcels",
    "weight_kg",
    "volume_m3",
)


def _cell(text: str) -> str:
    """A text cell a spreadsheet will not run as a formula (CWE-1236)."""
    return "'" + text if text[:1] in ("=", "+", "-", "@", "\t", "\r") else text


def _cells(row: LoadRow) -> list[str]:
    return [
        str(row.order),
        row.position,
        ";".join(map(str, row.stops)),
        _cell(row.route),
        _cell(row.unit_id),
        row.kind,
        str(row.parcels),
        "" if row.weight_kg is None else f"{row.weight_kg:.3f}",
        "" if row.volume_m3 is None else f"{row.volume_m3:.4f}",
    ]


def load_sheet_csv(
    plan: LoadPlan, *, truck: str, door: str | None, departure: str | None = None
) -> str:
    """The sheet as CSV (a header row, then one row per unit in loading order)."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(COLUMNS)
    for row in plan.rows:
        writer.writerow(_cells(row))
    return out.getvalue()


def load_sheet_pdf(
    plan: LoadPlan,
    *,
    truck: str,
    door: str | None,
    departure: str | None = None,
    compress: bool = True,
) -> bytes:
    """The sheet as a PDF: title, a table in loading order (pages break as needed), totals."""
    pdf = FPDF(orientation="P", unit="mm", format="A4")
    pdf.set_compression(compress)
    pdf.set_auto_page_break(auto=True, margin=15)
    pdf.add_page()
    pdf.set_font("Helvetica", "B", 16)
    pdf.cell(0, 10, _latin(f"Load sheet - truck {truck}"), new_x="LMARGIN", new_y="NEXT")
    pdf.set_font("Helvetica", "", 10)
    info = f"Door {door or '-'}   Departure {departure or '-'}   Printed " + time.strftime(
        "%Y-%m-%d %H:%M"
    )
    pdf.cell(0, 6, _latin(info), new_x="LMARGIN", new_y="NEXT")
    pdf.cell(
        0,
        6,
        "Load in this order: the first row goes in first (front, at the cab): last stop first.",
        new_x="LMARGIN",
        new_y="NEXT",
    )
    pdf.ln(2)
    widths = (12, 20, 22, 24, 50, 20, 16, 20)
    heads = ("#", "position", "stops", "route", "unit", "kind", "parcels", "kg")
    pdf.set_font("Helvetica", "B", 9)
    for width, head in zip(widths, heads, strict=True):
        pdf.cell(width, 7, head, border=1)
    pdf.ln()
    pdf.set_font("Helvetica", "", 9)
    for row in plan.rows:
        cells = _cells(row)[:8]
        for width, text in zip(widths, cells, strict=True):
            pdf.cell(width, 6, _latin(text)[:40], border=1)
        pdf.ln()
    pdf.ln(2)
    pdf.set_font("Helvetica", "B", 10)
    totals = f"{len(plan.rows)} units, {plan.parcels} parcels, {plan.weight_kg:.3f} kg"
    pdf.cell(0, 6, totals, new_x="LMARGIN", new_y="NEXT")
    return bytes(pdf.output())


def _latin(text: str) -> str:
    """Core PDF fonts take Latin-1 only: anything else becomes ``?``."""
    return text.encode("latin-1", "replace").decode("latin-1")
