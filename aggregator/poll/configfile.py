"""Adding sources to the user's config file without disturbing the rest of it.

The new source blocks are inserted as text at the end of the top-level ``sources:`` mapping, so
comments, order and formatting elsewhere stay exactly as the user wrote them. The result is
parsed back and checked before it replaces the file (atomically): every source that was there
is unchanged and every new one reads back as written; otherwise nothing is written.
"""

from __future__ import annotations

import os
import re
import tempfile
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import yaml

from aggregator.config import SOURCE_NAME
from aggregator.errors import ConfigError

_SOURCES_KEY = re.compile(r"^sources[ \t]*:[ \t]*(?P<rest>[^#\n]*?)[ \t]*(?:#.*)?$", re.MULTILINE)
_TOP_LEVEL_KEY = re.compile(r"^[^\s#-][^:#]*:", re.MULTILINE)
NEW_FILE_HEADER = "# mutualaid configuration (sources added by `mutualaid sources add`).\n"

SourceFields = Mapping[str, object]  # strings, or an empty mapping (crawl: {})


def add_sources(text: str, new: Mapping[str, SourceFields]) -> str:
    """``text`` with ``new`` sources ({name: {key: value}}) added to its ``sources:`` mapping."""
    match = _SOURCES_KEY.search(text)
    if match is None:
        prefix = text if not text or text.endswith("\n") else text + "\n"
        return prefix + "\nsources:\n" + _blocks(new, "  ")
    rest = match["rest"]
    if rest and rest != "{}":
        raise ValueError("the sources mapping is written inline; add sources to it by hand")
    if rest == "{}":
        after = text[match.end() :].removeprefix("\n")
        return text[: match.start()] + "sources:\n" + _blocks(new, "  ") + after
    body_start = match.end() + 1
    end = _block_end(text, body_start)
    body = text[body_start:end]
    indent = _child_indent(body) or "  "
    before = text[:end]
    if before and not before.endswith("\n"):
        before += "\n"
    spaced = "\n\n" in body.strip("\n")  # keep the file's blank lines between sources
    return before + _blocks(new, indent, spaced) + text[end:]


def _block_end(text: str, start: int) -> int:
    """Where the sources mapping ends: before the next top-level key, and before the blank
    lines and unindented comments that lead up to it."""
    following = _TOP_LEVEL_KEY.search(text, start)
    end = following.start() if following else len(text)
    lines = text[start:end].splitlines(keepends=True)
    while lines and (not lines[-1].strip() or lines[-1].startswith("#")):
        lines.pop()
    return start + sum(len(line) for line in lines)


def _child_indent(body: str) -> str | None:
    for line in body.splitlines():
        if line.strip() and not line.lstrip().startswith("#"):
            return line[: len(line) - len(line.lstrip())]
    return None


def _blocks(new: Mapping[str, SourceFields], indent: str, spaced: bool = False) -> str:
    out = []
    for name, fields in new.items():
        out.append(f"\n{indent}{name}:\n" if spaced else f"{indent}{name}:\n")
        out += [f"{indent * 2}{key}: {_yaml_value(value)}\n" for key, value in fields.items()]
    return "".join(out)


def _yaml_value(value: object) -> str:
    if isinstance(value, str):
        return yaml_scalar(value)
    if value == {}:
        return "{}"
    raise ValueError(f"cannot write {value!r} into the config file")


def yaml_scalar(value: str) -> str:
    """``value`` as a YAML scalar: plain when that reads back the same, else double-quoted."""
    if value and "\n" not in value and _reads_back(value):
        return value
    return '"' + value.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n") + '"'


def _reads_back(value: str) -> bool:
    try:
        return bool(yaml.safe_load(f"key: {value}") == {"key": value})
    except yaml.YAMLError:
        return False


def write_sources(path: Path, new: Mapping[str, SourceFields]) -> None:
    """Add ``new`` sources to the config file at ``path`` (created if missing)."""
    for name in new:
        if not SOURCE_NAME.match(name):
            raise ConfigError(str(path), f"bad source name {name!r}", key=f"sources.{name}")
    try:
        text = path.read_text(encoding="utf-8") if path.exists() else NEW_FILE_HEADER
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError(str(path), f"cannot read: {exc}") from None
    try:
        updated = add_sources(text, new)
    except ValueError as exc:
        raise ConfigError(str(path), str(exc), key="sources") from None
    _check(path, text, updated, new)
    _replace(path, updated)


def _check(path: Path, before: str, after: str, new: Mapping[str, SourceFields]) -> None:
    old_sources = _sources_of(before)
    for name in new:
        if name in old_sources:
            raise ConfigError(str(path), "a source of this name exists", key=f"sources.{name}")
    expected = {**old_sources, **{name: dict(fields) for name, fields in new.items()}}
    unchanged_rest = _without_sources(before) == _without_sources(after)
    if _sources_of(after) != expected or not unchanged_rest:
        raise ConfigError(str(path), "could not add the source safely; add it by hand")


def _load(text: str) -> dict[str, Any]:
    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        raise ConfigError("config", f"invalid YAML: {exc}") from None
    return data if isinstance(data, dict) else {}


def _sources_of(text: str) -> dict[str, Any]:
    sources = _load(text).get("sources")
    return dict(sources) if isinstance(sources, dict) else {}


def _without_sources(text: str) -> dict[str, Any]:
    return {key: value for key, value in _load(text).items() if key != "sources"}


def _replace(path: Path, text: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    mode = path.stat().st_mode & 0o777 if path.exists() else 0o644
    handle, temporary = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", text=True)
    try:
        with os.fdopen(handle, "w", encoding="utf-8") as file:
            file.write(text)
        Path(temporary).chmod(mode)
        Path(temporary).replace(path)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise
