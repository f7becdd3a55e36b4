"""Shared pieces of the manifest import and job manager tests."""

from __future__ import annotations

import random

import pytest

from controller.manifest_jobs import ImportJobs
from controller.manifest_store import ManifestStore

BIG = 200_000
GOOD = "barcode,route,stop_sequence\nA1,R1,1\nA2,R2,2\nA3,R1,3\n"
BAD = "barcode,route,stop_sequence\nA1,R1,1\nA 2,R2,2\nA3,,x\nA4,R4,4\n"


@pytest.fixture(scope="module")
def big_csv(tmp_path_factory):
    """200,000 good rows with random barcodes (the order a TMS export really has)."""
    path = tmp_path_factory.mktemp("big") / "big.csv"
    rng = random.Random(7)
    with path.open("w") as out:
        out.write("barcode,route,stop_sequence,consignee,postal_code,service_level\n")
        for i in range(BIG):
            code = f"JD{rng.getrandbits(60):018d}"
            out.write(f"{code},R{i % 60:02d},{i % 300},Consignee {i},AB{i % 999:03d} 1,std\n")
    return path


@pytest.fixture
def store(tmp_path):
    store = ManifestStore(tmp_path / "manifest.sqlite")
    store.open()
    yield store
    store.close()


@pytest.fixture
async def jobs(store):
    jobs = ImportJobs(store, grace_s=5.0)
    yield jobs
    await jobs.close()


def write(tmp_path, name, text):
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path
