"""Names that become paths: source names, tags and the output folder can never lead a write
outside ``output.dir``; bad names are one-line config errors (exit 2) that name the key; and a
config file that names a key twice is refused instead of silently losing the first."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy import insert

from aggregator.config import SOURCE_NAME, load_config
from aggregator.errors import ConfigError
from aggregator.publish.names import SLUG_MAX_BYTES
from aggregator.storage import open_database
from aggregator.storage.models import Source
from tests.publish_data import NOW, Row, add_sources, insert_rows, publish_config

REPO_CONFIG = Path(__file__).resolve().parent.parent / "config.yaml"
SITE = {"homepage": "https://example.org/", "feed": "https://example.org/feed/"}

BAD_NAMES = [
    "..",
    "../etc",
    "../../etc/passwd",
    "a/b",
    "a\\b",
    "a\x00b",
    ".hidden",
    "",
    "a" * 65,
    "blog\n",  # "$" in a pattern would let this through
    "Blog",
    "-dash",
    "_under",
    "news site",
    "café",
    "a.b",
]
GOOD_NAMES = ["a", "0", "a" * 64, "news-site_2", "1984"]


def _files_under(folder: Path) -> set[Path]:
    return {path for path in folder.rglob("*") if path.is_file()}


# --- source names in the config file -------------------------------------------------------------


@pytest.mark.parametrize("name", BAD_NAMES)
def test_a_bad_source_name_is_a_one_line_config_error(write_config, run_cli, name: str) -> None:
    path = write_config({"sources": {name: SITE}})
    with pytest.raises(ConfigError) as caught:
        load_config(path, environ={})
    assert caught.value.key == "sources"
    assert f"bad source name {name!r}" in caught.value.message
    result = run_cli("-c", str(path), "sources", "list")
    assert result.code == 2
    assert result.err.startswith(f"error: {path}: sources: bad source name")
    assert len(result.err.strip().splitlines()) == 1 and "Traceback" not in result.err


@pytest.mark.parametrize("name", GOOD_NAMES)
def test_safe_source_names_are_accepted(write_config, name: str) -> None:
    assert list(load_config(write_config({"sources": {name: SITE}}), environ={}).sources) == [name]


def test_a_source_name_that_is_not_a_string_is_refused(write_config) -> None:
    path = write_config("sources:\n  12:\n    homepage: https://example.org/\n")
    with pytest.raises(ConfigError) as caught:
        load_config(path, environ={})
    assert caught.value.key is not None and caught.value.key.startswith("sources.12")


# --- the output folder ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("folder", "message"),
    [("", "must name a folder"), ("   ", "must name a folder"), ("pub\x00lic", "control")],
)
def test_an_empty_or_unprintable_output_folder_is_refused(write_config, folder, message) -> None:
    path = write_config({"output": {"dir": folder}})
    with pytest.raises(ConfigError) as caught:
        load_config(path, environ={})
    assert (caught.value.key, message in caught.value.message) == ("output.dir", True)


def test_an_absolute_output_folder_is_the_users_choice(write_config, tmp_path: Path) -> None:
    elsewhere = tmp_path / "srv" / "www"
    config = load_config(write_config({"output": {"dir": str(elsewhere)}}), environ={})
    assert config.output.dir == elsewhere


# --- sources add / import ------------------------------------------------------------------------


@pytest.mark.parametrize("name", ["../x", "..", "a/b", ".hidden", "a" * 65, "Bad Name", "x\n"])
def test_sources_add_refuses_a_bad_name_before_any_request(write_config, run_cli, name) -> None:
    path = write_config({"sources": {"old": SITE}})
    before = path.read_bytes()
    # example.invalid never resolves, and pytest-socket would fail the test on any request.
    result = run_cli("-c", str(path), "sources", "add", "https://example.invalid/", "--name", name)
    assert result.code == 2
    assert result.err.startswith("error: --name: bad source name")
    assert len(result.err.strip().splitlines()) == 1
    assert path.read_bytes() == before


def test_sources_add_refuses_a_name_that_is_taken(write_config, run_cli) -> None:
    path = write_config({"sources": {"old": SITE}})
    result = run_cli("-c", str(path), "sources", "add", "https://example.invalid/", "--name", "old")
    assert result.code == 2
    assert result.err.strip() == "error: --name: a source named 'old' already exists"


def test_opml_import_derives_safe_names_from_hostile_titles(
    write_config, run_cli, tmp_path: Path
) -> None:
    path = write_config({"sources": {}})
    titles = ["../../etc/passwd", "..", ".hidden", "a\\..\\b", "", "x" * 300, "Взаимопомощь", "/"]
    outlines = "".join(
        # A host that is an address gives no name, so the name comes from the title.
        f'<outline text="{title}" xmlUrl="https://203.0.113.{n}/feed" htmlUrl="https://../"/>'
        for n, title in enumerate(titles, start=1)
    )
    opml = tmp_path / "subs.opml"
    opml.write_text(f'<opml version="2.0"><body>{outlines}</body></opml>', encoding="utf-8")
    result = run_cli("-c", str(path), "sources", "import", str(opml))
    assert result.code == 0, result.err
    names = list(load_config(path, environ={}).sources)
    assert len(names) == len(titles)
    assert all(SOURCE_NAME.match(name) for name in names), names
    assert "etc-passwd" in names and "x" * 64 in names
    assert names.count("source") == 1  # the other nameless ones are source-2, source-3...


# --- tags and source names at publish time -------------------------------------------------------

HOSTILE_TAGS = (
    "../../etc/x",
    "..",
    "/",
    ".",
    "\\..\\..\\y",
    "a/../../b",
    "%2e%2e%2fz",
    ".hidden",
    "x\x00y",
    "漢" * 100,  # 300 bytes of UTF-8: too long for a file name as it is
    "𠀀" * 100,
    "<b>../</b>",
)


def test_hostile_tags_cannot_write_outside_the_output_folder(tmp_path: Path, run_cli) -> None:
    config = publish_config(
        tmp_path,
        f"sqlite:///{tmp_path / 'db.sqlite'}",
        {"blog": {"homepage": "https://blog.example/", "relevance": "keep_all"}},
    )
    database = open_database(config.database.url)
    add_sources(database, "blog")
    insert_rows(database, [Row(id=1, tags=HOSTILE_TAGS), Row(id=2, tags=("Mutual aid",))])
    database.close()
    before = _files_under(tmp_path)

    result = run_cli("-c", str(tmp_path / "publish-config.yaml"), "feed", "build")

    assert result.code == 0, result.err
    output = config.output.dir.resolve()
    new = _files_under(tmp_path) - before
    new -= {path for path in new if path.name.startswith("db.sqlite")}
    assert new, "the build wrote nothing"
    assert all(path.resolve().is_relative_to(output) for path in new), sorted(new)
    tag_feeds = sorted(path.name for path in (output / "feeds" / "tag").iterdir())
    assert "etc-x.atom" in tag_feeds and "mutual-aid.atom" in tag_feeds
    for name in tag_feeds:
        stem = name.removesuffix(".atom")
        assert "." not in stem and "/" not in stem and "\x00" not in stem
        assert len(stem.encode("utf-8")) <= SLUG_MAX_BYTES
    assert not (tmp_path / "etc").exists() and not (tmp_path.parent / "etc").exists()


def test_a_source_name_stored_by_someone_else_cannot_escape_either(tmp_path: Path, run_cli) -> None:
    """The database may hold names the config never checked (an old or a shared database):
    such a source gets no feed file of its own, and nothing is written outside the folder."""
    config = publish_config(tmp_path, f"sqlite:///{tmp_path / 'db.sqlite'}", {})
    database = open_database(config.database.url)
    with database.session() as session:
        session.execute(
            insert(Source),
            [
                {
                    "id": 1,
                    "name": "../../../../evil",  # from feeds/source/ up past the folder
                    "title": "Evil",
                    "homepage": "https://e.example/",
                    "created_at": NOW,
                }
            ],
        )
    insert_rows(database, [Row(id=1)])
    database.close()
    before = _files_under(tmp_path)

    result = run_cli("-c", str(tmp_path / "publish-config.yaml"), "feed", "build")

    assert result.code == 0, result.err  # the article is published; the source gets no feed
    output = config.output.dir.resolve()
    assert (output / "feed.atom").is_file()
    assert not (output / "feeds" / "source").exists()
    new = {p for p in _files_under(tmp_path) - before if not p.name.startswith("db.sqlite")}
    assert all(path.resolve().is_relative_to(output) for path in new), sorted(new)
    assert not (tmp_path.parent / "evil.atom").exists()


# --- duplicate keys ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "key", "line", "first"),
    [
        ("topic:\n  threshold: 2\ntopic:\n  threshold: 3\n", "topic", 3, 1),
        (
            "sources:\n  blog:\n    homepage: https://a.example/\n"
            "  blog:\n    homepage: https://b.example/\n",
            "sources.blog",
            4,
            2,
        ),
        ("schedule:\n  jitter: 1m\n  jitter: 2m\n", "schedule.jitter", 3, 2),
        ("output: {title: a, title: b}\n", "output.title", 1, 1),
        (
            "sources: {}\nretention:\n  days: 3\n\n# again\nretention: {days: 4}\n",
            "retention",
            6,
            2,
        ),
        ("topic:\n  terms:\n    yes: 1\n    true: 2\n", "topic.terms.true", 4, 3),  # both True
    ],
)
def test_a_key_given_twice_is_a_config_error(
    write_config, run_cli, text: str, key: str, line: int, first: int
) -> None:
    path = write_config(text)
    with pytest.raises(ConfigError) as caught:
        load_config(path, environ={})
    assert caught.value.key == key
    assert caught.value.message == f"duplicate key at line {line} (first at line {first})"
    result = run_cli("-c", str(path), "sources", "list")
    assert result.code == 2
    assert result.err.strip() == f"error: {path}: {key}: duplicate key at line {line} " + (
        f"(first at line {first})"
    )


def test_yaml_merge_keys_are_not_duplicates(write_config) -> None:
    path = write_config(
        "sources:\n  a: &site\n    homepage: https://a.example/\n    relevance: keep_all\n"
        "  b:\n    <<: *site\n    homepage: https://b.example/\n"
    )
    sources = load_config(path, environ={}).sources
    assert sources["b"].homepage == "https://b.example/" and sources["b"].relevance == "keep_all"


def test_the_packaged_defaults_and_the_repo_config_have_no_duplicate_keys() -> None:
    assert load_config(environ={}).origin == "packaged defaults"
    assert set(load_config(REPO_CONFIG, environ={}).sources) == {
        "countercurrents",
        "peterkropotkin",
    }


def test_nesting_too_deep_for_the_parser_is_a_config_error(write_config) -> None:
    path = write_config("sources: " + "[" * 5000 + "\n")
    with pytest.raises(ConfigError, match="nested too deeply"):
        load_config(path, environ={})
