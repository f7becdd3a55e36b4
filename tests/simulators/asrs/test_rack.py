"""The simulator's rack: capacity, refusals, seeded fault rates."""

from __future__ import annotations

from simulators.asrs import Rack


def test_full_rack_and_double_store_are_refused() -> None:
    rack = Rack(2, lambda i: f"S{i}")
    first, second = rack.plan_store("A", None), rack.plan_store("B", None)
    assert (first.slot, second.slot) == ("S1", "S2")
    assert rack.plan_store("C", None).reason == "no_free_location"
    assert rack.plan_store("A", None).reason == "already_stored"
    rack.put("S1", "A")
    assert rack.plan_retrieve("A").slot == "S1" and rack.plan_retrieve("Z").reason == "unknown_hu"
    assert rack.snapshot() == {"S1": "A"}


def test_seeded_fault_rates_repeat_exactly() -> None:
    def run() -> list[str | None]:
        rack = Rack(50, lambda i: f"S{i}", seed=7, rates={"crane_fault": 0.3})
        return [rack.plan_store(f"H{i}", None).reason for i in range(40)]

    reasons = run()
    assert reasons == run()
    assert 0 < reasons.count("crane_fault") < 40
