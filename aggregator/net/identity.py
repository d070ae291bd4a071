"""Who we say we are: one user agent for every outbound request, feeds and crawls alike.

It names the tool, its version and a contact URL (``crawling.contact``), so a site's owner can
reach us; ``crawling.user_agent`` replaces it whole. The robots.txt token stays ``mutualaid``.
"""

from __future__ import annotations

from aggregator import __version__
from aggregator.config import Config, CrawlingConfig

ROBOTS_TOKEN = "mutualaid"
# For the rare fetch made with no config at hand (library use, tests); commands pass theirs.
BARE_USER_AGENT = f"{ROBOTS_TOKEN}/{__version__} (collects writing on mutual aid)"


def user_agent(config: Config | CrawlingConfig) -> str:
    """The User-Agent header for ``config`` (the whole config or its ``crawling`` section)."""
    crawling = config.crawling if isinstance(config, Config) else config
    return crawling.user_agent or (
        f"{ROBOTS_TOKEN}/{__version__} (+{crawling.contact}; collects writing on mutual aid)"
    )
