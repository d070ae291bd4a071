"""Import layering, read from the source: SQL stays in storage, spiders use the ingest API only.

Every module of ``aggregator/`` and ``spiders/`` is parsed (``ast``, nothing imported) and its
imports, at any depth (functions and ``TYPE_CHECKING`` blocks included), are checked.
"""

from __future__ import annotations

import ast
from collections.abc import Iterator
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
PACKAGES = ("aggregator", "spiders")

# Modules outside aggregator/storage/ allowed to import SQLAlchemy, each for a reason that is
# not SQL. Keep it that way: queries, models and sessions' work belong under storage/ (by
# entity), and the rest of the tool calls them.
SQLALCHEMY_WITHOUT_SQL = {
    "aggregator/config.py": "validates database.url with sqlalchemy.engine.make_url",
}


def modules() -> Iterator[tuple[str, ast.Module]]:
    for package in PACKAGES:
        for path in sorted((REPO / package).rglob("*.py")):
            yield path.relative_to(REPO).as_posix(), ast.parse(path.read_text(encoding="utf-8"))


def imported(tree: ast.Module) -> set[str]:
    """Every module name ``tree`` imports; ``from a import b`` counts as ``a`` and ``a.b``."""
    names: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and not node.level:
            names.add(node.module)
            names.update(f"{node.module}.{alias.name}" for alias in node.names)
    return names


def imports_sqlalchemy(tree: ast.Module) -> bool:
    """SQLAlchemy itself, or the tables it maps (``aggregator.storage.models``)."""
    return any(
        name.split(".")[0] == "sqlalchemy" or name.startswith("aggregator.storage.models")
        for name in imported(tree)
    )


def reaches_past_ingest_api(tree: ast.Module) -> list[str]:
    """Imports of poller modules or of ingest's own modules (``aggregator.ingest.x``)."""
    wrong = []
    for name in imported(tree):
        parts = name.split(".")
        if parts[:2] == ["aggregator", "poll"] or (
            parts[:2] == ["aggregator", "ingest"] and len(parts) > 2 and _is_ingest_module(parts[2])
        ):
            wrong.append(name)
    return sorted(wrong)


def _is_ingest_module(name: str) -> bool:
    return (REPO / "aggregator" / "ingest" / f"{name}.py").exists()


def test_sql_stays_under_storage() -> None:
    offenders = {
        path
        for path, tree in modules()
        if not path.startswith("aggregator/storage/") and imports_sqlalchemy(tree)
    }
    assert offenders - set(SQLALCHEMY_WITHOUT_SQL) == set(), "SQL outside storage/"
    assert set(SQLALCHEMY_WITHOUT_SQL) - offenders == set(), (
        "no longer importing SQLAlchemy: unlist"
    )


def test_spiders_use_only_the_ingest_api() -> None:
    offenders = {
        path: wrong
        for path, tree in modules()
        if path.startswith("spiders/") and (wrong := reaches_past_ingest_api(tree))
    }
    assert offenders == {}


def test_the_checks_see_what_they_look_for() -> None:
    """The parsing itself: each kind of import is recognised, and the public API is allowed."""
    assert imports_sqlalchemy(ast.parse("def f():\n    from sqlalchemy.orm import Session"))
    assert imports_sqlalchemy(ast.parse("import sqlalchemy as sa"))
    assert imports_sqlalchemy(ast.parse("from aggregator.storage.models import Run"))
    assert not imports_sqlalchemy(ast.parse("from aggregator.storage import Database"))
    assert reaches_past_ingest_api(ast.parse("from aggregator.ingest import workers")) == [
        "aggregator.ingest.workers"
    ]
    assert reaches_past_ingest_api(ast.parse("import aggregator.ingest.pipeline")) == [
        "aggregator.ingest.pipeline"
    ]
    assert reaches_past_ingest_api(ast.parse("from aggregator.poll.http import x")) == [
        "aggregator.poll.http",
        "aggregator.poll.http.x",
    ]
    allowed = "from aggregator.ingest import Ingestor, IngestReport, ExtractionPool"
    assert reaches_past_ingest_api(ast.parse(allowed)) == []
