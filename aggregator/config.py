"""Configuration: packaged defaults, the user's YAML file over them, validated once at start.

Which file is read: ``--config PATH``, else ``$MUTUALAID_CONFIG``, else ``./config.yaml`` when it
exists, else the packaged defaults alone. ``$MUTUALAID_DATABASE_URL`` overrides ``database.url``.
Every problem becomes a ``ConfigError`` that names the file and the key.
"""

from __future__ import annotations

import os
import re
from collections.abc import Mapping
from datetime import date, timedelta
from importlib import resources
from pathlib import Path, PurePath
from typing import TYPE_CHECKING, Annotated, Any, Literal
from urllib.parse import urlsplit

import yaml
from pydantic import (
    AfterValidator,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    ValidationError,
    field_validator,
    model_validator,
)

from aggregator.config_errors import explain, line_of
from aggregator.errors import ConfigError
from aggregator.kinds import REGISTRY, check_kind_name
from aggregator.relevance import TopicProfile
from aggregator.strict_yaml import DuplicateKeyError, load_yaml

if TYPE_CHECKING:  # each is imported where it is used, to keep reading a config light
    from aggregator.extract.article import ExtractOptions
    from aggregator.extract.rules import SiteRules

CONFIG_ENV = "MUTUALAID_CONFIG"
DATABASE_URL_ENV = "MUTUALAID_DATABASE_URL"
DEFAULT_FILE = Path("config.yaml")
UNSET_ID_DOMAIN = "mutualaid.invalid"  # the placeholder a publisher must replace
PACKAGED_DEFAULTS = "packaged defaults"  # the origin of a config read from no file

_DURATION_PART = re.compile(r"(\d+(?:\.\d+)?)\s*([smhdw])")
_DURATION_UNITS = {"s": 1, "m": 60, "h": 3600, "d": 86400, "w": 604800}
_PATH_CONTROL = re.compile(r"[\x00-\x1f\x7f]")
# Source names become file names (feeds/source/NAME.atom) and URL paths: 1-64 of a-z, 0-9, "-"
# and "_", starting with a letter or digit. \A...\Z, not ^...$: "$" would let a final newline in.
SOURCE_NAME_MAX = 64
SOURCE_NAME = re.compile(rf"\A[a-z0-9][a-z0-9_-]{{0,{SOURCE_NAME_MAX - 1}}}\Z")
SOURCE_NAME_RULE = (
    f"use 1 to {SOURCE_NAME_MAX} of a-z, 0-9, '-' and '_', starting with a letter or digit"
)
_TAG_AUTHORITY = re.compile(
    r"([\w.+-]+@)?[a-z0-9]([a-z0-9-]*[a-z0-9])?(\.[a-z0-9]([a-z0-9-]*[a-z0-9])?)*", re.ASCII
)


def parse_duration(value: object) -> timedelta:
    """Read ``90``, ``"90s"``, ``"30m"``, ``"1h30m"`` or ``"2d"`` as a positive duration."""
    if isinstance(value, timedelta):
        seconds = value.total_seconds()
    elif isinstance(value, bool):
        raise ValueError("expected a duration such as 30m, 6h or 1d")
    elif isinstance(value, int | float):
        seconds = float(value)
    elif isinstance(value, str):
        seconds = _parse_duration_text(value)
    else:
        raise ValueError("expected a duration such as 30m, 6h or 1d")
    if seconds <= 0:
        raise ValueError(f"must be a positive duration, got {value!r}")
    return timedelta(seconds=seconds)


def _parse_duration_text(text: str) -> float:
    compact = text.strip().lower()
    if re.fullmatch(r"-?\d+(?:\.\d+)?", compact):
        return float(compact)
    if compact.startswith("-"):
        raise ValueError(f"must be a positive duration, got {text!r}")
    parts = _DURATION_PART.findall(compact)
    if not parts or _DURATION_PART.sub("", compact).strip():
        raise ValueError(f"not a duration: {text!r} (use e.g. 90s, 30m, 6h, 1d)")
    return sum(float(number) * _DURATION_UNITS[unit] for number, unit in parts)


def check_source_name(name: object) -> str:
    """Return ``name`` if it is a safe source name; raise ``ValueError`` saying why not."""
    if not isinstance(name, str) or not SOURCE_NAME.match(name):
        raise ValueError(f"bad source name {name!r}: {SOURCE_NAME_RULE}")
    return name


def check_http_url(value: str) -> str:
    """Accept only absolute http(s) URLs with a host."""
    parts = urlsplit(value.strip())
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise ValueError(f"not an http(s) URL: {value!r}")
    return value.strip()


def check_folder(value: object) -> object:
    """A folder setting: absolute or relative as the user likes, but named and printable."""
    if isinstance(value, str | PurePath):
        text = str(value)
        if not text.strip():
            raise ValueError("must name a folder, got an empty path")
        if _PATH_CONTROL.search(text):
            raise ValueError(f"control character in path: {text!r}")
    return value


Duration = Annotated[timedelta, BeforeValidator(parse_duration)]
HttpUrl = Annotated[str, AfterValidator(check_http_url)]
Folder = Annotated[Path, BeforeValidator(check_folder)]


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class DatabaseConfig(_Strict):
    url: str

    @field_validator("url")
    @classmethod
    def _parse_url(cls, value: str) -> str:
        from sqlalchemy.engine import make_url
        from sqlalchemy.exc import ArgumentError

        try:
            make_url(value)
        except ArgumentError as exc:
            raise ValueError(f"not a database URL: {value!r}") from exc
        return value


class ArchiveConfig(_Strict):
    """The archive ``feed build`` writes beside the feeds (``publish.archive``)."""

    enabled: bool
    # Articles per listing page (a source's, a tag's, a month's).
    page_size: int = Field(gt=0, le=1000)


# How much of a source's articles the outputs carry (README, Republication).
RepublishMode = Literal["full", "excerpt", "link", "auto"]


class OutputConfig(_Strict):
    dir: Folder
    title: str = Field(min_length=1)
    items: int = Field(gt=0, le=10_000)
    # What a source without ``republish`` of its own publishes.
    republish: RepublishMode
    # Where the output is served from; absolute self links need it. None: relative links.
    base_url: HttpUrl | None
    # The domain (or e-mail address) in every entry's tag: URI id; set once, never change.
    id_domain: str
    archive: ArchiveConfig

    @field_validator("base_url")
    @classmethod
    def _end_with_slash(cls, value: str | None) -> str | None:
        return value if value is None or value.endswith("/") else value + "/"

    @field_validator("id_domain")
    @classmethod
    def _check_id_domain(cls, value: str) -> str:
        if not _TAG_AUTHORITY.fullmatch(value):
            raise ValueError(f"not a domain name or e-mail address: {value!r}")
        return value


class ServeConfig(_Strict):
    host: str = Field(min_length=1)
    port: int = Field(ge=0, le=65535)
    # Cache-Control max-age of served feeds and pages.
    max_age: Duration
    # Threads running requests; open connections at most (more wait in a listen backlog of
    # this many); an idle connection, or a request still arriving, is closed after
    # channel_timeout; requests in flight get shutdown_timeout to finish on SIGTERM.
    threads: int = Field(ge=1, le=256)
    connection_limit: int = Field(ge=1, le=10_000)
    backlog: int = Field(ge=1, le=65_535)
    channel_timeout: Duration
    shutdown_timeout: Duration


class RetentionConfig(_Strict):
    # Articles older than this many days are purged (tombstones keep them from coming back).
    days: int | None = Field(gt=0)
    # ``runs`` rows older than this many days are folded into per-source totals and deleted.
    runs_days: int | None = Field(gt=0)


class ScheduleConfig(_Strict):
    poll_interval: Duration
    crawl_interval: Duration
    jitter: Duration
    tick: Duration


class RulesConfig(_Strict):
    """Per-site extraction rules: CSS or XPath selectors, and phrases whose block is dropped."""

    container: str | None = None
    drop: tuple[str, ...] = ()
    drop_phrases: tuple[str, ...] = ()

    def compile(self) -> SiteRules:
        from aggregator.extract.rules import SiteRules

        return SiteRules.compile(self.container, self.drop, self.drop_phrases)

    @field_validator("container")
    @classmethod
    def _check_container(cls, value: str | None) -> str | None:
        if value is not None:
            _check_selector(value)
        return value

    @field_validator("drop")
    @classmethod
    def _check_drop(cls, value: tuple[str, ...]) -> tuple[str, ...]:
        for selector in value:
            _check_selector(selector)
        return value


def _check_selector(selector: str) -> None:
    from aggregator.extract.rules import RuleError, SiteRules

    try:
        SiteRules.compile(container=selector)
    except RuleError as exc:
        raise ValueError(str(exc)) from None


def _valid_selector(selector: str) -> str:
    _check_selector(selector)
    return selector


def _valid_pattern(pattern: str) -> str:
    try:
        re.compile(pattern)
    except re.error as exc:
        raise ValueError(f"invalid regular expression {pattern!r}: {exc}") from None
    return pattern


Selector = Annotated[str, AfterValidator(_valid_selector)]
Pattern = Annotated[str, AfterValidator(_valid_pattern)]


class CrawlConfig(_Strict):
    """Where a source's spider goes (see spiders/): listings it pages through, sitemaps it reads,
    and which links are articles (CSS/XPath selectors, URL patterns, or both).

    A block that names none of them (``crawl: {}``) finds the articles itself: the WordPress
    REST API's pages of posts, else the site's post sitemaps (``spiders.discovery``)."""

    start_urls: tuple[HttpUrl, ...] = ()  # default: the source's listings, else its homepage
    sitemaps: tuple[HttpUrl, ...] = ()  # sitemap, sitemap index or robots.txt URLs
    allowed_domains: tuple[str, ...] = ()  # default: the hosts of the URLs above
    article_links: tuple[Selector, ...] = ()
    article_urls: tuple[Pattern, ...] = ()
    next_page: tuple[Selector, ...] = ()  # default: rel=next and common "next/older" links
    next_page_urls: tuple[Pattern, ...] = ()
    max_depth: int = Field(default=100, ge=0)  # listing pages followed from a start URL
    max_pages: int | None = Field(default=None, gt=0)
    since: date | None = None
    backend: Literal["memory", "redis"] = "memory"

    @property
    def finds_articles_itself(self) -> bool:
        """Nothing says where the articles are: the spider discovers them (``crawl: {}``)."""
        return not (self.article_links or self.article_urls or self.sitemaps or self.start_urls)

    @model_validator(mode="after")
    def _say_what_articles_are(self) -> CrawlConfig:
        if self.start_urls and not (self.article_links or self.article_urls or self.sitemaps):
            raise ValueError(
                "say which links are articles: article_links or article_urls "
                "(or leave out start_urls too, and the crawl finds the articles itself)"
            )
        if self.finds_articles_itself and self.backend == "redis":
            raise ValueError("backend: redis needs start_urls or sitemaps to seed the crawl")
        return self


class PendingConfig(_Strict):
    """When an entry whose page could not be fetched yet is tried again, and given up."""

    attempts: int = Field(ge=1)  # failed fetches before giving up
    gone_attempts: int = Field(ge=1)  # ... when the page answers 404 or 410
    max_wait: Duration  # the longest pause between two tries
    max_age: Duration  # given up this long after first seen, whatever the tries
    keep_given_up: Duration  # how long a given-up entry is remembered (and not fetched)


class PollingConfig(_Strict):
    """How feed polling paces itself and how much it reads per poll."""

    workers: int = Field(ge=1, le=64)  # sources polled at once
    host_delay: float = Field(ge=0)  # seconds between two requests to one host
    max_pages: int = Field(ge=0)  # article pages fetched per source per poll
    max_items_per_feed: int = Field(ge=1, le=100_000)  # entries read from the top
    pending: PendingConfig


class NetworkConfig(_Strict):
    """Limits and address rules for every outbound request (feeds, pages, APIs, crawls)."""

    allow_private: bool  # loopback/private/link-local targets: only for local testing
    connect_timeout: Duration
    total_timeout: Duration  # whole fetch, so a drip feed is cut off
    max_bytes: int = Field(gt=0)  # decoded body size cap


class CrawlingConfig(_Strict):
    """How every crawl behaves: politeness, limits, and how the work is spread."""

    contact: HttpUrl  # named in the user agent, so site owners can reach us
    user_agent: str | None  # default: mutualaid/VERSION (+contact)
    download_delay: float = Field(ge=0)
    autothrottle: bool
    autothrottle_max_delay: float = Field(gt=0)
    concurrency_per_domain: int = Field(ge=1, le=32)
    retries: int = Field(ge=0, le=10)
    retry_backoff: float = Field(ge=0)
    retry_max_wait: Duration
    http_cache: bool
    http_cache_dir: Folder
    workers: int | None = Field(ge=0, le=64)
    batch_size: int = Field(ge=1, le=1000)
    redis_url: str | None
    redis_prefix: str = Field(min_length=1)


class ExtractionConfig(_Strict):
    favor: Literal["precision", "balanced", "recall"]
    fast: bool
    second_pass: bool
    min_words: int = Field(ge=0)
    learn_boilerplate: bool
    boilerplate_min_articles: int = Field(ge=2)
    boilerplate_min_authors: int = Field(ge=1)
    boilerplate_window_days: int = Field(ge=1)
    near_duplicate_window_days: int = Field(ge=0)  # 0: every article's bands are kept
    # What one page or feed entry may hold to be extracted (aggregator/extract/limits.py).
    max_html_size: int = Field(gt=0)
    max_elements: int = Field(gt=0)
    max_depth: int = Field(gt=0, le=255)  # libxml2 nests no deeper than 256
    max_attributes: int = Field(gt=0)

    def options(self) -> ExtractOptions:
        from aggregator.extract.article import ExtractOptions
        from aggregator.extract.limits import HtmlLimits

        limits = HtmlLimits(
            self.max_html_size, self.max_elements, self.max_depth, self.max_attributes
        )
        return ExtractOptions(self.favor, self.fast, self.min_words, self.second_pass, limits)


class TopicConfig(_Strict):
    threshold: float = Field(gt=0)
    title_weight: float = Field(ge=0)
    terms: dict[str, float] = Field(min_length=1)

    def profile(self) -> TopicProfile:
        return TopicProfile(dict(self.terms), self.threshold, self.title_weight)


class ReviewConfig(_Strict):
    """``mutualaid review``: how far below the threshold to look, and how many of each list."""

    margin: float = Field(gt=0)
    limit: int = Field(gt=0, le=10_000)


class SourceConfig(_Strict):
    title: str | None = None
    homepage: HttpUrl
    # How the source is read (``aggregator.kinds``); unset: see ``kind_name``.
    kind: Annotated[str, AfterValidator(check_kind_name)] | None = None
    feed: HttpUrl | None = None
    sitemap: HttpUrl | None = None  # for ``kind: sitemap``; default: found from the homepage
    listings: tuple[HttpUrl, ...] = ()
    relevance: Literal["keep_all", "score"] = "score"
    poll_interval: Duration | None = None
    enabled: bool = True
    # Unset: ``output.republish``. ``opt_out``: none of its articles in any output.
    republish: RepublishMode | None = None
    opt_out: bool = False
    # Fetch each entry's page even when the feed carries the full text.
    always_fetch_page: bool = False
    rules: RulesConfig = RulesConfig()
    crawl: CrawlConfig | None = None

    @property
    def kind_name(self) -> str:
        """The kind configured; unset, today's behaviour: a feed is read as a ``wordpress``
        source (the feed, and the site's WordPress API once it answers), a source with only
        a ``crawl`` block is crawled, and any other is a ``feed`` source without a feed."""
        if self.kind:
            return self.kind
        if self.feed:
            return "wordpress"
        return "crawl" if self.crawl else "feed"

    @model_validator(mode="after")
    def _has_what_its_kind_needs(self) -> SourceConfig:
        if self.kind:
            missing = [key for key in REGISTRY[self.kind].needs if getattr(self, key) is None]
            if missing:
                raise ValueError(f"kind {self.kind!r} needs {missing[0]!r}")
        return self


class Config(_Strict):
    database: DatabaseConfig
    output: OutputConfig
    serve: ServeConfig
    schedule: ScheduleConfig
    retention: RetentionConfig
    extraction: ExtractionConfig
    topic: TopicConfig
    review: ReviewConfig
    crawling: CrawlingConfig
    network: NetworkConfig
    polling: PollingConfig
    sources: dict[str, SourceConfig]
    # Where the settings came from; set by load_config, not read from YAML.
    origin: str = Field(default="packaged defaults", exclude=True)

    @field_validator("sources")
    @classmethod
    def _check_names(cls, sources: dict[str, SourceConfig]) -> dict[str, SourceConfig]:
        for name in sources:
            check_source_name(name)
        return sources

    def poll_interval(self, name: str) -> timedelta:
        return self.sources[name].poll_interval or self.schedule.poll_interval

    def republish(self, name: str) -> RepublishMode:
        return self.sources[name].republish or self.output.republish


def load_config(path: Path | str | None = None, environ: Mapping[str, str] | None = None) -> Config:
    """Load and validate the configuration; see the module docstring for the lookup order."""
    env = os.environ if environ is None else environ
    chosen = Path(path) if path else (Path(env[CONFIG_ENV]) if env.get(CONFIG_ENV) else None)
    if chosen is None and DEFAULT_FILE.is_file():
        chosen = DEFAULT_FILE
    data = _read_defaults()
    origin = PACKAGED_DEFAULTS
    base_dir = Path.cwd()
    if chosen is not None:
        data = merge(data, _read_yaml(chosen))
        origin = str(chosen)
        base_dir = chosen.resolve().parent
    if env.get(DATABASE_URL_ENV):
        data["database"]["url"] = env[DATABASE_URL_ENV]
    data = _anchor_paths(data, base_dir)
    try:
        return Config.model_validate({**data, "origin": origin})
    except ValidationError as exc:
        raise _config_error(origin, exc) from None


def merge(base: dict[str, Any], override: Mapping[str, Any]) -> dict[str, Any]:
    """Lay ``override`` over ``base``: mappings merge key by key, anything else replaces."""
    merged = dict(base)
    for key, value in override.items():
        if isinstance(value, Mapping) and isinstance(merged.get(key), Mapping):
            merged[key] = merge(dict(merged[key]), value)
        else:
            merged[key] = value
    return merged


def _read_defaults() -> dict[str, Any]:
    text = resources.files("aggregator").joinpath("defaults.yaml").read_text(encoding="utf-8")
    data: dict[str, Any] = _parse_yaml(text, "packaged defaults")
    return data


def _read_yaml(path: Path) -> dict[str, Any]:
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise ConfigError(str(path), "no such file") from None
    except IsADirectoryError:
        raise ConfigError(str(path), "is a folder, not a file") from None
    except (OSError, UnicodeDecodeError) as exc:
        reason = exc.strerror if isinstance(exc, OSError) and exc.strerror else str(exc)
        raise ConfigError(str(path), f"cannot read: {reason}") from None
    data = _parse_yaml(text, str(path))
    if data is None:
        return {}
    if not isinstance(data, dict):
        raise ConfigError(str(path), "the top level must be a mapping of settings")
    return data


def _parse_yaml(text: str, origin: str) -> Any:
    """The YAML document in ``text``; a syntax error or a repeated key is a ``ConfigError``."""
    try:
        return load_yaml(text)
    except DuplicateKeyError as exc:
        message = f"duplicate key at line {exc.line} (first at line {exc.first_line})"
        raise ConfigError(origin, message, key=exc.key) from None
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f" at line {mark.line + 1}" if mark is not None else ""
        problem = getattr(exc, "problem", None) or "syntax error"
        raise ConfigError(origin, f"invalid YAML{where}: {problem}") from None
    except RecursionError:
        raise ConfigError(origin, "invalid YAML: nested too deeply") from None


def _anchor_paths(data: dict[str, Any], base_dir: Path) -> dict[str, Any]:
    """Make relative SQLite and output paths relative to the config file's folder."""
    data = merge(data, {})
    url = data.get("database", {}).get("url")
    if isinstance(url, str) and url.startswith("sqlite:///") and not url.startswith("sqlite:////"):
        relative = url.removeprefix("sqlite:///")
        if relative and relative != ":memory:" and not relative.startswith("file:"):
            data["database"] = {**data["database"], "url": f"sqlite:///{base_dir / relative}"}
    out_dir = data.get("output", {}).get("dir")
    if isinstance(out_dir, str) and out_dir.strip() and not Path(out_dir).is_absolute():
        data["output"] = {**data["output"], "dir": str(base_dir / out_dir)}
    cache_dir = data.get("crawling", {}).get("http_cache_dir")
    if isinstance(cache_dir, str) and cache_dir.strip() and not Path(cache_dir).is_absolute():
        data["crawling"] = {**data["crawling"], "http_cache_dir": str(base_dir / cache_dir)}
    return data


def _config_error(origin: str, exc: ValidationError) -> ConfigError:
    errors = exc.errors()
    first = errors[0]
    key = ".".join(str(part) for part in first["loc"]) or None
    message = explain(first, Config)
    line = line_of(origin, first["loc"]) if origin != PACKAGED_DEFAULTS else None
    if line is not None:
        message += f" (line {line})"
    more = len({error["loc"] for error in errors}) - 1  # a union's alternatives are one problem
    if more:
        message += f"; and {more} more problem{'s' if more > 1 else ''}"
    return ConfigError(origin, message, key=key)
