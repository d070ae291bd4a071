"""The ingest core end to end: pages from the local sites stored once, whatever the route."""

from __future__ import annotations

import urllib.request
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import func, select, update

from aggregator.config import Config, load_config
from aggregator.fingerprints import simhash_bands
from aggregator.ingest import ExtractionPool, Ingestor, Outcome, Refusal
from aggregator.items import FetchedItem, Origin
from aggregator.sanitize import SANITIZER_VERSION, sanitize_html
from aggregator.storage import Database, open_database
from aggregator.storage import articles as articles_module
from aggregator.storage.models import (
    Article,
    ArticleFeed,
    Boilerplate,
    Sighting,
    SimhashBand,
    Source,
)

REPO = Path(__file__).resolve().parent.parent
# A banner closing every news article: learned, then cleaned from articles stored before.
BANNER = "Support honest journalism"
NOW = datetime(2026, 11, 30, 12, 0, tzinfo=UTC)
SEED_SLUG = "reconciling-mutual-aid-with-revolutionary-violence-the-case-of-peter-kropotkin"


def fetch(url: str) -> str:
    with urllib.request.urlopen(url, timeout=10) as response:
        return response.read().decode("utf-8")


def page_item(source: str, url: str, **extra: object) -> FetchedItem:
    return FetchedItem(
        source=source, url=url, origin=Origin.CRAWL, fetched_at=NOW, html=fetch(url), **extra
    )


def make_config(write_config, database_url: str, sites: dict[str, str], rules: bool) -> Config:
    repo = load_config(REPO / "config.yaml", environ={})
    news_rules = repo.sources["countercurrents"].rules.model_dump(mode="json") if rules else {}
    sources = {
        name: {"homepage": f"{base}/", **({"rules": news_rules} if name == "news" else {})}
        for name, base in sites.items()
    }
    path = write_config({"database": {"url": database_url}, "sources": sources})
    return load_config(path, environ={})


@pytest.fixture
def setup(write_config, database_url, news_site, blog_site):
    """Build (config, database, ingestor) for the two shared sites; closed afterwards."""
    opened: list[Database] = []

    def build(rules: bool = True, **extraction: object) -> tuple[Config, Database, Ingestor]:
        config = make_config(
            write_config,
            database_url,
            {"news": news_site.base_url, "blog": blog_site.base_url},
            rules,
        )
        if extraction:
            config = config.model_copy(
                update={"extraction": config.extraction.model_copy(update=extraction)}
            )
        database = open_database(config.database.url)
        opened.append(database)
        return config, database, Ingestor(database, config, clock=lambda: NOW)

    yield build
    for database in opened:
        database.close()


def count(database: Database, model: type, *where: object) -> int:
    with database.session() as session:
        return session.scalar(select(func.count()).select_from(model).where(*where)) or 0


def test_every_article_once_listings_skipped_and_a_second_pass_changes_nothing(
    setup, news_site
) -> None:
    _, database, ingestor = setup()
    items = [page_item("news", article.url) for article in news_site.articles]
    items += [page_item("news", url) for url in news_site.listing_urls[:4]]
    first = ingestor.ingest(items, batch_size=7)
    assert first.counts[Outcome.NEW] == len(news_site.articles)
    assert len(first.skipped) == 4
    assert all("listing" in reason for _, reason in first.skipped)
    assert not first.failed
    second = ingestor.ingest(items)
    assert second.counts == {Outcome.UNCHANGED: len(news_site.articles)}
    assert count(database, Article) == len(news_site.articles)
    assert count(database, Sighting) == len(news_site.articles)


def test_url_variants_are_the_same_article(setup, news_site) -> None:
    _, database, ingestor = setup()
    article = news_site.article(SEED_SLUG)
    variants = [
        article.url,
        f"{article.url}?utm_source=rss&utm_medium=rss&utm_campaign={article.slug}",
        f"{article.url}amp/",
        f"{article.url}?amp=1",
        article.url.rstrip("/"),
        f"{article.url}#comments",
    ]
    report = ingestor.ingest([page_item("news", url) for url in variants])
    assert report.counts == {Outcome.NEW: 1, Outcome.UNCHANGED: len(variants) - 1}
    assert count(database, Article) == 1
    with database.session() as session:
        stored = session.scalars(select(Article)).one()
    assert stored.canonical_url == article.url.rstrip("/")


def test_a_feed_whose_guids_change_every_fetch_adds_nothing(setup, blog_site) -> None:
    _, database, ingestor = setup()
    essay = blog_site.articles[0]

    def entry(guid: str) -> FetchedItem:
        content = "".join(f"<p>{paragraph}</p>" for paragraph in essay.paragraphs)
        return FetchedItem(
            source="blog", url=essay.url, origin=Origin.FEED, fetched_at=NOW, content=content,
            guid=guid, feed_title=essay.title, feed_author=essay.author,
            feed_published=essay.published,
        )  # fmt: skip

    first = ingestor.ingest([entry("urn:uuid:1")])
    again = ingestor.ingest([entry("urn:uuid:2"), entry("urn:uuid:3")])
    assert first.counts == {Outcome.NEW: 1}
    assert again.counts == {Outcome.UNCHANGED: 2}
    assert count(database, Article) == 1


def test_feed_metadata_wins_for_feed_items(setup, blog_site) -> None:
    _, database, ingestor = setup()
    essay = blog_site.articles[0]
    content = "".join(f"<p>{paragraph}</p>" for paragraph in essay.paragraphs)
    item = FetchedItem(
        source="blog", url=essay.url, origin=Origin.FEED, fetched_at=NOW, content=content,
        guid="g1", feed_title="Feed Title", feed_author="Feed Author",
        feed_published=datetime(2024, 5, 1, 8, 30, tzinfo=UTC), feed_tags=("Mutual aid",),
    )  # fmt: skip
    ingestor.ingest([item])
    with database.session() as session:
        stored = session.scalars(select(Article)).one()
    assert (stored.title, stored.author) == ("Feed Title", "Feed Author")
    assert stored.published_at == datetime(2024, 5, 1, 8, 30, tzinfo=UTC)
    assert not stored.date_estimated
    assert stored.tags == ["Mutual aid"]


def test_an_updated_article_is_updated_not_duplicated(setup, make_news_site) -> None:
    site = make_news_site()
    _, database, ingestor = setup()
    ingestor.config.sources["news"]  # the shared sites are configured; this one is not
    config = ingestor.config.model_copy(
        update={"sources": {"news": ingestor.config.sources["news"].model_copy(
            update={"homepage": f"{site.base_url}/"})}}
    )  # fmt: skip
    ingestor = Ingestor(database, config, clock=lambda: NOW)
    article = site.article(SEED_SLUG)
    assert ingestor.ingest([page_item("news", article.url)]).counts == {Outcome.NEW: 1}
    site.update_article(SEED_SLUG, paragraphs=(*article.paragraphs, "A correction was added."))
    later = Ingestor(database, config, clock=lambda: NOW + timedelta(days=1))
    assert later.ingest([page_item("news", article.url)]).counts == {Outcome.UPDATED: 1}
    with database.session() as session:
        stored = session.scalars(select(Article)).one()
    assert "A correction was added." in stored.text
    assert stored.last_changed_at == NOW + timedelta(days=1)
    assert stored.first_seen_at == NOW


def test_an_essay_syndicated_on_another_site_is_one_article_with_two_sightings(
    setup, blog_site, news_site
) -> None:
    """The blog's essay republished on the news site, in the news theme, a year later."""
    _, database, ingestor = setup()
    essay = blog_site.articles[0]
    original = page_item("blog", essay.url)
    copy = FetchedItem(
        source="news",
        url=f"{news_site.base_url}/2026/01/republished/",
        origin=Origin.CRAWL,
        fetched_at=NOW,
        html=_rethemed(fetch(news_site.articles[5].url), news_site.articles[5], essay),
    )
    report = ingestor.ingest([copy, original])
    assert report.counts == {Outcome.NEW: 1, Outcome.DUPLICATE: 1}
    with database.session() as session:
        article = session.scalars(select(Article)).one()
        sources = {
            name
            for (name,) in session.execute(
                select(Source.name).join(Sighting, Sighting.source_id == Source.id)
            )
        }
        primary = session.get(Source, article.primary_source_id)
    assert sources == {"news", "blog"}
    assert primary is not None and primary.name == "blog"  # the earlier one is the original
    assert article.canonical_url == essay.url.rstrip("/")


def _rethemed(page: str, host_article, essay) -> str:
    """A news-site page whose body, title, author and date are the blog essay's."""
    body = "".join(f"<p>{paragraph}</p>" for paragraph in host_article.paragraphs)
    replacement = "".join(f"<p>{paragraph}</p>" for paragraph in essay.paragraphs)
    rethemed = page
    for paragraph in host_article.paragraphs:
        rethemed = rethemed.replace(f"<p>{paragraph}</p>", "", 1)
    marker = '<div class="entry-content">'
    rethemed = rethemed.replace(marker, marker + replacement, 1)
    assert body not in rethemed
    year_later = essay.published + timedelta(days=365)
    return (
        rethemed.replace(host_article.title, essay.title)
        .replace(host_article.author, essay.author)
        .replace(host_article.published.date().isoformat(), year_later.date().isoformat())
    )


def test_exact_copy_at_another_url_is_a_duplicate(setup, news_site) -> None:
    _, database, ingestor = setup()
    article = news_site.articles[3]
    page = fetch(article.url)
    mirror = FetchedItem(
        source="blog", url="https://mirror.example/copy/", origin=Origin.CRAWL,
        fetched_at=NOW, html=page.replace(article.url, "https://mirror.example/copy/"),
    )  # fmt: skip
    report = ingestor.ingest([page_item("news", article.url), mirror])
    assert report.counts == {Outcome.NEW: 1, Outcome.DUPLICATE: 1}
    assert count(database, Article) == 1
    assert count(database, Sighting) == 2


def test_different_essays_on_the_same_topic_stay_apart(setup, blog_site) -> None:
    _, _, ingestor = setup()
    report = ingestor.ingest([page_item("blog", essay.url) for essay in blog_site.articles])
    assert report.counts == {Outcome.NEW: len(blog_site.articles)}


def test_boilerplate_is_learned_and_cleaned_from_earlier_articles(setup, news_site) -> None:
    _, database, ingestor = setup(rules=False)
    report = ingestor.ingest([page_item("news", article.url) for article in news_site.articles])
    assert report.learned >= 2
    with database.session() as session:
        texts = {
            article.canonical_url: article.text for article in session.scalars(select(Article))
        }
        learned = [row.text for row in session.scalars(select(Boilerplate))]
    assert any(BANNER in text for text in learned)
    assert not [url for url, text in texts.items() if BANNER in text]
    # Each writer's bio recurs under their own articles only, so it is never learned.
    for article in news_site.articles:
        if article.author_bio:
            stored = texts[article.url.rstrip("/")]
            assert " ".join(article.author_bio.split()[:8]) in " ".join(stored.split())


def test_relevance_is_stored_with_its_explanation(setup, news_site) -> None:
    config, database, ingestor = setup()
    ingestor.ingest([page_item("news", article.url) for article in news_site.articles])
    threshold = config.topic.threshold
    with database.session() as session:
        scores = {
            article.canonical_url: (article.relevance, article.matched_terms)
            for article in session.scalars(select(Article))
        }
    for article in news_site.articles:
        score, matched = scores[article.url.rstrip("/")]
        assert (score >= threshold) == article.is_relevant, (article.slug, score, matched)
        if article.is_relevant:
            assert matched and all(count > 0 for count in matched.values())


def test_a_future_date_becomes_first_seen_and_is_flagged(setup, blog_site) -> None:
    _, database, ingestor = setup()
    essay = blog_site.articles[1]
    item = page_item("blog", essay.url, feed_published=NOW + timedelta(days=400))
    ingestor.ingest([item])
    with database.session() as session:
        stored = session.scalars(select(Article)).one()
    assert stored.published_at == essay.published  # the page's own date is used instead
    missing = FetchedItem(
        source="blog", url="https://blog.example/undated", origin=Origin.FEED, fetched_at=NOW,
        content="<p>" + "An undated note about mutual aid and its practice. " * 20 + "</p>",
        feed_published=NOW + timedelta(days=400),
    )  # fmt: skip
    ingestor.ingest([missing])
    with database.session() as session:
        undated = session.scalars(
            select(Article).where(Article.canonical_url == "https://blog.example/undated")
        ).one()
    assert undated.date_estimated and undated.published_at == NOW


def test_nul_and_control_characters_never_reach_the_database(setup) -> None:
    _, database, ingestor = setup()
    dirty = FetchedItem(
        source="blog", url="https://blog.example/dirty", origin=Origin.FEED, fetched_at=NOW,
        content="<p>" + "Cooperatives\x00 share\x07 the surplus among members. " * 20 + "</p>",
        feed_title="Ti\x00tle\x1b",
    )  # fmt: skip
    assert ingestor.ingest([dirty]).counts == {Outcome.NEW: 1}
    with database.session() as session:
        stored = session.scalars(select(Article)).one()
    assert "\x00" not in stored.text + stored.html + stored.title
    assert stored.title == "Title"


def test_a_failing_item_is_reported_and_the_rest_of_the_batch_commits(
    setup, news_site, monkeypatch: pytest.MonkeyPatch
) -> None:
    _, database, ingestor = setup()
    articles = news_site.articles[:4]
    poisoned = articles[1].url.rstrip("/")
    real_insert: Callable[..., int] = articles_module.insert_article

    def insert(session, writes, candidate, source_id, now):
        if candidate.url == poisoned:  # the database refuses this one row
            session.execute(select(func.nonexistent_function()))
        return real_insert(session, writes, candidate, source_id, now)

    monkeypatch.setattr(articles_module, "insert_article", insert)
    report = ingestor.ingest([page_item("news", article.url) for article in articles])
    assert report.counts == {Outcome.NEW: 3}
    assert [url for url, _ in report.failed] == [poisoned]
    assert "storage failed" in report.failed[0][1]
    assert count(database, Article) == 3


def test_items_of_unknown_sources_and_summary_only_entries_are_skipped(setup) -> None:
    _, _, ingestor = setup()
    stranger = FetchedItem(source="nobody", url="https://x.example/", origin=Origin.FEED,
                           fetched_at=NOW, content="<p>x</p>")  # fmt: skip
    summary = FetchedItem(source="blog", url="https://blog.example/s", origin=Origin.FEED,
                          fetched_at=NOW, feed_summary="Only a summary")  # fmt: skip
    report = ingestor.ingest([stranger, summary])
    reasons = dict(report.skipped)
    assert "unknown source" in reasons["https://x.example/"]
    assert "summary-only" in reasons["https://blog.example/s"]


def test_a_passage_quoted_inside_several_essays_is_not_learned(setup) -> None:
    """Shared text in the middle of essays is a quotation; shared text at the end is a banner."""
    _, database, ingestor = setup()
    quote = "The mutual-aid tendency in man has so remote an origin that it survives every storm."
    # A banner the calls-to-action step (calls.py) leaves: only learning removes it.
    banner = "Our weekly letter brings every essay from us to your door, read it with friends."
    items = []
    for number, author in enumerate(["Ana Ruiz", "Ben Okoro", "Chen Wei", "Dara Singh"]):
        paragraphs = [
            f"Essay {number} paragraph {index} on cooperatives in town {number * 10 + index}, "
            f"with its own argument about neighbours, shared tools and meeting number {index}."
            for index in range(20)
        ]
        paragraphs.insert(8, quote)
        paragraphs.append(banner)
        items.append(
            FetchedItem(
                source="blog", url=f"https://blog.example/essay-{number}", origin=Origin.FEED,
                fetched_at=NOW, content="".join(f"<p>{p}</p>" for p in paragraphs),
                feed_title=f"Essay {number}", feed_author=author,
            )
        )  # fmt: skip
    report = ingestor.ingest(items)
    assert report.counts == {Outcome.NEW: 4}
    with database.session() as session:
        texts = [article.text for article in session.scalars(select(Article))]
        learned = [row.text for row in session.scalars(select(Boilerplate))]
    assert learned == [banner]
    assert all(quote in text and banner not in text for text in texts)


def _markers(database: Database) -> dict[str, int | None]:
    with database.session() as session:
        return dict(session.execute(select(Article.canonical_url, Article.sanitized_with)).all())


def _forget_markers(database: Database) -> None:
    """Make every stored article look stored by a version that did not record the sanitiser."""
    with database.session() as session:
        session.execute(update(Article).values(sanitized_with=None))


def test_the_sanitiser_version_is_recorded_on_insert_and_update(setup, make_news_site) -> None:
    site = make_news_site()
    _, database, ingestor = setup()
    config = ingestor.config.model_copy(
        update={"sources": {"news": ingestor.config.sources["news"].model_copy(
            update={"homepage": f"{site.base_url}/"})}}
    )  # fmt: skip
    article = site.article(SEED_SLUG)
    first = Ingestor(database, config, clock=lambda: NOW)
    assert first.ingest([page_item("news", article.url)]).counts == {Outcome.NEW: 1}
    assert list(_markers(database).values()) == [SANITIZER_VERSION]
    _forget_markers(database)
    site.update_article(SEED_SLUG, paragraphs=(*article.paragraphs, "A correction was added."))
    later = Ingestor(database, config, clock=lambda: NOW + timedelta(days=1))
    assert later.ingest([page_item("news", article.url)]).counts == {Outcome.UPDATED: 1}
    assert list(_markers(database).values()) == [SANITIZER_VERSION]


def test_boilerplate_cleaning_records_the_sanitiser_version(setup, news_site) -> None:
    _, database, ingestor = setup(rules=False)
    first, *rest = news_site.articles
    assert BANNER in fetch(first.url)
    ingestor.ingest([page_item("news", first.url)])
    _forget_markers(database)  # as if stored by an older version
    report = ingestor.ingest([page_item("news", article.url) for article in rest])
    assert report.learned >= 2
    url = first.url.rstrip("/")
    with database.session() as session:
        stored = session.scalars(select(Article).where(Article.canonical_url == url)).one()
    # Cleaned of the learned blocks, so rewritten by the sanitiser and marked as such.
    assert BANNER not in stored.text
    assert stored.sanitized_with == SANITIZER_VERSION
    assert sanitize_html(stored.html) == stored.html
    markers = _markers(database)
    assert len(markers) == len(news_site.articles)
    assert set(markers.values()) == {SANITIZER_VERSION}


def _essay(url: str, title: str, author: str, paragraphs: list[str], source: str = "blog"):
    return FetchedItem(
        source=source, url=url, origin=Origin.FEED, fetched_at=NOW, feed_title=title,
        feed_author=author, content="".join(f"<p>{p}</p>" for p in paragraphs),
    )  # fmt: skip


def _paragraphs(topic: str, count: int = 20) -> list[str]:
    return [
        f"On {topic}, paragraph {index} argues its own point about neighbours, tools and "
        f"meeting number {index * 7 + len(topic)} in the hall on street {index}."
        for index in range(count)
    ]


def test_a_near_copy_of_an_article_stored_in_an_earlier_batch_is_a_duplicate(setup) -> None:
    _, database, ingestor = setup()
    text = _paragraphs("tool libraries")
    original = _essay("https://blog.example/tools", "Tool libraries", "Ana Ruiz", text)
    assert ingestor.ingest([original]).counts == {Outcome.NEW: 1}
    edited = [*text[:-1], "A last paragraph the republisher added about their own town."]
    copy = _essay("https://news.example/tools", "Tool libraries", "Ana Ruiz", edited, "news")
    assert ingestor.ingest([copy]).counts == {Outcome.DUPLICATE: 1}
    assert count(database, Article) == 1
    assert count(database, Sighting) == 2


def test_text_an_article_lost_in_the_same_batch_does_not_make_a_copy_its_duplicate(
    setup,
) -> None:
    """An article rewritten earlier in a batch is compared by its new text, not its old one."""
    _, database, ingestor = setup()
    old = _paragraphs("seed swaps")
    url = "https://blog.example/seeds"
    first = ingestor.ingest([_essay(url, "Seed swaps", "Ana Ruiz", old)])
    assert first.counts == {Outcome.NEW: 1}
    rewritten = _essay(url, "Seed swaps", "Ana Ruiz", _paragraphs("bicycle repair", 25))
    near_old = [*old[:-1], "A last paragraph the republisher added about their own town."]
    copy = _essay("https://news.example/seeds", "Seed swaps", "Ana Ruiz", near_old, "news")
    report = ingestor.ingest([rewritten, copy])
    assert report.counts == {Outcome.UPDATED: 1, Outcome.NEW: 1}
    assert count(database, Article) == 2


def test_articles_cleaned_of_learned_boilerplate_get_the_bands_of_their_new_text(setup) -> None:
    _, database, ingestor = setup()
    # Topical words in the banner: cleaning it changes each article's score too.
    banner = "Mutual aid, cooperatives and solidarity: subscribe to our weekly letter on them."
    authors = ["Ana Ruiz", "Ben Okoro", "Chen Wei", "Dara Singh"]
    items = [
        _essay(f"https://blog.example/e{n}", f"Essay {n}", author,
               [*_paragraphs(f"town {n}"), banner])
        for n, author in enumerate(authors)
    ]  # fmt: skip
    report = ingestor.ingest(items)
    assert report.learned == 1 and report.cleaned == len(authors)
    with database.session() as session:
        articles = session.scalars(select(Article)).all()
        bands = {
            (row.article_id, row.band): row.value for row in session.scalars(select(SimhashBand))
        }
        assert all(banner not in article.text for article in articles)
        assert bands == {
            (article.id, band): value
            for article in articles
            for band, value in enumerate(simhash_bands(article.simhash))
        }
        filed = session.execute(select(ArticleFeed.article_id, ArticleFeed.relevance)).all()
        assert filed and set(filed) == {(article.id, article.relevance) for article in articles}


ICONS = (
    '<p><a href="https://whatsapp.com/channel/0029Va"><img src="/img/whatsapp.png" alt=""></a> '
    '<a href="https://t.me/share/url?url={url}"><img src="/img/telegram.png" alt=""></a></p>'
)


def test_a_row_of_sharing_icons_never_ends_an_entry(setup) -> None:
    """Feed content ending in icons without text: stored without them, nothing else lost."""
    _, database, ingestor = setup()
    items = [
        FetchedItem(
            source="blog", url=(url := f"https://blog.example/icons-{n}"), origin=Origin.FEED,
            fetched_at=NOW, feed_title=f"E{n}", feed_author=author,
            content="".join(f"<p>{p}</p>" for p in _paragraphs(f"village {n}"))
            + ICONS.format(url=url),
        )
        for n, author in enumerate(["Ana Ruiz", "Ben Okoro", "Chen Wei", "Dara Singh"])
    ]  # fmt: skip
    assert ingestor.ingest(items).counts == {Outcome.NEW: 4}
    with database.session() as session:
        pages = list(session.scalars(select(Article.html)))
    assert not any("whatsapp" in html or "t.me" in html for html in pages)
    assert all(html.count("<p>") == 20 for html in pages)


def test_a_batch_extracted_before_a_block_was_learned_is_stored_without_it(setup) -> None:
    """One stale-boilerplate rule for both front ends: a poller whose context predates what a
    crawl (another ingestor) learned still stores its next article without the learned block."""
    config, database, poller_side = setup()
    # A banner the calls-to-action step (calls.py) leaves: only learning removes it.
    banner = "Our weekly letter brings every essay from us to your door, read it with friends."
    authors = ["Ana Ruiz", "Ben Okoro", "Chen Wei", "Dara Singh", "Eli Moss"]
    items = [
        _essay(f"https://blog.example/e{n}", f"Essay {n}", author,
               [*_paragraphs(f"town {n}"), banner])
        for n, author in enumerate(authors)
    ]  # fmt: skip
    assert poller_side.ingest(items[:1]).counts == {Outcome.NEW: 1}  # its context: nothing learned
    crawl_side = Ingestor(database, config, clock=lambda: NOW)
    assert crawl_side.ingest(items[1:4]).learned == 1
    assert poller_side.context("blog").boilerplate == frozenset()  # stale
    assert poller_side.ingest(items[4:]).counts == {Outcome.NEW: 1}
    with database.session() as session:
        texts = [article.text for article in session.scalars(select(Article))]
    assert len(texts) == 5
    assert all(banner not in text for text in texts)
    assert poller_side.context("blog").boilerplate  # refreshed by the store


def test_worker_processes_prepare_what_the_calling_thread_does(setup, news_site) -> None:
    config, database, _ = setup()
    items = [page_item("news", article.url) for article in news_site.articles[:6]]
    items += [page_item("news", news_site.listing_urls[0])]
    items += [FetchedItem(source="nobody", url="https://x.example/", origin=Origin.FEED,
                          fetched_at=NOW, content="<p>x</p>")]  # fmt: skip
    pool = ExtractionPool(1)
    try:
        ingestor = Ingestor(database, config, clock=lambda: NOW, pool=pool)
        contexts = ingestor.contexts(items)
        in_process = pool.run(items, contexts)
        assert in_process == ExtractionPool(0, inline_below=len(items) + 1).run(items, contexts)
        refused = [one for one in in_process if isinstance(one, Refusal)]
        assert [one.url for one in refused] == [items[-2].url, items[-1].url]
        assert "unknown source" in refused[-1].reason and not refused[-1].failed
        report = ingestor.store_prepared(in_process)
        assert report.counts == {Outcome.NEW: 6}
        assert len(report.skipped) == 2
    finally:
        pool.close()


def test_a_poll_of_a_handful_of_entries_starts_no_process(setup) -> None:
    config, database, _ = setup()
    items = [
        _essay(f"https://blog.example/h{n}", f"Handful {n}", "Ana Ruiz", _paragraphs(f"h{n}"))
        for n in range(3)
    ]
    pool = ExtractionPool(2, inline_below=50)
    try:
        ingestor = Ingestor(database, config, clock=lambda: NOW, pool=pool)
        assert ingestor.ingest(items).counts == {Outcome.NEW: 3}
        assert not pool.started
    finally:
        pool.close()
    assert Ingestor(database, config).pool is Ingestor(database, config).pool  # one per process
