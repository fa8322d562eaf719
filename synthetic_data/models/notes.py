"""The occasional free-text note on a pain entry, in the patient's language.

Real diaries carry short notes on a minority of entries, mostly about what explains a bad (or good)
day. Seven languages, one per product language; en_US and en_GB share English.
"""

from __future__ import annotations

from typing import Final

# context -> language -> phrases
NOTES: Final[dict[str, dict[str, tuple[str, ...]]]] = {
    "flare": {
        "en": ("Bad flare today.", "Flare-up since this afternoon, had to lie down.", "Really bad day."),
        "fi": (
            "Paha pahenemisvaihe tänään.",
            "Kipu paheni iltapäivällä, piti käydä makuulle.",
            "Todella huono päivä.",
        ),
        "sv": ("Svårt skov i dag.", "Värre sedan i eftermiddags, fick lägga mig.", "Riktigt dålig dag."),
        "de": (
            "Heute ein schlimmer Schub.",
            "Seit dem Nachmittag schlimmer, musste mich hinlegen.",
            "Richtig schlechter Tag.",
        ),
        "fr": (
            "Grosse crise aujourd'hui.",
            "Crise depuis cet après-midi, j'ai dû m'allonger.",
            "Très mauvaise journée.",
        ),
        "es": ("Brote fuerte hoy.", "Empeoró desde la tarde, tuve que tumbarme.", "Un día muy malo."),
        "it": (
            "Brutta riacutizzazione oggi.",
            "Peggiorato dal pomeriggio, ho dovuto sdraiarmi.",
            "Giornata davvero pessima.",
        ),
    },
    "poor_sleep": {
        "en": ("Slept badly.", "Woke up several times in the night.", "Barely slept."),
        "fi": ("Nukuin huonosti.", "Heräilin monta kertaa yöllä.", "En juuri nukkunut."),
        "sv": ("Sov dåligt.", "Vaknade flera gånger i natt.", "Sov knappt alls."),
        "de": ("Schlecht geschlafen.", "Nachts mehrmals aufgewacht.", "Kaum geschlafen."),
        "fr": ("Mal dormi.", "Réveillé plusieurs fois cette nuit.", "Presque pas dormi."),
        "es": ("Dormí mal.", "Me desperté varias veces por la noche.", "Apenas dormí."),
        "it": ("Dormito male.", "Svegliato più volte durante la notte.", "Quasi non ho dormito."),
    },
    "good_day": {
        "en": ("Good day, went for a walk.", "Feeling better today.", "Pain manageable."),
        "fi": ("Hyvä päivä, kävin kävelyllä.", "Tänään parempi olo.", "Kipu hallinnassa."),
        "sv": ("Bra dag, tog en promenad.", "Mår bättre i dag.", "Smärtan går att hantera."),
        "de": ("Guter Tag, war spazieren.", "Heute geht es besser.", "Schmerzen erträglich."),
        "fr": (
            "Bonne journée, je suis allé marcher.",
            "Je me sens mieux aujourd'hui.",
            "Douleur supportable.",
        ),
        "es": ("Buen día, salí a caminar.", "Hoy me siento mejor.", "Dolor llevadero."),
        "it": ("Bella giornata, ho fatto una passeggiata.", "Oggi va meglio.", "Dolore sopportabile."),
    },
    "other": {
        "en": ("Took my medication late.", "Long day at work.", "Weather change."),
        "fi": ("Otin lääkkeen myöhässä.", "Pitkä työpäivä.", "Sää muuttui."),
        "sv": ("Tog medicinen sent.", "Lång dag på jobbet.", "Vädret slog om."),
        "de": ("Medikament zu spät genommen.", "Langer Arbeitstag.", "Wetterumschwung."),
        "fr": ("Pris mon traitement en retard.", "Longue journée de travail.", "Changement de temps."),
        "es": ("Tomé la medicación tarde.", "Día largo en el trabajo.", "Cambio de tiempo."),
        "it": ("Ho preso la terapia in ritardo.", "Lunga giornata di lavoro.", "Cambio del tempo."),
    },
}


def note(context: str, locale: str, pick: float) -> str:
    """A phrase for `context` in the language of `locale`; `pick` in [0, 1) chooses which one."""
    phrases = NOTES[context][locale[:2]]
    return phrases[int(pick * len(phrases)) % len(phrases)]
