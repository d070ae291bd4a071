"""Configuration errors in plain words: the key path, what was expected, the line, a suggestion.

pydantic says "Input should be a valid dictionary or instance of SourceConfig (and 1 more
problem)"; a user wants "sources.blog: expected a mapping of settings, got a string (line 12)",
or for a typo "unknown key (did you mean 'poll_interval'?)".
"""

from __future__ import annotations

import difflib
import types
import typing
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import yaml
from pydantic import BaseModel
from pydantic_core import ErrorDetails
from yaml.nodes import MappingNode, Node, SequenceNode

_KINDS = {str: "a string", int: "a number", float: "a number", bool: "true or false",
          list: "a list", dict: "a mapping", type(None): "nothing"}  # fmt: skip


def explain(error: ErrorDetails, model: type[BaseModel]) -> str:
    """The message for one pydantic error of ``model`` (without its key path)."""
    kind = error["type"]
    if kind == "extra_forbidden":
        unknown = str(error["loc"][-1])
        known = known_keys(model, error["loc"][:-1])
        close = difflib.get_close_matches(unknown, known, n=1, cutoff=0.6)
        return f"unknown key (did you mean {close[0]!r}?)" if close else "unknown key"
    if kind == "missing":
        return "required key is missing"
    if kind in ("model_type", "model_attributes_type", "dict_type"):
        return f"expected a mapping of settings, got {_kind_of(error.get('input'))}"
    if kind == "list_type" or kind == "tuple_type":
        return f"expected a list, got {_kind_of(error.get('input'))}"
    return str(error["msg"]).removeprefix("Value error, ")


def known_keys(model: type[BaseModel], loc: Sequence[int | str]) -> list[str]:
    """The keys allowed at ``loc`` (a path into ``model``); empty where any key is allowed."""
    current: Any = model
    parts = list(loc)
    while parts:
        part = parts.pop(0)
        if not (isinstance(current, type) and issubclass(current, BaseModel)):
            return []
        field = current.model_fields.get(str(part))
        if field is None:
            return []
        current = _unwrap(field.annotation)
        if typing.get_origin(current) is dict:
            if not parts:
                return []
            parts.pop(0)  # a name (a source's): any key is allowed there
            current = _unwrap(typing.get_args(current)[1])
    if isinstance(current, type) and issubclass(current, BaseModel):
        return list(current.model_fields)
    return []


def line_of(path: str, loc: Sequence[int | str]) -> int | None:
    """The line of ``path`` where the key at ``loc`` is written, if the file says it."""
    try:
        node: Node | None = yaml.compose(Path(path).read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, yaml.YAMLError):
        return None
    line = None
    for part in loc:
        if isinstance(node, MappingNode):
            found = next(((k, v) for k, v in node.value if k.value == str(part)), None)
            if found is None:
                return line
            line = found[0].start_mark.line + 1
            node = found[1]
        elif isinstance(node, SequenceNode) and isinstance(part, int) and part < len(node.value):
            node = node.value[part]
            line = node.start_mark.line + 1
        else:
            return line
    return line


def _unwrap(annotation: Any) -> Any:
    """``X | None`` (and ``Annotated`` wrappers) as ``X``."""
    while typing.get_origin(annotation) is typing.Annotated:
        annotation = typing.get_args(annotation)[0]
    if typing.get_origin(annotation) in (typing.Union, types.UnionType):
        others = [arg for arg in typing.get_args(annotation) if arg is not type(None)]
        if len(others) == 1:
            return _unwrap(others[0])
    return annotation


def _kind_of(value: object) -> str:
    return _KINDS.get(type(value), type(value).__name__)
