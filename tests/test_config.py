"""Configuration: packaged defaults, the user's file over them, and one clear error per problem."""

from __future__ import annotations

import os
from datetime import timedelta
from pathlib import Path

import pytest

from aggregator.config import DEFAULT_FILE, load_config, merge, parse_duration
from aggregator.errors import ConfigError

REPO_CONFIG = Path(__file__).resolve().parent.parent / DEFAULT_FILE

SOURCE = {"homepage": "https://example.org/", "feed": "https://example.org/feed/"}


def test_repo_config_is_valid_and_names_both_seed_sites() -> None:
    config = load_config(REPO_CONFIG)
    assert set(config.sources) == {"countercurrents", "peterkropotkin"}
    assert config.sources["countercurrents"].feed == "https://countercurrents.org/feed/"
    assert config.sources["countercurrents"].relevance == "score"
    kropotkin = config.sources["peterkropotkin"]
    assert kropotkin.listings == ("https://peterkropotkin.org/kropotkin-today/",)
    assert config.database.url.endswith("/data/mutualaid.db")


def test_packaged_defaults_apply_without_any_file(tmp_path: Path) -> None:
    config = load_config(environ={})
    assert config.origin == "packaged defaults"
    assert config.sources == {}
    assert config.schedule.poll_interval == timedelta(hours=1)
    assert config.database.url == f"sqlite:///{tmp_path / 'data' / 'mutualaid.db'}"


def test_user_file_overrides_only_what_it_names(write_config) -> None:
    path = write_config({"schedule": {"poll_interval": "15m"}, "sources": {"site": SOURCE}})
    config = load_config(path, environ={})
    assert config.schedule.poll_interval == timedelta(minutes=15)
    assert config.schedule.crawl_interval == timedelta(days=1)  # default kept
    assert config.poll_interval("site") == timedelta(minutes=15)
    assert config.origin == str(path)


def test_relative_paths_are_anchored_at_the_config_folder(tmp_path: Path) -> None:
    folder = tmp_path / "etc"
    folder.mkdir()
    (folder / "mine.yaml").write_text("database:\n  url: sqlite:///state/x.db\n")
    config = load_config(folder / "mine.yaml", environ={})
    assert config.database.url == f"sqlite:///{folder / 'state' / 'x.db'}"
    assert config.output.dir == folder / "public"


def test_lookup_order_flag_then_environment_then_cwd(write_config, tmp_path: Path) -> None:
    write_config({"output": {"title": "from cwd"}})
    env_file = write_config({"output": {"title": "from env"}}, name="env.yaml")
    flag_file = write_config({"output": {"title": "from flag"}}, name="flag.yaml")
    env = {"MUTUALAID_CONFIG": str(env_file)}
    assert load_config(environ={}).output.title == "from cwd"
    assert load_config(environ=env).output.title == "from env"
    assert load_config(flag_file, environ=env).output.title == "from flag"


def test_database_url_environment_variable_wins(write_config) -> None:
    path = write_config()
    config = load_config(path, environ={"MUTUALAID_DATABASE_URL": "postgresql://u@db/x"})
    assert config.database.url == "postgresql://u@db/x"


def test_per_source_interval_overrides_schedule(write_config) -> None:
    path = write_config({"sources": {"site": {**SOURCE, "poll_interval": 600}}})
    assert load_config(path, environ={}).poll_interval("site") == timedelta(minutes=10)


@pytest.mark.parametrize(
    ("content", "key", "message"),
    [
        ({"colour": "red"}, "colour", "unknown key"),
        ({"sources": {"s": {**SOURCE, "fead": "x"}}}, "sources.s.fead", "unknown key"),
        ({"sources": {"s": {**SOURCE, "feed": "htp:/nope"}}}, "sources.s.feed", "not an http"),
        ({"sources": {"s": {"homepage": "ftp://a/"}}}, "sources.s.homepage", "not an http"),
        ({"sources": {"s": {"feed": "https://a/"}}}, "sources.s.homepage", "required"),
        ({"schedule": {"poll_interval": "-5m"}}, "schedule.poll_interval", "positive"),
        ({"schedule": {"jitter": -3}}, "schedule.jitter", "positive"),
        ({"schedule": {"crawl_interval": "soon"}}, "schedule.crawl_interval", "not a duration"),
        ({"output": {"items": 0}}, "output.items", "greater than 0"),
        ({"database": {"url": "not a url"}}, "database.url", "not a database URL"),
        ({"sources": {"../etc": SOURCE}}, "sources", "bad source name"),
    ],
)
def test_invalid_settings_name_the_file_and_key(write_config, content, key, message) -> None:
    path = write_config(content)
    with pytest.raises(ConfigError) as caught:
        load_config(path, environ={})
    error = caught.value
    assert error.path == str(path)
    assert error.key == key
    assert message in error.message
    assert str(error).startswith(f"{path}: {key}: ")
    assert "\n" not in str(error)


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("sources: [unclosed\n", "invalid YAML at line 2"),
        ("- just\n- a list\n", "top level must be a mapping"),
        ("\xff\xfe binary", None),
    ],
)
def test_unparseable_files_give_one_line(write_config, text: str, message: str | None) -> None:
    path = write_config(text)
    if message is None:
        path.write_bytes(b"\xff\xfe\x00binary")
    with pytest.raises(ConfigError) as caught:
        load_config(path, environ={})
    assert str(caught.value).startswith(f"{path}: ")
    if message:
        assert message in str(caught.value)


def test_missing_file_named_explicitly_is_an_error(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="no such file"):
        load_config(tmp_path / "absent.yaml", environ={})
    with pytest.raises(ConfigError, match="no such file"):
        load_config(environ={"MUTUALAID_CONFIG": str(tmp_path / "absent.yaml")})


@pytest.mark.skipif(os.geteuid() == 0, reason="root reads any file")
def test_unreadable_file_is_an_error(write_config) -> None:
    path = write_config()
    path.chmod(0)
    with pytest.raises(ConfigError, match="cannot read"):
        load_config(path, environ={})


def test_a_folder_is_not_a_config_file(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="is a folder"):
        load_config(tmp_path, environ={})


@pytest.mark.parametrize(
    ("value", "seconds"),
    [
        (90, 90),
        ("90", 90),
        ("90s", 90),
        ("30m", 1800),
        ("1h30m", 5400),
        ("2d", 172800),
        ("1.5h", 5400),
        ("1w", 604800),
        (" 6H ", 21600),
    ],
)
def test_durations(value: object, seconds: int) -> None:
    assert parse_duration(value) == timedelta(seconds=seconds)


@pytest.mark.parametrize("value", [0, -1, "0s", "-5m", "5 parsecs", "", "m", True, None, [1]])
def test_bad_durations(value: object) -> None:
    with pytest.raises(ValueError):
        parse_duration(value)


def test_merge_replaces_lists_and_merges_mappings() -> None:
    base = {"a": {"b": 1, "c": [1, 2]}, "d": 1}
    assert merge(base, {"a": {"c": [3]}}) == {"a": {"b": 1, "c": [3]}, "d": 1}
    assert base == {"a": {"b": 1, "c": [1, 2]}, "d": 1}  # not modified in place


def test_path_that_cannot_be_opened_is_an_error(write_config) -> None:
    """Works as root too: nothing can be read below a plain file."""
    path = write_config()
    with pytest.raises(ConfigError, match="cannot read: Not a directory"):
        load_config(path / "config.yaml", environ={})


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        (
            "sources:\n  blog: https://blog.example/\n",
            "sources.blog: expected a mapping of settings, got a string (line 2)",
        ),
        (
            "schedule:\n  pol_interval: 1h\n",
            "schedule.pol_interval: unknown key (did you mean 'poll_interval'?) (line 2)",
        ),
        (
            "sources:\n  blog:\n    homepage: https://blog.example/\n"
            "    feeed: https://blog.example/feed/\n",
            "sources.blog.feeed: unknown key (did you mean 'feed'?) (line 4)",
        ),
        ("sources:\n  blog:\n    homepage: https://b.example/\n    zzz: 1\n",
         "sources.blog.zzz: unknown key (line 4)"),
    ],
)  # fmt: skip
def test_config_errors_say_what_was_expected_where(tmp_path, text, expected) -> None:
    path = tmp_path / "config.yaml"
    path.write_text(text, encoding="utf-8")
    with pytest.raises(ConfigError) as caught:
        load_config(path, environ={})
    assert str(caught.value) == f"{path}: {expected}"


def test_every_global_default_is_written_in_defaults_yaml_only() -> None:
    """A setting's default lives in one place: a default in the model as well would be a second
    copy that drifts. (Per-source keys are the exception: ``sources`` starts empty.)"""
    from aggregator.config import Config

    with_code_defaults = [
        f"{section}.{key}"
        for section, field in Config.model_fields.items()
        if section not in ("sources", "origin")
        for key, setting in getattr(field.annotation, "model_fields", {}).items()
        if not setting.is_required()
    ]
    sections = [name for name, field in Config.model_fields.items() if not field.is_required()]
    assert with_code_defaults == []
    assert sections == ["origin"]


def test_the_extractors_library_defaults_are_the_packaged_defaults(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """``extract_article(html, url)`` without options (the quality harness, ``mutualaid
    extract`` without a config) behaves as a fresh install does."""
    from aggregator.extract import ExtractOptions

    monkeypatch.chdir(tmp_path)  # no ./config.yaml: the packaged defaults alone
    assert load_config(environ={}).extraction.options() == ExtractOptions()


def test_the_pollers_library_defaults_are_the_packaged_defaults(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """``PollSettings()`` and ``CollectSettings()`` (tests, benchmarks, library use) pace and
    bound a poll as a fresh install does."""
    from aggregator.poll.collect import CollectSettings
    from aggregator.poll.poller import PollSettings

    monkeypatch.chdir(tmp_path)
    packaged = PollSettings.from_config(load_config(environ={}))
    default = PollSettings()
    assert (default.workers, default.host_delay, default.max_items_per_feed) == (
        packaged.workers,
        packaged.host_delay,
        packaged.max_items_per_feed,
    )
    assert CollectSettings().max_pages == packaged.collect.max_pages
