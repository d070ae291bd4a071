"""The feed corpus (tests/feeds): each file reads as it says; polling them all never crashes."""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Iterator

import httpx
import pytest

from aggregator.fetch import MAX_REDIRECTS
from aggregator.net import NetworkPolicy
from aggregator.net.identity import BARE_USER_AGENT
from aggregator.net.transport import GuardedTransport
from tests.feedcorpus import CORPUS, Case, check_case, content_type, load_cases, read_case
from tests.feedserver import ARTICLE_WORDS
from tests.pollkit import poll_env
from tests.sites.server import HTML, Request, Response, SiteServer

CASES = load_cases()
FORMATS = {"rss090", "rss091n", "rss091u", "rss092", "rss093", "rss094", "rss10", "rss20"}
FORMATS |= {"atom03", "atom10", "json10", "json11"}


def test_the_corpus_is_large_varied_and_self_describing() -> None:
    assert len(CASES) >= 100
    for case in CASES:
        assert case.description, case.name
        assert case.expect and case.expect[0].split()[0] in ("ok", "error"), case.name
    formats = {line.split()[1] for case in CASES for line in case.expect if "format" in line[:6]}
    assert formats >= FORMATS
    kinds = Counter("error" if case.expects_error else "ok" for case in CASES)
    assert kinds["error"] >= 15 and kinds["ok"] >= 100


@pytest.mark.parametrize("case", CASES, ids=[case.name for case in CASES])
def test_each_file_reads_as_it_says(case: Case) -> None:
    assert check_case(case, f"http://corpus.example/feeds/{case.name}") == []


def test_a_file_that_misses_its_expectations_is_caught(tmp_path) -> None:
    wrong = tmp_path / "wrong.xml"
    original = (CORPUS / "rss20_basic.xml").read_text(encoding="utf-8")
    wrong.write_text(original.replace("Expect: entries 2", "Expect: entries 3"), encoding="utf-8")
    problems = check_case(read_case(wrong), "http://corpus.example/feeds/wrong.xml")
    assert problems == ["entries 3: got '2', expected '3'"]


# --- over loopback -------------------------------------------------------------------------------


class CorpusSite:
    """Serves the corpus at /feeds/NAME; any other page is a short article; no WordPress API."""

    def __init__(self) -> None:
        self.cases = {case.name: case for case in CASES}
        self.server = SiteServer(self.respond)
        self.server.start()
        self.port = self.server.port
        self.base_url = self.server.base_url

    def respond(self, request: Request) -> Response:
        path = request.path.split("?")[0]
        if path.startswith("/feeds/") and path[7:] in self.cases:
            case = self.cases[path[7:]]
            headers = {k: v for k, v in case.headers.items() if k != "Content-Type"}
            return Response(body=case.body, content_type=content_type(case), headers=headers)
        if path.startswith("/wp-json"):
            return Response(404, b'{"code":"rest_no_route"}', "application/json")
        body = f"<html><head><title>Page {path}</title></head><body><article><h1>Page</h1>"
        body += f"<p>{ARTICLE_WORDS}</p>" * 3 + f"<p>{path}</p></article></body></html>"
        return Response(body=body.encode(), content_type=HTML)


class LoopbackTransport(httpx.BaseTransport):
    """Sends every request to one local server, whatever host its URL names (feeds in the
    corpus link to example.org and friends); real HTTP over loopback, not a mock."""

    def __init__(self, port: int) -> None:
        self.port = port
        self.inner = GuardedTransport(NetworkPolicy(allow_private=True))

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        if request.url.host != "127.0.0.1" or request.url.port != self.port:
            request.url = request.url.copy_with(scheme="http", host="127.0.0.1", port=self.port)
        return self.inner.handle_request(request)

    def close(self) -> None:
        self.inner.close()


@pytest.fixture
def corpus_site() -> Iterator[CorpusSite]:
    site = CorpusSite()
    yield site
    site.server.close()


def source_name(case: Case) -> str:
    return re.sub(r"[^a-z0-9_-]", "-", case.name.lower())[:64]


@pytest.mark.slow
def test_polling_the_whole_corpus_ingests_or_fails_cleanly(
    corpus_site: CorpusSite, write_config, sqlite_url: str
) -> None:
    sources = {
        source_name(case): {
            "homepage": f"{corpus_site.base_url}/",
            "feed": f"{corpus_site.base_url}/feeds/{case.name}",
            "relevance": "keep_all",
        }
        for case in CASES
    }
    client = httpx.Client(
        transport=LoopbackTransport(corpus_site.port),
        follow_redirects=True,
        max_redirects=MAX_REDIRECTS,
        headers={"User-Agent": BARE_USER_AGENT},
        timeout=httpx.Timeout(30, connect=10),
    )
    with (
        client,
        poll_env(write_config, sqlite_url, sources) as env,
        env.poller(client=client, workers=4) as poller,
    ):
        results = {result.source: result for result in poller.poll()}
    assert len(results) == len(CASES)
    for case in CASES:
        result = results[source_name(case)]
        assert "internal error" not in (result.error or ""), case.name
        if case.expects_error:
            assert result.status == "failed", case.name
            wanted = next(line for line in case.expect if line.startswith("error"))
            assert wanted.removeprefix("error ").split(" (")[0] in (result.error or ""), case.name
        else:
            assert result.status == "ok", (case.name, result.error)
            assert not any("internal" in reason for _, reason in result.failures), case.name
    stored = sum(result.new + result.duplicate for result in results.values())
    assert stored >= 100
