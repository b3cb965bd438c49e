"""triage.redact: every PII type, look-alikes that must stay, checksums, spans, idempotence, the PII set."""

from __future__ import annotations

import dataclasses
from concurrent.futures import ThreadPoolExecutor

import pytest

from training.redaction_report import CASES, evaluate, load_cases
from triage.redact import PII_TYPES, PLACEHOLDERS, Redaction, bsn_valid, iban_valid, redact

# The measured false-removal rate on the PII set is 0 of ~2,400 non-PII tokens, and 1 of 404 on a
# held-out batch written after the rules (later folded into the set). The bound leaves room for
# about one removed word in a hundred: more would start to eat the words the red-flag cues read.
MAX_FALSE_REMOVAL_RATE = 0.01
MAX_CLEAN_SENTENCES_CHANGED = 2  # of the ~130 sentences without PII
MIN_RECALL = 0.95


def kinds(text: str) -> list[tuple[str, str]]:
    """(type, original value) per span."""
    return [(k, text[s:e]) for k, s, e in redact(text).spans]


POSITIVES = [
    # NAAM: deduce, relation words, intros, greetings, titles, lower case, handles
    ("NAAM", "mn vriend Ahmed slaat me", "Ahmed"),
    ("NAAM", "mijn zus fatima wordt geslagen", "fatima"),
    ("NAAM", "Hoi ik ben Lisa en ik ben 14", "Lisa"),
    ("NAAM", "ik heet noor", "noor"),
    ("NAAM", "Hallo, ik ben Jan de Vries", "Jan de Vries"),
    ("NAAM", "Mevrouw de Boer van hiernaast schreeuwt", "de Boer"),
    ("NAAM", "fatima zei dat ze niet naar huis durft", "fatima"),
    ("NAAM", "groetjes Sanne", "Sanne"),
    ("NAAM", "volg me op insta @lisa_2009", "@lisa_2009"),
    ("NAAM", "MIJN STIEFVADER KEVIN SLAAT MIJN MOEDER", "KEVIN"),
    # NAAM with surname particles, also without a first name or title before them
    ("NAAM", "de familie el Amrani woont naast ons", "el Amrani"),
    ("NAAM", "El Amrani heet hij", "El Amrani"),
    ("NAAM", "Rachid al Hassan staat nu voor de deur", "Rachid al Hassan"),
    ("NAAM", "meneer ait Said schreeuwt", "ait Said"),
    ("NAAM", "mijn buurman youssef el amrani slaat zijn zoon", "youssef el amrani"),
    ("NAAM", "Karim ben Ali is mijn stiefvader", "Karim ben Ali"),
    ("NAAM", "Van der Berg heet de man", "Van der Berg"),
    ("NAAM", "de heer ou Ali belde", "ou Ali"),
    # SCHOOL: abbreviations (OBS, CBS, PCBS, RKBS, SBO, SO, VSO, IKC ...), "basisschool X", "X College/Lyceum"
    ("SCHOOL", "ze zit op OBS De Regenboog in groep 6", "OBS De Regenboog"),
    ("SCHOOL", "de juf van CBS Het Kompas belde", "CBS Het Kompas"),
    ("SCHOOL", "hij zit op SBO De Piramide", "SBO De Piramide"),
    ("SCHOOL", "de school (SO De Ruimte) weet ervan", "SO De Ruimte"),
    ("SCHOOL", "ik zit op obs de regenboog", "obs de regenboog"),
    ("SCHOOL", "ze zit op basisschool De Klimop", "basisschool De Klimop"),
    ("SCHOOL", "hij zit op het Erasmus College", "Erasmus College"),
    ("SCHOOL", "ik zit op het Christelijk Lyceum Zeist", "Christelijk Lyceum Zeist"),
    ("SCHOOL", "mijn broer zit op het Vossiuscollege", "Vossiuscollege"),
    # TELEFOON
    ("TELEFOON", "mijn nummer is 06-12345678", "06-12345678"),
    ("TELEFOON", "bel 0612345678", "0612345678"),
    ("TELEFOON", "bereik me via +31 6 1234 5678.", "+31 6 1234 5678"),
    ("TELEFOON", "thuis 020-1234567", "020-1234567"),
    ("TELEFOON", "gsm +32 470 12 34 56", "+32 470 12 34 56"),
    ("TELEFOON", "gsm 0486/12.34.56", "0486/12.34.56"),
    ("TELEFOON", "bel (030) 234 5678", "(030) 234 5678"),
    # EMAIL, URL
    ("EMAIL", "mail me op lisa.devries@gmail.com!", "lisa.devries@gmail.com"),
    ("EMAIL", "Fleur.Meijer@Ziggo.NL is mijn mail", "Fleur.Meijer@Ziggo.NL"),
    ("URL", "kijk op https://www.instagram.com/p/Cx12abc.", "https://www.instagram.com/p/Cx12abc"),
    # ADRES
    ("ADRES", "hij woont op de Kerkstraat 12a in Utrecht", "Kerkstraat 12a"),
    ("ADRES", "op de Laan van Meerdervoort 150", "Laan van Meerdervoort 150"),
    ("ADRES", "het gebeurt op de Van Goghstraat 8-II", "Van Goghstraat 8-II"),
    ("ADRES", "mijn zus woont op de Lange Voorhout 5", "Lange Voorhout 5"),
    ("ADRES", "de vader woont Groenstraat 12 bus 3 in Hasselt", "Groenstraat 12 bus 3"),
    ("ADRES", "mijn adres is kerkstraat 12", "kerkstraat 12"),
    # POSTCODE
    ("POSTCODE", "mijn postcode is 3512 AB", "3512 AB"),
    ("POSTCODE", "we wonen in 1012AB Amsterdam", "1012AB"),
    ("POSTCODE", "5611az eindhoven", "5611az"),
    ("POSTCODE", "wij wonen in 2000 Antwerpen", "2000"),
    # BSN
    ("BSN", "mijn bsn is 908301662", "908301662"),
    ("BSN", "hier is het: 131860914", "131860914"),
    ("BSN", "bsn 6252.76.012", "6252.76.012"),
    # IBAN
    ("IBAN", "mijn rekening is NL24KNAB3726516761", "NL24KNAB3726516761"),
    ("IBAN", "hij pakt alles van NL29 INGB 2202 9729 97 af", "NL29 INGB 2202 9729 97"),
    ("IBAN", "iban be94455853043520", "be94455853043520"),
    # GEBOORTEDATUM
    ("GEBOORTEDATUM", "ik ben geboren op 12-03-2009", "12-03-2009"),
    ("GEBOORTEDATUM", "geboortedatum 12/3/09", "12/3/09"),
    ("GEBOORTEDATUM", "ze is geboren op 12 maart 2009.", "12 maart 2009"),
    ("GEBOORTEDATUM", "hij is van 7 juni '08", "7 juni '08"),
    ("GEBOORTEDATUM", "geboren 2009-03-12", "2009-03-12"),
    # KENTEKEN: sidecodes 7, 9, 8, 4, 6, 10, 11, 13, 14
    ("KENTEKEN", "kenteken 12-ABC-3", "12-ABC-3"),
    ("KENTEKEN", "de auto met AB-123-C staat er weer", "AB-123-C"),
    ("KENTEKEN", "het is 1-ABC-23", "1-ABC-23"),
    ("KENTEKEN", "een bmw GH-12-JK", "GH-12-JK"),
    ("KENTEKEN", "kenteken 12-BC-DF", "12-BC-DF"),
    ("KENTEKEN", "scooter K-123-BG", "K-123-BG"),
    ("KENTEKEN", "de auto GBB-12-F reed weg", "GBB-12-F"),
    ("KENTEKEN", "kenteken 5-KD-123", "5-KD-123"),
    ("KENTEKEN", "het is 123-KD-4", "123-KD-4"),
    ("KENTEKEN", "ik zag 12-abc-3", "12-abc-3"),
]


@pytest.mark.parametrize("kind,text,value", POSITIVES, ids=[f"{k}:{v}" for k, _, v in POSITIVES])
def test_each_type_is_found_with_its_placeholder(kind: str, text: str, value: str) -> None:
    r = redact(text)
    assert (kind, value) in kinds(text)
    assert PLACEHOLDERS[kind] in r.text
    assert value not in r.text
    # The words around the value are kept as they were.
    before, after = text.split(value, 1)
    assert r.text == before + PLACEHOLDERS[kind] + after or len(r.spans) > 1


NEGATIVES = [
    "ik ben 14 en mijn vader slaat me",
    "Hij is 42 jaar en drinkt elke dag",
    "om 22:30 begon het, om 7.30 uur moest ik naar school",
    "hij heeft 250 euro gepakt, 1500 euro schuld",
    "ik zit in groep 8",
    "ik heb 112 gebeld",
    "ik heb 0800-2000 gebeld en daarna 0900-8844",
    "Maandag kwam mijn vader dronken thuis, in maart begon het",
    "sinds 2019 slaat hij me; tussen 2000 en 2005 was het erg",
    "ik woon in Rotterdam",
    "We wonen in Den Haag",
    "in Antwerpen helpt niemand ons",
    "Veilig Thuis heeft mij gebeld",
    "De Kindertelefoon zei dat ik jullie moest bellen",
    "Help mijn moeder wordt geslagen",
    "Sorry voor de late reactie",
    "Mijn Vader slaat mij",
    "Mama huilt de hele tijd",
    "Jeugdzorg en de GGD weten ervan",
    "hij stuurt berichten via WhatsApp en Instagram",
    "ik woon op de Kerkstraat maar ik zeg niet welk nummer",
    "hij is onderweg, over 10 minuten is hij thuis",
    "het was op 12 maart, ik weet het nog",
    "het werd 3-1 en toen werd hij boos",
    "ik heb 24/7 angst",
    "ik heb het op bol.com besteld",
    "HELP HIJ HEEFT EEN MES EN IK BEN 12 EN 14 IS MIJN BROER",
    "ik ken haar pas een half jaar",
    "My husband is drunk and hitting me. Can you help?",
    # particles and school words that are ordinary words here
    "de vader van mijn vriendin heeft een mes",
    "ik heb al een keer gebeld, hij is er nu",
    "ik ga naar school en de juf weet ervan",
    "ik zit op de basisschool in groep 8",
    "ik zit op de Montessorischool en mijn moeder huilt veel",
    "het CBS zegt dat het beter gaat",
    "ik heb morgen een SO Engels maar ik kan niet leren thuis",
    "Het Lyceum belde mijn moeder",
    "Het College van B&W weet ervan",
    "Van mij mag hij niet meer komen",
    "De Buurman slaat zijn hond",
]


def test_danger_words_survive_around_names_and_schools() -> None:
    """The red-flag cues read the stored text's neighbours of a name: none of them is eaten."""
    text = "Rachid el Amrani heeft nu een mes, hij staat bij OBS De Regenboog en zegt dat hij me doodmaakt"
    r = redact(text)
    assert r.text == "[NAAM] heeft nu een mes, hij staat bij [SCHOOL] en zegt dat hij me doodmaakt"


@pytest.mark.parametrize("text", NEGATIVES)
def test_look_alikes_are_kept(text: str) -> None:
    r = redact(text)
    assert r.text == text, r.spans


def test_bsn_elfproef() -> None:
    assert bsn_valid("908301662") and bsn_valid("111222333")
    assert not bsn_valid("908301663")  # last digit off by one
    assert not bsn_valid("123456789") and not bsn_valid("000000000") and not bsn_valid("12345678")
    # Without the word "bsn" nearby only a number passing the elfproef is a BSN ...
    assert kinds("het nummer is 908301662") == [("BSN", "908301662")]
    assert redact("ordernummer 123456789").spans == []
    # ... with it, a mistyped one is redacted all the same.
    assert kinds("mijn bsn is 908301663") == [("BSN", "908301663")]


def test_iban_checksum() -> None:
    assert iban_valid("NL24KNAB3726516761") and iban_valid("NL29 INGB 2202 9729 97") and iban_valid("BE98650201462016")
    assert not iban_valid("NL24KNAB3726516762")  # one digit changed
    assert not iban_valid("NL24KNAB372651676")  # too short for NL
    assert redact("code NL24KNAB3726516762 klopt niet").spans == []
    assert kinds("iban NL24KNAB3726516761 klopt") == [("IBAN", "NL24KNAB3726516761")]


def test_spans_point_into_the_original_text() -> None:
    text = "Ik ben Sarah, sarah.k@gmail.com, 06-98765432, ik woon op Dorpsweg 14, 3455 KL"
    r = redact(text)
    assert r.text == "Ik ben [NAAM], [EMAIL], [TELEFOON], ik woon op [ADRES], [POSTCODE]"
    assert [(k, text[s:e]) for k, s, e in r.spans] == [
        ("NAAM", "Sarah"), ("EMAIL", "sarah.k@gmail.com"), ("TELEFOON", "06-98765432"),
        ("ADRES", "Dorpsweg 14"), ("POSTCODE", "3455 KL")]


def test_redaction_keeps_no_original_values() -> None:
    r = redact("mijn vriend Ahmed, 0612345678")
    assert [f.name for f in dataclasses.fields(Redaction)] == ["text", "spans"]
    assert all(isinstance(k, str) and isinstance(s, int) and isinstance(e, int) for k, s, e in r.spans)
    assert "Ahmed" not in repr(r) and "0612345678" not in repr(r)
    with pytest.raises(dataclasses.FrozenInstanceError):
        r.text = "x"  # type: ignore[misc]


def test_empty_and_placeholder_only_text() -> None:
    assert redact("") == Redaction("", [])
    assert redact("[NAAM] [TELEFOON]") == Redaction("[NAAM] [TELEFOON]", [])
    assert set(PLACEHOLDERS) == set(PII_TYPES)


@pytest.fixture(scope="module")
def cases() -> list[dict]:
    return load_cases()


def test_pii_set_is_well_formed(cases: list[dict]) -> None:
    assert len(cases) >= 250
    counts = {k: sum(1 for c in cases for p in c["pii"] if p["type"] == k) for k in PII_TYPES}
    assert all(counts[k] >= 20 for k in PII_TYPES if k != "URL"), counts
    assert sum(1 for c in cases if not c["pii"]) >= 60
    for c in cases:
        for p in c["pii"]:
            assert p["type"] in PII_TYPES and p["value"] in c["text"], (c, p)


def test_spans_are_sorted_disjoint_and_rebuild_the_text(cases: list[dict]) -> None:
    for c in cases:
        text = c["text"]
        r = redact(text)
        rebuilt, pos = "", 0
        for kind, s, e in r.spans:
            assert pos <= s < e <= len(text), (text, r.spans)
            assert text[s:e] == text[s:e].strip()
            rebuilt += text[pos:s] + PLACEHOLDERS[kind]
            pos = e
        assert rebuilt + text[pos:] == r.text


def test_idempotent(cases: list[dict]) -> None:
    for c in cases:
        once = redact(c["text"])
        twice = redact(once.text)
        assert twice.text == once.text and twice.spans == [], (c["text"], once.text, twice.text)


def test_thread_safe(cases: list[dict]) -> None:
    texts = [c["text"] for c in cases]
    expected = [redact(t) for t in texts]
    with ThreadPoolExecutor(max_workers=8) as pool:
        assert list(pool.map(redact, texts)) == expected


def test_recall_and_false_removals_on_the_pii_set(cases: list[dict]) -> None:
    scores = evaluate(cases)
    low = {k: round(scores.recall(k), 3) for k in PII_TYPES if scores.total[k] and scores.recall(k) < MIN_RECALL}
    assert not low, (low, scores.missed)
    assert scores.false_removal_rate <= MAX_FALSE_REMOVAL_RATE, scores.removed_tokens
    assert len(scores.clean_changed) <= MAX_CLEAN_SENTENCES_CHANGED, scores.clean_changed


def test_long_text_stays_fast() -> None:
    import time

    text = "Jan de Vries van der Berg en Piet Jansen " * 120  # ~5,000 chars of names: deduce's worst case
    t = time.perf_counter()
    redact(text)
    assert time.perf_counter() - t < 10  # measured well under 1.5 s on a loaded 2-core machine
    assert CASES.exists()


def test_an_unreadable_deduce_cache_is_built_again() -> None:
    # deduce writes its lookup cache in place; a file half-written by another process starting at the same
    # time once broke every later start. The loader rebuilds instead (the real rebuild takes a minute: a
    # stand-in for deduce records what was asked).
    import pickle

    from triage.redact.engine import _new_deduce

    calls = []

    class FakeDeduce:
        def __init__(self, build_lookup_structs: bool = False):
            calls.append(build_lookup_structs)
            if not build_lookup_structs:
                raise pickle.UnpicklingError("invalid load key, '\\x01'.")

    class FakeModule:
        Deduce = FakeDeduce

    assert isinstance(_new_deduce(FakeModule), FakeDeduce)
    assert calls == [False, True]
