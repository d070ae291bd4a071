"""Storage: SQLAlchemy models, engines, migrations, and the queries the rest of the tool uses.

Modules outside ``storage/`` hold no SQL: they call the query modules here (``published``,
...) and pass sessions around under the name ``Session``.
"""

from sqlalchemy.orm import Session

from aggregator.storage.database import Database, open_database

__all__ = ["Database", "Session", "open_database"]
