"""Redaction of personal data in chat text, before anything is stored.

`redact(text)` replaces personal data with typed placeholders and returns the redacted text plus
the spans (type, start, end) in the ORIGINAL text; the original values are never kept.

How each type is found (detectors run in this order; a later one never touches what an earlier
one took, so e.g. the digits of a date are not read again as a phone number):

- EMAIL, URL: regexes. A bare domain ("bol.com") is an organisation, not personal: only a URL with
  a scheme, "www." or a path is replaced.
- IBAN: regex + python-stdnum's check (mod-97 checksum, the country's length and format). A
  mistyped IBAN is not replaced: the checksum is what tells an IBAN from any other code.
- BSN: 9 digits (also 1234.56.789 / 123 456 789) passing the elfproef. Where the elfproef cannot
  decide (a typo), a nearby "bsn" / "burgerservicenummer" / "sofinummer" still marks it.
- KENTEKEN: the Dutch sidecodes 1-14 (e.g. 12-ABC-3, AB-123-C, 1-ABC-23, XX-99-XX).
- GEBOORTEDATUM: every FULL date (day, month and year: 12-03-2009, 12/3/09, 12 maart 2009,
  2009-03-12). A chat cannot tell a birth date from another full date, and a full date is an
  identifier either way, so all are replaced. A day without a year ("op 12 maart") is kept: it
  carries the timing the red-flag cues need and identifies nobody on its own.
- TELEFOON: Dutch and Belgian numbers in any common notation (06-12345678, +31 6 1234 5678,
  020-1234567, +32 470 12 34 56, 0486/12.34.56) and other +/00 international numbers. Public
  service numbers (0800/0900: "0800-2000", "0900-8844") and 112 are kept.
- POSTCODE: Dutch 1234 AB (space optional, any case; "2009 en" is not one) and a Belgian 4-digit
  code followed by a known place name or after the word "postcode". The place itself is kept.
- ADRES: street + house number: a word ending in a street suffix (Kerkstraat 12a), prefix forms
  (Laan van Meerdervoort 150) and deduce's Dutch street list (Lange Voorhout 5). A street without
  a number and a city alone are not an address (thousands of people share them) and are kept.
- NAAM: deduce (Dutch de-identification, tuned for medical text) for capitalised names, plus chat
  rules deduce lacks: a first name after a relation word ("mn vriend Ahmed", "mijn zus fatima"),
  after "ik ben" / "ik heet" / a greeting / a title, or before a verb ("fatima zei"). Lower-case
  names are only taken in such a context, and only when they are in deduce's first-name list and
  not a common word. Social handles (@name) are names too. Surname particles belong to the name:
  between two names ("Rachid al Hassan", "Karim ben Ali" are one [NAAM]), and in front of one
  when they are no Dutch word in lower case ("de familie el Amrani", "meneer ait Said", "youssef el
  amrani") or start it capitalised ("El Amrani", "Van der Berg"); Dutch words before a name stay
  ("de vader van [NAAM]").
- SCHOOL: a school's name (with the class it finds the child): an abbreviation of the school kind
  with the name after it (OBS, CBS, PCBS, RKBS, KBS, IBS, GBS, SBO, SO, VSO, IKC: "OBS De
  Regenboog", "obs de regenboog"), "basisschool / daltonschool / ... De Klimop", capitalised
  words before College, Lyceum, Gymnasium, Atheneum ("het Erasmus College", "Christelijk Lyceum
  Zeist") and compounds ("Vossiuscollege", "Regenboogschool"). The kind alone ("op de
  basisschool", "het CBS", "een SO Engels", "de Montessorischool") is kept.

Not personal data, and kept: common words capitalised at a sentence start, weekdays, months,
cities and regions alone, organisations ("Veilig Thuis", "Kindertelefoon", "Jeugdzorg"), ages
("ik ben 14"), times, amounts, "groep 8", "112".

deduce is loaded once (about 3 s; on a fresh install it first builds its lookup cache, about a
minute) and its calls are serialised by a lock, so `redact` is safe to call from threads. It is
given the text a sentence (at most ~200 characters) at a time: its name context grows worse than
linearly on long runs of names. About 0.5 ms per opener.
"""

from __future__ import annotations

import gc
import re
import threading
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any

from stdnum import iban as stdnum_iban
from stdnum.nl import bsn as stdnum_bsn

PLACEHOLDERS = {t: f"[{t}]" for t in (
    "NAAM", "TELEFOON", "EMAIL", "ADRES", "POSTCODE", "BSN", "IBAN", "GEBOORTEDATUM", "KENTEKEN", "URL", "SCHOOL")}
PII_TYPES = tuple(PLACEHOLDERS)

Span = tuple[str, int, int]


@dataclass(frozen=True)
class Redaction:
    text: str
    spans: list[Span]  # (type, start, end) in the original text, sorted by start


# --------------------------------------------------------------------------------------------
# Word lists. Lower case. deduce's own lists (first names, places, common words) come from
# deduce (see _Engine); these complement them for chat text.

_LETTER = r"[^\W\d_]"
_WORD_RE = re.compile(rf"{_LETTER}(?:{_LETTER}|['’-]{_LETTER})*")

# Relation words after which a capitalised or known first name is a person ("mijn zus fatima").
RELATIONS = frozenset("""
vriend vriendin vriendje vriendinnetje vriendinnen vrienden man vrouw echtgenoot echtgenote partner ex
zus zusje zussen broer broertje broers moeder vader mama papa mam pap ma pa stiefvader stiefmoeder
stiefpapa stiefmama stiefbroer stiefzus halfbroer halfzus oom ome tante neef neefje nicht nichtje opa oma
buurman buurvrouw buurjongen buurmeisje buren dochter dochtertje zoon zoontje kind kindje baby collega
juf meester mentor leraar lerares docent coach trainer baas klasgenoot klasgenote schoonvader
schoonmoeder schoonzus zwager pleegvader pleegmoeder pleegbroer pleegzus kleinzoon kleindochter
jongen meisje vent vriendjes nichten neven cousin
""".split())
# Titles: a surname may follow ("mevrouw de Boer").
TITLES = frozenset("meneer mevrouw mevr mw dhr heer mr juf meester dokter dr agent".split())
INTRO = (("ik", "ben"), ("ik", "heet"), ("heet",), ("heette",), ("naam", "is"), ("genaamd",),
         ("noem", "me"), ("noem", "mij"), ("bijnaam", "is"), ("ik", "ben", "het"))
GREETINGS = frozenset("hoi hallo hey hee hi hai hoii hallootjes groetjes groeten gr grtjs grt liefs mvg doei "
                      "daag xx xxx".split())
# Verbs and possessives after which a lower-case first name is a person ("fatima zei", "julia haar").
NAME_FOLLOWERS = frozenset("""
zei zegt zeggen sloeg slaat schopt schopte duwt duwde dreigt dreigde heeft had is was wil wilde
vertelde vertelt kwam komt huilt huilde belt belde appt appte stuurt stuurde haar zijn z'n d'r zn dr
""".split())
INTERFIXES = frozenset("van de der den het 't ten ter te la le da di du el al bin ben ibn op in v.d. vd "
                       "ait aït ou abu bou".split())
# Surname particles that are no Dutch word: in lower case they start a surname on their own ("de
# familie el Amrani", "ait Said"), and a lower-case word after them is a surname too ("el amrani").
FOREIGN_PARTICLES = frozenset("el ait aït ibn abu bou".split())
# Particles a capitalised surname may start with ("El Amrani", "Van der Berg", "Ten Brink", "Ait
# Said"); "De" and "Van" alone are not enough at a sentence start ("De Buurman", "Van Mij").
_CAPITAL_PARTICLES = frozenset("el al ait aït ou ibn abu bou bin ben ten ter".split())
# Particles inside or in front of a name: absorbed into the name span they touch ("Rachid al Hassan"
# is one name, not "[NAAM] al [NAAM]").
PARTICLES = frozenset("van de der den ten ter te el al bin ben ibn ait aït ou abu bou da di du le la del "
                      "dos das von".split())
# Words that are never a person, in any case; deduce's name lists contain some of them ("Can",
# "My", "Just" are first names there, and English openers start with them).
NOT_NAMES = frozenset("""
maandag dinsdag woensdag donderdag vrijdag zaterdag zondag weekend
januari februari maart april mei juni juli augustus september oktober november december
god allah jezus kerst kerstmis pasen ramadan suikerfeest offerfeest sinterklaas
marokkaans marokkaanse turks turkse nederlands nederlandse surinaams surinaamse pools poolse syrisch
syrische eritrees eritrese antilliaans antilliaanse belgisch belgische vlaams vlaamse engels engelse
frans franse duits duitse spaans arabisch moslim christen nederlander belg
dutch english polish german turkish moroccan indian french spanish arabic
zei niks moe zwanger ouwe bezorgd verdrietig eenzaam depressief blij sorry help hulp lieve sukkel
pastor mien mijnen ons onze mn m'n zn z'n dr d'r ff idk omg lol wtf pls aub ok oke oké hoor echt
ik jij je hij zij ze wij we jullie hun havo vwo vmbo mbo hbo groep klas school
i i'm i’m im my me you your he she his her we our they their it its the a an this that what when
where how why who is are was were be do does did have has had can could will would should not no
yes and or but if so just please hi hello hey thanks thank sorry find year years
""".split())
# Organisations: a span containing one of these is not a person ("Albert Heijn", "Veilig Thuis").
ORGANISATIONS = frozenset("""
veilig thuis kindertelefoon politie jeugdzorg ggd huisarts raad kinderbescherming rechtbank wijkteam
whatsapp instagram insta snapchat snap tiktok facebook youtube google telegram discord
heijn jumbo lidl aldi hema kruidvat action ikea mcdonalds mercedes
""".split())
# Countries and regions (deduce's place list has Dutch places only).
REGIONS = frozenset("""
nederland belgië belgie vlaanderen wallonië brussel holland brabant limburg friesland zeeland drenthe
den bosch randstad europa marokko turkije syrië syrie suriname curaçao curacao aruba polen poland
roemenië bulgarije duitsland frankrijk spanje engeland india pakistan afghanistan eritrea somalië
irak iran ghana nigeria china oekraïne oekraine rusland amerika
""".split())
# First names that are (mostly) ordinary Dutch or English words: never a name in lower case.
AMBIGUOUS_LOWER = frozenset("""
adel adem age alien an ate angel august bars blaas beren bin boy brain brand can carry chase constant
daily day deny desire dia dies done dot duke engel fake fan fee fine flip floor fox given guy hang
haring has heaven hero him hok hope jeep jersey jet job joke joy just justice kam kar kas ken kick
kik kin king kit lam lava lei lente lie lies lijntje line lion loan lok love lovely luck lucky
maatje mare marine marry mart math matje may mie mine mint moon mus my nine ninja ocean parel peer
pier pluk pol precious prince princess raaf ram ran rem river rover seven silver sin sing sky star
summer take tam tan tea tiger tin tiny tromp vital volken vrouwtje wang win wing will mark bill
rose roos grace faith merel
""".split())
BE_PLACES = frozenset("""
antwerpen gent brussel brugge leuven mechelen hasselt genk kortrijk oostende aalst sint-niklaas
roeselare turnhout berchem deurne borgerhout merksem hoboken wilrijk mortsel schoten brasschaat
lier dendermonde lokeren ninove geel mol herentals tienen vilvoorde halle zaventem dilbeek ieper
waregem tielt knokke-heist blankenberge beveren temse wetteren zele eeklo ronse oudenaarde tongeren
sint-truiden beringen lommel maasmechelen bilzen diest aarschot liège luik namur namen charleroi
bergen mons anderlecht schaerbeek elsene ixelles ukkel etterbeek molenbeek jette evere
""".split())

# deduce's lists read through its own loader (items minus exceptions, sub-lists merged). Its built
# lookup structures are not used for these two: the first-name trie drops names that are also
# medical or common words ("amine", "adem") and splits hyphenated ones, the place trie adds
# spelling variants; both would change what is redacted.
_FIRST_NAME_LIST = "names/lst_first_name"
_PLACE_LISTS = tuple(f"locations/lst_placename/lst_{s}" for s in ("residence", "municipality", "province", "region"))


def _lower(items: Iterable[str]) -> set[str]:
    return {s.lower() for s in items if s}


# --------------------------------------------------------------------------------------------
# The deduce engine, loaded once.

# deduce processors for names and streets only: its dates, phones, ages etc. are replaced by the
# detectors below (they are tuned for medical notes), and its place names would remove cities.
_DEDUCE_ENABLED = frozenset({
    "names", "prefix_with_initial", "prefix_with_interfix", "prefix_with_name", "interfix_with_name",
    "initial_with_name", "initial_interfix", "first_name_lookup", "surname_lookup", "name_context",
    "eponymous_disease", "person_annotation_converter",
    "locations", "street_pattern", "street_lookup", "housenumber", "remove_street_tags", "clean_street_tags",
    "post_processing", "overlap_resolver", "merge_adjacent_annotations",
})


class _Engine:
    def __init__(self) -> None:
        import deduce  # here, not at import: loading takes seconds

        # deduce's lookup tables are ~4.5 million small objects that live as long as the process.
        # Collections while they load triple the load time; afterwards a full collection would walk
        # them all (seconds per pause, ~20 s at interpreter exit). So: no collection while loading,
        # then move them to the permanent generation (gc.freeze, as pre-fork servers do).
        was_enabled = gc.isenabled()
        gc.disable()
        try:
            self.deduce = deduce.Deduce()
        finally:
            gc.freeze()
            if was_enabled:
                gc.enable()
        self.lock = threading.Lock()
        from deduce.lookup_structs import load_raw_itemsets

        lookup = self.deduce.lookup_structs  # the raw common and stop words, the prefixes as built
        common = _lower(lookup["common_word"]) | _lower(lookup["stop_word"])
        self.common = frozenset(common | NOT_NAMES | ORGANISATIONS | REGIONS | RELATIONS | TITLES | GREETINGS
                                | INTERFIXES)
        raw = load_raw_itemsets(self.deduce.lookup_data_path, [_FIRST_NAME_LIST, *_PLACE_LISTS])
        # all_first_names for capitalised words, first_names for lower-case ones (no ordinary words)
        self.all_first_names = frozenset(_lower(raw["first_name"]) - self.common)
        self.first_names = frozenset(self.all_first_names - AMBIGUOUS_LOWER)
        self.prefixes = frozenset(_lower(lookup["prefix"]))
        places = set().union(*(_lower(raw[name.rsplit("/lst_", 1)[1]]) for name in _PLACE_LISTS))
        self.places = frozenset(places | BE_PLACES | REGIONS)

    def annotations(self, text: str) -> list[tuple[str, int, int]]:
        out = []
        for start, end in _chunks(text):
            with self.lock:  # deduce does not promise thread safety; a call takes about a millisecond
                doc = self.deduce.deidentify(text[start:end], enabled=set(_DEDUCE_ENABLED))
            out += [(a.tag, start + a.start_char, start + a.end_char) for a in doc.annotations]
        return out


_CHUNK = 200
_CHUNK_END = re.compile(r"[.!?\n]\s+")


def _chunks(text: str) -> Iterable[tuple[int, int]]:
    """Sentence-bounded pieces of at most about _CHUNK characters: deduce's name context grows
    worse than linearly on long runs of names (seconds for a few kB), a sentence bounds it."""
    start = 0
    while len(text) - start > _CHUNK:
        cut = max((m.end() for m in _CHUNK_END.finditer(text, start, start + _CHUNK)), default=-1)
        if cut <= start:
            cut = text.rfind(" ", start, start + _CHUNK) + 1
            if cut <= start:
                cut = start + _CHUNK
        yield start, cut
        start = cut
    yield start, len(text)


_ENGINE: _Engine | None = None
_ENGINE_LOCK = threading.Lock()


def _engine() -> _Engine:
    global _ENGINE
    if _ENGINE is None:
        with _ENGINE_LOCK:
            if _ENGINE is None:
                _ENGINE = _Engine()
    return _ENGINE


def load() -> None:
    """Load deduce now (a service calls this at start-up so the first chat is not slow)."""
    _engine()


# --------------------------------------------------------------------------------------------
# Checksums.


def bsn_valid(digits: str) -> bool:
    """The elfproef (python-stdnum), for exactly nine digits: stdnum would also accept
    separators and pad shorter numbers with zeros, which the BSN detector already handles."""
    return digits.isdigit() and len(digits) == 9 and stdnum_bsn.is_valid(digits)


def iban_valid(iban: str) -> bool:
    """ISO 13616 (python-stdnum): mod-97 checksum and the country's length and BBAN format. A
    mistyped IBAN is not one. Without the national check digits (check_country): the IBAN's own
    checksum already tells it from other codes, and a number someone typed with a wrong bank
    account digit is still theirs."""
    s = re.sub(r"\s", "", iban).upper()
    return bool(re.fullmatch(r"[A-Z]{2}\d{2}[A-Z0-9]{11,30}", s)) and stdnum_iban.is_valid(s, check_country=False)


# --------------------------------------------------------------------------------------------
# Detectors. Each takes the (masked) text and yields (type, start, end).

Detector = Callable[[str], Iterable[Span]]
_MASK = "\x00"  # replaces what an earlier detector took: no detector matches it

_PLACEHOLDER_RE = re.compile(r"\[(?:%s)\]" % "|".join(PII_TYPES))
_EMAIL_RE = re.compile(r"(?<![\w.+-])[\w.+%-]+@[\w-]+(?:\.[\w-]+)*\.[A-Za-z]{2,24}(?![\w-])")
_URL_RE = re.compile(
    r"(?i)(?<![\w@./])(?:https?://\S+|www\.\S+|(?:[a-z0-9-]+\.)+(?:com|nl|be|net|org|eu|io|me|tv|app)/\S+)")


def _emails(text: str) -> Iterable[Span]:
    for m in _EMAIL_RE.finditer(text):
        yield "EMAIL", m.start(), m.end()


def _urls(text: str) -> Iterable[Span]:
    for m in _URL_RE.finditer(text):
        end = m.end()
        while end > m.start() and text[end - 1] in ".,;:!?)'\"":  # sentence punctuation, not URL
            end -= 1
        yield "URL", m.start(), end


_IBAN_START = re.compile(r"(?<![A-Za-z0-9])[A-Za-z]{2}\d{2}(?=[ ]?[A-Za-z0-9])")


def _ibans(text: str) -> Iterable[Span]:
    pos = 0
    while m := _IBAN_START.search(text, pos):
        # Walk alphanumerics with single spaces; try the ends at group boundaries, longest first.
        i, n, ends = m.end(), 4, []
        while i < len(text) and n < 34:
            if text[i].isascii() and text[i].isalnum():
                n, i = n + 1, i + 1
                if i == len(text) or not (text[i].isascii() and text[i].isalnum()):
                    ends.append(i)
            elif text[i] == " " and i + 1 < len(text) and text[i + 1].isascii() and text[i + 1].isalnum():
                i += 1
            else:
                break
        end = next((e for e in reversed(ends) if iban_valid(text[m.start():e])), None)
        if end is not None:
            yield "IBAN", m.start(), end
            pos = end
        else:
            pos = m.start() + 1


_BSN_RE = re.compile(r"(?<![\w.,-])(\d{9}|\d{4}\.\d{2}\.\d{3}|\d{3}([ .])\d{3}\2\d{3})(?!\w|[.,-]\d)")
_BSN_CONTEXT = re.compile(r"(?i)\b(bsn|burgerservice\s?nummer|sofi\s?nummer|sofi)\b")


def _bsns(text: str) -> Iterable[Span]:
    for m in _BSN_RE.finditer(text):
        digits = re.sub(r"\D", "", m.group(1))
        context = bool(_BSN_CONTEXT.search(text, max(0, m.start() - 40), min(len(text), m.end() + 25)))
        # A leading 0 is mostly a phone number (Belgian landline); only with context is it a BSN.
        if (bsn_valid(digits) and (digits[0] != "0" or context)) or context:
            yield "BSN", m.start(1), m.end(1)


# Dutch sidecodes 1-14: L = letters, D = digits.
_SIDECODES = ("LL-DD-DD", "DD-DD-LL", "DD-LL-DD", "LL-DD-LL", "LL-LL-DD", "DD-LL-LL", "DD-LLL-D",
              "D-LLL-DD", "LL-DDD-L", "L-DDD-LL", "LLL-DD-L", "L-DD-LLL", "D-LL-DDD", "DDD-LL-D")


def _plate_re(sep: str, codes: Iterable[str]) -> str:
    def group(g: str) -> str:
        return ("[A-Z]" if g[0] == "L" else r"\d") + "{%d}" % len(g)

    return "|".join(sep.join(group(g) for g in code.split("-")) for code in codes)


# Hyphenated plates in any case for the 3-letter sidecodes ("12-abc-3"); the 2-letter sidecodes in
# lower case look like words ("ma-di-12"), so those and spaced or compact plates need capitals.
# Compact 1234AB is a postcode, not sidecode 2.
_PLATE_RE = re.compile(
    r"(?<![\w-])(?:%s|(?i:%s)|%s|%s)(?![\w]|-\w)" % (
        _plate_re("-", _SIDECODES[:6]), _plate_re("-", _SIDECODES[6:]),
        _plate_re(" ", _SIDECODES), _plate_re("", [c for c in _SIDECODES if c != "DD-DD-LL"])))


def _plates(text: str) -> Iterable[Span]:
    for m in _PLATE_RE.finditer(text):
        # Spaced capitals in a shouted text: "12 EN 14" is no plate.
        if " " in m.group() and any(g.lower() in _NOT_POSTCODE_LETTERS for g in m.group().split()):
            continue
        yield "KENTEKEN", m.start(), m.end()


_MONTHS = (r"januari|jan|februari|feb|febr|maart|mrt|mar|april|apr|mei|juni|jun|juli|jul|augustus|aug|"
           r"september|sept|sep|oktober|okt|oct|november|nov|december|dec")
_DAY, _MONTH = r"(?:0?[1-9]|[12]\d|3[01])", r"(?:0?[1-9]|1[0-2])"
_DATE_RE = re.compile(
    rf"(?<![\w/.-])(?:{_DAY}([-/.]){_MONTH}\1(?:(?:19|20)\d{{2}}|\d{{2}})"  # 12-03-2009, 12/3/09
    rf"|(?:19|20)\d{{2}}([-/.]){_MONTH}\2{_DAY}"  # 2009-03-12
    rf"|(?i:{_DAY}(?:e|ste|de)?[ -]?(?:{_MONTHS})\.?[ -](?:(?:19|20)\d{{2}}|['’`]\d{{2}})))"  # 12 maart 2009
    r"(?!\d|[-/.]\d)")


def _dates(text: str) -> Iterable[Span]:
    for m in _DATE_RE.finditer(text):
        yield "GEBOORTEDATUM", m.start(), m.end()


_PHONE_START = re.compile(r"(?<![\w+/.,-])(?:\+|\(0|0)(?=\d|\s?\d)")
_PHONE_CHARS = set("0123456789 -./()")
_SERVICE = ("0800", "0900", "0906", "0909")  # public service numbers, not personal


def _phone_ok(digits: str, plus: bool) -> bool:
    if plus or digits.startswith("00"):
        d = digits if plus else digits[2:]
        if d.startswith("31"):
            nsn = d[2:].removeprefix("0")  # "+31 (0)6 ..."
            return len(nsn) == 9
        if d.startswith("32"):
            return len(d[2:].removeprefix("0")) in (8, 9)
        return 8 <= len(d) <= 15
    return digits.startswith("0") and len(digits) in (9, 10) and not digits.startswith(_SERVICE)


def _phones(text: str) -> Iterable[Span]:
    pos = 0
    while m := _PHONE_START.search(text, pos):
        start, plus = m.start(), text[m.start()] == "+"
        i, digits, best, seps = start + (1 if plus else 0), "", None, 0
        while i < len(text) and text[i] in _PHONE_CHARS:
            c = text[i]
            if c.isdigit():
                digits, seps = digits + c, 0
                at_boundary = i + 1 == len(text) or not text[i + 1].isdigit()
                if at_boundary and _phone_ok(digits, plus) and not (i + 1 < len(text) and text[i + 1].isalpha()):
                    best = i + 1
            else:
                seps += 1
                if seps > 3 or len(digits) > 15:  # " - " is three
                    break
            i += 1
        if best is not None:
            yield "TELEFOON", start, best
            pos = best
        else:
            pos = start + 1


# "2009 en", "1000 km", "2020 ff": a year or amount with a word or unit is no postcode.
_NOT_POSTCODE_WORDS = frozenset("""
en in op is om te al of er ze je we na nu zo ik uw ja de to at on an or be me my by up us no so he hé
ff ok xd pa ma ga
""".split())
_NOT_POSTCODE_UNITS = frozenset("km kg cm mm ml dl cl gr mb gb kb uu pm am nr ca wk dg".split())
_NOT_POSTCODE_LETTERS = _NOT_POSTCODE_WORDS | _NOT_POSTCODE_UNITS
_NL_POSTCODE_RE = re.compile(r"(?<![\w-])([1-9]\d{3}\s?([A-Za-z]{2}))(?!\w)(?:\s+([^\W\d_][\w'-]*))?")
_BE_POSTCODE_RE = re.compile(r"(?<![\w-])([1-9]\d{3})(?!\w)(?:\s+([^\W\d_][\w'-]*))?")
_POSTCODE_WORD = re.compile(r"(?i)post\s?code")


def _postcodes(text: str) -> Iterable[Span]:
    eng = _engine()

    def after_word(m: re.Match[str]) -> bool:
        return bool(_POSTCODE_WORD.search(text, max(0, m.start() - 20), m.start()))

    def before_place(word: str | None) -> bool:
        if not word:
            return False
        w = word.lower()
        return w in BE_PLACES or (word[0].isupper() and w in eng.places and w not in eng.common)

    for m in _NL_POSTCODE_RE.finditer(text):
        letters = m.group(2)
        # "1234 EN" is a postcode after "postcode" or before a place; "2009 en" never is, "3512de" is.
        stop = _NOT_POSTCODE_LETTERS if len(m.group(1)) > 6 else _NOT_POSTCODE_UNITS
        if letters.lower() not in stop or after_word(m) or (letters.isupper() and before_place(m.group(3))):
            yield "POSTCODE", m.start(1), m.end(1)
    # Belgian (and Dutch digits-only) codes: only before a place or after the word "postcode"; a
    # year before a Dutch place ("in 2019 Best") is not one.
    for m in _BE_POSTCODE_RE.finditer(text):
        place = m.group(2)
        year_like = m.group(1)[:2] in ("19", "20") and (place or "").lower() not in BE_PLACES
        if after_word(m) or (before_place(place) and not year_like):
            yield "POSTCODE", m.start(1), m.end(1)


_STREET_SUFFIX = (r"straat|str|laan|weg|plein|gracht|kade|singel|dijk|hof|pad|dreef|steeg|park|markt|"
                  r"baan|erf|wal|plantsoen|boulevard|allee|haven|ring|poort|burgwal|straatweg|dreve|lei|"
                  r"steenweg|kaai|vest")
_HOUSE_NO = (r"(?:(?:nr\.?|nummer)\s*)?\d{1,5}(?!\d)"
             r"(?:[a-zA-Z](?!\w)|\s[A-Z](?!\w)|[-/](?:\d{1,3}|[A-Za-z]{1,3}|hs|bis)(?!\w)|\s(?:hs|bis|I{1,3})(?!\w))?"
             r"(?:\s+bus\s+\d{1,4}(?!\d))?")
_STREET_RE = re.compile(
    rf"(?<![\w-])((?:[A-Z][\w'.-]*\s+|(?:van|de|der|den|het|'t|ter|ten|aan)\s+){{0,4}}"
    rf"[^\W\d_][\w'-]*?(?i:{_STREET_SUFFIX}))\s+({_HOUSE_NO})")
_PREFIX_STREET_RE = re.compile(
    rf"(?<![\w-])(?:Laan|Weg|Plein|Kade|Dijk|Singel|Gracht|Park|Hof|Straatweg)"
    rf"(?:\s+(?:van|der|de|den|het|'t|op|ten|ter|te))+(?:\s+[A-Z][\w'-]*){{1,3}}\s+{_HOUSE_NO}")
_UNITS_AFTER = re.compile(r"(?i)\s*(?:uur|keer|jaar|jaren|min|minuten|km|kilometer|euro|dagen|weken|maanden|"
                          r"kinderen|mensen|personen|x|procent|%|years?|months?|weeks?|days?|hours?|times)(?!\w)")
_NOT_STREETS = frozenset("onderweg halfweg halverwege kerkhof".split())
# Capitalised words that start street names ("Lange Voorhout", "Prins Hendrikkade").
_STREET_WORDS = frozenset("""oude nieuwe lange korte hoge lage grote kleine noord zuid oost west sint st prins
prinses koning koningin burgemeester dokter generaal graaf kanaal""".split())


def _addresses(text: str) -> Iterable[Span]:
    eng = _engine()
    for m in _STREET_RE.finditer(text):
        street = m.group(1)
        # Leading interfixes and capitalised ordinary words belong to the sentence, not the street.
        words = list(re.finditer(r"\S+", street))
        k = 0
        while k < len(words) - 1 and (words[k].group() in INTERFIXES or (
                words[k].group().lower() in eng.common and words[k].group().lower() not in _STREET_WORDS | INTERFIXES)):
            k += 1
        last = words[-1].group().lower()
        if last in _NOT_STREETS or len(last) < 5 or _UNITS_AFTER.match(text, m.end()):
            continue
        yield "ADRES", m.start(1) + words[k].start(), m.end()
    for m in _PREFIX_STREET_RE.finditer(text):
        yield "ADRES", m.start(), m.end()


# Schools: a child's school, with the class, finds the child. The kind of school alone ("op de
# basisschool", "het CBS zegt") is kept; its name is not.
_SCHOOL_ABBR_RE = re.compile(
    r"(?<![\w-])(?:(?:P?CBS|OBS|RK\s?BS|KBS|IBS|GBS|SBO|VSO|IKC|SO)\s+(?:(?:[Dd]e|[Hh]et|'t|[Dd]en)\s+)?"
    r"(?:Sint\s+|St\.?\s+)?[A-Z][\w'’-]+(?:\s+[A-Z][\w'’-]+){0,2}"
    r"|(?:p?cbs|obs|rkbs|kbs|ibs|sbo|vso|ikc)\s+(?:de|het|'t|den)\s+[^\W\d_][\w'’-]+)(?![\w-])")
_SCHOOL_NOUN_RE = re.compile(
    r"(?<![\w-])(?i:basisschool|school|montessorischool|daltonschool|jenaplanschool|vrije\s+school|kindcentrum|"
    r"scholengemeenschap|praktijkschool|brede\s+school)\s+((?:[Dd]e|[Hh]et|'t|[Dd]en)\s+)?"
    r"((?:Sint\s+|St\.?\s+)?[A-Z][\w'’-]+(?:\s+[A-Z][\w'’-]+){0,2})(?![\w-])")
_SCHOOL_KIND_RE = re.compile(
    r"(?<![\w-])((?:[A-Z][\w'’-]+\s+){1,3})(?:College|Lyceum|Gymnasium|Atheneum|Scholengemeenschap|Campus)"
    r"(?:\s+(?!(?:[Ii]k|[Hh]ij|[Zz]ij|[Zz]e|[Ww]ij|[Ww]e|[Mm]ijn|[Dd]e|[Hh]et)\b)[A-Z][\w'’-]+)?(?![\w-])")
_SCHOOL_COMPOUND_RE = re.compile(r"(?<![\w-])([A-Z][\w'’-]{3,}?)-?(?:college|lyceum|gymnasium|school)(?![\w-])")
# "een SO Wiskunde" is a test (schriftelijke overhoring), not a school.
_SCHOOL_SUBJECTS = frozenset("""wiskunde rekenen taal engels frans duits spaans geschiedenis aardrijkskunde biologie
natuurkunde scheikunde economie nederlands spelling topo topografie gym lezen begrijpend latijn grieks
informatica muziek tekenen""".split())
# Compounds that name a kind of school, not one school.
_GENERIC_SCHOOLS = frozenset("""montessori dalton jenaplan vrije basis middelbare brede hoge lagere kleuter
praktijk speciale muziek dans rij zwem zondags zondag nacht avond taal kook toneel internationale
christelijke openbare katholieke islamitische""".split())


def _schools(text: str) -> Iterable[Span]:
    eng = _engine()
    def named(words: list[str], article: bool, abbreviation: str = "") -> bool:
        # Without an article the name must be no ordinary word ("school Mijn vader ...", "een SO
        # Engels" is a test); an abbreviation after "school" is the school's own ("school OBS De Es").
        first = words[0].lower()
        return not (first in NOT_NAMES | ORGANISATIONS | REGIONS | _SCHOOL_SUBJECTS
                    or (not article and abbreviation in ("", "SO")
                        and (first in eng.common or first in eng.all_first_names))
                    or _SCHOOL_ABBR_RE.match(" ".join(words)))

    for m in _SCHOOL_ABBR_RE.finditer(text):
        abbreviation, *words = m.group().split()
        article = words[0].lower() in ("de", "het", "'t", "den")
        # After a school's abbreviation ordinary words are its name ("IBS Al Ikhlas"); "SO" is also a test.
        if named(words[1:] if article else words, article, abbreviation) or m.group()[0].islower():
            yield "SCHOOL", m.start(), m.end()
    for m in _SCHOOL_NOUN_RE.finditer(text):
        if named(m.group(2).split(), bool(m.group(1))):
            yield "SCHOOL", m.start(), m.end()
    for m in _SCHOOL_KIND_RE.finditer(text):
        words = list(re.finditer(r"\S+", m.group(1)))
        k = 0  # capitalised ordinary words at a sentence start are no part of the name ("Mijn Lyceum")
        while k < len(words) and words[k].group().lower() in eng.common - {"stedelijk", "christelijk"}:
            k += 1
        if k < len(words):
            yield "SCHOOL", m.start(1) + words[k].start(), m.end()
    for m in _SCHOOL_COMPOUND_RE.finditer(text):
        if m.group(1).lower().rstrip("s-") not in _GENERIC_SCHOOLS and m.group(1).lower() not in _GENERIC_SCHOOLS:
            yield "SCHOOL", m.start(), m.end()


_HANDLE_RE = re.compile(r"(?<![\w@.])@[A-Za-z0-9_](?:[A-Za-z0-9_.]*[A-Za-z0-9_])?")


def _handles(text: str) -> Iterable[Span]:
    for m in _HANDLE_RE.finditer(text):
        yield "NAAM", m.start(), m.end()


# --------------------------------------------------------------------------------------------
# Names: deduce + chat context rules.


def _tokens(text: str) -> list[tuple[str, int, int]]:
    return [(m.group(), m.start(), m.end()) for m in _WORD_RE.finditer(text)]


def _joined(text: str, a: tuple[str, int, int], b: tuple[str, int, int], allow_comma: bool = False) -> bool:
    """True when only spaces (or a comma) stand between two tokens: not across sentences."""
    gap = text[a[2]:b[1]]
    return bool(re.fullmatch(r"\s*,?\s*" if allow_comma else r"\s+", gap)) and _MASK not in gap


_STREETLIKE = re.compile(r"(?i)\w\w(straat|laan|weg|plein|gracht|kade|singel|steeg|dreef|plantsoen)$")
_SENTENCE_GAP = re.compile(r"[!?;:\n]|(?<=\w\w)\.\s")  # not after an initial ("J. de Vries")
_CONJUNCTIONS = frozenset("en maar want dat omdat toen als ook dus".split())


def _name_like(word: str, eng: _Engine, lower_ok: bool = True) -> bool:
    w = word.lower()
    if w in eng.common or (w in eng.places and w not in eng.all_first_names) or _STREETLIKE.search(w):
        return False
    if len(word) > 1 and word.isupper():  # shouting: "MIJN VADER SLAAT ME"
        return w in eng.all_first_names
    if word[0].isupper():
        return len(word) > 1
    return lower_ok and w in eng.first_names


def _surname_ok(word: str) -> bool:
    """A capitalised word after an interfix or title is a surname even when it is also a place or
    an ordinary word ("de Vries", "de Boer", "van Dam")."""
    return word[0].isupper() and len(word) > 1 and word.lower() not in NOT_NAMES | ORGANISATIONS | REGIONS


def _known_first_name(word: str, eng: _Engine) -> bool:
    """In deduce's first-name list: any case for capitalised words, unambiguous ones in lower case."""
    return word.lower() in (eng.all_first_names if word[0].isupper() else eng.first_names)


def _extend_name(text: str, toks: list[tuple[str, int, int]], j: int, eng: _Engine) -> int:
    """Index of the last token of the name starting at j: surnames with interfixes ("van Dijk")."""
    end = j
    k = j + 1
    after_interfix = False
    while k < len(toks) and _joined(text, toks[k - 1], toks[k]):
        word = toks[k][0]
        if word.lower() in INTERFIXES and word.islower():
            k, after_interfix = k + 1, True
            continue
        if _surname_ok(word) if after_interfix else word[0].isupper() and _name_like(word, eng, lower_ok=False):
            end, k, after_interfix = k, k + 1, False
            continue
        break
    return end


def _sentence_start(text: str, toks: list[tuple[str, int, int]], i: int) -> bool:
    return i == 0 or bool(_SENTENCE_GAP.search(text, toks[i - 1][2] - 2, toks[i][1]))


def _context_names(text: str, eng: _Engine) -> Iterable[Span]:
    toks = _tokens(text)
    lows = [t[0].lower() for t in toks]
    for i, low in enumerate(lows):
        found: list[tuple[int, int]] = []  # (first token, token the surname search starts from)
        nxt = i + 1 < len(toks) and _joined(text, toks[i], toks[i + 1], allow_comma=True)
        if nxt and low in RELATIONS and _name_like(toks[i + 1][0], eng):
            found.append((i + 1, i + 1))
        # Greetings and "ik ben" are followed by many other words ("ik ben bang"): known names only.
        if nxt and low in GREETINGS and _known_first_name(toks[i + 1][0], eng):
            found.append((i + 1, i + 1))
        if nxt and low in TITLES:
            j = i + 1
            while j < len(toks) - 1 and lows[j] in INTERFIXES and _joined(text, toks[j], toks[j + 1]):
                j += 1
            word = toks[j][0]
            # After a title a capitalised common word is a surname ("mevrouw de Boer"), and so is a
            # place after an interfix; a place right after a title is not ("meneer in Zutphen").
            if _name_like(word, eng) or (_surname_ok(word) and lows[j] not in TITLES
                                         and (j > i + 1 and lows[j - 1] in ("de", "den", "der", "van", "ter", "ten")
                                              or lows[j] not in eng.places)):
                found.append((i + 1, j))
        for intro in INTRO:
            n = len(intro)
            if (tuple(lows[i:i + n]) == intro and i + n < len(toks)
                    and _joined(text, toks[i + n - 1], toks[i + n], allow_comma=True)):
                word = toks[i + n][0]
                if _known_first_name(word, eng) if intro[-1] == "ben" else _name_like(word, eng):
                    found.append((i + n, i + n))
        # A lower-case known first name starting a clause, before a verb or possessive:
        # "fatima zei niks", "en julia haar vader".
        if (toks[i][0].islower() and low in eng.first_names and len(low) > 2 and i + 1 < len(toks)
                and lows[i + 1] in NAME_FOLLOWERS and _joined(text, toks[i], toks[i + 1])
                and (_sentence_start(text, toks, i) or lows[i - 1] in _CONJUNCTIONS)):
            found.append((i, i))
        for first, core in found:
            yield "NAAM", toks[first][1], toks[_extend_name(text, toks, core, eng)][2]
        yield from _particle_name(text, toks, lows, i, eng)


def _particle_name(text: str, toks: list[tuple[str, int, int]], lows: list[str], i: int,
                   eng: _Engine) -> Iterable[Span]:
    """A surname introduced by its particles, with no first name or title before it: "el Amrani",
    "ait Said", "el amrani", "Van der Berg", "Ten Brink"."""
    word = toks[i][0]
    if lows[i] not in PARTICLES or (i > 0 and lows[i - 1] in PARTICLES and _joined(text, toks[i - 1], toks[i])):
        return  # not a particle, or not the first of a run
    j = i
    while j + 1 < len(toks) and lows[j + 1] in PARTICLES and _joined(text, toks[j], toks[j + 1]):
        j += 1
    if j + 1 >= len(toks) or not _joined(text, toks[j], toks[j + 1]):
        return
    surname = toks[j + 1][0]
    low = lows[j + 1]
    foreign = word.islower() and lows[i] in FOREIGN_PARTICLES
    capital = word[0].isupper() and (lows[i] in _CAPITAL_PARTICLES or j > i)  # "Van der", "Van den"
    if not (foreign or capital):
        return
    if surname[0].isupper():
        ok = _surname_ok(surname) and low not in eng.places and low not in RELATIONS | TITLES | GREETINGS
    else:  # lower case only after a particle that is no Dutch word, and never an ordinary word
        ok = foreign and len(low) > 2 and low not in eng.common and low not in eng.places
    if ok:
        yield "NAAM", toks[i][1], toks[j + 1][2]


def _deduce_spans(text: str, eng: _Engine) -> Iterable[Span]:
    for tag, start, end in eng.annotations(text):
        # Place names and postcodes are off, so a location is a street from deduce's list with a
        # house number (deduce drops streets without one, then renames the tag to "locatie").
        if tag == "locatie" or "huisnummer" in tag:
            if not _UNITS_AFTER.match(text, end) and text[start:end].split()[0].lower() not in eng.places:
                yield "ADRES", start, end
        if tag not in ("persoon", "patient"):
            continue
        words = _tokens(text[start:end])
        if any(w[0].lower() in ORGANISATIONS for w in words):
            continue
        # deduce joins names across ". " ("Engels. My"): judge each sentence part on its own.
        parts: list[list[tuple[str, int, int]]] = [[]]
        for w in words:
            if parts[-1] and _SENTENCE_GAP.search(text, start + parts[-1][-1][2] - 2, start + w[1]):
                parts.append([])
            parts[-1].append(w)
        for part in parts:
            yield from _deduce_name(text, start, part, eng)


def _deduce_name(text: str, offset: int, words: list[tuple[str, int, int]], eng: _Engine) -> Iterable[Span]:
    # Drop titles at the edges ("Mevrouw [NAAM]" keeps the cue) and what is no part of a name.
    titled = False
    while words and (words[0][0].lower() in eng.prefixes or words[0][0].lower() in TITLES):
        words.pop(0)
        titled = True

    def part_of_name(k: int) -> bool:
        word = words[k][0]
        surname = (titled or k > 0 and words[k - 1][0] in INTERFIXES) and _surname_ok(word)
        return _name_like(word, eng, lower_ok=False) or surname or len(word) == 1

    while words and not part_of_name(0) and words[0][0] not in INTERFIXES:
        words.pop(0)
    while words and not part_of_name(len(words) - 1):
        words.pop()
    if not words:
        return
    name = " ".join(w[0] for w in words).lower()
    if name in eng.places and name not in eng.all_first_names:
        return
    if any(w[0][0].isupper() and (_name_like(w[0], eng, lower_ok=False) or titled and _surname_ok(w[0]))
           for w in words):
        yield "NAAM", offset + words[0][1], offset + words[-1][2]


def _names(text: str) -> Iterable[Span]:
    return _context_names(text, _engine())  # deduce's names are added in redact()


# Order = priority: structured identifiers first so their digits are not re-read.
_DETECTORS: tuple[Detector, ...] = (_emails, _urls, _ibans, _bsns, _plates, _dates, _phones, _postcodes,
                                    _addresses, _schools, _handles, _names)


def _mask(text: str, spans: Iterable[tuple[int, int]]) -> str:
    chars = list(text)
    for s, e in spans:
        chars[s:e] = _MASK * (e - s)
    return "".join(chars)


def _free(taken: list[Span], s: int, e: int) -> bool:
    return all(e <= ts or s >= te for _, ts, te in taken)


def redact(text: str) -> Redaction:
    """Replace personal data in `text` with typed placeholders such as [NAAM] and [TELEFOON]."""
    eng = _engine()
    protected = [(m.start(), m.end()) for m in _PLACEHOLDER_RE.finditer(text)]  # idempotence
    taken: list[Span] = []
    masked = _mask(text, protected)
    blocked = [("", s, e) for s, e in protected]
    # deduce sees the original text (its context needs the words) and only fills what is left.
    deduce_spans = list(_deduce_spans(text, eng))
    for detect in _DETECTORS:
        # Leftmost-longest wins within a detector; deduce's streets come after the address regexes.
        found = sorted(set(detect(masked)), key=lambda sp: (sp[1], -(sp[2] - sp[1])))
        if detect is _addresses:
            found += [sp for sp in deduce_spans if sp[0] == "ADRES"]
        if detect is _names:
            found += [sp for sp in deduce_spans if sp[0] == "NAAM"]
        new: list[Span] = []
        for sp in found:
            # Name spans may overlap each other (merged below), other types may not.
            if sp[2] > sp[1] and _free(taken + blocked, sp[1], sp[2]) and (
                    detect is _names or _free(new, sp[1], sp[2])):
                new.append(sp)
        if detect is _names:
            new = _merge_names(new)  # unions of free overlapping spans are free
            new = _absorb_particles(text, new, taken + blocked)
        taken += new
        masked = _mask(masked, [(s, e) for _, s, e in new])
    taken.sort(key=lambda sp: sp[1])
    out, pos = [], 0
    for kind, s, e in taken:
        out += [text[pos:s], PLACEHOLDERS[kind]]
        pos = e
    out.append(text[pos:])
    return Redaction(text="".join(out), spans=taken)


_PARTICLE_BEFORE = re.compile(r"(?i)(?<![\w'’-])(%s)\s+$" % "|".join(sorted(PARTICLES, key=len, reverse=True)))


def _absorb_particles(text: str, spans: list[Span], others: list[Span]) -> list[Span]:
    """Particles in front of a name become part of it: between two names always ("Rachid al Hassan",
    "Karim ben Ali"); in front of one name when the run starts with a capitalised particle ("El
    Amrani", "Van der Berg") or with one that is no Dutch word ("ait Said"). Dutch words before a
    name stay ("de vader van Ahmed")."""
    out: list[Span] = []
    for kind, start, end in spans:
        pos, keep = start, start
        while m := _PARTICLE_BEFORE.search(text, max(0, pos - 12), pos):
            word = m.group(1)
            pos = m.start(1)
            if word[0].isupper() and word.lower() in _CAPITAL_PARTICLES | {"van", "de"} \
                    or word.islower() and word.lower() in FOREIGN_PARTICLES:
                keep = pos
        # pos: where the particle run before the name starts (start itself when there is none)
        gap = text[out[-1][2]:pos] if out else None
        if gap is not None and re.fullmatch(r"[ \t]*", gap) and (pos < start or gap) \
                and _free(others, out[-1][2], start):
            out[-1] = (out[-1][0], out[-1][1], end)  # names apart only by spaces or particles: one name
            continue
        if keep < start and _free(others, keep, start):
            start = keep
        out.append((kind, start, end))
    return out


def _merge_names(spans: list[Span]) -> list[Span]:
    """Union of overlapping name spans (deduce and the context rules may each see part of one)."""
    merged: list[list[Any]] = []
    for kind, s, e in sorted(spans, key=lambda sp: (sp[1], sp[2])):
        if merged and s <= merged[-1][2]:
            merged[-1][2] = max(merged[-1][2], e)
        else:
            merged.append([kind, s, e])
    return [(k, s, e) for k, s, e in merged]
