"""Full-text search: the query language (``query``); the storage side is ``storage.search``."""
