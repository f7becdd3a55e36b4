"""The TMS manifest: barcode -> route (and stop), stored, imported and looked up.

Owns the row model and its parsers (:mod:`~controller.manifest.rows`: CSV, NDJSON,
JSON), the store (:mod:`~controller.manifest.store`: ``manifest.sqlite``, the route
lookup on the decision path, the import jobs table), an import job's record
(:mod:`~controller.manifest.import_job`), the bulk importer that runs as its
own process (:mod:`~controller.manifest.importer`) and the job manager that starts it
and reports progress (:mod:`~controller.manifest.jobs`).

May use: :mod:`controller.errors` only. Independent of every other capability.
"""

from controller.manifest.import_job import ImportJob, JobState
from controller.manifest.importer import new_job_id, run_import
from controller.manifest.jobs import ImportJobs
from controller.manifest.rows import ManifestRow
from controller.manifest.store import ManifestStore

__all__ = [
    "ImportJob",
    "ImportJobs",
    "JobState",
    "ManifestRow",
    "ManifestStore",
    "new_job_id",
    "run_import",
]
