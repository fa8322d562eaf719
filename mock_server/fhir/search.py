"""FHIR R4 search for ``GET /fhir/r4/Observation``: parse the query, match and sort Observation dicts.

Semantics follow the R4 search page (https://hl7.org/fhir/R4/search.html), limited to what the sandbox
serves:

* ``patient`` — exactly one patient (``id``, ``Patient/id`` or an absolute URL ending in it). The server
  authorizes per patient, so a list or a repeat is an error rather than a silent union.
* ``code`` — token: ``code``, ``system|code``, ``|code`` (no system) or ``system|`` (any code in the
  system), matched against ``Observation.code.coding``. Commas are OR; repeating the parameter is AND.
* ``date`` — prefixes ``eq ne gt lt ge le`` (default ``eq``) on a value of any precision (``2026``,
  ``2026-05``, ``2026-05-04``, ``2026-05-04T09:00[:00[.000]][Z|±hh:mm]``; no zone means UTC). Each value
  is the *range* its precision implies, compared with the Observation's ``effectiveDateTime`` (or
  ``effectiveInstant``, or ``effectivePeriod`` start..end) as a range too, as the spec prescribes. Commas
  are OR; repeats are AND (``date=ge2026-01-01&date=lt2026-02-01`` is January).
  ``sa``/``eb``/``ap`` are valid FHIR prefixes this server does not implement: ``not-supported``.
* ``_count`` 0-100 (default 50; 0 answers the total only), ``_sort`` ``date`` or ``-date`` (default
  ``date``, ties by id), ``_page`` >= 1 for the paging links this server emits.

Unknown parameters are ignored, as FHIR servers do by default, and listed in ``ObservationQuery.ignored``
so the self link can leave them out; pass ``strict=True`` to reject them. (Over HTTP the gateway drops
them first, or refuses them under ``Prefer: handling=strict``: the contract marks the FHIR operations
``x-unknown-query-parameters: ignore``.)
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta, timezone
from functools import lru_cache
from typing import Any

from mock_server.timeutil import shift

_SECOND = timedelta(seconds=1)
DEFAULT_COUNT = 50
MAX_COUNT = 100  # the contract's maximum of _count (the gateway enforces it first)
PREFIXES = ("eq", "ne", "gt", "lt", "ge", "le")
UNSUPPORTED_PREFIXES = ("sa", "eb", "ap")
SORTS = ("date", "-date")
KNOWN = ("patient", "subject", "code", "date", "_count", "_sort", "_page")
ALWAYS_IGNORED = ("_format", "_pretty")

_DATE = re.compile(
    r"^(?P<year>\d{4})(?:-(?P<month>\d{2})(?:-(?P<day>\d{2})"
    r"(?:T(?P<hour>\d{2}):(?P<minute>\d{2})(?::(?P<second>\d{2})(?:\.(?P<fraction>\d{1,9}))?)?"
    r"(?P<zone>Z|[+-]\d{2}:\d{2})?)?)?)?$"
)
_PREFIXED = re.compile(r"^(?P<prefix>[a-z]{2})(?P<value>\d.*)$")


class FhirSearchError(ValueError):
    """A search the server rejects; ``code`` is the OperationOutcome issue type to report."""

    def __init__(self, message: str, param: str, *, code: str = "invalid") -> None:
        super().__init__(message)
        self.message = message
        self.param = param
        self.code = code


@dataclass(frozen=True)
class Period:
    """A half-open time range [low, high): what a date value of some precision denotes."""

    low: datetime
    high: datetime


@dataclass(frozen=True)
class DateParam:
    prefix: str
    period: Period

    def accepts(self, target: Period) -> bool:
        p, t = self.period, target
        inside = p.low <= t.low and t.high <= p.high
        if self.prefix == "eq":
            return inside
        if self.prefix == "ne":
            return not inside
        if self.prefix == "gt":
            return t.high > p.high
        if self.prefix == "lt":
            return t.low < p.low
        if self.prefix == "ge":
            return t.high > p.high or inside
        return t.low < p.low or inside  # le


@dataclass(frozen=True)
class TokenParam:
    """``system`` None = any system; "" = coding without a system. ``code`` None = any code."""

    system: str | None
    code: str | None


@dataclass(frozen=True)
class ObservationQuery:
    patient: str | None = None
    codes: tuple[tuple[TokenParam, ...], ...] = ()  # AND of ORs
    dates: tuple[tuple[DateParam, ...], ...] = ()  # AND of ORs
    count: int = DEFAULT_COUNT
    sort: str | None = None
    page: int = 1
    raw: tuple[tuple[str, str], ...] = ()  # the understood parameters, as given, for paging links
    ignored: tuple[str, ...] = field(default=())

    def link_params(self) -> list[tuple[str, str]]:
        """Search parameters to repeat in self/next/previous links (``_count``/``_page`` excluded)."""
        return list(self.raw)


def parse_observation_search(
    query: Mapping[str, Sequence[str]], *, strict: bool = False, require_patient: bool = True
) -> ObservationQuery:
    """Parse query parameters (name -> values, as ``parse_qs`` or Starlette's ``multi_items`` give).

    Raises :class:`FhirSearchError` naming the offending parameter.
    """
    patient: str | None = None
    codes: list[tuple[TokenParam, ...]] = []
    dates: list[tuple[DateParam, ...]] = []
    count, sort, page = DEFAULT_COUNT, None, 1
    raw: list[tuple[str, str]] = []
    ignored: list[str] = []
    for key, values in query.items():
        name, _, modifier = key.partition(":")
        if name not in KNOWN:
            if strict and name not in ALWAYS_IGNORED:
                raise FhirSearchError(f"unknown search parameter {key!r}", key, code="not-supported")
            ignored.append(key)
            continue
        if modifier:
            raise FhirSearchError(
                f"modifier {modifier!r} is not supported on {name!r}", key, code="not-supported"
            )
        if name in ("patient", "subject"):
            if patient is not None or len(values) != 1:
                raise FhirSearchError(f"{name} must be given exactly once", name)
            patient = _patient_id(values[0], name)
            raw.append((name, values[0]))
        elif name == "code":
            for value in values:
                codes.append(tuple(_token(part, name) for part in value.split(",")))
                raw.append((name, value))
        elif name == "date":
            for value in values:
                dates.append(tuple(_date_param(part, name) for part in value.split(",")))
                raw.append((name, value))
        elif name == "_sort":
            sort = _single(values, name)
            if sort not in SORTS:
                raise FhirSearchError(f"_sort must be one of {', '.join(SORTS)}", name, code="not-supported")
            raw.append((name, sort))
        elif name == "_count":
            count = _integer(values, name, 0, MAX_COUNT)  # 0: the total only (how FHIR clients count)
        else:
            page = _integer(values, name, 1, None)
    if require_patient and patient is None:
        raise FhirSearchError("the patient parameter is required", "patient", code="required")
    return ObservationQuery(
        patient, tuple(codes), tuple(dates), count, sort, page, tuple(raw), tuple(ignored)
    )


def _single(values: Sequence[str], name: str) -> str:
    if len(values) != 1:
        raise FhirSearchError(f"{name} must be given once", name)
    return values[0]


def _integer(values: Sequence[str], name: str, low: int, high: int | None) -> int:
    text = _single(values, name)
    if not re.fullmatch(r"\d{1,9}", text):
        raise FhirSearchError(f"{name} must be a whole number", name)
    number = int(text)
    if number < low or (high is not None and number > high):
        limit = f"between {low} and {high}" if high is not None else f"at least {low}"
        raise FhirSearchError(f"{name} must be {limit}", name)
    return number


def _patient_id(value: str, name: str) -> str:
    reference = value.strip()
    if "," in reference:
        raise FhirSearchError(f"{name} must name exactly one patient", name)
    if "/" in reference:
        head, _, tail = reference.rpartition("/")
        if not head.endswith("Patient"):
            raise FhirSearchError(f"{name} must reference a Patient", name)
        reference = tail
    # FHIR ids are [A-Za-z0-9-.]{1,64}; "_" is accepted too so an API-style id gets a clean 404, not a 400.
    if not re.fullmatch(r"[A-Za-z0-9_\-.]{1,64}", reference):
        raise FhirSearchError(f"{name} is not a valid id", name)
    return reference


def _token(text: str, name: str) -> TokenParam:
    if not text:
        raise FhirSearchError(f"{name} has an empty value", name)
    if "|" not in text:
        return TokenParam(None, text)
    system, _, code = text.partition("|")
    if not system and not code:
        raise FhirSearchError(f"{name} has an empty value", name)
    return TokenParam(system, code or None)


@lru_cache(maxsize=65536)
def parse_date(text: str, name: str = "date") -> Period:
    """The range a FHIR date/dateTime value denotes (its precision decides the width).

    Cached: the same stored timestamps are parsed on every search. The sandbox's own fixed-width form
    ``YYYY-MM-DDTHH:MM:SSZ`` takes a fast path through ``datetime.fromisoformat``.
    """
    if len(text) == 20 and text[10] == "T" and text[19] == "Z" and text[4] == "-":
        try:
            low = datetime.fromisoformat(text)
        except ValueError:
            pass
        else:
            return Period(low, shift(low, _SECOND))
    match = _DATE.match(text)
    if not match:
        raise FhirSearchError(f"{name} value {text!r} is not a FHIR date or dateTime", name)
    parts = match.groupdict()
    zone = _zone(parts["zone"]) if parts["zone"] else UTC
    try:
        year = int(parts["year"])
        if parts["month"] is None:
            low = datetime(year, 1, 1, tzinfo=zone)
            return Period(low, _month_start(year + 1, 1, zone))
        month = int(parts["month"])
        if parts["day"] is None:
            low = datetime(year, month, 1, tzinfo=zone)
            high = _month_start(year + month // 12, month % 12 + 1, zone)
            return Period(low, high)
        day = datetime(year, month, int(parts["day"]), tzinfo=zone)
        if parts["hour"] is None:
            return Period(day, shift(day, timedelta(days=1)))
        low = day.replace(hour=int(parts["hour"]), minute=int(parts["minute"]))
        if parts["second"] is None:
            return Period(low, shift(low, timedelta(minutes=1)))
        low = low.replace(second=int(parts["second"]))
        fraction = parts["fraction"]
        if fraction is None:
            return Period(low, shift(low, timedelta(seconds=1)))
        digits = min(len(fraction), 6)
        low = low.replace(microsecond=int(fraction[:6].ljust(6, "0")))
        return Period(low, shift(low, timedelta(microseconds=10 ** (6 - digits))))
    except ValueError as exc:  # month 13, 30 February, hour 25 …
        raise FhirSearchError(f"{name} value {text!r} is not a valid date: {exc}", name) from None


def _month_start(year: int, month: int, zone: timezone) -> datetime:
    """The first instant of a month; past 9999-12 (the end of ``le9999``) the latest representable one."""
    if year > 9999:
        return datetime.max.replace(tzinfo=zone)
    return datetime(year, month, 1, tzinfo=zone)


def _zone(text: str) -> timezone:
    if text == "Z":
        return UTC
    sign = 1 if text[0] == "+" else -1
    hours, minutes = int(text[1:3]), int(text[4:6])
    if hours > 14 or minutes > 59:
        raise FhirSearchError(f"time zone {text!r} is out of range", "date")
    return timezone(sign * timedelta(hours=hours, minutes=minutes))


def _date_param(text: str, name: str) -> DateParam:
    prefixed = _PREFIXED.match(text)
    if prefixed:
        prefix, value = prefixed["prefix"], prefixed["value"]
        if prefix in UNSUPPORTED_PREFIXES:
            raise FhirSearchError(f"date prefix {prefix!r} is not supported", name, code="not-supported")
        if prefix not in PREFIXES:
            raise FhirSearchError(f"unknown date prefix {prefix!r}; use one of {', '.join(PREFIXES)}", name)
    else:
        if text[:1].isalpha():
            raise FhirSearchError(f"unknown date prefix in {text!r}; use one of {', '.join(PREFIXES)}", name)
        prefix, value = "eq", text
    return DateParam(prefix, parse_date(value, name))


def observation_period(observation: Mapping[str, Any]) -> Period | None:
    """The Observation's effective time as a range, or None when it has none (or an unreadable one)."""
    try:
        if observation.get("effectiveDateTime"):
            return parse_date(observation["effectiveDateTime"])
        if observation.get("effectiveInstant"):
            return parse_date(observation["effectiveInstant"])
        period = observation.get("effectivePeriod") or {}
        if period.get("start"):
            start = parse_date(period["start"])
            end = parse_date(period["end"]) if period.get("end") else start
            return Period(start.low, max(start.high, end.high))
    except FhirSearchError:
        return None
    return None


@dataclass(frozen=True)
class _TokenIndex:
    """One OR-group of tokens as sets, so matching a coding is a few hash lookups."""

    pairs: frozenset[tuple[str, str]]  # system|code
    any_system: frozenset[str]  # code
    no_system: frozenset[str]  # |code
    whole_system: frozenset[str]  # system|

    def accepts(self, coding: Mapping[str, Any]) -> bool:
        code, system = coding.get("code"), coding.get("system") or ""
        return (
            code in self.any_system
            or (system, code) in self.pairs
            or system in self.whole_system
            or (not system and code in self.no_system)
        )


@lru_cache(maxsize=256)
def _index(alternatives: tuple[TokenParam, ...]) -> _TokenIndex:
    return _TokenIndex(
        frozenset((t.system, t.code) for t in alternatives if t.system and t.code is not None),
        frozenset(t.code for t in alternatives if t.system is None and t.code is not None),
        frozenset(t.code for t in alternatives if t.system == "" and t.code is not None),
        frozenset(t.system for t in alternatives if t.system and t.code is None),
    )


@dataclass(frozen=True)
class _Prepared:
    """What every Observation is checked against, built once per search rather than per resource."""

    reference: str | None  # "Patient/<id>"
    indices: tuple[_TokenIndex, ...]

    @classmethod
    def of(cls, query: ObservationQuery) -> _Prepared:
        reference = None if query.patient is None else "Patient/" + query.patient
        return cls(reference, tuple(_index(alternatives) for alternatives in query.codes))

    def subject_and_code_match(self, observation: Mapping[str, Any]) -> bool:
        if self.reference is not None:
            reference = ((observation.get("subject") or {}).get("reference")) or ""
            if reference != self.reference and not reference.endswith("/" + self.reference):
                return False
        if not self.indices:
            return True
        codings = (observation.get("code") or {}).get("coding") or ()
        for index in self.indices:  # plain loops: this runs once per stored Observation
            for coding in codings:
                if index.accepts(coding):
                    break
            else:
                return False
        return True


def _dates_match(period: Period | None, query: ObservationQuery) -> bool:
    if not query.dates:
        return True
    if period is None:
        return False
    return all(any(param.accepts(period) for param in alternatives) for alternatives in query.dates)


def matches(observation: Mapping[str, Any], query: ObservationQuery) -> bool:
    """Whether one Observation dict satisfies every parameter of the query."""
    if not _Prepared.of(query).subject_and_code_match(observation):
        return False
    return _dates_match(observation_period(observation) if query.dates else None, query)


def search(observations: Iterable[Mapping[str, Any]], query: ObservationQuery) -> list[Mapping[str, Any]]:
    """Filter and sort (by effective time, then id; undated last) — the full result set before paging.

    The cheap checks (subject, code) run first and each effective time is parsed once, for both the
    date filter and the sort.
    """
    prepared = _Prepared.of(query)
    dated: list[tuple[Period, Mapping[str, Any]]] = []
    undated: list[Mapping[str, Any]] = []
    for observation in observations:
        if not prepared.subject_and_code_match(observation):
            continue
        period = observation_period(observation)
        if not _dates_match(period, query):
            continue
        if period is None:
            undated.append(observation)
        else:
            dated.append((period, observation))
    dated.sort(key=lambda item: (item[0].low, str(item[1].get("id", ""))), reverse=query.sort == "-date")
    undated.sort(key=lambda o: str(o.get("id", "")))
    return [o for _, o in dated] + undated


def page_of(results: Sequence[Mapping[str, Any]], query: ObservationQuery) -> list[Mapping[str, Any]]:
    start = (query.page - 1) * query.count
    return list(results[start : start + query.count])
