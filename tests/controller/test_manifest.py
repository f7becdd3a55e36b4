import pytest

from controller.errors import ManifestError
from controller.manifest import load_manifest


def test_loads_routes_and_reports_bad_rows(tmp_path):
    path = tmp_path / "m.csv"
    path.write_text("barcode,route,stop\nLS1,R01,3\n,R02,1\nLS2,R02,1\nLS1,R05,2\n")
    manifest = load_manifest(path)
    assert manifest.route_of("LS1") == "R01"
    assert manifest.route_of("LS2") == "R02"
    assert manifest.route_of("LS3") is None
    assert len(manifest) == 2
    assert len(manifest.skipped_rows) == 2
    assert f"{path}:3" in manifest.skipped_rows[0]
    assert "already on route R01" in manifest.skipped_rows[1]


def test_missing_column_names_the_file_and_column(tmp_path):
    path = tmp_path / "m.csv"
    path.write_text("code,route\nLS1,R01\n")
    with pytest.raises(ManifestError, match=r"m\.csv:1: .*missing barcode"):
        load_manifest(path)


def test_missing_file_is_a_manifest_error(tmp_path):
    with pytest.raises(ManifestError, match="cannot read"):
        load_manifest(tmp_path / "nope.csv")
