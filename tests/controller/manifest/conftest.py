"""Fixtures of the manifest tests: a store, a job manager on it, a big manifest file."""

from __future__ import annotations

import random

import pytest

from controller.manifest.jobs import ImportJobs
from controller.manifest.store import ManifestStore
from tests.controller.manifest.helpers import BIG


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
