"""The linguistic cues on doc._.cues and the feature transformers built on them."""

import numpy as np
import pytest

from triage.features import DocCues, DocLemmas, DocText, build_features


def cues(nlp, text):
    return nlp(text)._.cues


@pytest.mark.parametrize("text,key", [
    ("hij slaat me elke dag", "harm_to=me"),
    ("ik word geslagen door mijn vader", "harm_to=me"),
    ("soms sla ik haar als ik boos ben", "harm_by=me"),
    ("ik schop tegen de deur van mijn moeder", "harm_by=me"),
    ("mijn vader sloeg mijn moeder", "harm_by=other"),
])
def test_who_harms_whom(nlp, text, key):
    assert key in cues(nlp, text)


def test_pronoun_is_linked_to_the_relation_it_refers_to(nlp):
    # Long messages name the person once ("mijn man") and then say "hij".
    found = cues(nlp, "Ik ben tien jaar getrouwd met mijn man. Vroeger was hij lief. Sinds vorig jaar slaat hij me "
                      "als hij gedronken heeft.")
    assert "harm_subj=my_partner" in found
    assert "harm_subj=my_partner" not in cues(nlp, "Hij slaat me als hij gedronken heeft.")


@pytest.mark.parametrize("text", [
    "mijn ouders mogen niet weten dat ik hier zit",
    "van mijn moeder mag ik na school niet naar vrienden",
    "my mum won't let me go out and I get grounded all the time",
])
def test_minor_context_without_an_age(nlp, text):
    assert "minor_context" in cues(nlp, text)


def test_net_is_now_only_when_it_means_just_now(nlp):
    assert "time=now" in cues(nlp, "hij is net weggegaan")
    assert "time=now" not in cues(nlp, "hij is net als zijn vader")
    assert "time=now" not in cues(nlp, "hij gooide het bord net voor mijn voeten kapot")


def test_childhood_recall(nlp):
    assert "childhood_recall" in cues(nlp, "Toen ik klein was sloeg mijn vader mij. Ik ben nu 41.")
    assert "childhood_recall" in cues(nlp, "When I was a child my stepdad hit me")
    assert "childhood_recall" not in cues(nlp, "mijn vader slaat mij")


def test_narrative_cues_read_the_last_sentences(nlp):
    found = cues(nlp, "Vroeger woonden we in Zwolle. Mijn vader dronk toen veel. Hij schreeuwde elke avond. "
                      "Nu woon ik alleen. Is het normaal dat ik er nog steeds aan denk?")
    assert {"end_tense=pres", "end_question", "story_then_present"} <= set(found)
    assert "end_time=now" in found  # "nu" in the last two sentences
    assert not any(k.startswith("end_") for k in cues(nlp, "hij slaat me"))  # a short opener has no story


def test_victim_and_perpetrator_cues_differ(nlp):
    victim = cues(nlp, "hij slaat me")
    perpetrator = cues(nlp, "ik sla haar")
    assert "harm_to=me" in victim and "harm_by=me" not in victim
    assert "harm_by=me" in perpetrator and "harm_to=me" not in perpetrator


@pytest.mark.parametrize("text,key", [
    ("mijn buurvrouw wordt mishandeld", "poss1=neighbour"),
    ("mn zus heeft een gewelddadige vriend", "poss1=sibling"),
    ("mijn leerling vertelde iets zorgwekkends", "poss1=client"),
    ("haar man controleert alles", "poss3=partner"),
])
def test_possessive_relations(nlp, text, key):
    assert key in cues(nlp, text)


@pytest.mark.parametrize("text", [
    "ik ben leerkracht van groep 6 en maak me zorgen",
    "als huisarts zie ik een patiënte met blauwe plekken",
    "ik werk als wijkverpleegkundige",
])
def test_professional_self_description(nlp, text):
    assert "self_profession" in cues(nlp, text)


@pytest.mark.parametrize("text,bucket", [
    ("ik ben 13 en mn pa slaat me", "age=12-15"),
    ("ik ben zestien", "age=16-17"),
    ("ik ben een meisje van 11", "age=child"),
    ("ik ben 34 jaar oud", "age=26-64"),
    ("Mijn moeder is 82 jaar oud", "age=65+"),
])
def test_age_buckets(nlp, text, bucket):
    assert bucket in cues(nlp, text)


def test_marriage_years_are_not_an_age(nlp):
    assert not any(k.startswith("age=") for k in cues(nlp, "we zijn 12 jaar getrouwd"))


@pytest.mark.parametrize("text", ["ik zit in groep 8", "ik zit in havo 3", "ik zit in de 2e klas",
                                  "ik zit in het eerste middelbaar", "mijn mentor weet het niet"])
def test_school_year(nlp, text):
    assert "school_year" in cues(nlp, text)


def test_time_words(nlp):
    assert "time=now" in cues(nlp, "hij is nu thuis")
    assert "time=past" in cues(nlp, "dat was jaren geleden")
    assert "time=recent" in cues(nlp, "gisteren gebeurde het weer")


def test_red_flags_become_cues(nlp):
    c = cues(nlp, "hij heeft een mes")
    assert c["flag=weapon"] == 1.0


def test_doc_transformers_and_feature_union_on_real_docs(nlp):
    """What the transformers make of parsed openers; scikit-learn's estimator checks on them run in
    test_estimator_contract.py."""
    docs = list(nlp.pipe(["Hij slaat me", "ik ben 13", "hoi"]))
    assert DocText().fit(docs).transform(docs) == ["hij slaat me", "ik ben 13", "hoi"]
    assert DocLemmas().fit_transform(docs)[0].split() == ["hij", "slaan", "me"]
    assert DocCues().transform(docs)[1]["age=12-15"] == 1.0
    union = build_features()
    X = union.fit_transform(list(nlp.pipe(["hij heeft me geslagen", "hij heeft me nooit geslagen",
                                           "ik heb hem geslagen", "ik heb hem niet geslagen"])))
    names = union.get_feature_names_out()
    assert X.shape == (4, len(names))
    assert any(n.startswith("char__") for n in names)
    assert {"word__geslagen", "word__heeft me"} <= set(names)  # words as typed, not lemmas
    assert "cue__harm_by=me" in set(names)
    assert np.isfinite(X.toarray()).all()


def test_compiled_features_equal_scikit_learn(active_model):
    """The compiled inference path gives exactly the fitted FeatureUnion's matrix, empty rows included."""
    from training.data import load_challenge

    texts = [e.text for e in load_challenge()[:200]] + ["?!", "👋", "hoi", "x" * 300]
    docs = list(active_model.nlp.pipe(texts))
    union = active_model.estimator.features_
    expected = union.transform(docs)
    actual = active_model.estimator.transform(docs)
    assert actual.shape == expected.shape
    assert abs(actual - expected).max() < 1e-6
    single = active_model.estimator.transform(docs[-4:-3])
    assert abs(single - expected[-4]).max() < 1e-6


def test_compiled_heads_equal_scikit_learn(active_model):
    from training.data import load_challenge

    docs = list(active_model.nlp.pipe([e.text for e in load_challenge()[:200]]))
    X = active_model.estimator.transform(docs)
    fast = active_model.estimator.predict_proba_features(X)
    reference = active_model.estimator.predict_proba_sklearn(X)
    # X is float32 (epsilon 1.2e-7): the two paths sum the same products in a different order, which over
    # ~60,000 features moves a probability by about 1e-6 at most. A wrong weight or calibrator moves it by far more.
    for head in ("role", "minor", "urgency", "topics"):
        assert np.abs(fast[head] - reference[head]).max() < 5e-6, head


def test_char_ngram_columns_per_word_equal_scikit_learn_and_keep_only_known_words(active_model):
    """char_wb counts built from per-word columns equal scikit-learn's analyzer (odd whitespace,
    casing, one-letter words), and only words the model learnt are kept: no name from a chat."""
    from collections import Counter

    from triage.features import _CharWbColumns

    union = active_model.estimator.features_
    vectorizer = dict(union.transformer_list)["char"].steps[-1][1]
    vocab = vectorizer.vocabulary_
    analyzer = vectorizer.build_analyzer()
    counter = _CharWbColumns(analyzer, vocab.get, frozenset({"ik", "slaat", "me", "en"}))
    texts = ["Hij SLAAT me\t\ten ik  ben\n14", "a b c  d", "ÉÉN ding: ik wil weg!!", "", "   ",
             "Ik ik IK ik", "Marjolein Xylofoonstraat ik"]
    for text in texts * 2:
        expected = Counter(vocab.get(g, -1) for g in analyzer(text))
        assert counter(text) == expected, text
    assert set(counter.words) == {"ik", "slaat", "me", "en"}


def test_compiled_features_are_rebuilt_on_load_not_stored(active_model):
    """The compiled path is derived from the fitted union when a model is loaded: an artifact saved
    by an earlier version (whose compiled path had another shape) still loads and predicts."""
    import pickle

    from triage.estimator import TriageEstimator
    from triage.features import CompiledFeatures

    estimator = active_model.estimator
    state = estimator.__getstate__()
    assert "compiled_features_" not in state and hasattr(estimator, "compiled_features_")
    docs = list(active_model.nlp.pipe(["mijn vader slaat mij elke dag", "hoi"]))
    expected = estimator.features_.transform(docs)
    revived = pickle.loads(pickle.dumps(estimator))
    assert abs(revived.transform(docs) - expected).max() < 1e-6
    older = TriageEstimator.__new__(TriageEstimator)
    older.__setstate__({**state, "compiled_features_": ("an", "earlier", "shape")})
    assert isinstance(older.compiled_features_, CompiledFeatures)
    assert abs(older.transform(docs) - expected).max() < 1e-6


def test_predictions_leave_no_chat_words_in_the_pipeline(active_model):
    """spaCy keeps every new word it reads in the shared Vocab; predictions run in a memory zone,
    so a chat's names and places are gone afterwards, the vocabulary does not grow, results are
    the same as without the zone, and threads predicting at once (a hot swap) stay correct."""
    from concurrent.futures import ThreadPoolExecutor

    nlp = active_model.nlp
    texts = ["Mijn buurman Xandrijn Qorvelaar slaat zijn vrouw, ze wonen op de Zwibbelkade 12",
             "hoi", "ik ben 13 en mijn stiefvader Brombeldoor heeft me net gewurgd"]
    active_model.predict(texts)
    before = len(nlp.vocab.strings)
    results = active_model.predict(texts)
    assert len(nlp.vocab.strings) == before
    for word in ("Xandrijn", "Qorvelaar", "Zwibbelkade", "Brombeldoor", "brombeldoor"):
        assert word not in nlp.vocab.strings, word
    assert results[2]["urgency"] == "acute" and results[2]["red_flags"]
    with ThreadPoolExecutor(4) as pool:
        # A hot swap warms up a model on the same pipeline while predictions run.
        warming = [pool.submit(active_model.warm_up) for _ in range(2)]
        assert list(pool.map(active_model.predict_one, texts * 4)) == results * 4
        for future in warming:
            future.result()
    assert active_model._predict(texts) == results  # the zone changes nothing in the results


def test_english_openers_are_read_like_dutch_ones(nlp):
    found = cues(nlp, "I'm 15 and my stepdad punched me yesterday, I'm in year 10")
    assert {"age=12-15", "minor_context", "poss1=parent", "time=recent"} <= set(found)
    assert "harm_to=me" in found or "harm_obj=1st" in found
    flags = {f.cue for f in nlp("he grabbed me by the throat and said he will kill me")._.red_flags}
    assert {"strangulation", "threat_to_kill"} <= flags


@pytest.mark.parametrize("text,told", [
    # Testimonies and stories about then: the last sentences are in the past, nothing says now.
    ("Kort na ons trouwen veranderde hij. Hij controleerde alles wat ik deed. Een paar weken later gooide hij "
     "mijn telefoon kapot en schreeuwde hij dat ik niets waard was.", True),
    ("Ik liep op eieren. Als ik iets verkeerd zei, was het al mis en sloeg de sfeer om.", True),
    # Danger now, or a story that ends in the present.
    ("Vroeger sloeg hij me vaak. Nu staat hij voor de deur en ik ben bang.", False),
    ("Hij sloeg me vannacht en hij schreeuwde dat hij terugkwam.", False),  # "vannacht": now
    ("hij heeft me geslagen", False),                                  # perfect: present auxiliary
    ("help mn pa slaat mama", False),
])
def test_told_in_past(nlp, text, told):
    assert bool(cues(nlp, text).get("told_in_past")) is told


@pytest.mark.parametrize("text", [
    "Ik ben bang dat ik mezelf iets aandoe als hij weer begint.",
    "Soms denk ik dat ik mezelf iets ga aandoen.",
    "I hurt myself when he yells at me",
])
def test_self_harm_is_not_read_as_harming_someone_else(nlp, text):
    # The writer at risk from themselves is a victim in the annotation guide, not a perpetrator.
    found = cues(nlp, text)
    assert "self_aggression" not in found
    assert "harm_by=me" not in found


@pytest.mark.parametrize("text,harmed", [
    ("Ik ben bang dat ik haar iets aandoe als ze weer begint.", "self_aggression"),
    ("Soms denk ik dat ik haar iets ga aandoen.", "harm_by=me"),
    ("I hurt her when she yells at me", "self_aggression"),
])
def test_harming_someone_else_still_reads_as_such(nlp, text, harmed):
    assert harmed in cues(nlp, text)


def test_sleeping_is_not_hitting(nlp):
    # "sla" in "ik slaap" once made every victim who sleeps badly look like a perpetrator.
    assert "self_aggression" not in cues(nlp, "ik slaap slecht sinds hij weer thuis is")
    assert "self_aggression" in cues(nlp, "ik sla haar soms als ik boos ben")
