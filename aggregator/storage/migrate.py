"""Schema migrations with Alembic, driven from code so installed copies need no alembic.ini.

Alembic is imported in the functions that use it: importing it costs ~250 ms, and a database
already current (``ensure_schema``, nearly always) is recognised without it (``revisions``).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from sqlalchemy import Engine

import aggregator
from aggregator.errors import StorageError
from aggregator.storage.engine import WRITE_OPTION
from aggregator.storage.revisions import newest_known_revision, stored_revision

if TYPE_CHECKING:
    from alembic.config import Config as AlembicConfig


@dataclass(frozen=True)
class UpgradeResult:
    before: str | None
    after: str

    @property
    def changed(self) -> bool:
        return self.before != self.after


def migrations_dir() -> Path:
    """Packaged migrations in an installed copy, the repo's ``migrations/`` in a checkout."""
    package = Path(aggregator.__file__).parent
    for candidate in (package / "_migrations", package.parent / "migrations"):
        if (candidate / "env.py").is_file():
            return candidate
    raise StorageError(f"migrations not found next to {package}")


def alembic_config() -> AlembicConfig:
    from alembic.config import Config as AlembicConfig

    config = AlembicConfig()
    config.set_main_option("script_location", str(migrations_dir()))
    return config


def head_revision() -> str:
    from alembic.script import ScriptDirectory

    head = ScriptDirectory.from_config(alembic_config()).get_current_head()
    if head is None:
        raise StorageError("no migrations found")
    return head


def current_revision(engine: Engine) -> str | None:
    from alembic.runtime.migration import MigrationContext

    with engine.connect() as connection:
        return MigrationContext.configure(connection).get_current_revision()


def upgrade(engine: Engine, revision: str = "head") -> UpgradeResult:
    """Bring the schema to ``revision``; a no-op when it is already there."""
    from alembic import command
    from alembic.util.exc import CommandError

    before = current_revision(engine)
    _check_known(before)
    config = alembic_config()
    writer = engine.execution_options(**{WRITE_OPTION: True})  # one transaction, lock up front
    try:
        with writer.begin() as connection:
            config.attributes["connection"] = connection
            command.upgrade(config, revision)
    except CommandError as exc:
        raise StorageError(f"migration failed: {exc}") from exc
    after = current_revision(engine)
    assert after is not None
    return UpgradeResult(before, after)


def ensure_schema(engine: Engine) -> UpgradeResult | None:
    """Upgrade when the database is behind this code; return what changed, if anything."""
    head = newest_known_revision(migrations_dir() / "versions")
    if head is not None and stored_revision(engine) == head:
        return None  # current, and Alembic never imported
    current = current_revision(engine)
    if current == head_revision():
        return None
    return upgrade(engine)


def _check_known(revision: str | None) -> None:
    from alembic.script import ScriptDirectory
    from alembic.util.exc import CommandError

    if revision is None:
        return
    script = ScriptDirectory.from_config(alembic_config())
    try:
        script.get_revision(revision)
    except CommandError:
        raise StorageError(
            f"the database is at schema revision {revision}, which this version of mutualaid "
            "does not know: it was written by a newer version"
        ) from None
