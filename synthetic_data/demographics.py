"""Names, e-mail addresses and time zones from Faker, one locale per patient.

Faker instances are slow to build (~80 ms each) but cheap to reseed, so one instance per locale is cached
per process and reseeded from the patient's own seed before every use: the same patient gets the same
name whichever process or order generates it.
"""

from __future__ import annotations

import random
import unicodedata
from functools import cache
from typing import Final

from faker import Faker

EMAIL_DOMAIN: Final = "patients.example"  # RFC 2606 reserved: never a real inbox

# Weighted IANA zones per locale; the US spans four.
TIMEZONES: Final[dict[str, tuple[tuple[str, float], ...]]] = {
    "en_US": (
        ("America/New_York", 0.47),
        ("America/Chicago", 0.29),
        ("America/Denver", 0.07),
        ("America/Los_Angeles", 0.17),
    ),
    "en_GB": (("Europe/London", 1.0),),
    "fi_FI": (("Europe/Helsinki", 1.0),),
    "sv_SE": (("Europe/Stockholm", 1.0),),
    "de_DE": (("Europe/Berlin", 1.0),),
    "fr_FR": (("Europe/Paris", 1.0),),
    "es_ES": (("Europe/Madrid", 1.0),),
    "it_IT": (("Europe/Rome", 1.0),),
}


@cache
def _faker(locale: str) -> Faker:
    return Faker(locale)


def ascii_slug(text: str) -> str:
    """Lower-case ASCII letters only, so 'Müller-Lüdenscheidt' becomes 'mullerludenscheidt'."""
    decomposed = unicodedata.normalize("NFKD", text)
    return "".join(ch for ch in decomposed.lower() if "a" <= ch <= "z")


def person(locale: str, sex: str, seed: int) -> tuple[str, str]:
    """(given name, family name) for a patient, deterministic in (locale, sex, seed)."""
    fake = _faker(locale)
    fake.seed_instance(seed)
    given = fake.first_name_female() if sex == "female" else fake.first_name_male()
    family = fake.last_name()
    # Some locales return double-barrelled given names ("Anna-Liisa") - keep them, they are real.
    return given, family


def email_for(given: str, family: str, patient_key: str) -> str:
    """`aino.virtanen.3f9b00042@patients.example`: readable, and unique because the key is."""
    local = ".".join(part for part in (ascii_slug(given), ascii_slug(family)) if part) or "patient"
    return f"{local}.{patient_key}@{EMAIL_DOMAIN}"


def timezone_for(locale: str, rnd: random.Random) -> str:
    zones = TIMEZONES[locale]
    return rnd.choices([z for z, _ in zones], weights=[w for _, w in zones])[0]
