"""Robustness of deduplication to multi-database export variants: ours vs bib-dedupe 0.11.0, per kind.

The labelled sets (``../shared/data/dedup/``) barely contain some kinds of duplicate pairs that real
multi-database exports are full of (issue #16). This benchmark makes them, with a fixed seed, from the
sets' own records:

- *recall pairs*: one pair per true duplicate group; the perturbation is applied to ONE side;
- *look-alike pairs*: two records of different works with similar titles (``fuzz.ratio`` >= 70 on the
  folded titles, e.g. "part I"/"part II", the same trial reporting other outcomes, a protocol and its
  results); the same perturbation is applied to one side, so a perturbation that makes different works look
  alike is measured as well.

Each record is used in at most one pair of a kind. One CSV per kind holds every pair of every set
(ids ``set:ID`` and ``set:ID~`` for a perturbed copy); the truth is the sets' own grouping. Per kind:
recall over the recall pairs, and false merges (predicted pairs of records of different works).

Kinds (each applied where it can change something, e.g. a DOI only where there is one):

    none       no change (the baseline)
    fields     drop volume, issue, pages and DOI (some or all) from one side
    journal    journal as an abbreviation (ISO-4-like: "J Clin Oncol"), a listed variant
               (bib-dedupe's journal_variants.csv: transliterations, translations), or the full name
    brackets   title in square brackets with a language tag (Embase's translated title), or
               "Original [English]" / "English [Original]" halves
    notes      "[corrected]", "[Article in German]", "[Review] [33 refs]", ". Erratum in: …", "(52 refs)"
    authors    author list cut to 1-3 names, often with "et al."
    typo       1-2 character typos in the title
    case       title (and journal) in capitals or lower case
    html       HTML entities and tags in the title ("&amp;", "<i>…</i>", "&#39;")
    pages      another page format: "123-9" <-> "123-129", "pp. 123-129", "123", "e123"
    year       year +-1 (online first vs print)
    noyear     no year: an empty cell, "n.d." or "in press"
    mixed      two to four of the above at once
    groups     one work from four databases: the true pair and two more copies, each "mixed"
               (recall over all six pairs: one copy that does not fit splits the group)

    python benchmarks/dedup_perturb.py               # both tools, every kind
    python benchmarks/dedup_perturb.py --no-peer
    python benchmarks/dedup_perturb.py --show typo   # the pairs the tools decide differently, side by side

bib-dedupe's results are cached like those of ``benchmarks/dedup.py`` (``../peers/cache/dedup/perturb_*``);
the perturbed files are written to ``../peers/cache/dedup/perturb/`` only when their content changes.
"""
from __future__ import annotations

import argparse
import csv
import functools
import random
import re
import sys
import zlib
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import dedup as bench  # noqa: E402  (benchmarks/dedup.py: runners, metrics, truth)

OUT = bench.CACHE / "perturb"
FIELDS = ["ID", "ENTRYTYPE", "title", "author", "year", "journal", "booktitle", "volume", "number", "pages", "doi",
          "abstract"]
KINDS = ("none", "fields", "journal", "brackets", "notes", "authors", "typo", "case", "html", "pages", "year", "noyear",
         "mixed", "groups")
SEED = 16
_SKIP = {"of", "the", "and", "for", "in", "on", "a", "an", "&", "de", "la", "und", "der", "die", "et"}
# ISO 4-like abbreviations of common journal words (the rest: cut to 3-5 letters)
_ISO = {"journal": "J", "american": "Am", "international": "Int", "clinical": "Clin", "medicine": "Med",
        "medical": "Med", "research": "Res", "review": "Rev", "reviews": "Rev", "british": "Br",
        "european": "Eur", "obstetrics": "Obstet", "gynecology": "Gynecol", "gynaecology": "Gynaecol",
        "cancer": "Cancer", "society": "Soc", "science": "Sci", "sciences": "Sci", "association": "Assoc",
        "annals": "Ann", "archives": "Arch", "quarterly": "Q", "information": "Inf", "systems": "Syst",
        "management": "Manag", "technology": "Technol", "pathology": "Pathol", "cytology": "Cytol",
        "haematology": "Haematol", "hematology": "Hematol", "thrombosis": "Thromb", "haemostasis": "Haemost",
        "ophthalmology": "Ophthalmol", "diseases": "Dis", "disease": "Dis", "national": "Natl",
        "academy": "Acad", "proceedings": "Proc", "epidemiology": "Epidemiol", "oncology": "Oncol",
        "virology": "Virol", "infectious": "Infect", "public": "Public", "health": "Health"}
_LANGS = ("German", "French", "Spanish", "Chinese", "Japanese", "Russian", "Polish", "Italian", "Portuguese")


# -- perturbations ----------------------------------------------------------------------------------
def _variants() -> dict[str, list[str]]:
    """Journal name (lower case) -> its listed variants, both ways (bib-dedupe's journal_variants.csv).

    The list ships with bib-dedupe: without its virtualenv (``--no-peer`` on a fresh machine) the "journal" and
    "mixed" kinds fall back to ISO-like abbreviations only, and their pairs differ from a side-by-side run.
    """
    out: dict[str, list[str]] = {}
    lists = sorted(bench.VENV.glob("lib/python3*/site-packages/bib_dedupe/journal_variants.csv"))
    if not lists:
        print(f"note: bib-dedupe's journal_variants.csv not found under {bench.VENV}: journal names are only "
              "abbreviated; run once without --no-peer for the figures the README quotes", file=sys.stderr)
    for p in lists:
        with open(p, encoding="utf-8", newline="") as fh:
            for r in csv.DictReader(fh):
                a, b = (r.get("journal") or "").strip(), (r.get("title_variant") or "").strip()
                if a and b and a.lower() != b.lower():
                    out.setdefault(a.lower(), []).append(b)
                    out.setdefault(b.lower(), []).append(a)
    return out


_VARIANTS: dict[str, list[str]] | None = None


def _typo(s: str, rng: random.Random) -> str:
    """A typo at a letter (not a digit: another number is another kind of difference)."""
    letters = [i for i, c in enumerate(s) if c.isalpha() and 0 < i < len(s) - 1]
    return bench.edit_at(s, rng.choice(letters), rng) if letters else s


def _abbreviate(journal: str, rng: random.Random) -> str:
    """ISO-4-like: the journal's own name (not a conference named after it), a one-word name kept whole."""
    journal = re.split(r"\.\s*Conference:|\s+\(|:\s", journal)[0]
    words = [w for w in re.split(r"[\s.\-]+", journal) if w and w.lower() not in _SKIP]
    if len(words) < 2:
        return journal
    out = [_ISO.get(w.lower(), w if len(w) <= 5 else w[: rng.randint(3, 5)]) for w in words]
    return " ".join(out) + ("." if rng.random() < 0.3 else "")


def _pages(pages: str, rng: random.Random) -> str:
    m = re.match(r"^\s*[a-zA-Z]*(\d+)\s*-+\s*[a-zA-Z]*(\d+)\s*$", pages or "")
    if not m:
        m1 = re.match(r"^\s*(\d+)\s*$", pages or "")
        return f"e{m1.group(1)}" if m1 else pages
    a, b = m.group(1), m.group(2)
    if len(b) < len(a):
        b = a[: len(a) - len(b)] + b  # expand "123-9"
    short = b[len(b) - next((k for k in range(1, len(b)) if a[:len(a) - k] == b[:len(b) - k]), len(b)):] \
        if len(a) == len(b) else b
    return rng.choice([f"{a}-{short}", f"pp. {a}-{b}", f"{a}", f"{a}–{b}", f"{a}-{b}"]) if short != b else \
        rng.choice([f"pp. {a}-{b}", f"{a}", f"{a}–{b}", f"{a}--{b}"])


def _authors(authors: str, rng: random.Random) -> str:
    names = [a.strip() for a in authors.split(" and ") if a.strip()]
    if len(names) < 2:
        return authors
    k = rng.randint(1, min(3, len(names) - 1))
    return " and ".join(names[:k] + (["et al."] if rng.random() < 0.6 else []))


def perturb(r: dict, kind: str, rng: random.Random) -> dict | None:
    """A copy of ``r`` changed the way ``kind`` says; None if the kind cannot change this record."""
    global _VARIANTS
    c = dict(r)
    t = c["title"]
    if kind == "none":
        return c
    if kind == "fields":
        have = [f for f in ("volume", "number", "pages", "doi") if c.get(f)]
        if not have:
            return None
        for f in (have if rng.random() < 0.5 else rng.sample(have, rng.randint(1, len(have)))):
            c[f] = ""
    elif kind == "journal":
        j = c.get("journal") or ""
        if not j:
            return None
        if _VARIANTS is None:
            _VARIANTS = _variants()
        v = _VARIANTS.get(j.lower().rstrip(". "))
        c["journal"] = rng.choice(v) if v and rng.random() < 0.7 else _abbreviate(j, rng)
        if c["journal"] == j:
            return None
    elif kind == "brackets":
        core = t.rstrip(". ")
        x = rng.random()
        c["title"] = f"[{core}]" + (f". [{rng.choice(_LANGS)}]" if rng.random() < 0.5 else "") if x < 0.5 else \
            f"{core} [{rng.choice(_LANGS)}]" if x < 0.75 else f"[{core}]. {_LANGS[rng.randrange(9)]} abstract"
    elif kind == "notes":
        core = t.rstrip(". ")
        c["title"] = rng.choice([f"{core} [corrected]", f"{core}. [Article in {rng.choice(_LANGS)}]",
                                 f"{core}. [Review] [{rng.randint(10, 90)} refs]",
                                 f"{core}. Erratum in: {c.get('journal') or 'Lancet'}. "
                                 f"{c.get('year') or '2010'};{rng.randint(1, 99)}:{rng.randint(1, 999)}",
                                 f"{core} ({rng.randint(10, 90)} refs)", f"{core}. [Erratum appears in "
                                 f"{c.get('journal') or 'BMJ'} {rng.randint(1, 99)}(2):{rng.randint(1, 999)}]"])
    elif kind == "authors":
        a = _authors(c.get("author") or "", rng)
        if a == c.get("author"):
            return None
        c["author"] = a
    elif kind == "typo":
        for _ in range(rng.randint(1, 2)):
            t = _typo(t, rng)
        c["title"] = t
    elif kind == "case":
        up = rng.random() < 0.7
        c["title"] = t.upper() if up else t.lower()
        if c.get("journal") and rng.random() < 0.5:
            c["journal"] = c["journal"].upper() if up else c["journal"].lower()
    elif kind == "html":
        t2 = t.replace(" and ", " &amp; ", 1).replace("'", "&#39;").replace("<", "&lt;").replace(">", "&gt;")
        words = t2.split()
        if len(words) > 3 and t2 == t:
            i = rng.randrange(len(words))
            words[i] = f"<i>{words[i]}</i>"
            t2 = " ".join(words)
        c["title"] = t2
    elif kind == "pages":
        p = _pages(c.get("pages") or "", rng)
        if p == c.get("pages"):
            return None
        c["pages"] = p
    elif kind == "year":
        if not (c.get("year") or "").isdigit():
            return None
        # the same direction for every copy of one work (online first is earlier, never both ways)
        c["year"] = str(int(c["year"]) + (1 if zlib.crc32(c["title"][:30].lower().encode()) % 2 else -1))
    elif kind == "noyear":
        if not c.get("year"):
            return None
        c["year"] = rng.choice(["", "n.d.", "in press"])
    elif kind == "mixed":
        for k in rng.sample(KINDS[1:-2], rng.randint(2, 4)):
            c = perturb(c, k, rng) or c
    return c if c != r else None


# -- pairs ------------------------------------------------------------------------------------------
def _folded(t: str) -> str:
    return " ".join(re.sub(r"[^0-9a-z]+", " ", (t or "").lower()).split())


@functools.cache
def select_pairs(name: str) -> tuple[dict, list, list, dict]:
    """Records by id, recall pairs (one per true group), look-alike pairs, group id per record."""
    from rapidfuzz import fuzz, process

    rng = random.Random(f"{SEED}:{name}")
    folder = bench.SHARED / "dedup" / name
    csv.field_size_limit(sys.maxsize)
    with open(folder / "records.csv", encoding="utf-8", newline="") as fh:
        recs = {r["ID"]: {f: (r.get(f) or "") if (r.get(f) or "").upper() != "NA" else "" for f in FIELDS}
                for r in csv.DictReader(fh)}
    for r in recs.values():
        if not r["number"] and r.get("issue"):
            r["number"] = r["issue"]
    _, groups = bench.load_truth(folder)
    gid = {x: gi for gi, g in enumerate(groups) for x in g}
    used: set[str] = set()
    dup_pairs = []
    for g in groups:
        g = [x for x in g if x in recs]
        if len(g) >= 2:
            a, b = rng.sample(g, 2)
            dup_pairs.append((a, b))
            used.update(g)  # the other members would be unlabelled duplicates of the pair
    ids = [i for i in recs if i not in used and recs[i]["title"]]
    titles = [_folded(recs[i]["title"]) for i in ids]
    m = process.cdist(titles, titles, scorer=fuzz.ratio, score_cutoff=70, dtype="uint8", workers=1)
    cand = sorted(((int(m[a, b]), a, b) for a, b in zip(*m.nonzero()) if a < b), reverse=True)
    look = []
    for _, a, b in cand:
        x, y = ids[a], ids[b]
        if x in used or y in used:
            continue
        look.append((x, y))
        used.update((x, y))
    return recs, dup_pairs, look, gid


def build(kind: str) -> tuple[Path, list, list, dict]:
    """The CSV for ``kind`` (rewritten only if changed), its recall and look-alike pairs, group per id."""
    rng = random.Random(f"{SEED}:{kind}")
    rows, recall, look, group = [], [], [], {}
    for name in [p.name for p in bench.labelled_sets()]:
        recs, dups, alike, gid = select_pairs(name)
        for pairs_, out in ((dups, recall), (alike, look)):
            for a, b in pairs_:
                # "groups": one work from four databases, the original pair and two more copies, each mixed
                copies = [perturb(recs[b], "mixed" if kind == "groups" else kind, rng)
                          for _ in range(3 if kind == "groups" and out is recall else 1)]
                if kind == "groups" and out is recall:
                    copies[0] = recs[b]
                if any(c is None for c in copies):
                    continue
                ids = [f"{name}:{a}"] + [f"{name}:{b}" + "~" * (k + 1) for k in range(len(copies))]
                if kind == "groups" and out is recall:
                    ids[1] = f"{name}:{b}"
                rows.append(dict(recs[a], ID=ids[0]))
                rows.extend(dict(c, ID=i) for c, i in zip(copies, ids[1:]))
                out.extend((x, y) for k, x in enumerate(ids) for y in ids[k + 1:])
                for x in ids:
                    orig = x.split(":", 1)[1].rstrip("~")
                    group[x] = f"{name}:g{gid[orig]}" if orig in gid else f"{name}:{orig}"
    return bench.write_csv(OUT / f"{kind}.csv", FIELDS, rows), recall, look, group


def score(groups: list[list[str]], recall: list, group: dict) -> tuple[int, int, set]:
    """(recall pairs found, false merges, the false pairs) of predicted ``groups``."""
    where = {x: gi for gi, g in enumerate(groups) for x in g}
    found = sum(where.get(a, -1) == where.get(b, -2) for a, b in recall)
    false = {p for p in bench.pairs(groups) if group.get(p[0]) != group.get(p[1])}
    return found, len(false), false


def _side_by_side(rows: dict, a: str, b: str) -> str:
    out = []
    for f in ("title", "author", "year", "journal", "volume", "number", "pages", "doi"):
        x, y = rows[a].get(f, ""), rows[b].get(f, "")
        if x or y:
            out.append(f"    {f:<8}{'=' if x == y else '≠'} {x[:90]!r}\n{'':<14}{y[:90]!r}")
    return "\n".join(out)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--no-peer", action="store_true")
    ap.add_argument("--kinds", default=",".join(KINDS))
    ap.add_argument("--show", default="", help="kinds whose disagreements to print, side by side")
    args = ap.parse_args()
    kinds = [k for k in args.kinds.split(",") if k]
    show = set(args.show.split(",")) - {""}
    head = (f"{'kind':<10}{'pairs':>6}{'alike':>6}   {'ours R':>7}{'FM':>6}{'time s':>7}   "
            f"{'bib-dedupe R':>12}{'FM':>6}{'time s':>7}")
    print(head)
    print("-" * len(head))
    tot = [0, 0, 0, 0, 0]
    for kind in kinds:
        path, recall, look, group = build(kind)
        ours = bench.run_ours(path)
        o_found, o_fm, o_false = score(ours["groups"], recall, group)
        line = (f"{kind:<10}{len(recall):>6}{len(look):>6}   {o_found / len(recall):>7.4f}{o_fm:>6}"
                f"{ours['seconds']:>7.2f}   ")
        tot[:3] = [tot[0] + len(recall), tot[1] + o_found, tot[2] + o_fm]
        if not args.no_peer:
            peer = bench.run_peer(path, f"perturb_{kind}")
            p_found, p_fm, p_false = score(peer["groups"], recall, group)
            tot[3:] = [tot[3] + p_found, tot[4] + p_fm]
            line += f"{p_found / len(recall):>12.4f}{p_fm:>6}{peer['seconds']:>7.2f}"
        print(line, flush=True)
        if kind in show:
            with open(path, encoding="utf-8", newline="") as fh:
                rows = {r["ID"]: r for r in csv.DictReader(fh)}
            ow = {x: gi for gi, g in enumerate(ours["groups"]) for x in g}
            pw = {x: gi for gi, g in enumerate(peer["groups"]) for x in g} if not args.no_peer else {}
            for a, b in recall:
                o, p = ow.get(a, -1) == ow.get(b, -2), pw.get(a, -1) == pw.get(b, -2)
                if (not o and (p or args.no_peer)) or (o and not p and not args.no_peer):
                    print(f"  missed by {'bib-dedupe' if o else 'ours'}: {a} ~ {b}")
                    print(_side_by_side(rows, a, b))
            for a, b in sorted(o_false | (p_false if not args.no_peer else set())):
                print(f"  false merge by {'ours' if (a, b) in o_false else ''}"
                      f"{' and ' if (a, b) in o_false and not args.no_peer and (a, b) in p_false else ''}"
                      f"{'bib-dedupe' if not args.no_peer and (a, b) in p_false else ''}: {a} ~ {b}")
                print(_side_by_side(rows, a, b))
    if tot[0]:
        print("-" * len(head))
        line = f"{'all':<10}{tot[0]:>6}{'':>6}   {tot[1] / tot[0]:>7.4f}{tot[2]:>6}{'':>7}   "
        if not args.no_peer:
            line += f"{tot[3] / tot[0]:>12.4f}{tot[4]:>6}"
        print(line)


if __name__ == "__main__":
    main()
