"""Topic relevance: term matching, scoring, profile validation, and the default profile judged on
twenty hand-written articles (ten on topic, ten off topic that brush against it)."""

from __future__ import annotations

import math
from dataclasses import dataclass

import pytest
import yaml
from hypothesis import given
from hypothesis import strategies as st

from aggregator.relevance import Relevance, TopicProfile, score_article

# The default mutual-aid profile, as proposed for the configuration (kept here so these tests do
# not depend on where it ends up).
DEFAULT_PROFILE_YAML = """
topic:
  threshold: 6.0
  title_weight: 3.0
  terms:
    mutual aid: 3.0
    kropotkin: 3.0
    anarchism: 2.5
    anarchist: 2.5
    libertarian socialism: 2.5
    libertarian socialist: 2.5
    bakunin: 2.5
    proudhon: 2.5
    emma goldman: 2.5
    malatesta: 2.5
    bookchin: 2.5
    ostrom: 2.5
    solidarity economy: 2.5
    gift economy: 2.5
    community fridge: 2.5
    rent strike: 2.5
    tenant union: 2.5
    cooperative: 2.0
    co-operative: 2.0
    co-op: 2.0
    syndicalism: 2.0
    syndicalist: 2.0
    graeber: 2.0
    worker-owned: 2.0
    worker ownership: 2.0
    self-management: 2.0
    worker cooperative: 1.5
    worker co-operative: 1.5
    housing cooperative: 1.5
    housing co-op: 1.5
    platform cooperative: 1.5
    cooperative movement: 1.0
    commons: 1.5
    direct action: 1.5
    self-organisation: 1.5
    self-organization: 1.5
    self-organised: 1.0
    self-organized: 1.0
    solidarity: 1.0
    anarchy: 1.0
    mutual aid network: 1.0
    community kitchen: 1.0
    trade union: 0.75
    food sovereignty: 0.75
    federation: 0.5
    federalism: 0.5
    decentralisation: 0.5
    decentralization: 0.5
    house of commons: -1.5
    creative commons: -1.5
    cooperative game: -2.0
    co-op mode: -2.0
    co-op campaign: -2.0
    player co-op: -2.0
    split-screen co-op: -2.0
"""
DEFAULT = TopicProfile.from_mapping(yaml.safe_load(DEFAULT_PROFILE_YAML)["topic"])


def simple(terms: dict[str, float], threshold: float = 1.0) -> TopicProfile:
    return TopicProfile(terms=terms, threshold=threshold)


# --- matching ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("term", "text", "count"),
    [
        ("mutual aid", "Mutual aid is a factor of evolution.", 1),
        ("mutual aid", "a mutual-aid group and MUTUAL  AID and mutual\naid", 3),
        ("mutual aid", "mutual‑aid (non-breaking hyphen), ｍｕｔｕａｌ ａｉｄ (full width)", 2),
        ("mutual aid", "mutual. Aid arrived later", 0),
        ("mutual aid", "mutualaid, mutual aide", 0),
        ("kropotkin", "Kropotkin's book, Kropotkin’s life, the Kropotkins", 3),
        ("cooperative", "cooperatives, the cooperatives' members, a cooperative's rules", 3),
        ("cooperative", "uncooperative and cooperatively", 0),
        ("co-op", "a food co-op, two co-ops, a co op", 3),
        ("co-op", "coop and co-operative", 0),
        ("worker cooperative", "workers' cooperatives and a worker-cooperative", 2),
        ("anarchism", "anarchist and anarchists and anarcho", 0),
        ("anarchism", "anarchism, Anarchism’s history", 2),
        ("anarchy", "anarchies and anarchy", 2),
        ("commons", "the commons; a common good", 1),
        ("solidarity", "solidarity_fund and solidarity2", 0),
    ],
)
def test_term_matching(term: str, text: str, count: int) -> None:
    result = score_article(simple({term: 1.0}), title=None, text=text)
    assert result.matched.get(term, 0) == count


def test_overlapping_terms_each_count() -> None:
    profile = simple({"mutual aid": 3.0, "mutual aid network": 1.0, "aid network": 1.0})
    result = score_article(profile, title=None, text="The mutual aid network grew.")
    assert result.matched == {"mutual aid": 1, "mutual aid network": 1, "aid network": 1}


def test_terms_are_normalised_keys() -> None:
    profile = simple({"  Mutual   AID ": 3.0, "Co-op": 2.0})
    assert dict(profile.terms) == {"mutual aid": 3.0, "co-op": 2.0}
    result = score_article(profile, title=None, text="mutual aid at the co-op")
    assert result.matched == {"co-op": 1, "mutual aid": 1}


# --- scoring ----------------------------------------------------------------------------------


def test_body_count_is_damped_logarithmically() -> None:
    profile = simple({"kropotkin": 2.0}, threshold=100)
    for n in (1, 2, 5, 20):
        text = " ".join(["Kropotkin wrote."] * n)
        result = score_article(profile, title=None, text=text)
        assert result.score == pytest.approx(2.0 * (1 + math.log(n)))
        assert result.matched == {"kropotkin": n}


def test_title_and_tags_add_once_each() -> None:
    profile = TopicProfile(terms={"kropotkin": 2.0}, threshold=100, title_weight=3.0)
    result = score_article(
        profile,
        title="Kropotkin and Kropotkin",
        text="nothing here",
        tags=["Kropotkin", "kropotkin's legacy"],
    )
    assert result.score == pytest.approx(3.0 * 2.0 + 3.0 * 2.0)
    assert result.matched == {"kropotkin": 4}


def test_negative_term_cancels_its_false_friend() -> None:
    result = score_article(DEFAULT, title=None, text="The House of Commons voted.")
    assert result.matched == {"commons": 1, "house of commons": 1}
    assert result.score == pytest.approx(0.0)


def test_relevant_is_score_at_or_over_threshold() -> None:
    profile = simple({"kropotkin": 2.0}, threshold=2.0)
    assert score_article(profile, title=None, text="Kropotkin").relevant
    assert not score_article(profile, title=None, text="Bakunin").relevant
    empty = score_article(profile, title=None, text="")
    assert empty == Relevance(score=0.0, matched={}, relevant=False)


_FILLER = ["the", "a", "of", "river", "town", "wrote", "said", "people", "and"]
_WORDS = st.lists(st.sampled_from(_FILLER), max_size=60)


@given(
    words=_WORDS,
    where=st.integers(min_value=0, max_value=60),
    term=st.sampled_from(
        ["mutual aid", "Kropotkin", "cooperatives", "solidarity economy", "co-op"]
    ),
)
def test_adding_an_on_topic_term_never_lowers_the_score(
    words: list[str], where: int, term: str
) -> None:
    before = score_article(DEFAULT, title=None, text=" ".join(words))
    words.insert(min(where, len(words)), term)
    after = score_article(DEFAULT, title=None, text=" ".join(words))
    assert after.score > before.score
    assert sum(after.matched.values()) > sum(before.matched.values())


@given(text=st.text(max_size=300), title=st.none() | st.text(max_size=40))
def test_scoring_any_text_is_total_and_consistent(text: str, title: str | None) -> None:
    result = score_article(DEFAULT, title=title, text=text)
    assert math.isfinite(result.score)
    assert result.relevant == (result.score >= DEFAULT.threshold)
    assert all(term in DEFAULT.terms and n > 0 for term, n in result.matched.items())


# --- profile validation -----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("data", "message"),
    [
        ({"threshold": 1.0}, "terms: missing"),
        ({"terms": {"kropotkin": 1.0}}, "threshold: missing"),
        ({"terms": {}, "threshold": 1.0}, "at least one term"),
        ({"terms": ["kropotkin"], "threshold": 1.0}, "expected a mapping"),
        ({"terms": {"kropotkin": 0}, "threshold": 1.0}, "finite and non-zero"),
        ({"terms": {"kropotkin": math.inf}, "threshold": 1.0}, "finite and non-zero"),
        ({"terms": {"kropotkin": "high"}, "threshold": 1.0}, "finite and non-zero"),
        ({"terms": {"kropotkin": True}, "threshold": 1.0}, "finite and non-zero"),
        ({"terms": {"house of commons": -1.0}, "threshold": 1.0}, "no term has a positive"),
        ({"terms": {"kropotkin's": 1.0}, "threshold": 1.0}, "words separated"),
        ({"terms": {"  ": 1.0}, "threshold": 1.0}, "words separated"),
        ({"terms": {"Mutual Aid": 1.0, "mutual-aid": 2.0}, "threshold": 1.0}, "repeats"),
        ({"terms": {"kropotkin": 1.0}, "threshold": 0}, "threshold: must be"),
        ({"terms": {"kropotkin": 1.0}, "threshold": math.nan}, "threshold: must be"),
        ({"terms": {"kropotkin": 1.0}, "threshold": 1, "title_weight": -1}, "title_weight"),
        ({"terms": {"kropotkin": 1.0}, "threshold": 1, "treshold": 2}, "unknown key(s) treshold"),
    ],
)
def test_invalid_profiles_are_rejected_with_the_key(data: dict[str, object], message: str) -> None:
    with pytest.raises(ValueError, match=message.replace("(", r"\(").replace(")", r"\)")):
        TopicProfile.from_mapping(data)


def test_profile_is_frozen_and_hashable() -> None:
    again = TopicProfile.from_mapping(yaml.safe_load(DEFAULT_PROFILE_YAML)["topic"])
    assert again == DEFAULT
    assert hash(again) == hash(DEFAULT)
    with pytest.raises(TypeError):
        DEFAULT.terms["kropotkin"] = 0.0  # type: ignore[index]


# --- the default profile on realistic articles -------------------------------------------------


@dataclass(frozen=True)
class Case:
    """An article, whether it is on topic, and terms its ``matched`` must show."""

    title: str
    text: str
    relevant: bool
    explains: tuple[str, ...]
    tags: tuple[str, ...] = ()


ON_TOPIC = {
    "kropotkin-biography": Case(
        "The Prince Who Chose the Commune",
        "Peter Kropotkin was born in Moscow in 1842 into one of the oldest princely families of "
        "Russia. As a young officer he asked to be posted to Siberia, where five years of "
        "expeditions across the Amur region changed his view of nature. He saw animals survive "
        "the winter not by fighting one another but by banding together. Back in St Petersburg "
        "he joined a revolutionary circle, was arrested, and in 1876 escaped from the prison "
        "hospital in a carriage that friends had hired. In exile in Switzerland, France and "
        "England, Kropotkin became the best-known anarchist writer of his age. His book Mutual "
        "Aid: A Factor of Evolution argued against the Social Darwinists that cooperation, not "
        "competition, was the rule in nature and in human history. Kropotkin returned to Russia "
        "in 1917 and died at Dmitrov in 1921, disappointed by the Bolsheviks.",
        True,
        ("kropotkin", "mutual aid", "anarchist"),
    ),
    "housing-coop-report": Case(
        "Residents Buy Their Block and Form a Housing Co-op",
        "Tenants of a 48-flat block in Leith have completed the purchase of their building "
        "from a private landlord, turning it into a fully mutual housing cooperative. Each "
        "household now holds one share and one vote at the general meeting, and rents are set "
        "to cover the mortgage and repairs rather than to return a profit. The co-op borrowed "
        "from an ethical lender and from a community share offer that raised £310,000 in six "
        "weeks. Residents say the change is already visible: the broken door entry system was "
        "fixed within a fortnight, and a committee is drawing up a maintenance plan. The "
        "Confederation of Co-operative Housing says around 30 such cooperatives have formed in "
        "Scotland in the past decade.",
        True,
        ("housing co-op", "cooperative", "co-op"),
    ),
    "flood-mutual-aid": Case(
        "When the River Rose, the Neighbours Came First",
        "The water came over the embankment at two in the morning. By dawn a WhatsApp group set "
        "up during the pandemic had turned into a mutual aid network with four hundred members. "
        "Volunteers carried elderly residents from ground-floor flats, a mosque opened its hall "
        "as a shelter and a community kitchen served hot meals for eleven days. 'This is mutual "
        "aid, not charity,' said one organiser. 'Everyone who was helped has ended up helping "
        "someone else.' The council's emergency centre opened on the third day. By then the "
        "group had a spreadsheet of every household that needed medicine, dry clothes or a "
        "lift, and a rota of drivers. Residents say the solidarity of those first days has "
        "outlasted the flood.",
        True,
        ("mutual aid", "mutual aid network", "community kitchen"),
    ),
    "bookchin-review": Case(
        "Review: The Next Revolution",
        "Murray Bookchin spent the last decades of his life quarrelling with the movement that "
        "had made his name. These essays, collected after his death, set out his alternative: "
        "libertarian municipalism, a politics of neighbourhood assemblies federated into "
        "regional councils. Bookchin had come to think that anarchism, with its suspicion of "
        "every institution, could not build the counter-power he wanted, and that Marxism "
        "remained trapped in the factory. His confederalism owes more to the New England town "
        "meeting than to Bakunin. Readers who know the book only through its influence on the "
        "Kurdish movement in Rojava will find a more cantankerous and more interesting thinker "
        "here. Bookchin writes as a polemicist, and not every target deserves the fire.",
        True,
        ("bookchin", "anarchism", "bakunin"),
    ),
    "mondragon": Case(
        "Sixty Years of Mondragon",
        "The Mondragon group now employs some 70,000 people in about eighty worker "
        "cooperatives, from appliance factories to a university. Each worker-member has a vote "
        "in the general assembly, and pay ratios between the highest and lowest paid are "
        "capped, though the cap has risen over the years. Critics point out that many workers "
        "in its overseas subsidiaries are employees, not members, and that the collapse of "
        "Fagor in 2013 showed the limits of solidarity between cooperatives. Supporters reply "
        "that most of Fagor's members were moved to other cooperatives in the group, something "
        "no conventional company would have done.",
        True,
        ("worker cooperative", "cooperative"),
        ("worker cooperatives", "Basque Country"),
    ),
    "community-fridge": Case(
        "Take What You Need: The Fridge on Elm Street",
        "Outside a launderette on Elm Street stands a white fridge painted with sunflowers. "
        "Anyone can leave food in it and anyone can take from it, no questions asked. The "
        "community fridge was started last winter by two students and is now stocked by a "
        "bakery, a greengrocer and dozens of neighbours. Volunteers check it twice a day for "
        "out-of-date items. 'People think of it as charity, but it is closer to a gift "
        "economy,' said one of its founders. 'The same people give and take, depending on the "
        "week.' A second community fridge opens next month by the bus station.",
        True,
        ("community fridge", "gift economy"),
    ),
    "commons-essay": Case(
        "Against the Tragedy",
        "When Garrett Hardin published The Tragedy of the Commons in 1968, he assumed that "
        "shared pastures would inevitably be overgrazed. Elinor Ostrom spent her career showing "
        "that he was wrong. From Swiss alpine meadows to irrigation systems in Nepal, she "
        "documented communities that had managed common-pool resources for centuries through "
        "rules they made themselves. Ostrom's principles, clear boundaries, monitoring by users "
        "and graduated sanctions, have become a reference for everything from fisheries to "
        "open-source software. The lesson for today's commons is not that they need a "
        "landlord, but that they need institutions their users trust.",
        True,
        ("commons", "ostrom"),
    ),
    "goldman-history": Case(
        "Emma Goldman in Exile",
        "Deported from the United States in 1919, Emma Goldman arrived in Soviet Russia full of "
        "hope and left two years later in despair. The suppression of Kronstadt and the "
        "persecution of her comrades convinced her that the Bolshevik state was the enemy of "
        "the revolution it claimed to lead. Her account, My Disillusionment in Russia, cost her "
        "friends on the left. In the 1930s she campaigned for the anarchists of Spain, where "
        "the CNT's syndicalist unions had collectivised farms and factories. Goldman died in "
        "Toronto in 1940, still raising money for Spanish refugees.",
        True,
        ("emma goldman", "anarchist", "syndicalist"),
    ),
    "platform-coops": Case(
        "Riders Who Own the App",
        "In Barcelona a group of former delivery riders has launched its own platform "
        "cooperative, competing with the multinational apps that once employed them. The "
        "riders own the software and the company jointly, and decide on pay and rotas in an "
        "assembly. The project is part of a wider solidarity economy in the city, which "
        "includes consumer cooperatives, ethical banks and community energy schemes. Its "
        "founders admit that the app is still slower than the big platforms, but say that "
        "riders now earn a living wage and have sick pay for the first time.",
        True,
        ("platform cooperative", "solidarity economy"),
        ("platform cooperativism", "gig economy"),
    ),
    "rent-strike": Case(
        "Why the Tenants of Block C Stopped Paying",
        "For three months the tenants of Block C have paid their rent into an escrow account "
        "instead of to the landlord. The rent strike, organised by the local tenant union, "
        "began after the heating failed for the second winter running. The union says that "
        "direct action is the only language the company understands: letters and council "
        "complaints produced nothing for two years. Tenants from other blocks owned by the same "
        "company have joined meetings, and a solidarity fund covers legal costs for anyone "
        "threatened with eviction.",
        True,
        ("rent strike", "tenant union", "direct action"),
    ),
}

OFF_TOPIC = {
    "gaza-news": Case(
        "Aid Convoy Turned Back at Crossing",
        "A convoy of 40 trucks carrying flour, medicine and fuel was turned back at the Kerem "
        "Shalom crossing on Tuesday, according to UN officials. Aid agencies say that fewer "
        "than a hundred trucks a day have entered Gaza this month, a fraction of what is "
        "needed. Hospitals in the south of the strip are running on generators. In London, "
        "thousands marched in solidarity with the victims, and several ministers called for an "
        "immediate ceasefire.",
        False,
        ("solidarity",),
    ),
    "stock-market": Case(
        "Banks Lead Markets Higher After Settlement",
        "Shares in European banks rose sharply on Thursday after the lender agreed to settle "
        "claims over mis-sold loans. The regulator said the bank had been cooperative "
        "throughout the investigation. Analysts at Goldman Sachs raised their price target, "
        "citing lower legal risk. The FTSE 100 closed up 1.2 per cent, while the pound was "
        "steady against the dollar ahead of next week's inflation figures.",
        False,
        ("cooperative",),
    ),
    "football": Case(
        "Late Penalty Settles a Bad-Tempered Derby",
        "A stoppage-time penalty gave the home side a 2-1 win in a derby that ended in "
        "anarchy, with three red cards and a melee in the tunnel. The football federation has "
        "opened an investigation. The visitors' manager said the referee had lost control of "
        "the game long before the decisive foul. The players' union called for better "
        "protection of referees.",
        False,
        ("anarchy", "federation"),
    ),
    "election": Case(
        "Opposition Alliance Claims Momentum in State Polls",
        "With two phases of polling left, the opposition alliance says its rallies are drawing "
        "larger crowds than expected. Its leaders have promised to restore cooperative "
        "federalism and to return powers taken by the centre, while the ruling party is "
        "campaigning on welfare schemes and infrastructure. Turnout in the first phase was 64 "
        "per cent, slightly lower than in the last election.",
        False,
        ("cooperative", "federalism"),
    ),
    "climate-science": Case(
        "Ocean Heat Reaches New Record",
        "The upper 2,000 metres of the world's oceans absorbed more heat last year than in any "
        "year since measurements began, a study published on Wednesday found. The excess heat "
        "is driving coral bleaching and fuelling stronger storms. The authors call the "
        "atmosphere and the oceans a global commons that no country can protect alone. The "
        "data are published under a Creative Commons licence.",
        False,
        ("commons", "creative commons"),
    ),
    "tech-launch": Case(
        "New Console Shooter Arrives With Split-Screen Co-op",
        "The sequel adds a four-player co-op mode, larger maps and a revamped progression "
        "system. Reviewers praised the co-op campaign, which can be played online or on one "
        "screen, but found the single-player story thin. The game launches next Friday at a "
        "price of £59.99, with a battle pass to follow.",
        False,
        ("co-op", "co-op mode", "co-op campaign"),
    ),
    "uk-politics": Case(
        "Chancellor Faces Backbench Revolt Over Budget",
        "The chancellor was heckled in the House of Commons on Wednesday as she defended cuts "
        "to disability benefits. More than forty MPs from her own party signed a letter "
        "opposing the plans. The House of Commons will vote on the measures next week, and "
        "the trade union movement has announced a day of protest.",
        False,
        ("house of commons", "trade union"),
    ),
    "obituary-actor": Case(
        "A Stage Actor of Rare Restraint",
        "He was best known for two decades of Chekhov at the National Theatre, where critics "
        "praised a stillness few of his contemporaries could match. Offstage he was a lifelong "
        "member of Equity, the performers' trade union, and a quiet supporter of young "
        "writers. He is survived by his wife, the director Anna Meyer, and two daughters.",
        False,
        ("trade union",),
    ),
    "game-theory": Case(
        "How Bees Decide Where to Live",
        "When a honeybee colony outgrows its hive, scouts fan out to find a new home and "
        "report back with a dance. A new paper models the decision as a cooperative game in "
        "which scouts' votes are weighed by the quality of the sites they found. The "
        "researchers show that the swarm reliably chooses the best site within a day.",
        False,
        ("cooperative", "cooperative game"),
    ),
    "book-review-novel": Case(
        "A Russian Winter, Retold",
        "The novel follows a young surveyor sent east in the 1860s to map a river no one in "
        "the capital has seen. The author clearly knows her sources, among them the memoirs of "
        "Kropotkin, whose Siberian journeys the book quietly borrows. But the characters never "
        "come alive, and the long descriptions of snow and ice read like notes for a better "
        "book.",
        False,
        ("kropotkin",),
    ),
}


@pytest.mark.parametrize("name", list(ON_TOPIC) + list(OFF_TOPIC))
def test_default_profile_classifies_articles(name: str) -> None:
    case = ON_TOPIC.get(name) or OFF_TOPIC[name]
    result = score_article(DEFAULT, title=case.title, text=case.text, tags=case.tags)
    assert result.relevant == case.relevant, (result.score, result.matched)
    for term in case.explains:
        assert term in result.matched, (term, result.matched)


def test_passing_mentions_stay_well_below_threshold() -> None:
    """The off-topic cases all mention the topic, and none comes close."""
    for case in OFF_TOPIC.values():
        result = score_article(DEFAULT, title=case.title, text=case.text, tags=case.tags)
        assert result.score <= DEFAULT.threshold / 2, (case.title, result)
