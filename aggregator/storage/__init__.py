"""Storage: SQLAlchemy models, engines, migrations, and the queries the rest of the tool uses.

Modules outside ``storage/`` hold no SQL: they call the query modules here (``published``,
...) and pass sessions around under the name ``Session``.
"""

from sqlalchemy.exc import SQLAlchemyError as DatabaseError
from sqlalchemy.orm import Session

from aggregator.storage.database import Database, open_database

# ``DatabaseError``: any error the database layer raises, for callers that only need to catch it.
__all__ = ["Database", "DatabaseError", "Session", "open_database"]
