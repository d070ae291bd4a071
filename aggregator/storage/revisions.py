"""Is the schema current? Answered without Alembic, which costs a quarter of a second to import.

Every command that opens the database asks; nearly always the answer is yes, so the question
reads the ``alembic_version`` row with SQLAlchemy and the newest revision from the migration
files' ``revision``/``down_revision`` lines. Anything unusual (no single head, a line not in the
usual form) answers None, and the caller goes the Alembic way (``migrate``), which decides.
``tests/test_startup.py`` checks that the head found here is Alembic's.
"""

from __future__ import annotations

import ast
import re
from pathlib import Path

from sqlalchemy import Engine, inspect, text

_VERSION_TABLE = "alembic_version"
# A module-level line assigning ``revision`` or ``down_revision`` (annotated or not).
_ASSIGNMENT = re.compile(r"^(?:revision|down_revision)\b[^=\n]*=.*$", re.MULTILINE)


def stored_revision(engine: Engine) -> str | None:
    """The revision the database is at; None for an empty database or more than one row."""
    with engine.connect() as connection:
        if not inspect(connection).has_table(_VERSION_TABLE):
            return None
        rows = connection.execute(text(f"SELECT version_num FROM {_VERSION_TABLE}")).all()
    return str(rows[0][0]) if len(rows) == 1 else None


def newest_known_revision(versions: Path) -> str | None:
    """The one revision in ``versions`` that no other revises; None when that is unclear."""
    revisions: dict[str, object] = {}
    for path in versions.glob("*.py"):
        found = _revision_lines(path)
        if found is None:
            return None
        revisions[found[0]] = found[1]
    revised = set()
    for down in revisions.values():
        revised |= set(down) if isinstance(down, tuple) else {down}
    heads = [revision for revision in revisions if revision not in revised]
    return heads[0] if len(heads) == 1 else None


def _revision_lines(path: Path) -> tuple[str, object] | None:
    """``(revision, down_revision)`` from a migration's module-level assignments.

    Only the lines assigning those two names are parsed (parsing whole files cost more than the
    rest of the check); one that does not parse alone, such as a tuple spread over lines,
    answers None.
    """
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError):
        return None
    values: dict[str, object] = {}
    for line in _ASSIGNMENT.findall(text):
        try:
            node = ast.parse(line).body[0]
        except (SyntaxError, IndexError):
            return None
        target: ast.expr | None = node.target if isinstance(node, ast.AnnAssign) else None
        if isinstance(node, ast.Assign) and len(node.targets) == 1:
            target = node.targets[0]
        value = getattr(node, "value", None)
        if isinstance(target, ast.Name) and isinstance(value, ast.expr):
            try:
                values[target.id] = ast.literal_eval(value)
            except (ValueError, TypeError, SyntaxError):
                continue
    revision, down = values.get("revision"), values.get("down_revision")
    return (revision, down) if isinstance(revision, str) else None
