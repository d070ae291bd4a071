"""YAML as PyYAML's safe loader reads it, except that a key given twice in a mapping is an error.

PyYAML keeps the last of two equal keys without a word, so a config file with ``topic:`` twice,
or one source defined twice, would silently lose the first. ``load_yaml`` refuses such a file and
says which key, where, and where it first appeared. YAML merge keys (``<<: *defaults``) are not
duplicates: keys written next to a merge override the merged ones, as YAML intends.
"""

from __future__ import annotations

from collections.abc import Hashable
from typing import Any

import yaml
from yaml.nodes import MappingNode, Node, ScalarNode, SequenceNode

_MERGE_TAG = "tag:yaml.org,2002:merge"
_NOT_CHECKED = object()  # a key left to the constructor: a merge key or a collection


class DuplicateKeyError(yaml.YAMLError):
    """A mapping names the same key twice; ``key`` is the dotted path to the second one."""

    def __init__(self, key: str, line: int, first_line: int) -> None:
        self.key = key
        self.line = line
        self.first_line = first_line
        super().__init__(f"{key}: duplicate key at line {line} (first at line {first_line})")


class UniqueKeyLoader(yaml.SafeLoader):
    """``yaml.SafeLoader`` that checks the whole document for repeated keys before building it."""

    def get_single_node(self) -> Node | None:
        node = super().get_single_node()
        if node is not None:
            self._check_unique_keys(node, (), set())
        return node

    def _check_unique_keys(self, node: Node, path: tuple[str, ...], visited: set[int]) -> None:
        if id(node) in visited:  # an alias to a node already checked (or a recursive one)
            return
        visited.add(id(node))
        if isinstance(node, SequenceNode):
            for index, item in enumerate(node.value):
                self._check_unique_keys(item, (*path, str(index)), visited)
        elif isinstance(node, MappingNode):
            first_lines: dict[object, int] = {}
            for key_node, value_node in node.value:
                key = self._scalar_key(key_node)
                if key is _NOT_CHECKED:
                    self._check_unique_keys(value_node, path, visited)
                    continue
                line = key_node.start_mark.line + 1
                where = (*path, str(key_node.value))  # the key as written
                if key in first_lines:
                    raise DuplicateKeyError(".".join(where), line, first_lines[key])
                first_lines[key] = line
                self._check_unique_keys(value_node, where, visited)

    def _scalar_key(self, node: Node) -> object:
        """The key as YAML reads it (``yes`` and ``true`` are one key), or ``_NOT_CHECKED``."""
        if not isinstance(node, ScalarNode) or node.tag == _MERGE_TAG:
            return _NOT_CHECKED
        key = self.construct_object(node)
        return key if isinstance(key, Hashable) else _NOT_CHECKED


def load_yaml(text: str) -> Any:
    """Parse one YAML document safely; raise ``DuplicateKeyError`` for a repeated key."""
    return yaml.load(text, Loader=UniqueKeyLoader)
