"""Storage: SQLAlchemy models, engines, migrations, and the queries the rest of the tool uses."""

from aggregator.storage.database import Database, open_database

__all__ = ["Database", "open_database"]
