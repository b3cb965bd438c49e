"""Dutch word lists behind the linguistic cues and red flags.

Entries are lower-case surface forms and lemmas; matching uses both because the lemmatizer does
not know chat spelling ("mn", "gewurgt"). Flemish and common English forms are included where
people write them.
"""

import re

NEGATIONS = frozenset({"niet", "nie", "ni", "nooit", "geen", "gene", "niemand", "niks", "niets", "nergens",
                       "never", "not", "no", "nothing", "don't", "didnt", "didn't", "doesnt", "doesn't"})

FIRST_SG_SUBJ = frozenset({"ik", "k", "kik", "i", "ikke"})
FIRST_PL_SUBJ = frozenset({"we", "wij"})
FIRST_OBJ = frozenset({"me", "mij", "mijzelf", "mezelf", "ons", "me,", "mn", "m'n", "mijn", "my", "myself", "mams"})
FIRST_POSS = frozenset({"mijn", "mn", "m'n", "mijne", "mjn", "mine", "my", "onze", "ons", "mn.", "m’n"})
THIRD_PERSON = frozenset({"hij", "zij", "ze", "hem", "haar", "hun", "hen", "die", "he", "she", "him", "her", "they"})

# Verbs (lemmas and frequent forms) that describe harm done to a person.
HARM_VERBS = frozenset({
    "slaan", "sla", "slaat", "sloeg", "sloegen", "geslagen", "schoppen", "schopt", "geschopt", "trappen",
    "trapt", "getrapt", "stompen", "gestompt", "duwen", "duwt", "geduwd", "mishandelen", "mishandeld",
    "wurgen", "gewurgd", "knijpen", "geknepen", "bedreigen", "bedreigd", "verkrachten", "verkracht",
    "misbruiken", "misbruikt", "aanranden", "aangerand", "vermoorden", "vermoord", "doden", "steken",
    "gestoken", "opsluiten", "opgesloten", "uitschelden", "uitgescholden", "schelden", "vernederen",
    "vernederd", "pijn", "aandoen", "aangedaan", "gooien", "gegooid", "bijten", "gebeten", "pakken",
    "aanraken", "aangeraakt", "afranselen", "meppen", "gemept", "tikken", "hit", "hits", "beat", "beats",
    "kick", "hurt", "hurts", "rape", "raped", "abuse", "abused", "choke", "choked", "threaten", "threatened",
    "controleren", "stalken", "achtervolgen", "kleineren", "kneuzen", "klappen", "rammen", "shaken",
    "schudden", "geschud", "boos", "agressief", "schop", "schopte", "sloeg", "sla", "duwde", "stompte",
    "scheld", "schold", "uitgescholden", "bedreig", "bedreigde", "dreig", "dreigde", "dreigen", "knijp",
    "gooide", "sloot", "afpakken", "afgepakt", "pak", "vastpakken", "vastgepakt", "kneep", "trap", "trapte",
    "mishandel", "mishandelde", "misbruikte", "verkrachtte", "beledigen", "krenken", "pijnigen", "slaag",
    "klap", "klappen", "mep", "geduwd", "ontvoeren", "wurgde", "wurg", "aanvallen", "aangevallen",
    "uitschelden", "kwetsen", "gekwetst", "verwaarlozen", "verwaarloosd", "negeren",
    # English forms (people in the Netherlands who do not write Dutch).
    "slapped", "slaps", "slap", "punched", "punches", "punch", "pushed", "pushes", "push", "kicked", "kicks",
    "strangled", "strangles", "grabbed", "grabs", "hitting", "beating", "hurting", "threatens", "abusing",
    "beaten", "assaulted", "assault", "molested", "harassed", "stalks", "stalking", "insulted", "humiliates",
})

RELATION_GROUPS: dict[str, frozenset[str]] = {
    "partner": frozenset({"man", "vrouw", "vriend", "vriendin", "partner", "echtgenoot", "echtgenote", "ex",
                          "vriendje", "vriendinnetje", "lief", "husband", "wife", "boyfriend", "girlfriend",
                          "verloofde", "exman", "exvrouw", "ex-man", "ex-vrouw", "exvriend", "ex-vriend",
                          "fiance", "fiancé", "spouse"}),
    "parent": frozenset({"moeder", "vader", "mama", "papa", "ma", "pa", "mam", "pap", "ouder", "ouders",
                         "stiefvader", "stiefmoeder", "mams", "moe", "va", "mum", "mom", "dad", "father",
                         "mother", "stiefpa", "stiefma", "stepdad", "stepfather", "stepmother", "stepmom",
                         "parents", "mommy", "daddy", "pleegvader", "pleegmoeder", "bonuspapa", "vaders",
                         "moeders", "papa's", "mama's", "mamaa", "papaa", "meme", "vake", "moemoe"}),
    "child": frozenset({"kind", "kinderen", "dochter", "zoon", "zoontje", "dochtertje", "kindje", "baby",
                        "kids", "kleinkind", "kleindochter", "kleinzoon", "stiefdochter", "stiefzoon",
                        "pleegkind", "son", "daughter", "child", "kinderen", "meisje", "jongen"}),
    "sibling": frozenset({"broer", "zus", "zusje", "broertje", "zuster", "zussen", "broers", "sister",
                          "brother", "halfbroer", "halfzus", "stiefbroer", "stiefzus"}),
    "family": frozenset({"oma", "opa", "tante", "oom", "nicht", "neef", "schoonmoeder", "schoonvader",
                         "schoonzus", "zwager", "familie", "grootmoeder", "grootvader", "schoonfamilie",
                         "nichtje", "neefje", "kleinkinderen", "moeke", "vava", "bomma", "bompa"}),
    "neighbour": frozenset({"buurvrouw", "buurman", "buren", "buurmeisje", "buurjongen", "buurkinderen",
                            "bovenburen", "onderburen", "benedenburen", "neighbour", "neighbor", "buur"}),
    "friend": frozenset({"vriendinnetje", "klasgenoot", "klasgenote", "maat", "maatje", "friend",
                         "kennis", "bestie", "beste", "vriendinnen", "vrienden", "klasgenoten"}),
    "colleague": frozenset({"collega", "baas", "leidinggevende", "werkgever", "collegas", "collega's"}),
    "client": frozenset({"leerling", "leerlingen", "cliënt", "client", "cliente", "patiënt", "patient",
                         "patiënte", "pupil", "pupillen", "bewoner", "bewoonster", "klant", "deelnemer",
                         "jeugdige", "gezin", "kindje", "student", "studenten", "cliënten", "patiënten",
                         "leerlingetje", "zwangere", "kraamvrouw", "pupil", "spelertje", "speler",
                         "speelster", "lid", "jongere", "jongeren"}),
}

PROFESSIONS = frozenset({
    "leerkracht", "leraar", "lerares", "docent", "docente", "juf", "meester", "mentor", "mentrix",
    "intern", "ib'er", "ib-er", "ibér", "zorgcoördinator", "zorgcoordinator", "huisarts", "arts",
    "dokter", "doktersassistente", "doktersassistent", "assistente", "praktijkondersteuner", "poh",
    "verpleegkundige", "verpleger", "wijkverpleegkundige", "verzorgende", "thuiszorg", "verloskundige",
    "kraamverzorgster", "kraamverzorgende", "tandarts", "mondhygiënist", "pedagogisch", "medewerker",
    "leidster", "pm'er", "gastouder", "kinderopvang", "bso", "trainer", "coach", "jongerenwerker",
    "jeugdconsulent", "jeugdverpleegkundige", "jeugdarts", "jeugdzorg", "wijkteam", "maatschappelijk",
    "werker", "schoolmaatschappelijk", "agent", "politie", "wijkagent", "ambulance", "ambulancebroeder",
    "ambulanceverpleegkundige", "seh", "psycholoog", "psychiater", "therapeut", "apotheker",
    "apothekersassistente", "deurwaarder", "woningcorporatie", "woonconsulent", "tolk", "dominee",
    "pastor", "imam", "predikant", "clb", "clb-medewerker", "zorgverlener", "hulpverlener",
    "casemanager", "begeleider", "ambulant", "fysiotherapeut", "logopedist", "buurtsportcoach",
    "leerplichtambtenaar", "schoolarts", "orthopedagoog", "teacher", "nurse", "doctor", "gp",
    "social", "worker", "consulent", "zorgcoordinator", "bewindvoerder", "huisartsenpraktijk",
    "kinderdagverblijf", "peuterspeelzaal", "opvang", "school", "praktijk", "afdeling", "dienst",
})

# Words that make a first-person sentence a work role: "ik werk als", "vanuit mijn werk".
WORK_WORDS = frozenset({"werk", "werken", "werkzaam", "beroep", "functie", "meldcode", "afwegingskader",
                        "vakkracht", "collega", "collega's", "team", "dossier", "organisatie", "praktijk",
                        "instelling", "casus", "consultatie", "aandachtsfunctionaris"})

SCHOOL_WORDS = frozenset({"groep", "klas", "brugklas", "havo", "vwo", "vmbo", "mavo", "atheneum", "gymnasium",
                          "middelbaar", "middelbare", "basisschool", "lagere", "mentor", "juf", "meester",
                          "schoolreis", "huiswerk", "toets", "proefwerk", "pauze", "gym", "mbo",
                          "kamp", "secundair"})

# Chat slang, not words every adult writes ("heb", "echt", "mama" and "school" used to be here and made the
# cue fire on most adult letters).
YOUTH_WORDS = frozenset({"mn", "ff", "wtf", "idk", "ofz", "wss", "fr", "bro", "sws", "omg", "lol", "nie",
                         "ni", "mams", "paps", "kzit", "kben", "kweet", "w8", "srry", "sry", "plz", "pls",
                         "tog", "tis", "egt", "ofzo", "zakgeld", "snap", "insta", "tiktok", "fam", "bruh",
                         "skeer", "mattie", "bff"})

# Not "nou" or "zo": fillers ("nou ja", "zo bang") far more often than words for now.
TIME_NOW = frozenset({"nu", "net", "zojuist", "zonet", "momenteel", "vannacht", "vanavond", "vandaag",
                      "straks", "zometeen", "vanmiddag", "vanochtend", "vanmorgen", "rn", "now", "tonight",
                      "seffens", "direct", "meteen", "dadelijk", "onmiddellijk"})
TIME_RECENT = frozenset({"gisteren", "gisteravond", "gisternacht", "eergisteren", "vorige", "afgelopen",
                         "weekend", "laatst", "onlangs", "recent", "sinds", "steeds", "elke", "iedere",
                         "vaker", "weer", "opnieuw", "yesterday"})
# "net" means "just now" ("hij is net weg") but also "just like / just before / exactly" ("net als zijn vader",
# "net voor mijn voeten"): after these words, or in a clause told in the past, it is not a word for now.
NET_NOT_NOW_AFTER = frozenset({"als", "zo", "zoals", "voor", "na", "niet", "genoeg", "iets", "wat", "even", "te",
                               "op", "in", "over", "onder", "een", "de", "het", "die", "dat", "zijn", "haar",
                               "mijn", "hoe", "waar", "wanneer", "toen", "tegen", "naast", "nog", "nooit"})


def is_now_word(tok) -> bool:
    """A time word for now, with "net" read in context (see NET_NOT_NOW_AFTER)."""
    low = tok.lower_
    if low != "net":
        return low in TIME_NOW
    nxt = tok.doc[tok.i + 1].lower_ if tok.i + 1 < len(tok.doc) else ""
    if nxt in NET_NOT_NOW_AFTER:
        return False
    head = tok.head
    return not ("Past" in head.morph.get("Tense") or any("Past" in c.morph.get("Tense") for c in head.children
                                                          if c.dep_.startswith("aux")))


TIME_PAST = frozenset({"vroeger", "geleden", "toen", "destijds", "ooit", "jeugd", "kind", "verleden",
                       "vorig", "jaren", "ago"})


# An adult telling of their childhood: what happened then is past, however the verbs are tensed.
CHILDHOOD_RECALL = re.compile(
    r"\b(?:toen\s+ik\s+(?:klein|kind|jong|nog\s+thuis|\d{1,2})|als\s+kind|in\s+mijn\s+jeugd|mijn\s+jeugd|"
    r"vroeger\s+thuis|opgegroeid|ik\s+ben\s+nu\s+\d{2}|inmiddels\s+\d{2}|jaren\s+later|"
    r"when\s+i\s+was\s+(?:a\s+)?(?:kid|child|little|young)|as\s+a\s+(?:kid|child)|growing\s+up)",
    re.I,
)
