"""The AS/RS executes a repeated telegram sequence once, whatever the host sends again and
whenever (a lost reply or ack makes the host retransmit the same sequence)."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from plc_configs import gebhardt as gb
from plc_configs import osip
from simulators.asrs.server import AsrsSimulator

HOST = {"osip": "MFC__", "gebhardt": "WCS"}


def _store(protocol: str, sim: AsrsSimulator, seq: int, hu: str) -> bytes:
    if protocol == "osip":
        telegram = osip.OsipTelegram(
            "REQ_", osip.pad_id(HOST["osip"]), osip.pad_id(sim.device_id), seq,
            "20261204120000", barcode=hu, actual=sim.in_location,
        )  # fmt: skip
        return osip.encode(telegram)
    return gb.encode(gb.message(seq, HOST["gebhardt"], sim.device_id, "20261204120000",
                                Function="Store", HU=hu, Tord=f"S{seq}"))  # fmt: skip


@settings(max_examples=40, deadline=None)
@given(
    st.sampled_from(["osip", "gebhardt"]),
    st.lists(st.integers(1, 3), min_size=1, max_size=8),
    st.randoms(use_true_random=False),
)
def test_a_repeated_sequence_is_executed_once(protocol, repeats, rng):
    sim = AsrsSimulator(protocol, capacity=20)
    frames = [_store(protocol, sim, i + 1, f"HU{i:03d}") for i in range(len(repeats))]
    copies = [f for f, n in zip(frames, repeats, strict=True) for _ in range(n)]
    rng.shuffle(copies)  # sent again (1-3 times each), some late, after later telegrams
    stream = frames + copies
    handle = sim._on_osip if protocol == "osip" else sim._on_gebhardt
    for frame in stream:
        handle(frame.rstrip(b"\r\n") if protocol == "osip" else frame)
    accepted = []
    while not sim._moves.empty():
        accepted.append(sim._moves.get_nowait()[1])
    assert sorted(accepted) == [f"HU{i:03d}" for i in range(len(repeats))]
    assert sim.duplicates == len(copies)
