from controller.reports.demo import build_report

PLAN = {"R01": [1], "R02": [2]}


def _journal():
    return {
        "inducted": [(1, 1), (2, 2), (3, 3), (4, 4)],
        "terminals": [
            (1, 1, "sorted", 1, None),
            (2, 2, "sorted", 1, None),
            (3, 3, "rejected", 32, "no_read"),
        ],
        "latencies": [1.0, 2.0, 3.0],
        "span_s": 4.0,
    }


def test_right_and_wrong_chute_come_from_the_twin_truth():
    truth = {
        "belt_speed_mps": 2.5,
        "parcels": [
            {
                "tracking_id": 1,
                "route": "R01",
                "in_manifest": True,
                "result": "DIVERTED",
                "landed_chute": 1,
                "answer_latency_ms": 1.5,
            },
            {
                "tracking_id": 2,
                "route": "R02",
                "in_manifest": True,
                "result": "DIVERTED",
                "landed_chute": 1,
                "answer_latency_ms": 2.5,
            },
            {
                "tracking_id": 3,
                "route": "R01",
                "in_manifest": True,
                "result": "REJECT_REQUESTED",
                "landed_chute": 32,
                "answer_latency_ms": 0.5,
            },
            {
                "tracking_id": 4,
                "route": "R01",
                "in_manifest": True,
                "result": None,
                "landed_chute": None,
                "answer_latency_ms": None,
            },
        ],
    }
    r = build_report(
        _journal(), truth, PLAN, parcels_requested=4, rate_pph=3600, seed=1, wall_time_s=4.0
    )
    assert (r.inducted, r.sorted_right_chute, r.sorted_wrong_chute) == (4, 1, 1)
    assert r.rejected_by_reason == {"no_read": 1}
    assert r.without_terminal_state == 1 and r.lost == 1 and r.on_belt_at_stop == 0
    stopped = build_report(
        _journal(),
        truth,
        PLAN,
        parcels_requested=None,
        rate_pph=3600,
        seed=1,
        wall_time_s=4.0,
        interrupted=True,
    )
    assert stopped.lost == 0 and stopped.on_belt_at_stop == 1
    assert r.answer_latency_ms_plc.count == 3 and r.answer_latency_ms_plc.max == 2.5
    assert r.answer_latency_ms_controller.p50 == 2.0
    assert r.throughput_pph == 3600.0


def test_parcel_missing_from_manifest_in_a_route_chute_is_wrong():
    truth = {
        "parcels": [
            {
                "tracking_id": 1,
                "route": "R01",
                "in_manifest": False,
                "result": "DIVERTED",
                "landed_chute": 1,
            }
        ]
    }
    journal = {"inducted": [(1, 1)], "terminals": [(1, 1, "sorted", 1, None)], "latencies": []}
    r = build_report(
        journal, truth, PLAN, parcels_requested=None, rate_pph=1, seed=1, wall_time_s=1
    )
    assert r.sorted_wrong_chute == 1
