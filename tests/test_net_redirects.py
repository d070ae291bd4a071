"""The redirect and origin decisions of ``aggregator.net``, on plain strings: no server."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

from aggregator.errors import BlockedDestinationError
from aggregator.net.origin import origin, same_origin
from aggregator.net.redirects import (
    CREDENTIAL_HEADERS,
    MAX_REDIRECTS,
    headers_to_drop,
    hop_headers,
    is_redirect,
    redirect_target,
    too_many_redirects,
    without_userinfo,
)

ROOT = Path(__file__).resolve().parent.parent


@pytest.mark.parametrize(
    ("first", "second", "same"),
    [
        ("http://a.example/x", "http://a.example:80/y", True),  # the default port spelt out
        ("https://a.example/x", "https://a.example:443/y", True),
        ("http://a.example/x", "http://A.EXAMPLE/y", True),
        ("HTTP://a.example/x", "http://a.example/y", True),
        ("https://a.example/x", "http://a.example/x", False),  # downgrade
        ("http://a.example/x", "https://a.example/x", False),  # upgrade
        ("http://a.example:443/x", "https://a.example/x", False),
        ("https://a.example/x", "https://b.example/x", False),
        ("https://a.example/x", "https://a.example:8443/x", False),
        ("https://a.example/x", "https://sub.a.example/x", False),
        ("https://u:p@a.example/x", "https://a.example/y", True),  # userinfo is no part of it
    ],
)
def test_which_urls_share_an_origin(first: str, second: str, same: bool) -> None:
    assert same_origin(first, second) is same
    assert same_origin(second, first) is same


def test_an_origin_fills_in_the_default_port_and_lowers_case() -> None:
    assert origin("HTTPS://News.Example/a") == ("https", "news.example", 443)
    assert origin("http://[::1]:8080/") == ("http", "::1", 8080)
    assert origin("http://a.example:notaport/") == ("http", "a.example", None)
    assert origin("ftp://a.example/") == ("ftp", "a.example", None)


@pytest.mark.parametrize(
    ("chain", "dropped"),
    [
        (["https://a.example/1"], False),
        (["https://a.example/1", "https://a.example:443/2"], False),
        (["https://a.example/1", "http://a.example/2"], True),
        (["http://a.example/1", "http://b.example/2"], True),
        # Back to the first origin after leaving it: still dropped (the fetcher never restores).
        (["http://a.example/1", "http://b.example/2", "http://a.example/3"], True),
        # Within the other origin after leaving: dropped too (the default headers came back).
        (["http://a.example/1", "http://b.example/2", "http://b.example/3"], True),
    ],
)
def test_credential_headers_stay_only_on_a_chain_within_one_origin(
    chain: list[str], dropped: bool
) -> None:
    assert headers_to_drop(chain) == (CREDENTIAL_HEADERS if dropped else frozenset())


def test_one_list_of_credential_headers_all_dropped_in_any_case() -> None:
    assert {"authorization", "proxy-authorization", "cookie"} == CREDENTIAL_HEADERS
    headers = {
        "Authorization": "Bearer x",
        "proxy-authorization": "Basic y",
        "COOKIE": "a=1",
        "Accept": "*/*",
    }
    assert hop_headers(headers, CREDENTIAL_HEADERS) == {"Accept": "*/*"}
    assert hop_headers(headers, frozenset()) == headers


@pytest.mark.parametrize(
    ("location", "target"),
    [
        ("/b#frag", "http://a.example/b"),
        ("  c  ", "http://a.example/dir/c"),
        ("//b.example/x", "http://b.example/x"),
        ("https://b.example:8443/y?q=1", "https://b.example:8443/y?q=1"),
    ],
)
def test_a_location_resolves_against_the_current_url(location: str, target: str) -> None:
    assert redirect_target("http://a.example/dir/page", location) == target


@pytest.mark.parametrize(
    "location", ["file:///etc/passwd", "data:,hi", "ftp://a.example/x", "javascript:alert(1)"]
)
def test_a_location_of_another_scheme_is_refused(location: str) -> None:
    with pytest.raises(BlockedDestinationError, match="scheme: only http"):
        redirect_target("https://a.example/", location)


def test_what_counts_as_a_redirect_and_how_many_are_followed() -> None:
    assert all(is_redirect(status, "/x") for status in (301, 302, 303, 307, 308))
    assert not is_redirect(302, None) and not is_redirect(302, "  ")
    assert not is_redirect(300, "/x") and not is_redirect(304, "/x")
    assert [too_many_redirects(n) for n in range(MAX_REDIRECTS + 1)] == [False] * 5 + [True]


def test_userinfo_is_taken_out_of_a_url() -> None:
    assert without_userinfo("http://u:p@a.example:81/x") == "http://a.example:81/x"
    assert without_userinfo("http://a.example/x@y") == "http://a.example/x@y"


RULE_MODULES = ["addresses", "origin", "redirects", "retry", "robots", "identity", "policy"]
ADAPTERS = ["credentials", "outbound", "retry", "robots"]


def _imports(path: Path) -> set[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    names: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module:
            names.add(node.module)
    return names


@pytest.mark.parametrize("module", RULE_MODULES)
def test_the_decisions_take_no_http_library(module: str) -> None:
    """The rules are plain functions: neither stack's types, so both can call them."""
    imported = _imports(ROOT / "aggregator" / "net" / f"{module}.py")
    assert not {name.split(".")[0] for name in imported} & {
        "httpx",
        "httpcore",
        "scrapy",
        "twisted",
    }


@pytest.mark.parametrize("module", ADAPTERS)
def test_the_crawl_adapters_take_their_rules_from_net_not_the_poller(module: str) -> None:
    imported = _imports(ROOT / "spiders" / f"{module}.py")
    assert not any(name.startswith("aggregator.poll") for name in imported), imported
