"""Scrapy spiders: the crawling front end for sites whose feeds carry too little.

Spiders yield ``aggregator.items.FetchedItem`` and hand them to the same ingest path as the feed
pollers. Nothing lives here yet: the generic, config-driven spider arrives with the crawling stage.
"""
