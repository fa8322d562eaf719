"""One message catalogue per report language, and the locale rules for numbers and dates.

Every word the PDF prints comes from ``<lang>.json`` in this folder; the layout code holds no text. The
catalogues are plain JSON so translators can edit them without reading Python, and a test checks that
all seven have exactly the keys and placeholders of ``en.json``. Lookups never fall back to English:
a missing key raises, so a gap shows up in tests instead of as a mixed-language report.

Locale formatting is deliberately tiny (no Babel/ICU dependency): decimal and thousands separators, the
minus sign, the percent pattern, and date patterns with month names, all read from the catalogue's
``meta`` block.
"""

from __future__ import annotations

import json
import string
from collections.abc import Mapping
from datetime import date, datetime
from functools import lru_cache
from importlib import resources
from typing import Any

SUPPORTED_LANGUAGES: tuple[str, ...] = ("en", "fi", "sv", "de", "fr", "es", "it")


class Catalogue:
    """The messages and number/date conventions of one language."""

    def __init__(self, lang: str, data: Mapping[str, Any]) -> None:
        self.lang = lang
        self.data = data
        self._meta: Mapping[str, str] = data["meta"]

    def _lookup(self, key: str) -> Any:
        node: Any = self.data
        for part in key.split("."):
            if not isinstance(node, Mapping) or part not in node:
                raise KeyError(f"catalogue {self.lang!r} has no key {key!r}")
            node = node[part]
        return node

    def text(self, key: str, **params: object) -> str:
        """The message at a dotted key, with ``{placeholders}`` filled from ``params``."""
        template = self._lookup(key)
        if not isinstance(template, str):
            raise KeyError(f"catalogue {self.lang!r} key {key!r} is not a message")
        return template.format(**params) if params else template

    def names(self, key: str) -> list[str]:
        """A list of names (months, weekdays, parts of the day)."""
        value = self._lookup(key)
        if not isinstance(value, list):
            raise KeyError(f"catalogue {self.lang!r} key {key!r} is not a list")
        return [str(v) for v in value]

    # -- numbers ---------------------------------------------------------------------------------------

    def number(self, value: float, decimals: int = 1) -> str:
        """``1234.5`` -> ``1,234.5`` (en) / ``1 234,5`` (fi); never prints a negative zero."""
        rounded = round(float(value), decimals)
        if rounded == 0:
            rounded = 0.0
        text = f"{abs(rounded):,.{decimals}f}"
        text = text.replace(",", "\x00").replace(".", self._meta["decimal"])
        text = text.replace("\x00", self._meta["thousands"])
        return (self._meta["minus"] + text) if rounded < 0 else text

    def signed(self, value: float, decimals: int = 1) -> str:
        """Like :meth:`number` but with an explicit ``+`` for positive values (changes, slopes)."""
        text = self.number(value, decimals)
        return text if text.startswith(self._meta["minus"]) or round(value, decimals) == 0 else "+" + text

    def integer(self, value: float) -> str:
        return self.number(value, 0)

    def percent(self, share: float) -> str:
        """A share 0-1 as a whole percentage in the language's pattern (``93%`` / ``93 %``)."""
        return self._meta["percent"].format(value=self.integer(share * 100.0))

    # -- dates -----------------------------------------------------------------------------------------

    def _date_fields(self, day: date) -> dict[str, object]:
        return {
            "day": day.day,
            "dd": f"{day.day:02d}",
            "month": self.names("months")[day.month - 1],
            "mon": self.names("months_short")[day.month - 1],
            "month_number": day.month,
            "mm": f"{day.month:02d}",
            "year": day.year,
        }

    def date_long(self, day: date) -> str:
        return self._meta["date_long"].format(**self._date_fields(day))

    def date_short(self, day: date) -> str:
        return self._meta["date_short"].format(**self._date_fields(day))

    def time(self, moment: datetime) -> str:
        return self._meta["time"].format(hh=f"{moment.hour:02d}", mm=f"{moment.minute:02d}")

    def datetime_short(self, moment: datetime) -> str:
        return f"{self.date_short(moment.date())} {self.time(moment)}"

    def date_range(self, start: date, end: date) -> str:
        return self._meta["range"].format(start=self.date_long(start), end=self.date_long(end))


@lru_cache(maxsize=len(SUPPORTED_LANGUAGES))
def catalogue(lang: str) -> Catalogue:
    """The catalogue for ``lang``; ``ValueError`` for a language the reports do not support."""
    if lang not in SUPPORTED_LANGUAGES:
        raise ValueError(f"unsupported language {lang!r}; expected one of {', '.join(SUPPORTED_LANGUAGES)}")
    raw = resources.files(__name__).joinpath(f"{lang}.json").read_text(encoding="utf-8")
    return Catalogue(lang, json.loads(raw))


def placeholders(template: str) -> set[str]:
    """The ``{names}`` a message expects; tests compare them across languages."""
    return {field for _, field, _, _ in string.Formatter().parse(template) if field}
