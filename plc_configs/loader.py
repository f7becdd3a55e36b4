"""Load and validate a line configuration file, reporting every problem at once.

Each problem names the file, the line in it, the key path (``topology.chutes.3.capacity``)
and what was expected, so an integrator fixes a config in one pass.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

import yaml
from pydantic import BaseModel, ValidationError

from plc_configs.schema import LineConfig

M = TypeVar("M", bound=BaseModel)


class _Yaml12Loader(yaml.SafeLoader):
    """YAML loader where only true/false are booleans (``off``, ``no`` stay strings)."""


_Yaml12Loader.yaml_implicit_resolvers = {
    k: [(tag, rx) for tag, rx in v if tag != "tag:yaml.org,2002:bool"]
    for k, v in yaml.SafeLoader.yaml_implicit_resolvers.items()
}
_Yaml12Loader.add_implicit_resolver(
    "tag:yaml.org,2002:bool",
    re.compile(r"^(?:true|True|TRUE|false|False|FALSE)$"),
    list("tTfF"),
)


def load_yaml(text: str) -> Any:
    """Parse YAML text with YAML 1.2 booleans (so ``off`` is the string "off")."""
    return yaml.load(text, Loader=_Yaml12Loader)


@dataclass(frozen=True)
class ConfigProblem:
    """One thing wrong in a config file."""

    file: str
    line: int | None
    key: str
    message: str

    def __str__(self) -> str:
        where = f"{self.file}:{self.line}" if self.line else self.file
        key = self.key or "(top level)"
        return f"{where}: {key}: {self.message}"


class LineConfigError(Exception):
    """A line configuration file could not be read or is not valid."""

    def __init__(self, problems: list[ConfigProblem]):
        self.problems = problems
        super().__init__("\n".join(str(p) for p in problems))


def _line_index(node: yaml.Node, path: tuple[Any, ...], out: dict[tuple[Any, ...], int]) -> None:
    """Record the 1-based line of every key path in a composed YAML node tree."""
    out.setdefault(path, node.start_mark.line + 1)
    if isinstance(node, yaml.MappingNode):
        for key_node, value_node in node.value:
            key: Any = key_node.value
            if isinstance(key, str) and key.lstrip("-").isdigit():
                key = int(key)
            out[(*path, key)] = key_node.start_mark.line + 1
            _line_index(value_node, (*path, key), out)
    elif isinstance(node, yaml.SequenceNode):
        for index, item in enumerate(node.value):
            _line_index(item, (*path, index), out)


def _nearest_line(lines: dict[tuple[Any, ...], int], loc: tuple[Any, ...]) -> int | None:
    for end in range(len(loc), -1, -1):
        prefix = tuple(loc[:end])
        if prefix in lines:
            return lines[prefix]
        alt = tuple(str(p) for p in prefix)
        if alt in lines:
            return lines[alt]
    return None


_UNION_TAGS = frozenset({"sorter_plc", "barcode_reader", "camera", "scale", "dimensioner"})


def _clean_loc(loc: tuple[Any, ...]) -> tuple[Any, ...]:
    """Drop pydantic's union tags (``sorter_plc``) that are not keys of the file."""
    return tuple(
        p for p in loc if not (isinstance(p, str) and p in {"sorter_plc", "barcode_reader"})
    )


def _message(err: dict[str, Any]) -> str:
    msg = str(err["msg"])
    msg = msg.removeprefix("Value error, ")
    if err["type"] == "extra_forbidden":
        return "unknown key (misspelt, or not supported here)"
    if err["type"] == "missing":
        return "required key is missing"
    if (
        "input" in err
        and err["type"] not in {"model_type"}
        and not isinstance(err["input"], dict | list)
    ):
        msg = f"{msg} (got {err['input']!r})"
    return msg


def _parse_yaml(text: str, source: str) -> tuple[dict[str, Any], dict[tuple[Any, ...], int]]:
    """The mapping in ``text`` and the line of every key path in it."""
    try:
        node = yaml.compose(text, Loader=_Yaml12Loader)
        data = load_yaml(text)
    except yaml.YAMLError as err:
        mark = getattr(err, "problem_mark", None)
        line = mark.line + 1 if mark else None
        raise LineConfigError(
            [ConfigProblem(source, line, "", f"not valid YAML: {getattr(err, 'problem', err)}")]
        ) from err
    if not isinstance(data, dict):
        raise LineConfigError(
            [ConfigProblem(source, 1, "", "expected a mapping of sections (line, devices, ...)")]
        )
    lines: dict[tuple[Any, ...], int] = {}
    if node is not None:
        _line_index(node, (), lines)
    return data, lines


def merge_config(base: dict[str, Any], over: dict[str, Any]) -> dict[str, Any]:
    """``over`` on top of ``base``: mappings merge key by key, ``null`` removes a key,
    anything else (lists included) replaces."""
    out = dict(base)
    for key, value in over.items():
        if value is None:
            out.pop(key, None)
        elif isinstance(value, dict) and isinstance(out.get(key), dict):
            out[key] = merge_config(out[key], value)
        else:
            out[key] = value
    return out


Layer = tuple[str, dict[tuple[Any, ...], int]]


def _layers(
    text: str, source: str, base_dir: Path | None, seen: tuple[str, ...] = ()
) -> tuple[dict[str, Any], list[Layer]]:
    """The merged data of a file and the files it ``extends``, base first."""
    data, lines = _parse_yaml(text, source)
    parent = data.pop("extends", None)
    if parent is None:
        return data, [(source, lines)]
    if not isinstance(parent, str) or base_dir is None:
        raise LineConfigError(
            [ConfigProblem(source, lines.get(("extends",)), "extends", "expected a file name")]
        )
    path = (base_dir / parent).resolve()
    if str(path) in seen:
        raise LineConfigError(
            [ConfigProblem(source, lines.get(("extends",)), "extends", "files extend in a circle")]
        )
    try:
        base_text = path.read_text(encoding="utf-8")
    except OSError as err:
        raise LineConfigError(
            [
                ConfigProblem(
                    source,
                    lines.get(("extends",)),
                    "extends",
                    f"cannot read {path}: {err.strerror}",
                )
            ]
        ) from err
    base, layers = _layers(base_text, str(path), path.parent, (*seen, str(path)))
    return merge_config(base, data), [*layers, (source, lines)]


def _where(layers: list[Layer], loc: tuple[Any, ...]) -> tuple[str, int | None]:
    """The file (top layer first) that defines ``loc``, and the line."""
    for source, lines in reversed(layers):
        if loc in lines or tuple(str(p) for p in loc) in lines:
            return source, _nearest_line(lines, loc)
    source, lines = layers[-1]
    return source, _nearest_line(lines, loc)


def parse_line_config(
    text: str, source: str = "<config>", base_dir: Path | None = None
) -> LineConfig:
    """Validate YAML text; raise :class:`LineConfigError` listing every problem.

    A config may start from another one: ``extends: demo-line.yaml`` (relative to
    ``base_dir``, the file's folder) merges this file's keys over that one's.
    """
    return parse_config(LineConfig, text, source, base_dir)


def parse_config(
    model: type[M], text: str, source: str = "<config>", base_dir: Path | None = None
) -> M:
    """Validate YAML text as ``model`` (a line's or a site's config); raise
    :class:`LineConfigError` listing every problem by file, line and key."""
    data, layers = _layers(text, source, base_dir)
    try:
        return model.model_validate(data)
    except ValidationError as err:
        problems = []
        for e in err.errors():
            loc = _clean_loc(tuple(e["loc"]))
            parts = _message(e).split("\n") if e["type"] == "value_error" else [_message(e)]
            for part in parts:
                # Validators that check several keys prefix each line with "key.path: ".
                head, sep, tail = part.partition(": ")
                full, msg = loc, part
                if sep and " " not in head and not head.startswith("'"):
                    full = loc + tuple(int(p) if p.isdigit() else p for p in head.split("."))
                    msg = tail
                key = ".".join(str(p) for p in full)
                file, line = _where(layers, full)
                problems.append(ConfigProblem(file, line, key, msg))
        raise LineConfigError(problems) from err


def load_config(
    path: str | Path,
    parse: Callable[[str, str, Path], M],
    error: type[LineConfigError] = LineConfigError,
) -> M:
    """Read the file at ``path`` and ``parse(text, source, base_dir)`` it; an unreadable
    file is ``error`` naming it."""
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as err:
        raise error(
            [ConfigProblem(str(path), None, "", f"cannot read the file: {err.strerror}")]
        ) from err
    return parse(text, str(path), path.resolve().parent)


def load_line_config(path: str | Path) -> LineConfig:
    """Read and validate the line configuration file at ``path``."""
    return load_config(path, parse_line_config)


def json_schema() -> str:
    """The JSON Schema of the line configuration, for editors (YAML language server)."""
    schema = LineConfig.model_json_schema()
    schema["$schema"] = "https://json-schema.org/draft/2020-12/schema"
    schema["title"] = "LaneSort line configuration"
    schema["properties"]["extends"] = {
        "type": "string",
        "description": "start from this config file (relative to this one) and merge this "
        "file's keys over it; null removes a key",
    }
    return json.dumps(schema, indent=2, sort_keys=True) + "\n"
