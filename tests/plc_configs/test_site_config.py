"""SITE.yaml: the shipped example loads; every problem is named by file, line and key."""

from __future__ import annotations

from pathlib import Path

import pytest

from plc_configs.site import SiteConfigError, load_site_config, parse_site_config

DEMO = Path(__file__).parents[2] / "plc_configs" / "demo-site.yaml"

GOOD = """\
site: {name: hub}
postgres: {url: "postgresql://lanesort@db:5432/site", password_env: PG_PW}
lines:
  a: {api_url: "http://10.0.0.1:8080/"}
routes:
  map: {R1: a}
"""


def problems(text: str) -> list[str]:
    with pytest.raises(SiteConfigError) as info:
        parse_site_config(text, "SITE.yaml")
    return [str(p) for p in info.value.problems]


def test_the_demo_site_loads() -> None:
    config = load_site_config(DEMO)
    assert config.site.name == "demo-hub"
    assert set(config.lines) == {"line-1", "line-2"}
    assert config.postgres.password_env == "LANESORT_PG_PASSWORD"


def test_a_good_config_and_its_defaults() -> None:
    config = parse_site_config(GOOD)
    assert config.lines["a"].api_url == "http://10.0.0.1:8080"  # no trailing slash
    assert config.http.port == 8090 and config.auth.tokens_path == "tokens.sqlite"


def test_a_password_in_the_url_is_refused_and_never_echoed() -> None:
    found = problems(GOOD.replace("lanesort@db", "lanesort:hunter2@db"))
    assert len(found) == 1
    assert found[0].startswith("SITE.yaml:2: postgres.url: the password must not be in the file")
    assert "hunter2" not in found[0]


def test_every_problem_by_file_line_and_key() -> None:
    text = """\
site: {name: hub}
postgres: {url: "mysql://x/db", password_env: "1BAD"}
http: {port: 70000}
lines:
  a: {api_url: "ftp://x", token_env: TOKEN_A, colour: red}
"""
    found = problems(text)
    assert "SITE.yaml:2: postgres.password_env: String should match pattern" in found[0]
    assert any(p.startswith("SITE.yaml:3: http.port: ") for p in found)
    assert any(
        p.startswith("SITE.yaml:5: lines.a.api_url: expected an http:// or https:// URL")
        for p in found
    )
    assert "SITE.yaml:5: lines.a.colour: unknown key (misspelt, or not supported here)" in found
    assert len(found) == 4


def test_routes_must_name_known_lines_and_valid_patterns() -> None:
    text = GOOD.replace(
        "  map: {R1: a}\n",
        "  map: {R1: b}\n  prefixes: {S: c}\n  patterns: {'X(': a}\n  default: z\n",
    )
    found = problems(text)
    assert found == [
        "SITE.yaml:8: routes.patterns.X(: not a regular expression "
        "(missing ), unterminated subpattern at position 1)"
    ]
    found = problems(text.replace("'X('", "'X[0-9]'"))
    assert found == [
        "SITE.yaml:6: routes.map.R1: no line 'b' in lines (known: a)",
        "SITE.yaml:7: routes.prefixes.S: no line 'c' in lines (known: a)",
        "SITE.yaml:9: routes.default: no line 'z' in lines (known: a)",
    ]


def test_missing_sections_and_a_missing_file(tmp_path: Path) -> None:
    assert problems("site: {name: hub}\n") == [
        "SITE.yaml:1: postgres: required key is missing",
        "SITE.yaml:1: lines: required key is missing",
    ]
    with pytest.raises(SiteConfigError, match="cannot read the file"):
        load_site_config(tmp_path / "nope.yaml")
