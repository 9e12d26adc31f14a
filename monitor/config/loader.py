"""Load ``checks/*.yml`` strictly, reporting every problem with file, line, platform, check and field."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path

import yaml
from pydantic import TypeAdapter, ValidationError

from monitor.config.model import CHECK_KINDS, Check, Platform
from monitor.errors import ConfigError, ConfigProblem

_PLATFORM = TypeAdapter(Platform)
_TOP_KEYS = {"platforms"}


@dataclass(frozen=True)
class Catalog:
    """Every platform from the loaded files, in file order."""

    platforms: tuple[Platform, ...]

    def checks(self) -> Iterator[tuple[Platform, Check]]:
        """Every (platform, check) pair to schedule."""
        for platform in self.platforms:
            for check in platform.checks:
                yield platform, check

    def platform(self, platform_id: str) -> Platform | None:
        """The platform with this id, if any."""
        return next((p for p in self.platforms if p.id == platform_id), None)


def expand(paths: Sequence[Path]) -> list[Path]:
    """Files named directly, plus ``*.yml``/``*.yaml`` inside directories, sorted."""
    files: list[Path] = []
    for path in paths:
        if path.is_dir():
            files.extend(sorted(p for p in path.iterdir() if p.suffix in (".yml", ".yaml")))
        else:
            files.append(path)
    return files


def load_catalog(paths: Sequence[Path]) -> Catalog:
    """Load and validate every file. Raises :class:`ConfigError` with all problems at once."""
    problems: list[ConfigProblem] = []
    platforms: list[Platform] = []
    first_seen: dict[str, str] = {}  # platform id -> "file:line"
    files = expand(paths)
    if not files:
        problems.append(ConfigProblem(", ".join(map(str, paths)), None, "", "", "no check files found"))
    for file in files:
        for platform, raw_id, line in _load_file(file, problems):
            if raw_id in first_seen:
                problems.append(
                    ConfigProblem(str(file), line, f"platform '{raw_id}'", "id",
                                  f"duplicate platform id (first defined at {first_seen[raw_id]})")
                )
                continue
            first_seen[raw_id] = f"{file}:{line}"
            if platform is not None:
                platforms.append(platform)
    if problems:
        raise ConfigError(problems)
    return Catalog(tuple(platforms))


def _load_file(file: Path, problems: list[ConfigProblem]) -> Iterator[tuple[Platform | None, str, int]]:
    """Yield (validated platform or None, raw id, line) per platform entry; collect problems."""
    name = str(file)
    try:
        text = file.read_text(encoding="utf-8")
    except OSError as exc:
        problems.append(ConfigProblem(name, None, "", "", f"cannot read: {exc.strerror}"))
        return
    try:
        node = yaml.compose(text, Loader=yaml.SafeLoader)
        data = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        line = mark.line + 1 if mark else None
        problems.append(ConfigProblem(name, line, "", "", f"invalid YAML: {getattr(exc, 'problem', exc)}"))
        return
    lines = _lines(node)
    if not isinstance(data, dict) or not isinstance(data.get("platforms"), list):
        problems.append(ConfigProblem(name, 1, "", "platforms", "expected a top-level list 'platforms'"))
        return
    for key in sorted(set(data) - _TOP_KEYS):
        problems.append(ConfigProblem(name, lines.get((key,)), "", key, "unknown key"))
    for index, raw in enumerate(data["platforms"]):
        base = ("platforms", index)
        raw_id = str(raw.get("id")) if isinstance(raw, dict) else f"#{index + 1}"
        line = lines.get(base, 1)
        ok = True
        if isinstance(raw, dict):
            ok = _check_duplicate_check_ids(name, raw, raw_id, base, lines, problems)
        try:
            platform = _PLATFORM.validate_python(raw)
        except ValidationError as exc:
            for error in exc.errors():
                problems.append(_problem(name, raw, raw_id, base, error, lines))
            platform = None
        yield (platform if ok else None), raw_id, line


def _check_duplicate_check_ids(name, raw, raw_id, base, lines, problems) -> bool:
    seen: dict[str, int] = {}
    ok = True
    checks = raw.get("checks") or []
    for index, check in enumerate(checks if isinstance(checks, list) else []):
        cid = check.get("id") if isinstance(check, dict) else None
        if cid is None:
            continue
        path = base + ("checks", index)
        if cid in seen:
            ok = False
            problems.append(
                ConfigProblem(name, lines.get(path + ("id",), lines.get(path)),
                              f"platform '{raw_id}', check '{cid}'", "id",
                              f"duplicate check id (first defined at line {seen[cid]})")
            )
        else:
            seen[cid] = lines.get(path + ("id",), lines.get(path, 0))
    return ok


def _problem(name: str, raw: dict, raw_id: str, base: tuple, error: dict, lines: dict) -> ConfigProblem:
    """Turn one pydantic error into a problem with file, line, platform/check and field."""
    loc = _data_path(raw, error["loc"])
    path = base + loc
    line = next((lines[path[:n]] for n in range(len(path), 0, -1) if path[:n] in lines), None)
    where = f"platform '{raw_id}'"
    field_parts = [str(p) for p in loc]
    if len(loc) >= 2 and loc[0] == "checks" and isinstance(loc[1], int):
        check = raw["checks"][loc[1]]
        cid = check.get("id", f"#{loc[1] + 1}") if isinstance(check, dict) else f"#{loc[1] + 1}"
        where += f", check '{cid}'"
        field_parts = field_parts[2:]
    return ConfigProblem(name, line, where, ".".join(field_parts), _message(error))


def _data_path(raw: object, loc: tuple) -> tuple:
    """Drop the discriminator tags and validator names pydantic adds to ``loc``."""
    path: list = []
    node = raw
    for part in loc:
        if isinstance(node, dict) and part in node:
            node = node[part]
            path.append(part)
        elif isinstance(node, list) and isinstance(part, int) and part < len(node):
            node = node[part]
            path.append(part)
        elif isinstance(node, dict) and isinstance(part, str) and part not in CHECK_KINDS and "[" not in part:
            path.append(part)  # a missing or unknown key: name it
            node = None
    return tuple(path)


def _message(error: dict) -> str:
    kind = error["type"]
    if kind == "extra_forbidden":
        return "unknown key"
    if kind == "missing":
        return "required field is missing"
    if kind == "union_tag_invalid":
        return f"unknown check kind {error['ctx']['tag']!r} (expected one of: {', '.join(sorted(CHECK_KINDS))})"
    if kind == "union_tag_not_found":
        return f"check kind is missing (expected one of: {', '.join(sorted(CHECK_KINDS))})"
    if kind.startswith("url_"):
        return f"invalid URL {error['input']!r}: {error['msg'].removeprefix('Input should be a valid URL, ')}"
    message = error["msg"]
    return message.removeprefix("Value error, ")


def _lines(node: yaml.Node | None) -> dict[tuple, int]:
    """Map each data path (keys and list indexes) to its 1-based line in the file."""
    lines: dict[tuple, int] = {}

    def walk(current: yaml.Node, path: tuple) -> None:
        if isinstance(current, yaml.MappingNode):
            for key, value in current.value:
                child = path + (key.value,)
                lines[child] = key.start_mark.line + 1
                walk(value, child)
        elif isinstance(current, yaml.SequenceNode):
            for index, item in enumerate(current.value):
                child = path + (index,)
                lines[child] = item.start_mark.line + 1
                walk(item, child)

    if node is not None:
        walk(node, ())
    return lines
