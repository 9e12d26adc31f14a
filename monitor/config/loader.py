"""Load ``checks/*.yml`` strictly, reporting every problem with file, line, platform, check and field.

Nothing is half-loaded: :func:`load_catalog` either returns the whole catalog or
raises :class:`ConfigError` listing every problem in every file, each as
``file:line: platform 'x', check 'y': field: message``.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from pydantic import TypeAdapter, ValidationError

from monitor.config.model import CHECK_KINDS, Check, HttpCheck, Platform, SecretRef, header_value_problem
from monitor.config.yamlsource import YamlSource, data_path, describe, field_name, message, model_at, unknown_key
from monitor.errors import ConfigError, ConfigProblem

CHECKS_HINT = "name check files or directories with --checks PATH or MONITOR_CHECKS='[\"PATH\"]'"

_PLATFORM = TypeAdapter(Platform)
_CHECK = TypeAdapter(Check)
_TOP_KEYS = ("platforms",)
_MAPPING_FIELDS = {"headers", "resolve"}  # their keys are data (header names, hosts), shown as field[key]
_KINDS = ", ".join(sorted(CHECK_KINDS))


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

    def slow_after(self) -> dict[str, float]:
        """Platform id -> latency above which an HTTP probe counts as slow (for incident detection)."""
        return {p.id: p.slow_after for p in self.platforms}


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
    """Load and validate every file, then read every secret. Raises :class:`ConfigError` with all problems."""
    problems: list[ConfigProblem] = []
    platforms: list[Platform] = []
    first_seen: dict[str, str] = {}  # platform id -> "file:line"
    missing = [path for path in paths if not path.exists()]
    for path in missing:  # named as given and as resolved, with how to name others
        shown = str(path) if path.is_absolute() else f"{path} ({path.absolute()})"
        problems.append(ConfigProblem(shown, None, "", "", f"checks not found; {CHECKS_HINT}"))
    files = expand([path for path in paths if path.exists()])
    if not files and not missing:
        problems.append(ConfigProblem(", ".join(map(str, paths)), None, "", "",
                                      "no check files found (*.yml or *.yaml)"))
    for file in files:
        source = _Source(str(file))
        for index, platform in source.load(file):
            raw_id = source.platform_id(index)
            if raw_id is not None and raw_id in first_seen:
                source.report(("platforms", index, "id"),
                              f"duplicate platform id (first defined at {first_seen[raw_id]})")
            elif raw_id is not None:
                first_seen[raw_id] = f"{file}:{source.line(('platforms', index, 'id'))}"
            if platform is not None:
                platforms.append(platform)
        # Stable sort: problems on one line keep the order they were found in.
        problems.extend(sorted(source.problems, key=lambda p: p.line or 0))
    if problems:
        raise ConfigError(problems)
    return Catalog(tuple(platforms))


class _Source(YamlSource):
    """One check file being loaded: a located YAML source that also knows platforms and checks."""

    def load(self, file: Path) -> Iterator[tuple[int, Platform | None]]:
        """Yield (index, validated platform or None) per platform entry, collecting problems."""
        try:
            text = file.read_text(encoding="utf-8")
        except OSError as exc:
            self.problems.append(ConfigProblem(self.name, None, "", "", f"cannot read: {exc.strerror}"))
            return
        except UnicodeDecodeError:
            self.problems.append(ConfigProblem(self.name, None, "", "", "cannot read: not UTF-8 text"))
            return
        if not self.parse(text):
            return
        for path, problem in self.duplicate_keys:  # reported once data exists, to name platform and check
            self.report(path, problem)
        if self.long_scalars:
            for path, problem in self.long_scalars:
                self.report(path, problem)
            return  # validating would echo the text in its messages
        if not self._check_top():
            return
        for index, raw in enumerate(self.data["platforms"]):  # type: ignore[index]
            self._check_duplicate_check_ids(index, raw)
            try:
                platform = _PLATFORM.validate_python(raw)
            except ValidationError as exc:
                for error in exc.errors():
                    self._report_error(index, raw, error)
                platform = None
            self._check_secrets(index, raw)
            yield index, platform

    def platform_id(self, index: int) -> str | None:
        """The id written for platform ``index``, when it is a string."""
        raw = self.data["platforms"][index]  # type: ignore[index]
        value = raw.get("id") if isinstance(raw, dict) else None
        return value if isinstance(value, str) else None

    def report(self, path: tuple[Any, ...], problem: str) -> None:
        """Record a problem at a data path (keys and list indexes from the top of the file)."""
        where, rest = _locate(self.data, path)
        field = field_name(rest, _MAPPING_FIELDS)
        self.problems.append(ConfigProblem(self.name, self.line(path), where, field, problem))

    def _check_top(self) -> bool:
        data = self.data
        if not isinstance(data, dict):
            what = "the file is empty" if data is None else f"found {describe(data)}"
            problem = f"expected a top-level key 'platforms' with a list of platforms; {what}"
            self.problems.append(ConfigProblem(self.name, None, "", "", problem))
            return False
        for key in data:
            if key not in _TOP_KEYS:
                self.report((key,), unknown_key(key, _TOP_KEYS))
        if "platforms" not in data:
            self.problems.append(ConfigProblem(self.name, None, "", "platforms", "required top-level key is missing"))
            return False
        if not isinstance(data["platforms"], list):
            self.report(("platforms",), f"expected a list of platforms, found {describe(data['platforms'])}")
            return False
        return True

    def _check_duplicate_check_ids(self, index: int, raw: object) -> None:
        checks = raw.get("checks") if isinstance(raw, dict) else None
        seen: dict[str, tuple[Any, ...]] = {}
        for position, check in enumerate(checks if isinstance(checks, list) else []):
            check_id = check.get("id") if isinstance(check, dict) else None
            if not isinstance(check_id, str):
                continue
            path = ("platforms", index, "checks", position, "id")
            if check_id in seen:
                self.report(path, f"duplicate check id (first defined at line {self.line(seen[check_id])})")
            else:
                seen[check_id] = path

    def _report_error(self, index: int, raw: object, error: Mapping[str, Any]) -> None:
        """Turn one pydantic error into a problem with line, platform/check and field."""
        pydantic_loc = tuple(error["loc"])
        tagged = len(pydantic_loc) > 2 and pydantic_loc[0] == "checks" and pydantic_loc[2] in CHECK_KINDS
        # The check's kind, which pydantic puts after checks[i], is dropped by position: ``tls`` is also a field.
        loc = data_path(raw, pydantic_loc[:2] + pydantic_loc[3:] if tagged else pydantic_loc, member_names=True)
        if error["type"] in ("union_tag_invalid", "union_tag_not_found"):
            loc += ("kind",)
        problem = _check_message(error)
        if error["type"] == "extra_forbidden":
            model = model_at(Platform, pydantic_loc[:-1])
            fields = tuple(model.model_fields) if model is not None else ()
            problem = unknown_key(loc[-1], fields)
        self.report(("platforms", index, *loc), problem)

    def _check_secrets(self, index: int, raw: object) -> None:
        """Read the secrets of every valid check now, so a missing one stops startup, not every probe."""
        checks = raw.get("checks") if isinstance(raw, dict) else None
        for position, raw_check in enumerate(checks if isinstance(checks, list) else []):
            try:  # check by check: one invalid sibling must not hide a missing secret
                check = _CHECK.validate_python(raw_check)
            except ValidationError:
                continue  # already reported with the platform
            if not isinstance(check, HttpCheck):
                continue
            refs: list[tuple[tuple[Any, ...], SecretRef]] = [
                (("headers", name), value) for name, value in check.headers.items() if isinstance(value, SecretRef)]
            if check.auth is not None and check.auth.basic is not None:
                refs.append((("auth", "basic", "password"), check.auth.basic.password))
            if check.auth is not None and check.auth.bearer is not None:
                refs.append((("auth", "bearer"), check.auth.bearer))
            for field, ref in refs:
                path = ("platforms", index, "checks", position, *field)
                try:
                    secret = ref.reveal()
                except ValueError as exc:  # names the variable or file, never the value
                    self.report(path, str(exc))
                    continue
                source = f"environment variable {ref.env}" if ref.env is not None else f"secret file {ref.file}"
                if not secret.get_secret_value():
                    self.report(path, f"{source} is empty")
                elif field[0] == "headers" and (problem := header_value_problem(secret.get_secret_value())):
                    self.report(path, f"{source}: {problem}")


def _locate(data: object, path: tuple[Any, ...]) -> tuple[str, tuple[Any, ...]]:
    """Split a data path into ``platform 'x', check 'y'`` and the field path inside them."""
    platforms = data.get("platforms") if isinstance(data, dict) else None
    if len(path) < 2 or path[0] != "platforms" or not isinstance(path[1], int) or not isinstance(platforms, list):
        return "", path
    raw = platforms[path[1]]
    where = _name("platform", raw, path[1])
    rest = path[2:]
    checks = raw.get("checks") if isinstance(raw, dict) else None
    if len(rest) >= 2 and rest[0] == "checks" and isinstance(rest[1], int) and isinstance(checks, list):
        where += ", " + _name("check", checks[rest[1]], rest[1])
        rest = rest[2:]
    return where, rest


def _name(what: str, raw: object, index: int) -> str:
    value = raw.get("id") if isinstance(raw, dict) else None
    return f"{what} '{value}'" if isinstance(value, str) and value else f"{what} #{index + 1}"


def _check_message(error: Mapping[str, Any]) -> str:
    """:func:`~monitor.config.yamlsource.message`, with a check's kind named when it is wrong or missing."""
    if error["type"] == "union_tag_invalid":
        return f"unknown check kind {error['ctx']['tag']!r} (expected one of: {_KINDS})"
    if error["type"] == "union_tag_not_found":
        return f"required field is missing (one of: {_KINDS})"
    return message(error)
