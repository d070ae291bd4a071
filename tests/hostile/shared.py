"""Helpers shared by the hostile-feed tests."""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy import select

from aggregator.storage.models import Article, FetchState
from tests.pollkit import PollEnv

NOW = datetime(2026, 11, 30, 12, 0, tzinfo=UTC)
MB = 1024 * 1024


def articles(env: PollEnv) -> list[Article]:
    with env.database.session() as session:
        return list(session.scalars(select(Article).order_by(Article.id)))


def everything_stored(env: PollEnv) -> str:
    """Every text column of every article and fetch state, as one string to search."""
    texts = []
    for article in articles(env):
        texts += [
            article.title,
            article.author or "",
            article.text,
            article.html,
            article.guid or "",
        ]
        texts += list(article.tags)
    with env.database.session() as session:
        for state in session.scalars(select(FetchState)):
            texts += [state.last_error or "", *state.flags]
    return "\n".join(texts)
