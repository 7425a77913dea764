"""Comparing concepts by their definitions: indicator dimensions (participants, phase, reciprocity, ...)."""
from __future__ import annotations

from collections import Counter, defaultdict
from typing import Any

from review.core.search_query import term_pattern
from review.core.text import fold
from review.definitions.extract import Definition, Lexicon

# Indicator terms per dimension level: a definition shows a level when it contains one of its terms.
DIMENSIONS: dict[str, dict[str, list[str]]] = {
    "participants": {
        "citizens_users": ["citizen*", "user*", "service user*", "resident*", "client*", "patient*", "people",
                           "borger*", "bruger*", "innbygger*", "bruker*", "brukar*", "medborgar*", "invånar*",
                           "Bürger*", "Nutzer*", "Klient*", "Betroffene*", "Einwohner*"],
        "volunteers": ["volunteer*", "unpaid", "frivillig*", "Ehrenamt*", "ehrenamtlich*", "Freiwillig*"],
        "voluntary_organisations": ["voluntary organi*", "voluntary sector", "civil society", "civil-society",
                                    "third sector",
                                    "nonprofit*", "non-profit*", "NGO*", "charit*", "association*", "civilsamfund*",
                                    "forening*", "sivilsamfunn*", "ideell*", "idéburen*", "idéburna", "civilsamhälle*",
                                    "Verein*", "Wohlfahrtsverb*", "Zivilgesellschaft", "freie Träger"],
        "public_professionals": ["professional*", "staff", "employee*", "civil servant*", "provider*", "practitioner*",
                                 "clinician*", "physician*", "therapist*", "nurse*", "public service agent*",
                                 "public agenc*", "government*", "municipalit*", "local authorit*", "state",
                                 "fagprofessionel*", "medarbejder*", "ansatte", "ansatt*", "tjenesteyter*",
                                 "kommune*", "kommun*", "offentlig* aktør*", "personal", "Fachkr*", "Mitarbeit*",
                                 "Verwaltung*", "staatlich*"],
        "firms_customers": ["firm*", "compan*", "customer*", "consumer*", "business*", "private part*",
                            "private sector", "private actor*", "enterprise*", "virksomhed*", "bedrift*", "foretag*",
                            "Unternehm*", "Kund*"],
    },
    "phase": {
        "design": ["design*", "co-design*", "initiat*", "plan*", "develop*", "innovat*", "idea*", "udvikl*", "utvikl*",
                   "utveckl*", "utform*", "Entwickl*", "Gestalt*", "Planung*"],
        "delivery": ["deliver*", "co-deliver*", "provision", "provid*", "implement*", "produc*", "levere*", "udfør*",
                     "utfør*", "Erbringung", "Erstellung", "Leistungserstellung", "Umsetzung"],
        "evaluation": ["evaluat*", "assess*", "co-assess*", "monitor*", "feedback", "evaluer*", "vurder*", "utvärder*",
                       "Bewert*", "Evaluation*"],
        "commissioning": ["commission*", "co-commission*", "procure*", "fund*", "budget*", "prioriti*", "purchas*",
                          "udbud*", "anskaff*", "upphandl*", "Beschaffung", "Finanzier*"],
    },
    "equality_reciprocity": {
        "equality": ["equal*", "equitable", "on an equal footing", "power-sharing", "power sharing", "shared power",
                     "share power", "symmetr*", "ligeværd*", "likeverd*", "likvärd*", "jämlik*", "gleichberechtig*",
                     "Augenhöhe"],
        "reciprocity": ["reciproc*", "mutual*", "two-way", "give and take", "gensidig*", "gjensidig*", "ömsesidig*",
                        "gegenseitig*", "wechselseitig*"],
        "jointness": ["joint*", "together", "shared", "collaborat*", "cooperat*", "co-operat*", "partner*", "sammen",
                      "fælles", "felles", "i fællesskab", "gemensam*", "gemeinsam*", "Zusammenarbeit", "Kooperation"],
    },
    "duration": {
        "one_off": ["one-off", "single", "short-term", "temporary", "time-limited", "ad hoc", "event*", "workshop*",
                    "project*", "episodic", "kortvarig*", "midlertidig*", "engangs*", "kurzfristig*", "einmalig*",
                    "Projekt*"],
        "continuous": ["continu*", "ongoing", "long-term", "sustained", "durable", "permanent", "regular*", "over time",
                       "throughout", "lasting", "enduring", "cycle", "langvarig*", "løbende", "kontinuerlig*", "varig*",
                       "långsiktig*", "langfristig*", "dauerhaft*", "kontinuierlich*", "fortlaufend*"],
    },
    "formality": {
        "formal": ["formal*", "agreement*", "contract*", "memorand*", "compact*", "binding", "legal*", "written",
                   "institutionali*", "aftale*", "avtal*", "avtale*", "kontrakt*", "overenskomst*", "överenskommelse*",
                   "formaliser*", "Vertrag*", "Vereinbarung*", "vertraglich*", "förmlich*"],
        "informal": ["informal*", "loose*", "spontaneous*", "voluntary basis", "uformel*", "informell*", "uformell*"],
    },
    "roots": {
        "marketing_business": ["customer*", "consumer*", "firm*", "market*", "brand*", "value co-creation",
                               "value creation", "service-dominant", "service dominant", "company", "companies",
                               "product development", "Kunde*", "Markt*"],
        "public_administration": ["public service*", "public sector", "public administration", "public management",
                                  "government*", "governance", "policy", "policies", "bureaucra*", "public agenc*",
                                  "municipalit*", "local authorit*", "offentlig*", "öffentlich*", "Verwaltung*",
                                  "kommun*"],
        "sociology_civil_society": ["civil society", "communit*", "citizenship", "social capital", "voluntar*",
                                    "associati*", "democra*", "social movement*", "solidarit*", "civilsamfund*",
                                    "sivilsamfunn*", "civilsamhälle*", "Zivilgesellschaft", "Ehrenamt*"],
        "economics": ["economic*", "cost*", "efficien*", "incentive*", "transaction*", "production function", "input*",
                      "output*", "resource*", "market failure*", "ressource*", "ressurs*", "resurs*", "Ressource*",
                      "Kosten"],
        "health": ["patient*", "clinic*", "health*", "care", "treatment*", "therap*", "disease*", "disorder*",
                   "symptom*", "medical", "hospital*", "sundhed*", "helse*", "hälsa", "Gesundheit*", "Pflege*"],
    },
}


def dimensions(overrides: dict[str, dict[str, list[str]]] | None = None) -> dict[str, dict[str, list[str]]]:
    """:data:`DIMENSIONS` with ``[definitions.dimensions]`` overrides (checked when the protocol loaded) applied."""
    dims = {d: {lv: list(ts) for lv, ts in levels.items()} for d, levels in DIMENSIONS.items()}
    for dim, levels in (overrides or {}).items():
        for level, terms in levels.items():
            dims.setdefault(dim, {})[level] = list(terms)
    return dims


# -- comparison --------------------------------------------------------------------------------------
def indicator_hits(sentence: str, dims: dict[str, dict[str, list[str]]],
                   lexicon: Lexicon | None = None) -> dict[str, list[str]]:
    """``{"dimension:level": [indicator terms found]}`` for one definition.

    With a ``lexicon``, the concept terms are masked first ("co-production" is no sign of the delivery phase).
    """
    text = fold(sentence)
    if lexicon is not None and (p := lexicon.pattern()) is not None:
        text = p.sub(" ", text)
    out = {}
    for dim, levels in dims.items():
        for level, terms in levels.items():
            found = [t for t in terms if (p := term_pattern([t])) is not None and p.search(text)]
            if found:
                out[f"{dim}:{level}"] = found
    return out


def compare(definitions: list[Definition], dims: dict[str, dict[str, list[str]]] | None = None,
            concepts: list[str] | None = None, labels: dict[str, str] | None = None,
            lexicon: Lexicon | None = None) -> dict[str, Any]:
    """Concept × dimension-level table: share of each concept's definitions that show the level.

    Returns ``{"columns": [...], "rows": [{concept, label, n, cells: {col: {share, n, ids, terms}}}],
    "indicators": dims}``; ``ids`` are the definitions behind a cell (store ids, else input positions).
    """
    dims = dims or DIMENSIONS
    columns = [f"{d}:{lv}" for d, levels in dims.items() for lv in levels]
    by_concept: dict[str, list[tuple[int, dict[str, list[str]]]]] = defaultdict(list)
    for i, d in enumerate(definitions):
        by_concept[d.concept].append((d.id if d.id is not None else i, indicator_hits(d.sentence, dims, lexicon)))
    keys = list(concepts) if concepts else sorted(by_concept)
    rows = []
    for key in keys:
        items = by_concept.get(key, [])
        cells = {}
        for col in columns:
            ids = [i for i, hits in items if col in hits]
            terms = Counter(t for _, hits in items for t in hits.get(col, []))
            cells[col] = {"share": round(len(ids) / len(items), 4) if items else None, "n": len(ids), "ids": ids,
                          "terms": dict(terms.most_common())}
        rows.append({"concept": key, "label": (labels or {}).get(key, key), "n": len(items), "cells": cells})
    return {"columns": columns, "rows": rows, "indicators": dims}
