"""Load ``checks/*.yml`` strictly, reporting every problem with file, line, platform, check and field.

Nothing is half-loaded: :func:`load_catalog` either returns the whole catalog or
raises :class:`ConfigError` listing every problem in every file, each as
``file:line: platform 'x', check 'y': field: message``.
"""

from __future__ import annotations

import difflib
import re
import typing
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path

import yaml
from pydantic import BaseModel, TypeAdapter, ValidationError

from monitor.config.model import (CHECK_KINDS, CHECK_MODELS, Check, HttpCheck, Platform, SecretRef,
                                  header_value_problem)
from monitor.errors import ConfigError, ConfigProblem

CHECKS_HINT = "name check files or directories with --checks PATH or MONITOR_CHECKS='[\"PATH\"]'"

_PLATFORM = TypeAdapter(Platform)
_CHECK = TypeAdapter(Check)
_TOP_KEYS = ("platforms",)
_Loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)  # libyaml: 1,000 checks in 0.2 s instead of 5 s
_MAPPING_FIELDS = {"headers", "resolve"}  # their keys are data (header names, hosts), shown as field[key]
_KINDS = ", ".join(sorted(CHECK_KINDS))
# A file may repeat parts of itself with aliases (`*name` repeats what `&name` marks), but aliases nested in
# aliases multiply: 356 bytes can stand for billions of values. Refused before anything walks the expansion.
MAX_ALIASED_VALUES = 100_000
# Longer text in a check file is a mistake (a pasted file, a runaway quote); echoing it in messages is not free.
MAX_SCALAR_CHARS = 16_384


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


class _Source:
    """One file being loaded: its data, the line of every data path, and the problems found so far."""

    def __init__(self, name: str):
        self.name = name
        self.data: object = None
        self.lines: dict[tuple, int] = {}
        self.problems: list[ConfigProblem] = []
        self._duplicate_keys: list[tuple[tuple, str]] = []  # found while walking, reported once data exists
        self._long_scalars: list[tuple[tuple, str]] = []  # likewise
        self._long_seen: set[int] = set()  # nodes already reported (an alias may repeat one)

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
        if not self._parse(text):
            return
        for path, message in self._duplicate_keys:
            self.report(path, message)
        if self._long_scalars:
            for path, message in self._long_scalars:
                self.report(path, message)
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

    def line(self, path: tuple) -> int | None:
        """The line of ``path``, or of its nearest ancestor written in the file."""
        return next((self.lines[path[:n]] for n in range(len(path), 0, -1) if path[:n] in self.lines), None)

    def report(self, path: tuple, message: str) -> None:
        """Record a problem at a data path (keys and list indexes from the top of the file)."""
        where, rest = _locate(self.data, path)
        self.problems.append(ConfigProblem(self.name, self.line(path), where, _field(rest), message))

    def _parse(self, text: str, loader_class: type = _Loader) -> bool:
        loader = loader_class(text)
        try:
            node = loader.get_single_node()
            if node is not None:
                refused = _alias_problem(node, text)
                if refused is not None:
                    self.problems.append(ConfigProblem(self.name, refused[0], "", "", refused[1]))
                    return False
                self._walk(loader, node, ())  # before constructing: merge keys rewrite the node tree
                self.data = loader.construct_document(node)
        except yaml.YAMLError as exc:
            if loader_class is not yaml.SafeLoader:  # pure-Python PyYAML words its errors better (tabs, flow)
                return self._parse(text, yaml.SafeLoader)
            mark = getattr(exc, "problem_mark", None)
            self.problems.append(ConfigProblem(self.name, mark.line + 1 if mark else None, "", "", _yaml_message(exc)))
            return False
        finally:
            loader.dispose()
        return True

    def _walk(self, loader: yaml.BaseLoader, node: yaml.Node, path: tuple, depth: int = 0) -> None:
        """Record the line of every key and list item; report keys written twice in one mapping."""
        if depth > 50:  # recursive anchors
            return
        if isinstance(node, yaml.MappingNode):
            seen: dict[object, int] = {}  # per mapping: a repeated parent must not flag its children
            for key_node, value in node.value:
                if not isinstance(key_node, yaml.ScalarNode) or key_node.tag == "tag:yaml.org,2002:merge":
                    continue
                if len(key_node.value) > MAX_SCALAR_CHARS:
                    self._long_scalar(key_node, path, "a key")
                    continue
                key = loader.construct_object(key_node)
                child = path + (key,)
                line = key_node.start_mark.line + 1
                if key in seen:
                    # YAML keeps the last value silently; a reviewer would read the first.
                    self._duplicate_keys.append((child, f"duplicate key (first defined at line {seen[key]})"))
                seen[key] = self.lines[child] = line
                self._walk(loader, value, child, depth + 1)
        elif isinstance(node, yaml.SequenceNode):
            for index, item in enumerate(node.value):
                child = path + (index,)
                self.lines[child] = item.start_mark.line + 1
                self._walk(loader, item, child, depth + 1)
        elif isinstance(node, yaml.ScalarNode) and len(node.value) > MAX_SCALAR_CHARS:
            self._long_scalar(node, path, "a value")

    def _long_scalar(self, node: yaml.ScalarNode, path: tuple, what: str) -> None:
        if id(node) in self._long_seen:
            return
        self._long_seen.add(id(node))
        self.lines.setdefault(path, node.start_mark.line + 1)
        self._long_scalars.append((path, f"{what} of {len(node.value):,} characters is longer than the "
                                         f"{MAX_SCALAR_CHARS:,} allowed; shorten it"))

    def _check_top(self) -> bool:
        data = self.data
        if not isinstance(data, dict):
            what = "the file is empty" if data is None else f"found {_describe(data)}"
            message = f"expected a top-level key 'platforms' with a list of platforms; {what}"
            self.problems.append(ConfigProblem(self.name, None, "", "", message))
            return False
        for key in data:
            if key not in _TOP_KEYS:
                self.report((key,), _unknown_key(key, _TOP_KEYS))
        if "platforms" not in data:
            self.problems.append(ConfigProblem(self.name, None, "", "platforms", "required top-level key is missing"))
            return False
        if not isinstance(data["platforms"], list):
            self.report(("platforms",), f"expected a list of platforms, found {_describe(data['platforms'])}")
            return False
        return True

    def _check_duplicate_check_ids(self, index: int, raw: object) -> None:
        checks = raw.get("checks") if isinstance(raw, dict) else None
        seen: dict[str, tuple] = {}
        for position, check in enumerate(checks if isinstance(checks, list) else []):
            check_id = check.get("id") if isinstance(check, dict) else None
            if not isinstance(check_id, str):
                continue
            path = ("platforms", index, "checks", position, "id")
            if check_id in seen:
                self.report(path, f"duplicate check id (first defined at line {self.line(seen[check_id])})")
            else:
                seen[check_id] = path

    def _report_error(self, index: int, raw: object, error: dict) -> None:
        """Turn one pydantic error into a problem with line, platform/check and field."""
        loc = _data_loc(raw, error["loc"])
        if error["type"] in ("union_tag_invalid", "union_tag_not_found"):
            loc += ("kind",)
        message = _message(error)
        if error["type"] == "extra_forbidden":
            model = _model_at(raw, loc[:-1])
            fields = tuple(model.model_fields) if model is not None else ()
            message = _unknown_key(loc[-1], fields)
        self.report(("platforms", index) + loc, message)

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
            refs: list[tuple[tuple, SecretRef]] = [(("headers", name), value) for name, value in check.headers.items()
                                                   if isinstance(value, SecretRef)]
            if check.auth is not None and check.auth.basic is not None:
                refs.append((("auth", "basic", "password"), check.auth.basic.password))
            if check.auth is not None and check.auth.bearer is not None:
                refs.append((("auth", "bearer"), check.auth.bearer))
            for field, ref in refs:
                path = ("platforms", index, "checks", position) + field
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


def _alias_problem(root: yaml.Node, text: str) -> tuple[int | None, str] | None:
    """(line, message) when aliases expand beyond :data:`MAX_ALIASED_VALUES` or loop; None for most files.

    Counted on the composed tree, where an alias is the very node it names: linear in the file, not in the
    expansion. Only a refused file is composed again, by the pure-Python composer, to find the alias's line.
    """
    sizes: dict[int, int] = {}
    total = _expanded_size(root, sizes)
    if total is not None and total - len(sizes) <= MAX_ALIASED_VALUES:
        return None
    return _AliasLocator(text).locate()


def _expanded_size(root: yaml.Node, sizes: dict[int, int]) -> int | None:
    """How many values ``root`` stands for with every alias expanded; None when an alias loops.

    ``sizes`` (node id -> size) is filled in and reused: each node is counted once. Iterative, so nesting
    may be as deep as the text.
    """
    open_nodes = {id(root)}
    stack: list[tuple[yaml.Node, Iterator[yaml.Node]]] = [(root, _children(root))]
    while stack:
        node, children = stack[-1]
        for child in children:
            if id(child) in open_nodes:
                return None
            if id(child) not in sizes:
                open_nodes.add(id(child))
                stack.append((child, _children(child)))
                break
        else:
            stack.pop()
            open_nodes.discard(id(node))
            sizes[id(node)] = 1 + sum(sizes[id(child)] for child in _children(node))
    return sizes[id(root)]


def _children(node: yaml.Node) -> Iterator[yaml.Node]:
    if isinstance(node, yaml.MappingNode):
        for key, value in node.value:
            yield key
            yield value
    elif isinstance(node, yaml.SequenceNode):
        yield from node.value


class _AliasLocator(yaml.SafeLoader):
    """Composes a refused file again, counting what each alias adds, to name the alias that goes too far."""

    def __init__(self, text: str):
        super().__init__(text)
        self._sizes: dict[int, int] = {}
        self._aliased = 0

    def locate(self) -> tuple[int | None, str]:
        try:
            self.get_single_node()
        except _Refused as refused:
            return refused.line, refused.message
        except yaml.YAMLError:
            pass
        finally:
            self.dispose()
        return None, _TOO_MANY_ALIASED

    def compose_node(self, parent: yaml.Node | None, index: object) -> yaml.Node:
        if self.check_event(yaml.AliasEvent):
            event = self.peek_event()
            node = self.anchors.get(event.anchor)
            line = event.start_mark.line + 1
            if node is not None and node.end_mark is None:  # still being composed: the alias is inside it
                raise _Refused(line, f"alias '*{event.anchor}' is used inside the value it names, which would "
                                     "repeat itself forever; write that part out")
            if node is not None:
                self._aliased += _expanded_size(node, self._sizes) or 0  # a complete node: no loop inside
                if self._aliased > MAX_ALIASED_VALUES:
                    raise _Refused(line, _TOO_MANY_ALIASED)
        return super().compose_node(parent, index)


_TOO_MANY_ALIASED = (f"aliases expand to more than {MAX_ALIASED_VALUES:,} values (each '*name' repeats what "
                     "'&name' marks, and aliases inside aliases multiply); write the repeated part out or nest "
                     "fewer aliases")


class _Refused(Exception):
    def __init__(self, line: int, message: str):
        self.line = line
        self.message = message


def _locate(data: object, path: tuple) -> tuple[str, tuple]:
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


def _field(parts: tuple) -> str:
    """``("auth", "basic", "password")`` -> ``auth.basic.password``; ``("resolve", "a.vn")`` -> ``resolve[a.vn]``."""
    text = ""
    previous: object = None
    for part in parts:
        if isinstance(part, int) or previous in _MAPPING_FIELDS:
            text += f"[{part}]"
        else:
            text += f".{part}" if text else str(part)
        previous = part
    return text


def _data_loc(raw: object, loc: tuple) -> tuple:
    """Keep the parts of a pydantic ``loc`` that are keys or indexes in the data (or a missing field's name).

    Drops the check-kind tag pydantic inserts after ``checks[i]`` and internal names such as
    ``function-after[...]``. The tag is dropped by position: ``tls`` is also a field name.
    """
    path: list = []
    node = raw
    for position, part in enumerate(loc):
        if position == 2 and loc[0] == "checks" and part in CHECK_KINDS:
            continue
        if isinstance(node, dict) and part in node:
            node = node[part]
        elif isinstance(node, list) and isinstance(part, int) and 0 <= part < len(node):
            node = node[part]
        elif isinstance(part, str) and part.isidentifier():
            node = None  # a missing field: name it
        else:
            continue
        path.append(part)
    return tuple(path)


def _model_at(raw: object, path: tuple) -> type[BaseModel] | None:
    """The model whose fields are expected at ``path`` inside a platform entry, if known."""
    model: type[BaseModel] | None = Platform
    node = raw
    position = 0
    while position < len(path) and model is not None:
        part = path[position]
        if model is Platform and part == "checks" and position + 1 < len(path):
            checks = node.get("checks") if isinstance(node, dict) else None
            node = checks[path[position + 1]] if isinstance(checks, list) else None
            kind = node.get("kind") if isinstance(node, dict) else None
            model = CHECK_MODELS.get(kind) if isinstance(kind, str) else None
            position += 2
            continue
        if isinstance(part, int):  # an item of a list of models: the same model
            node = node[part] if isinstance(node, list) and 0 <= part < len(node) else None
            position += 1
            continue
        field = model.model_fields.get(part) if isinstance(part, str) else None
        model = _model_in(field.annotation) if field is not None else None
        node = node.get(part) if isinstance(node, dict) else None
        position += 1
        if field is not None and typing.get_origin(field.annotation) is dict:  # the next part is a key (a header)
            node = node.get(path[position]) if isinstance(node, dict) and position < len(path) else None
            position += 1
    return model


def _model_in(annotation: object) -> type[BaseModel] | None:
    """``Auth | None`` -> ``Auth``; ``dict[str, str | SecretRef]`` -> ``SecretRef``; ``str`` -> None."""
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return annotation
    return next((m for m in map(_model_in, typing.get_args(annotation)) if m is not None), None)


def _unknown_key(key: object, allowed: Sequence[str]) -> str:
    close = difflib.get_close_matches(str(key), list(allowed), n=1, cutoff=0.6)
    return f"unknown key (did you mean '{close[0]}'?)" if close else "unknown key"


def _describe(value: object) -> str:
    if value is None:
        return "nothing"
    if isinstance(value, list):
        return "a list"
    if isinstance(value, dict):
        return "a mapping"
    if isinstance(value, bool):
        return "true/false"
    if isinstance(value, (int, float)):
        return "a number"
    return "text"


def _message(error: dict) -> str:
    """Pydantic's message, reworded for someone editing YAML."""
    kind = error["type"]
    ctx = error.get("ctx") or {}
    value = error.get("input")
    if kind == "missing":
        return "required field is missing"
    if kind == "union_tag_invalid":
        return f"unknown check kind {ctx['tag']!r} (expected one of: {_KINDS})"
    if kind == "union_tag_not_found":
        return f"required field is missing (one of: {_KINDS})"
    if kind.startswith("url_"):
        shown = re.sub(r"//[^/@]*@", "//***@", value) if isinstance(value, str) else value  # hide userinfo
        reason = error["msg"].removeprefix("Input should be a valid URL, ")
        if reason == "relative URL without a base":
            reason += " (start it with https://)"
        return f"invalid URL {shown!r}: {reason}"
    if kind in ("greater_than", "greater_than_equal", "less_than", "less_than_equal"):
        words = {"gt": "greater than", "ge": "at least", "lt": "less than", "le": "at most"}
        return " and ".join(f"must be {words[k]} {v}" for k, v in ctx.items() if k in words)
    if kind == "string_too_short" and ctx.get("min_length") == 1:
        return "must not be empty"
    if kind == "string_too_long":
        return f"must be at most {ctx['max_length']} characters long"
    if kind == "literal_error":
        return f"expected {ctx['expected']}, found {value!r}"
    if kind in ("bool_type", "bool_parsing"):
        return f"expected true or false, found {value!r}"
    if kind in ("int_type", "int_parsing", "int_from_float"):
        return f"expected a whole number, found {_describe(value)}"
    if kind in ("float_type", "float_parsing"):
        return f"expected a number, found {_describe(value)}"
    if kind == "finite_number":
        return "must be a finite number"
    if kind == "string_type":  # never echo the value: it may be a header carrying a token
        hint = "; put it in quotes" if isinstance(value, (int, float)) else ""  # bool is an int too
        return f"expected a string, found {_describe(value)}{hint}"
    if kind in ("list_type", "tuple_type"):
        return f"expected a list, found {_describe(value)}"
    if kind in ("dict_type", "model_type", "model_attributes_type"):
        return f"expected a mapping (key: value), found {_describe(value)}"
    return error["msg"].removeprefix("Value error, ")


def _yaml_message(exc: yaml.YAMLError) -> str:
    problem = getattr(exc, "problem", None) or str(exc)
    context = getattr(exc, "context", None)
    context_mark = getattr(exc, "context_mark", None)
    problem_mark = getattr(exc, "problem_mark", None)
    message = f"invalid YAML: {problem}"
    if context and not context.startswith("while"):  # e.g. "expected a single document in the stream"
        message = f"invalid YAML: {context}, {problem}"
    elif context and context_mark is not None and (problem_mark is None or context_mark.line != problem_mark.line):
        message += f" ({context} at line {context_mark.line + 1})"
    elif context:
        message += f" ({context})"
    if "'\\t'" in problem:
        message += "; indent with spaces, not tabs"
    return message
