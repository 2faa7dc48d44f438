"""Title search that works for Chinese: words, and CJK characters as bigrams.

PostgreSQL's parsers split text on spaces, which Chinese does not use, and
pg_trgm's word boundaries depend on the server's locale. So titles are indexed as
tokens made here: latin words and digits as they are, each run of CJK characters as
its single characters and its overlapping bigrams (the approach of CJK analysers in
search engines). A query matches when every one of its tokens is in the title; a
latin word also matches as a prefix. Everything goes through a GIN index.
"""

from __future__ import annotations

import re

from django.contrib.postgres.search import SearchQuery, SearchVector
from django.db.models import QuerySet, Value

CJK_RUN = re.compile(r"[\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff]+")
TOKEN_RUN = re.compile(r"[\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff]+|[0-9a-z]+")


def _cjk(run: str, *, for_query: bool) -> list[str]:
    if len(run) == 1:
        return [run]
    bigrams = [run[i : i + 2] for i in range(len(run) - 1)]
    return bigrams if for_query else list(run) + bigrams


def title_tokens(text: str) -> list[str]:
    tokens: list[str] = []
    for run in TOKEN_RUN.findall((text or "").lower()):
        tokens += _cjk(run, for_query=False) if CJK_RUN.fullmatch(run) else [run]
    return tokens


def search_vector(title: str) -> SearchVector:
    return SearchVector(Value(" ".join(title_tokens(title))), config="simple")


def search_products(queryset: QuerySet, text: str) -> QuerySet:
    terms: list[str] = []
    for run in TOKEN_RUN.findall((text or "").lower()[:100]):
        if CJK_RUN.fullmatch(run):
            terms += [f"'{token}'" for token in _cjk(run, for_query=True)]
        else:
            terms.append(f"'{run}':*")
    if not terms:
        return queryset.none()
    query = SearchQuery(" & ".join(terms[:20]), search_type="raw", config="simple")
    return queryset.filter(search=query)
