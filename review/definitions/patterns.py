"""Definitional patterns in English, Danish, Norwegian, Swedish and German, anchored at a concept term."""
from __future__ import annotations

import re
from dataclasses import dataclass

# -- patterns --------------------------------------------------------------------------------------
# Regexes run on light(sentence) (case kept, accents off), anchored at the concept term X:
# PRE must match the text before X (it ends with "$"), POST the text after X (from its start).
_Q = r"[\"'“”‘’«»„]"
_PAREN = r"(?:\s*\((?:[^()]|\([^()]*\)){0,160}\)|\s*\[[^\[\]]{0,60}\])"
_SUFFIX = (r"(?:-(?!(?:related|based|specific|induced|associated|treated|like|mediated|naive|positive|negative|free"
           r"|dependent|focused|oriented|led|driven|centred|centered|type|style)\b)[a-z0-9]{2,8}\b)?")
_HEADNOUN = (r"(?:\s+(?:(?:effects?|responses?|phenomen(?:on|a)|concepts?|approach(?:es)?|process(?:es)?|models?|care"
             r"|drugs?|products?|medicines?|medications?|agents?|therap(?:y|ies)|treatments?|(?-i:[A-Z]{1,2}|[IVX]{1,3})"
             r"|\d{1,2})\b|\(\w{2,6}\)))?")
_STOPWORDS_GAP = r"(?:is|are|was|were|has|have|can|may|refers?|means|denotes?|er|ar|ist|sind|wird|werden)"
_PREP = (rf"(?:\s+(?:of|in|for|within|among|between|across|af|i|innen|inom|von|im|in\s+der|der)"
         rf"(?:\s+(?!{_STOPWORDS_GAP}\b)[\w'’-]+(?![\w'’-])){{1,5}}?)")
_COMMA = r"(?:\s*,(?:[^,;:()]|\([^()]*\)){1,140},)"
_GAP = rf"{_SUFFIX}{_Q}?{_HEADNOUN}{_Q}?(?:{_PAREN}|{_Q})*{_PREP}?{_PAREN}*{_COMMA}?"
_ADV = (r"(?:(?:here|often|commonly|usually|generally|broadly|typically|widely|also|variously|best|simply|formally"
        r"|classically|traditionally|now|thus|therefore|then|first|further|operationally|conventionally|mostly|most"
        r"|frequently|sometimes|loosely|narrowly|essentially|basically|fundamentally|primarily|in\s+essence"
        r"|in\s+(?:this|the\s+present|our)\s+(?:paper|article|study|review|chapter|thesis|context))\s*,?\s+)*")
_TERMWORD = (r"(?:(?:the|a|an)\s+)?(?:(?:term|concept|notion|construct|word|label|idea|begrebet|begrepet|begreppet"
             r"|termen|begriff|der\s+begriff|die\s+bezeichnung|bezeichnung)\s+(?:of\s+|af\s+|av\s+)?)")
_CLOSE = rf"{_Q}?{_PAREN}?"

_GENUS_EN = (
    "process procedure form type kind sort class category group family way mode means approach method methodology "
    "technique tool instrument strategy model framework concept notion term idea construct principle paradigm "
    "perspective theory practice arrangement relationship relation collaboration cooperation co-operation "
    "partnership alliance interaction engagement involvement participation activity action initiative scheme "
    "programme program intervention therapy psychotherapy treatment modality service system structure network "
    "mechanism institution organisation organization agreement contract policy governance regime logic "
    "phenomenon effect response reaction condition disorder disease syndrome illness deficiency state pattern "
    "trait antibody drug medication medicine compound molecule protein peptide hormone steroid glucocorticoid "
    "enzyme cofactor product biologic biological agent version copy analogue analog replica formulation "
    "preparation concentrate substitute marker biomarker measure index indicator assay device technology "
    "platform style movement mode component element dimension feature aspect set combination mixture "
    "production provision delivery creation contribution exchange integration coordination co-ordination "
    "mobilisation mobilization inclusion consultation deliberation negotiation transfer sharing pooling"
).split()
_GENUS_NORDIC = (
    "form proces prosess process tilgang tilnaerming tilnærming ansats begreb begrep begrepp koncept konsept model "
    "modell samarbejde samarbeid samarbete samverkan partnerskab partnerskap relation relasjon strategi praksis "
    "praktik metode metod aftale avtale avtal kontrakt arrangement ordning type typ made mate satt tankegang ide "
    "ideal paradigme paradigm netvaerk netværk nettverk natverk indsats innsats aktivitet initiativ perspektiv "
    "princip prinsipp deltagelse deltakelse medvirkning inddragelse involvering faellesskab fællesskab fellesskap "
    "styring samspil samspill interaktion interaksjon"
).split()
_GENUS_DE = (
    "form prozess ansatz konzept begriff modell art verfahren zusammenarbeit kooperation beziehung strategie praxis "
    "instrument methode arrangement vereinbarung vertrag erkrankung storung therapie beteiligung partnerschaft "
    "netzwerk steuerung governance leistung prinzip idee paradigma mechanismus weise typ beziehung interaktion "
    "engagement initiative programm"
).split()
_NO_COMPOUND = {"ide", "idee", "typ", "type", "made", "mate", "satt", "art", "form", "weise", "set"}


def _genus_regex(words: list[str], compound: bool) -> str:
    plural = r"(?:s|es|er|erne|ne|en|n|e|ar|or)?" if compound else r"(?:s|es)?"
    # longest first, then alphabetical: a set's order changes with the hash seed, and so would the regex
    words = sorted({w.replace("-", r"[-\s]?") for w in words}, key=lambda w: (-len(w), w))
    irregular = "phenomena|therapies|strategies|technologies|analogues|bodies|methodologies|policies|"
    if compound:
        long = [w for w in words if w not in _NO_COMPOUND]
        short = [w for w in words if w in _NO_COMPOUND]
        return (rf"(?:\w*(?:{'|'.join(long)}){plural}|(?:\w+s)?(?:{'|'.join(short)}){plural})\b")
    return rf"(?:{irregular}(?:{'|'.join(words)}){plural})\b"


_GEN_EN, _GEN_NORDIC, _GEN_DE = (_genus_regex(_GENUS_EN, False), _genus_regex(_GENUS_NORDIC, True),
                                 _genus_regex(_GENUS_DE, True))

# Words that make "X is a … <genus>" a claim rather than a definition, or show the
# noun phrase has ended before the genus (prepositions, verbs).
_EVALUATIVE = set((
    "effective efficacious efficient important promising safe safer major main key first only most more less least "
    "leading standard preferred preferable recommended best better good great useful valuable viable attractive "
    "feasible cost-effective cost-saving dominant essential critical crucial significant reliable valid suitable "
    "appropriate reasonable well-known well-recognized well-recognised well-established well-documented "
    "growing increasing emerging real true big huge powerful strong robust accurate sensitive potential possible "
    "likely worthwhile necessary needed welcome remarkable interesting central popular successful challenging "
    "difficult problematic controversial urgent ideal optimal excellent "
    "vigtig vigtigt vigtige viktig viktigt viktige central centralt centrale sentral sentralt sentrale effektiv "
    "effektivt effektive god godt gode bedre bedste beste basta stor stort store vaesentlig vesentlig popular "
    "populaer populært populaert ny nyt nytt nye "
    "wichtig wichtige wichtiger wichtiges zentral zentrale zentraler zentrales effektiv effektive gut gute guter "
    "erfolgreich erfolgreiche vielversprechend vielversprechende haufig haufige neu neue neuer neues"
).split())
_NOT_IN_NP = set((
    "of in with for among by to on from after before during between versus vs than at about under without within "
    "through via per against toward towards into over that which who whom whose when where while if because "
    "although whether how what is are was were be been being has have had do does did not no but can may "
    "will would should could must af i til med fra pa om hos mellem mellom mellan vid ved av for "
    "von mit fur bei zu zur zum nach uber zwischen nicht"
).split())
_NOT_SUBJECT = (_NOT_IN_NP - {"that"}) | set((
    "we they it he she i you use using used receiving treated switching including such er ar ist sind wird werden "
    "man det der die das den dem des sig sich"
).split()) - {"der", "die", "das", "den", "dem", "des", "det"}
_HEADING = re.compile(
    r"^\W*(?:(?:abstract|background|introduction|objectives?|aims?|purpose|context|rationale|summary|key\s+points|"
    r"highlights|scientific\s+research\s+question|hintergrund|einleitung|baggrund|bakgrunn|bakgrund|indledning|"
    r"innledning|inledning|sammendrag|sammanfattning|zusammenfassung|resume|abstrakt)\b\W*)+", re.I)
# "The concept of X is …", "The analysis of X is a method …": X names what is defined.
_TERMWORD_END = re.compile(r"(?:(?:the|a|an)\s+)?(?:term|concept|notion|construct|word|label|idea|principle"
                           r"|practice|process"
                           r"|analysis|measurement|assessment|begrebet|begrepet|begreppet|termen|begriff|der\s+begriff"
                           r"|die\s+bezeichnung|bezeichnung)(?:\s+(?:of|af|av))?\s*$", re.I)


@dataclass(frozen=True)
class Pattern:
    """A definitional pattern: ``pre`` before the concept term, ``post`` after it.

    ``subject``: the term must be the subject of its clause (only determiners and
    modifiers before it). ``np``: the named group ``np`` of ``post`` must not contain
    evaluative words or a preposition or verb before its genus.
    """

    name: str
    langs: tuple[str, ...]
    pre: re.Pattern | None = None
    post: re.Pattern | None = None
    subject: bool = False
    np: bool = False
    cue: re.Pattern | None = None  # cheap test on the whole sentence before the anchored ones


def _p(name: str, langs: str, pre: str | None = None, post: str | None = None, subject: bool = False,
       np: bool = False, cue: str | None = None) -> Pattern:
    c = lambda r: re.compile(r, re.I) if r else None  # noqa: E731
    return Pattern(name, tuple(langs.split()), c(pre and rf"(?:{pre})$"), c(post and rf"^(?:{post})"), subject, np,
                   c(cue))


_BE = (r"(?:is|are|was|were|has\s+been|have\s+been|had\s+been|can\s+be|could\s+be|may\s+be|might\s+be|should\s+be"
       r"|will\s+be|would\s+be|must\s+be|is\s+to\s+be|are\s+to\s+be|be|being|will\s+here\s+be|is\s+here|are\s+here)")
_NORDIC_PASSIVE = (r"(?:(?:kan|skal|vil|ma|må|kunne|skall|bor|bør|maste|maa)\s+)?(?:(?:her|ofte|typisk|generelt|gerne"
                   r"|bredt|normalt|vanligvis|vanligtvis|oftest)\s+)*")

PATTERNS: list[Pattern] = [
    # explicit definitional verbs
    _p("we_define", "en", pre=rf"(?<![\w-])(?:define[sd]?|redefine[sd]?|defining|definitions?\s+of"
                               rf"|conceptuali[sz]ations?\s+of"
                               rf"|conceptuali[sz]e[sd]?|understands?|understandings?\s+of)\s+{_TERMWORD}?{_Q}?",
       post=rf"{_CLOSE}\s*,?\s*(?:as(?!\s+(?:defined|described|measured|assessed|diagnosed|determined|indicated"
            r"|reported|specified)\b)|to\s+be|to\s+mean|in\s+terms\s+of)\b", cue=r"defin|conceptuali|underst"),
    _p("we_define", "en", post=rf"{_CLOSE}\s*,?\s*(?:which|that|what)\s+(?:we|i|they|the\s+authors?"
                               r"|[a-z]+\s+et\s+al\.?)"
                               r"\s+(?:define|call|term|describe|conceptuali[sz]e|understand|refer\s+to)\s+as\b",
       cue=r"defin|call|term|describ|conceptuali|underst|refer"),
    _p("we_use_term", "en", pre=rf"\buse[sd]?\s+the\s+(?:term|concept|notion|label|word)\s+{_Q}?",
       post=rf"{_CLOSE}\s+(?:here\s+)?(?:to\s+(?:refer|mean|denote|describe|designate|capture|cover)|for\s+|as\s+)",
       cue=r"\buse"),
    _p("by_we_mean", "en", pre=rf"\bby\s+{_TERMWORD}?{_Q}?",
       post=rf"{_CLOSE}\s*,?\s*(?:(?:we|i|the\s+authors?|they|[a-z]+\s+et\s+al\.?)\s+"
            r"(?:mean|refer\s+to|understand|denote)"
            r"|(?:is|are)\s+meant)\b", cue=r"\bby\b"),
    _p("defined_as", "en", post=rf"{_GAP}\s*,?\s*{_BE}\s+{_ADV}(?:defined|redefined)\s+"
                                r"(?:as|by|in\s+terms\s+of|here\s+as)\b",
       subject=True, cue=r"defin"),
    _p("understood_as", "en", post=rf"{_GAP}\s*,?\s*{_BE}\s+{_ADV}(?:understood|conceived|construed|interpreted|"
                                    r"thought\s+of)\s+(?:here\s+)?as\b", subject=True,
       cue=r"underst|conceiv|constru|interpret|thought"),
    _p("conceptualised_as", "en", post=rf"{_GAP}\s*,?\s*{_BE}\s+{_ADV}conceptuali[sz]ed\s+(?:here\s+)?as\b",
       subject=True, cue=r"conceptuali"),
    _p("described_as", "en", post=rf"{_GAP}\s*,?\s*{_BE}\s+{_ADV}described\s+(?:here\s+)?as\b", subject=True,
       cue=r"describ"),
    _p("characterised_by", "en", post=rf"{_GAP}\s*,?\s*{_BE}\s+"
                                      rf"(?:caused\s+by\s+[^.;]{{1,160}}?,?\s+and\s+(?:is|are)\s+)?"
                                      rf"{_ADV}characteri[sz]ed\s+by\b", subject=True, cue=r"characteri"),
    _p("defined_as", "en", post=rf"{_CLOSE}\s*(?:,|\(|—|–|\s-)\s*(?:(?:which|that)\s+{_BE}\s+)?{_ADV}"
                                r"(?:defined\s+(?:as|by)|understood\s+as|conceptuali[sz]ed\s+as|described\s+as"
                                r"|characteri[sz]ed\s+by)\b", cue=r"defin|underst|conceptuali|describ|characteri"),
    _p("refers_to", "en", post=rf"{_GAP}\s*,?\s*{_ADV}(?:(?:is|are)\s+(?:here\s+)?used\s+(?:here\s+)?to\s+"
                                r"(?:refer\s+to|describe|"
                                r"denote|mean|designate|capture)|(?:refers?|referring)\s+to|(?:can|may|might|could|should|will"
                                r"|would|does|do)\s+(?:be\s+(?:taken|used)\s+to\s+)?(?:refer\s+to|mean|denote|designate))\b",
       subject=True, cue=r"refer|used|mean|denot|designat"),
    _p("denotes", "en", post=rf"{_GAP}\s*,?\s*{_ADV}(?:denotes?|designates?|signif(?:y|ies)|connotes?)\b", subject=True,
       cue=r"denot|designat|signif|connot"),
    _p("means", "en", post=rf"{_GAP}\s*,?\s*{_ADV}(?:means|mean)\b(?!\s+(?:of|and|score|age|value|difference|change"
                             r"|duration|number|time|level|dose|rate|±)\b)", subject=True, cue=r"mean"),
    _p("describes", "en", post=rf"{_GAP}\s*,?\s*{_ADV}(?:describes|describe)\s+"
                                 r"(?:a|an|the|how|any|all|those|situations?"
                                 r"|processes|forms|ways)\b", subject=True, cue=r"describ"),
    _p("encompasses", "en", post=rf"{_GAP}\s*,?\s*{_ADV}(?:encompass(?:es)?|comprises?|embraces?|entails?)\b",
       subject=True, cue=r"encompass|compris|embrac|entail"),
    _p("ie", "en", post=rf"{_CLOSE}\s*(?:,|\()\s*(?:i\.\s?e\.|that\s+is|viz\.|in\s+other\s+words)",
       cue=r"i\.\s?e\.|that\s+is|viz\.|in\s+other\s+words"),
    _p("ie", "en", pre=rf"(?:\(|,)\s*(?:i\.\s?e\.|that\s+is|namely),?\s*(?:the\s+|an?\s+)?{_Q}?",
       post=rf"{_Q}?\s*(?:\)|$|[.;])", cue=r"i\.\s?e\.|that\s+is|namely"),
    _p("termed", "en", pre=rf"\b(?:(?:is|are|was|were|be|been|being)\s+)?{_ADV}"
                           rf"(?:termed|called|named|labell?ed|dubbed|coined"
                           rf"|known\s+as|referred\s+to\s+as|designated\s+as|described\s+as|defined\s+as|what\s+we\s+call)"
                           rf"\s+(?:the\s+|an?\s+)?{_TERMWORD}?{_Q}?", post=r"(?!-\w)",
       cue=r"term|call|name|label|dub|coin|known|referred|designat|describ|defin"),
    _p("understood_as", "en", post=rf"{_GAP}\s*,?\s*{_BE}\s+{_ADV}"
                                    rf"(?:seen|viewed|regarded|considered|conceived|thought\s+of"
                                    rf"|framed|treated)\s+(?:here\s+)?as\s+(?P<np>(?:(?:a|an|the|one)\s+)?"
                                    rf"(?:[\w'’-]+,?\s+){{0,5}}?{_GEN_EN})", subject=True, np=True,
       cue=r"seen|viewed|regarded|considered|conceived|thought|framed|treated"),
    _p("refers_to", "en", post=rf"{_GAP}\s*,?\s*{_BE}\s+{_ADV}(?:coined|introduced|used|adopted|developed|proposed)\s+"
                                r"[^.;]{0,100}?\bto\s+(?:describe|denote|refer\s+to|capture|designate|characteri[sz]e|mean)\b",
       subject=True, cue=r"coined|introduced|used|adopted|developed|proposed"),
    _p("means", "en", post=rf"{_GAP}\s*,?\s*(?:is|are)\s+(?:(?:essentially|fundamentally|basically|simply|all|primarily"
                            r"|ultimately)\s+)?(?:about(?!\s+to\b)|when)\s+(?!the\s+(?:same|case)\b)",
       subject=True, cue=r"about|when"),
    _p("is_a", "en", post=rf"{_GAP}\s*,?\s*(?:is|are|represents?|constitutes?)\s+{_ADV}"
                          rf"(?P<np>(?:(?:a|an|the|one)\s+)?(?:[\w'’-]+,?\s+){{0,7}}?{_GEN_EN})", subject=True, np=True,
       cue=r"\b(?:is|are|represents?|constitutes?)\b"),
    _p("appositive", "en", post=rf"{_CLOSE}\s*,\s*(?P<np>(?:a|an)\s+(?:[\w'’-]+,?\s+){{0,5}}?{_GEN_EN})"
                                r"(?!\s+(?:could|can|may|might|will|would|should|must|is|are|was|were|has|have|had|do|does"
                                r"|did)\b)", np=True, cue=r","),

    # Danish, Norwegian, Swedish
    _p("defineres_som", "da no sv",
       post=rf"{_GAP}\s*,?\s*(?:(?:er|ar|blir|bliver|blev|ble|har\s+vaeret|har\s+blitt|kan\s+vaere)\s+)?"
            rf"{_NORDIC_PASSIVE}"
            r"(?:defineres|defineras|defineret|definert|definerad|definieras|definierad)\s+(?:her\s+|har\s+)?som\b",
       subject=True, cue=r"defin"),
    _p("forstas_som", "da no sv",
       post=rf"{_GAP}\s*,?\s*(?:(?:er|ar|blir|bliver)\s+)?{_NORDIC_PASSIVE}(?:forstas|forstaes|forstaas|forstatt|forstaet"
            r"|forstaaet|uppfattas|opfattes|oppfattes|begribes|beskrives|beskrivs|beskrivas|betegnes|betecknas|kendetegnes"
            r"|kjennetegnes|karakteriseres|karakteriseras)\s+(?:her\s+|har\s+)?(?:som|ved|av|af|gennem|gjennom)\b",
       subject=True, cue=r"forst|uppfatt|opfatt|oppfatt|begrib|beskriv|betegn|beteckn|kendeteg|kjenneteg|karakteris"),
    _p("defineres_som", "da no sv", pre=r"\b(?:defineres|definieras|defineras|forstas|forstaes|forstaas|menes|avses"
                                        r"|betegnes|beskrives|beskrivs|beskrivas|opfattes|oppfattes|uppfattas)\s+"
                                        r"(?:(?:her|har|i\s+det\s+folgende|fremover)\s+)?" + _Q + "?",
       post=rf"{_CLOSE}\s+(?:(?:her|har)\s+)?som\b",
       cue=r"defin|forst|menes|avses|betegn|beskriv|opfatt|oppfatt|uppfatt"),
    _p("wird_definiert", "de", pre=r"\b(?:wird|werden)\s+(?:(?:hier|im\s+folgenden|in\s+diesem\s+\w+|daher|somit)\s+)?"
                                   + _Q + "?",
       post=rf"{_CLOSE}\s+(?:(?:hier|im\s+folgenden)\s+)?als\b[^.;]{{1,240}}?\b(?:definiert|verstanden|bezeichnet"
            r"|beschrieben|aufgefasst|konzipiert)\b",
       cue=r"definiert|verstanden|bezeichnet|beschrieben|aufgefasst|konzipiert"),
    _p("ved_forstas", "da", pre=rf"\bved\s+{_TERMWORD}?{_Q}?", post=rf"{_CLOSE}\s*,?\s*(?:forstas|forstaas|menes)\b",
       cue=r"\bved\b"),
    _p("med_menes", "no da sv", pre=rf"\bmed\s+{_TERMWORD}?{_Q}?",
       post=rf"{_CLOSE}\s*,?\s*(?:menes|forstas|forstaes|avses|menas|forstaas)\b", cue=r"\bmed\b"),
    _p("betyder", "da no sv",
       post=rf"{_GAP}\s*,?\s*(?:(?:kan|skal|vil)\s+)?(?:betyder|betyr|innebaerer|innebærer|indebaerer|indebærer|innebar"
            r"|refererer\s+til|henviser\s+til|viser\s+til|avser|syftar\s+pa|omfatter|omfattar|daekker\s+over"
            r"|dækker\s+over|dekker\s+over|betegner|betecknar|beskriver|handler\s+om|handlar\s+om)\b", subject=True,
       cue=r"betyd|betyr|innebaer|innebær|indebaer|indebær|innebar|refererer|henviser|viser\s+til|avser|syftar|omfatt"
           r"|dækker|daekker|dekker|betegn|beteckn|beskriv|handl"),
    _p("er_en", "da no sv", post=rf"{_GAP}\s*,?\s*(?:er|ar)\s+(?:(?:grundlaeggende|grunnleggende|i\s+bund\s+og\s+grund"
                                  rf"|altsa|saledes|dermed|derfor)\s+)?(?P<np>(?:(?:en|et|ei|ett|den|det)\s+)?"
                                  rf"(?:[\w'’-]+,?\s+){{0,4}}?{_GEN_NORDIC})", subject=True, np=True,
       cue=r"\b(?:er|ar)\b"),

    # German
    _p("wird_definiert", "de",
       post=rf"{_GAP}\s*,?\s*(?:(?:wird|werden|ist|sind|kann|konnen|lasst\s+sich|lassen\s+sich)\s+)"
            r"(?:(?:hier|oft|meist|haufig"
            r"|allgemein|zumeist|im\s+folgenden|in\s+der\s+regel|in\s+diesem\s+\w+|daher|somit)\s+)*"
            r"(?:(?:definiert|verstanden"
            r"|bezeichnet|beschrieben|aufgefasst)\s+als\b|[^.;]{0,160}?\bals\b[^.;]{1,240}?\b(?:definiert|verstanden|"
            r"bezeichnet|beschrieben|aufgefasst|konzipiert|definieren|verstehen|beschreiben|fassen)\b)", subject=True,
       cue=r"definier|verstanden|verstehen|bezeichn|beschrieb|beschreib|aufgefasst|konzipiert|fassen"),
    _p("unter_versteht_man", "de", pre=rf"\bunter\s+(?:(?:dem|den|der|einer|einem)\s+)?"
                                     rf"(?:(?:begriff(?:en)?|bezeichnung"
                                     rf"|terminus)\s+(?:(?:der|des)\s+)?)?{_Q}?",
       post=rf"{_CLOSE}\s*(?:,[^,]{{0,100}},\s*)?(?:versteht|verstehen|wird|werden|ist|sind|lasst|lassen)\b",
       cue=r"\bunter\b"),
    _p("bezeichnet", "de", post=rf"{_GAP}\s*,?\s*(?:bezeichnet|meint|beschreibt|bedeutet|umfasst|umschreibt|benennt)\b",
       subject=True, cue=r"bezeichn|meint|beschreib|bedeut|umfasst|umschreib|benennt"),
    _p("als_bezeichnet", "de", pre=r"\b(?:als|wird\s+[^.;]{0,120}\bals|werden\s+[^.;]{0,120}\bals)\s+" + _Q + "?",
       post=rf"{_CLOSE}\s*(?:bezeichnet|definiert|verstanden)\b", cue=r"\bals\b"),
    _p("ist_ein", "de", post=rf"{_GAP}\s*,?\s*(?:ist|sind)\s+(?:(?:grundsatzlich|im\s+kern|also|somit|damit|daher)\s+)?"
                             rf"(?P<np>(?:(?:ein|eine|einer|der|die|das)\s+)?(?:[\w'’-]+,?\s+){{0,4}}?{_GEN_DE})",
       subject=True, np=True, cue=r"\b(?:ist|sind)\b"),
]


def _is_subject(pre: str) -> bool:
    """Whether the concept term that follows ``pre`` starts its clause (only modifiers before it)."""
    clause = re.split(r"[;:•▸]|\.\s|\?\s|!\s", pre)[-1]
    if re.search(r",\s+[^,]*$", clause):
        clause = re.sub(r"^.*,\s+", "", clause)  # "In the literature, X is …"
    clause = _HEADING.sub("", clause)
    clause = _TERMWORD_END.sub("", clause.rstrip(" \"'“‘«„"))
    words = [w.lower() for w in re.findall(r"[\w'’-]+", clause)]
    if words and words[0] in _LEADING_PREP and words[-1] not in _NOT_SUBJECT:
        # "In this article X is understood as …": a leading phrase of up to five words, then X
        return any(not any(w in _NOT_SUBJECT for w in words[k:]) for k in range(2, min(len(words), 6) + 1))
    return len(words) <= 4 and not any(w in _NOT_SUBJECT for w in words)


_LEADING_PREP = {"in", "within", "across", "throughout", "following", "for", "among", "i", "inom", "im", "innen"}


def _in_proper_name(sentence: str, start: int) -> bool:
    """Whether the term at ``start`` is part of a capitalised name ("the Nurse-Family Partnership")."""
    if not sentence[start:start + 1].isupper():
        return False
    words = re.findall(r"[\w'’-]+", sentence[:start])
    if not words:
        return False
    first = re.match(r"\W*([\w'’-]+)", sentence).group(1)
    prev = words[-1]
    if not prev[:1].isupper() or (len(words) == 1 and prev == first) or _HEADING.fullmatch(prev):
        return False
    # a name runs on without punctuation: not "the International Monetary Fund, PPPs refer to …"; and an article
    # after an opening quote or a colon starts a sentence ("“A P3 typically involves …"), while a name may stand
    # in quotes ("the “Nurse-Family Partnership” programme", "Methods: Nurse-Family Partnership nurses …")
    at = sentence.rindex(prev, 0, start)
    between, before = sentence[at + len(prev):start], sentence[:at].rstrip()
    starts = prev.lower() in _ARTICLES and before.endswith(("“", '"', "‘", "«", "„", ":"))
    return not re.search(r"[,;:()\[\]]", between) and not starts


_ARTICLES = {"a", "an", "the", "one", "en", "et", "ei", "ett", "den", "det", "ein", "eine", "einer", "der", "die",
             "das"}


def _np_ok(np_text: str) -> bool:
    """The predicate noun phrase holds no evaluative word, preposition or verb before its genus
    ("is an effective treatment", "are replacing originator compounds" fail)."""
    words = [w.lower().strip(",") for w in np_text.split()]
    parts = [p for w in words[:-1] for p in w.split("-")]  # "first-line", "cost-effective"
    if any(p in _EVALUATIVE for p in parts) or any(w in ("a", "an", "the") for w in words[1:-1]):
        return False  # evaluative, or a hedge before the article ("is perhaps the disorder …")
    if len(words) > 1 and words[0] not in _ARTICLES and words[0].endswith("ing"):
        return False
    return not any(w in _EVALUATIVE or w in _NOT_IN_NP for w in words[:-1])
