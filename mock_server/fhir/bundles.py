"""Searchset Bundles with paging links (``self``, ``first``, ``previous``, ``next``, ``last``).

Links repeat the search parameters the server understood (not the ignored ones, per the R4 search
page: the self link tells the client what was actually applied) plus ``_count`` and ``_page``. Paging is
by page number because the sandbox's result sets are small and stable in a test run; ``total`` is always
given (``Bundle.total`` is only allowed on searchsets, which is what this builds).
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping, Sequence
from datetime import datetime
from typing import Any
from urllib.parse import urlencode

from mock_server.fhir.search import ObservationQuery, page_of, search
from mock_server.timeutil import iso

QueryParams = Sequence[tuple[str, str]] | Mapping[str, Sequence[str]]


def _pairs(query_params: QueryParams) -> list[tuple[str, str]]:
    if isinstance(query_params, Mapping):
        return [(key, value) for key, values in query_params.items() for value in values]
    return list(query_params)


def searchset(
    resources: Sequence[Mapping[str, Any]],
    *,
    total: int,
    base_url: str,
    query_params: QueryParams,
    page: int,
    count: int,
    resource_type: str = "Observation",
    timestamp: datetime | None = None,
) -> dict[str, Any]:
    """A searchset Bundle holding one page of results.

    ``resources`` is the page (already sliced), ``total`` the size of the whole result set,
    ``base_url`` the FHIR base (``http://host/fhir/r4``), ``query_params`` the search parameters to
    repeat in links (``_count``/``_page`` in them are replaced).
    """
    base = base_url.rstrip("/")
    params = [(k, v) for k, v in _pairs(query_params) if k not in ("_count", "_page")]

    def link(relation: str, number: int) -> dict[str, str]:
        query = urlencode([*params, ("_count", str(count)), ("_page", str(number))])
        return {"relation": relation, "url": f"{base}/{resource_type}?{query}"}

    if count == 0:  # `_count=0`: the total only, so there are no pages to link
        links = [link("self", 1)]
    else:
        last = max(1, math.ceil(total / count))
        links = [link("self", page), link("first", 1)]
        if page > 1:
            links.append(link("previous", min(page - 1, last)))
        if page < last:
            links.append(link("next", page + 1))
        links.append(link("last", last))
    bundle: dict[str, Any] = {"resourceType": "Bundle", "type": "searchset", "total": total, "link": links}
    if timestamp is not None:
        bundle["timestamp"] = iso(timestamp)
    bundle["entry"] = [
        {
            "fullUrl": f"{base}/{resource['resourceType']}/{resource['id']}",
            "resource": resource,
            "search": {"mode": "match"},
        }
        for resource in resources
    ]
    if not bundle["entry"]:
        del bundle["entry"]  # FHIR forbids empty arrays
    return bundle


def observation_searchset(
    observations: Iterable[Mapping[str, Any]],
    query: ObservationQuery,
    *,
    base_url: str,
    timestamp: datetime | None = None,
) -> dict[str, Any]:
    """Filter, sort, page and wrap: everything ``GET /fhir/r4/Observation`` does after parsing."""
    results = search(observations, query)
    return searchset(
        page_of(results, query),
        total=len(results),
        base_url=base_url,
        query_params=query.link_params(),
        page=query.page,
        count=query.count,
        timestamp=timestamp,
    )
