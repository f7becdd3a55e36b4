"""Which of the symbols read is the parcel's sortable label, and routes by postal code.

A box carries more than its shipping label: product EANs, a return label, a
pallet label. The configured patterns (``labels.patterns``) say which symbols are
sortable labels and what their parcel id is; the first pattern that matches a
symbol wins. The same label read twice is one read; two *different* sortable labels
on one parcel is the multi-label reject, never resolved by guessing.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass

from controller.parcels.decision import Identification, RejectReason
from controller.parcels.gs1 import Gs1Error, parse_gs1
from drivers.barcode.base import BarcodeRead
from plc_configs.schema import LabelPattern, LabelsSection


@dataclass(frozen=True, slots=True)
class Label:
    """A sortable label: the parcel id, its postal code if the label carries one."""

    parcel_id: str
    pattern: str
    postal_code: str | None = None
    gs1: dict[str, str] | None = None


class LabelRules:
    """The line's label patterns and postal-code route rules."""

    def __init__(self, section: LabelsSection):
        self.section = section
        self._compiled = [
            (p, re.compile(p.regex) if p.regex is not None else None) for p in section.patterns
        ]

    def label_of(self, symbol: BarcodeRead) -> Label | None:
        """The sortable label ``symbol`` is, or None (not a shipping label)."""
        if not self._compiled:
            return Label(symbol.data, "any")
        for pattern, regex in self._compiled:
            if pattern.symbologies and symbol.symbology not in pattern.symbologies:
                continue
            label = _match(pattern, regex, symbol)
            if label is not None:
                return label
        return None

    def identify(self, symbols: Iterable[BarcodeRead]) -> Identification:
        """The parcel's identification from every symbol read on it."""
        read = [s for s in symbols if s.data]
        if not read:
            return Identification(None, RejectReason.NO_READ, "no symbol read")
        labels = {}
        for symbol in read:
            label = self.label_of(symbol)
            if label is not None:
                labels.setdefault(label.parcel_id, label)
        if not labels:
            seen = ", ".join(sorted({s.data for s in read}))[:200]
            return Identification(
                None, RejectReason.NO_READ, f"no sortable label among the symbols read: {seen}"
            )
        if len(labels) > 1:
            return Identification(
                None,
                RejectReason.MULTIPLE_LABELS,
                f"different labels: {', '.join(sorted(labels))}",
            )
        (label,) = labels.values()
        return Identification(label.parcel_id, postal_code=label.postal_code, label=label.pattern)

    def route_for_postal(self, postal: str | None) -> str | None:
        """The route whose postal range holds ``postal`` (first rule wins), or None."""
        if postal is None:
            return None
        for rule in self.section.route_rules:
            if rule.matches(postal):
                return rule.route
        return None


def _match(
    pattern: LabelPattern, regex: re.Pattern[str] | None, symbol: BarcodeRead
) -> Label | None:
    if regex is not None:
        m = regex.fullmatch(symbol.data)
        if m is None:
            return None
        groups = m.groupdict()
        return Label(groups.get("id") or m.group(0), pattern.name, groups.get("postal"))
    try:
        gs1 = parse_gs1(symbol.symbology + symbol.data if symbol.symbology else symbol.data)
    except Gs1Error:
        return None
    assert pattern.gs1_ai is not None
    parcel_id = gs1.get(pattern.gs1_ai)
    if parcel_id is None:
        return None
    return Label(parcel_id, pattern.name, gs1.postal_code, gs1.as_dict())
