"""The container label in ZPL: truck, door, route, stops, load position, where it was
packed, and a Code 128 of the container id. Pure: no I/O.

Layout: drawn for the common 4 x 6 inch (100 x 150 mm) shipping label and scaled down
evenly to fit a smaller one (never up); every position and size is in dots for the
printer's resolution (``dots = mm / 25.4 * dpi``). Each value has a small caption above
it; the load position and the truck are the largest, the loaders read them from a
distance. Font 0 (``^A0N,h,w``) is proportional; a value too long for its column is
condensed (narrower ``w``, estimated at 0.6 x ``w`` per character, never under 10 dots),
not cut.

Field data: ``^`` and ``~`` are ZPL's command prefixes (a ``^XZ`` in a consignee would
end the format, a ``~`` would be run as a control command), so every character outside
printable ASCII, and ``^``, ``~`` and ``_``, is written as ``_XX`` hexadecimal under
``^FH_`` (UTF-8 bytes, with ``^CI28`` selecting UTF-8); control characters become
spaces. The barcode data is not escaped but checked: the container id must be printable
ASCII without ``^``, ``~`` and ``>`` (``>`` starts a Code 128 invocation code in ZPL),
else ValueError. The barcode starts with ``>:`` (start code B) and prints its
interpretation line below.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

NOMINAL_MM = (100.0, 150.0)
MARGIN_MM = 4.0
CAPTION_MM = 3.5
CHAR_WIDTH = 0.6
MIN_FONT_DOTS = 10
QUIET_MODULES = 10
MODULE_MM = 0.33
BARCODE_FORBIDDEN = set("^~>")
ESCAPED = set("^~_")


@dataclass(frozen=True, slots=True)
class ContainerLabel:
    """What goes on one container's label."""

    container_id: str
    truck: str
    route: str
    stop_sequences: tuple[int, ...]
    load_position: str
    cubby: str
    wall: str
    parcels: int
    door: str | None = None
    consignee: str = ""


def stops_text(stops: Iterable[int]) -> str:
    """Stop sequence numbers as ranges: ``(1, 2, 3, 5)`` -> ``"1-3, 5"``."""
    ordered = sorted(set(stops))
    runs: list[str] = []
    i = 0
    while i < len(ordered):
        j = i
        while j + 1 < len(ordered) and ordered[j + 1] == ordered[j] + 1:
            j += 1
        runs.append(str(ordered[i]) if i == j else f"{ordered[i]}-{ordered[j]}")
        i = j + 1
    return ", ".join(runs) or "-"


def escape_field(text: str) -> tuple[str, bool]:
    """``text`` safe inside ``^FD … ^FS``, and whether it needs ``^FH_`` before it."""
    out: list[str] = []
    hexed = False
    for ch in text:
        if ord(ch) < 32 or ord(ch) == 127:
            out.append(" ")
        elif ch in ESCAPED or ord(ch) > 126:
            out.extend(f"_{b:02X}" for b in ch.encode("utf-8"))
            hexed = True
        else:
            out.append(ch)
    return "".join(out), hexed


def check_barcode_data(data: str) -> None:
    """ValueError unless ``data`` can be a Code 128 subset B ``^FD`` as it is."""
    bad = sorted({ch for ch in data if ch in BARCODE_FORBIDDEN or not 32 <= ord(ch) <= 126})
    if not data or bad:
        raise ValueError(
            f"container id {data!r} cannot be a Code 128 barcode: "
            + (f"characters {bad!r} are not allowed" if bad else "it is empty")
        )


class _Canvas:
    """Millimetres of the nominal layout to dots of this label."""

    def __init__(self, dpi: int, width_mm: float, height_mm: float):
        self.dpi = dpi
        self.scale = min(1.0, width_mm / NOMINAL_MM[0], height_mm / NOMINAL_MM[1])
        self.width = round(width_mm / 25.4 * dpi)
        self.height = round(height_mm / 25.4 * dpi)
        self.parts: list[str] = []

    def dots(self, mm: float) -> int:
        return round(mm * self.scale / 25.4 * self.dpi)

    def text(self, x_mm: float, y_mm: float, size_mm: float, text: str, col_mm: float) -> None:
        h = max(MIN_FONT_DOTS, self.dots(size_mm))
        room = max(1, min(self.dots(col_mm), self.width - self.dots(x_mm)))
        w = h
        if text and len(text) * CHAR_WIDTH * w > room:
            w = max(MIN_FONT_DOTS, int(room / (len(text) * CHAR_WIDTH)))
        data, hexed = escape_field(text)
        fh = "^FH_" if hexed else ""
        self.parts.append(f"^FO{self.dots(x_mm)},{self.dots(y_mm)}^A0N,{h},{w}{fh}^FD{data}^FS")

    def pair(self, x_mm: float, y_mm: float, caption: str, value: str, size: float, col: float):
        self.text(x_mm, y_mm, CAPTION_MM, caption, col)
        self.text(x_mm, y_mm + CAPTION_MM + 0.5, size, value, col)


def container_label_zpl(
    label: ContainerLabel,
    *,
    dpi: int,
    width_mm: float,
    height_mm: float,
    copies: int = 1,
) -> str:
    """The ZPL format (``^XA … ^XZ``) of ``label`` for a ``width_mm`` x ``height_mm``
    label at ``dpi``; ValueError if the container id cannot be a barcode or does not fit."""
    check_barcode_data(label.container_id)
    if copies < 1:
        raise ValueError(f"copies must be at least 1, got {copies}")
    c = _Canvas(dpi, width_mm, height_mm)
    m, full = MARGIN_MM, NOMINAL_MM[0] - 2 * MARGIN_MM
    c.pair(m, 4, "TRUCK", label.truck, 12, full)
    c.pair(m, 22, "DOOR", label.door or "-", 8, 42)
    c.pair(50, 22, "ROUTE", label.route, 8, 46)
    c.pair(m, 36, "LOAD POSITION", label.load_position, 12, 42)
    c.pair(50, 36, "STOPS", stops_text(label.stop_sequences), 8, 46)
    c.pair(m, 54, "WALL", label.wall, 6, 30)
    c.pair(36, 54, "CUBBY", label.cubby, 6, 30)
    c.pair(70, 54, "PARCELS", str(label.parcels), 6, 26)
    if label.consignee:
        c.pair(m, 66, "CONSIGNEE", label.consignee, 5, full)
    _barcode(c, label.container_id, y_mm=80, height_mm=35)
    head = f"^XA\n^CI28^PW{c.width}^LL{c.height}^LH0,0\n"
    return head + "\n".join(c.parts) + f"\n^PQ{copies}\n^XZ"


def _barcode(c: _Canvas, data: str, *, y_mm: float, height_mm: float) -> None:
    """Code 128 (subset B) centred, module width fitted to the label, quiet zones kept."""
    modules = 11 * len(data) + 35  # start, data, check character: 11 each; stop: 13
    target = max(2, round(MODULE_MM / 25.4 * c.dpi))
    module = min(target, (c.width - 2 * c.dots(MARGIN_MM)) // (modules + 2 * QUIET_MODULES))
    if module < 1:
        raise ValueError(f"container id {data!r} is too long for a {c.width}-dot wide label")
    x = (c.width - modules * module) // 2
    c.parts.append(
        f"^FO{x},{c.dots(y_mm)}^BY{module}^BCN,{max(1, c.dots(height_mm))},Y,N,N^FD>:{data}^FS"
    )
