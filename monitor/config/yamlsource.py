"""Located YAML: a file's data with the line of every key and item, and pydantic's errors worded for someone
editing it.

One home for what ``checks/*.yml`` (:mod:`monitor.config.loader`) and the lab's scenarios
(:mod:`monitor.lab.scenario`) both need: :class:`YamlSource` reads a text safely (aliases that expand
too far, over-long text and keys written twice are refused or reported, never crashing), :func:`data_path`
turns a pydantic error's ``loc`` into a path in the data, :func:`model_at` names the model expected there,
:func:`message` rewords the error, and :func:`field_name` writes a path as ``auth.basic.password``.
"""

from __future__ import annotations

import difflib
import re
import types
import typing
from collections.abc import Collection, Iterator, Mapping, Sequence
from typing import Any

import yaml
from pydantic import BaseModel

from monitor.errors import ConfigProblem

_Loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)  # libyaml: 1,000 checks in 0.2 s instead of 5 s
# A file may repeat parts of itself with aliases (`*name` repeats what `&name` marks), but aliases nested in
# aliases multiply: 356 bytes can stand for billions of values. Refused before anything walks the expansion.
MAX_ALIASED_VALUES = 100_000
# Longer text in a file is a mistake (a pasted file, a runaway quote); echoing it in messages is not free.
MAX_SCALAR_CHARS = 16_384

DataPath = tuple[Any, ...]  # keys and list indexes from the top of the data


class YamlSource:
    """One YAML text being read: its data, the line of every data path, and the problems found so far."""

    def __init__(self, name: str):
        self.name = name
        self.data: object = None
        self.lines: dict[DataPath, int] = {}
        self.problems: list[ConfigProblem] = []
        self.duplicate_keys: list[tuple[DataPath, str]] = []  # (path, message), found while walking
        self.long_scalars: list[tuple[DataPath, str]] = []  # likewise: text longer than MAX_SCALAR_CHARS
        self._long_seen: set[int] = set()  # nodes already reported (an alias may repeat one)

    def line(self, path: DataPath) -> int | None:
        """The line of ``path``, or of its nearest ancestor written in the file."""
        return next((self.lines[path[:n]] for n in range(len(path), 0, -1) if path[:n] in self.lines), None)

    def parse(self, text: str) -> bool:
        """Read ``text``: ``data``, the ``lines`` of every key and item, ``duplicate_keys`` and ``long_scalars``.

        False, with the reason in ``problems``, when it is no YAML or its aliases expand too far.
        """
        return self._parse(text, _Loader)

    def _parse(self, text: str, loader_class: type) -> bool:
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

    def _walk(self, loader: yaml.BaseLoader, node: yaml.Node, path: DataPath, depth: int = 0) -> None:
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
                child = (*path, key)
                line = key_node.start_mark.line + 1
                if key in seen:
                    # YAML keeps the last value silently; a reviewer would read the first.
                    self.duplicate_keys.append((child, f"duplicate key (first defined at line {seen[key]})"))
                seen[key] = self.lines[child] = line
                self._walk(loader, value, child, depth + 1)
        elif isinstance(node, yaml.SequenceNode):
            for index, item in enumerate(node.value):
                child = (*path, index)
                self.lines[child] = item.start_mark.line + 1
                self._walk(loader, item, child, depth + 1)
        elif isinstance(node, yaml.ScalarNode) and len(node.value) > MAX_SCALAR_CHARS:
            self._long_scalar(node, path, "a value")

    def _long_scalar(self, node: yaml.ScalarNode, path: DataPath, what: str) -> None:
        if id(node) in self._long_seen:
            return
        self._long_seen.add(id(node))
        self.lines.setdefault(path, node.start_mark.line + 1)
        self.long_scalars.append((path, f"{what} of {len(node.value):,} characters is longer than the "
                                         f"{MAX_SCALAR_CHARS:,} allowed; shorten it"))


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

    # `index` as the stubs declare it (PyYAML also passes a mapping's key node, or None, here); passed on unread.
    def compose_node(self, parent: yaml.Node | None, index: int) -> yaml.Node | None:
        if self.check_event(yaml.AliasEvent):
            event = self.peek_event()  # type: ignore[no-untyped-call]  # types-PyYAML leaves peek_event untyped
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


# --- from a pydantic error to the data ---------------------------------------------------------

def field_name(parts: Sequence[object], keyed: Collection[str] = ()) -> str:
    """``("auth", "basic", "password")`` -> ``auth.basic.password``; an index, or a key of a mapping field
    named in ``keyed`` (its keys are data: header names, hosts), in brackets: ``resolve[a.vn]``."""
    text = ""
    previous: object = None
    for part in parts:
        if isinstance(part, int) or previous in keyed:
            text += f"[{part}]"
        else:
            text += f".{part}" if text else str(part)
        previous = part
    return text


def data_path(data: object, loc: Sequence[str | int], *, member_names: bool = False) -> DataPath:
    """The parts of a pydantic error's ``loc`` that are keys or indexes in ``data``, or the name of a missing field.

    Drops pydantic's internal names (``function-after[...]``) and what is neither in the data nor a field name.
    An identifier where the data holds something other than a mapping is pydantic naming a union's member
    (``int``, ``str``): kept with ``member_names`` (``equals.int``), dropped without. A union's tag (a check's
    or an event's kind) is the caller's to drop before: it may also be a field's name.
    """
    path: list[Any] = []
    node = data
    for part in loc:
        if isinstance(node, dict) and part in node:  # noqa: SIM114 (each branch narrows for mypy)
            node = node[part]
        elif isinstance(node, list) and isinstance(part, int) and 0 <= part < len(node):
            node = node[part]
        elif isinstance(part, str) and part.isidentifier() and (member_names or isinstance(node, dict)):
            node = {}  # a missing field (or a default validated): name it and what is missing inside
        else:
            continue
        path.append(part)
    return tuple(path)


def model_at(root: type[BaseModel], loc: Sequence[str | int]) -> type[BaseModel] | None:
    """The model whose fields are expected at ``loc``, a pydantic error's location below ``root`` (with the tags
    of discriminated unions, as pydantic gives them), if known: what an unknown key is checked against."""
    current: object = root
    for part in loc:
        current = _inside(current, part)
        if current is None:
            return None
    return model_in(current)


def _inside(annotation: object, part: str | int) -> object:
    """What ``annotation`` expects at ``part``: a model's field, a list's item, a mapping's value, a union's member."""
    origin, args = typing.get_origin(annotation), typing.get_args(annotation)
    if origin is typing.Annotated:
        return _inside(args[0], part)
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        field = annotation.model_fields.get(part) if isinstance(part, str) else None
        return field.annotation if field is not None else None
    if origin in (typing.Union, types.UnionType):
        members = [m for m in args if m is not type(None)]
        tagged = next((m for m in members if _tag(m) == part), None)
        if tagged is not None:
            return tagged
        return _inside(members[0], part) if len(members) == 1 else model_in(annotation)
    if origin in (list, tuple, Sequence) and isinstance(part, int):
        return args[0] if args else None
    if origin in (dict, Mapping) and len(args) == 2:
        return args[1]
    return None


def _tag(member: object) -> object:
    """The tag that selects ``member`` in a discriminated union: ``Tag(...)`` metadata, or its model's literal kind."""
    if typing.get_origin(member) is typing.Annotated:
        tags = [m.tag for m in typing.get_args(member)[1:] if hasattr(m, "tag")]
        return tags[0] if tags else _tag(typing.get_args(member)[0])
    if isinstance(member, type) and issubclass(member, BaseModel):
        kind = member.model_fields.get("kind")
        values = typing.get_args(kind.annotation) if kind is not None else ()
        return values[0] if len(values) == 1 else None
    return None


def model_in(annotation: object) -> type[BaseModel] | None:
    """``Auth | None`` -> ``Auth``; ``dict[str, str | SecretRef]`` -> ``SecretRef``; ``str`` -> None."""
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return annotation
    return next((m for m in map(model_in, typing.get_args(annotation)) if m is not None), None)


# --- messages ----------------------------------------------------------------------------------

def unknown_key(key: object, allowed: Sequence[str]) -> str:
    """``unknown key``, with the closest of ``allowed`` when one is close."""
    close = difflib.get_close_matches(str(key), list(allowed), n=1, cutoff=0.6)
    return f"unknown key (did you mean '{close[0]}'?)" if close else "unknown key"


def describe(value: object) -> str:
    """What a YAML value is, in words: ``a list``, ``a number``, ``text`` … (never the value itself)."""
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


def message(error: Mapping[str, Any]) -> str:
    """Pydantic's message, reworded for someone editing YAML (a union's tag errors are the caller's to word)."""
    kind = error["type"]
    ctx = error.get("ctx") or {}
    value = error.get("input")
    if kind == "missing":
        return "required field is missing"
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
        return f"expected a whole number, found {describe(value)}"
    if kind in ("float_type", "float_parsing"):
        return f"expected a number, found {describe(value)}"
    if kind == "finite_number":
        return "must be a finite number"
    if kind == "string_type":  # never echo the value: it may be a header carrying a token
        hint = "; put it in quotes" if isinstance(value, (int, float)) else ""  # bool is an int too
        return f"expected a string, found {describe(value)}{hint}"
    if kind in ("list_type", "tuple_type"):
        return f"expected a list, found {describe(value)}"
    if kind in ("dict_type", "model_type", "model_attributes_type"):
        return f"expected a mapping (key: value), found {describe(value)}"
    return str(error["msg"]).removeprefix("Value error, ")


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
