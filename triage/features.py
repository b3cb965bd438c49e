"""scikit-learn transformers that turn parsed openers (spaCy Docs) into features.

The Docs come from the pipeline in triage/nlp.py, so `doc._.cues` and `doc._.red_flags` are set.
"""

from __future__ import annotations

from collections import Counter
from itertools import repeat

import numpy as np
from sklearn.base import BaseEstimator, TransformerMixin
from sklearn.feature_extraction import DictVectorizer
from sklearn.feature_extraction.text import TfidfVectorizer
from sklearn.pipeline import FeatureUnion, Pipeline


class _DocField(TransformerMixin, BaseEstimator):
    """Stateless base: maps each Doc to one value; nothing to learn."""

    def fit(self, docs, y=None):
        return self

    def get_feature_names_out(self, input_features=None):
        return np.asarray([self.__class__.__name__.lower()], dtype=object)

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.requires_fit = False
        return tags


def doc_text(doc) -> str:
    """The Doc's text, cached by the triage_cues component (Doc.text rebuilds it from tokens)."""
    return doc._.text if doc._.text is not None else doc.text


class DocText(_DocField):
    """The opener's lower-cased text (for character n-grams, robust to spelling)."""

    def transform(self, docs):
        return [doc_text(doc).lower() for doc in docs]


def lemma_text(doc) -> str:
    """Space-joined lower-case lemmas of the word tokens ("gewurgd" -> "wurgen")."""
    if doc._.lemma_text is not None:  # cached by the triage_cues component
        return doc._.lemma_text
    return " ".join(t.lemma_.lower() for t in doc if not (t.is_punct or t.is_space))


class DocLemmas(_DocField):
    """Space-joined lower-case lemmas of the word tokens ("gewurgd" -> "wurgen"). Models trained before the
    word block replaced the lemma block still load and use it."""

    def transform(self, docs):
        return [lemma_text(doc) for doc in docs]


class DocCues(_DocField):
    """The linguistic cues and red flags on `doc._.cues` as feature dicts."""

    def transform(self, docs):
        return [doc._.cues for doc in docs]


def build_features(char_max_features: int = 60000, word_max_features: int = 40000) -> FeatureUnion:
    """Character n-grams + word n-grams + linguistic cues, weighted so no block dominates.

    Words as typed, not lemmas: on held-out written and real-register openers the surface word
    n-grams did as well or better than lemma n-grams (the lemmatizer does not know chat spelling), and
    an explanation can show them as they were written. The cues carry a quarter of a text block's
    weight: enough to decide who harms whom, not so much that they drown the words on urgency."""
    return FeatureUnion(
        [
            ("char", Pipeline([
                ("text", DocText()),
                ("tfidf", TfidfVectorizer(analyzer="char_wb", ngram_range=(2, 4), min_df=2, sublinear_tf=True,
                                          max_features=char_max_features, dtype=np.float32)),
            ])),
            ("word", Pipeline([
                ("text", DocText()),
                ("tfidf", TfidfVectorizer(ngram_range=(1, 2), min_df=2, sublinear_tf=True,
                                          max_features=word_max_features, dtype=np.float32)),
            ])),
            ("cue", Pipeline([
                ("cues", DocCues()),
                ("dict", DictVectorizer(dtype=np.float32)),
            ])),
        ],
        transformer_weights={"char": 1.0, "word": 1.0, "cue": 0.25},
    )


class CompiledFeatures:
    """Inference path of a fitted feature union from build_features().

    Produces exactly `union.transform(docs)` (checked in tests) but builds the sparse rows
    directly from the fitted vocabularies and idf weights. scikit-learn's transform validates and
    dispatches per call, which for a single opener costs several times the work itself.
    """

    def __init__(self, union: FeatureUnion):
        weights = union.transformer_weights or {}
        self.blocks = []
        offset = 0
        # Words the model learnt (the word-level vocabularies' single words, from the training data):
        # the only ones whose character n-grams are cached, so nothing of a chat stays in memory.
        self.known_words = known_words = frozenset(term for _, pipeline in union.transformer_list
                                if getattr(pipeline.steps[-1][1], "analyzer", None) == "word"
                                for term in pipeline.steps[-1][1].vocabulary_ if " " not in term)
        for name, pipeline in union.transformer_list:
            field, vectorizer = pipeline.steps[0][1], pipeline.steps[-1][1]
            weight = float(weights.get(name, 1.0))
            if isinstance(vectorizer, TfidfVectorizer):
                if vectorizer.norm != "l2" or not vectorizer.use_idf:
                    raise ValueError("CompiledFeatures supports l2-normalised tf-idf only")
                spec = ("tfidf", field, _column_counter(vectorizer, known_words),
                        np.asarray(vectorizer.idf_, dtype=np.float64), vectorizer.sublinear_tf, weight, offset)
            elif isinstance(vectorizer, DictVectorizer):
                get = vectorizer.vocabulary_.get
                spec = ("dict", field, lambda value, get=get: {get(k, -1): v for k, v in value.items()},
                        None, False, weight, offset)
            else:
                raise ValueError(f"cannot compile feature block {name!r}")
            offset += len(vectorizer.vocabulary_)
            self.blocks.append(spec)
        self.n_features = offset

    def transform(self, docs):
        from scipy import sparse

        n = len(docs)
        rows, columns, values = [], [], []  # numpy arrays, one per block
        for kind, field, count_columns, idf, sublinear, weight, offset in self.blocks:
            block_rows: list[int] = []
            block_columns: list[int] = []
            block_values: list[float] = []
            for i, value in enumerate(field.transform(docs)):
                counts = count_columns(value)  # column -> count (-1: not in the vocabulary, dropped below)
                block_columns.extend(counts.keys())
                block_values.extend(counts.values())
                block_rows.extend(repeat(i, len(counts)))
            c = np.asarray(block_columns, dtype=np.int64)
            v = np.asarray(block_values, dtype=np.float64)
            keep = (c >= 0) & (v != 0)
            r, c, v = np.asarray(block_rows, dtype=np.int64)[keep], c[keep], v[keep]
            if kind == "tfidf":
                # Same arithmetic as TfidfTransformer: sublinear tf, idf, then l2 per row.
                if sublinear:
                    np.log(v, out=v)
                    v += 1.0
                v *= idf[c]
                norms = np.sqrt(np.bincount(r, weights=v * v, minlength=n))
                norms[norms == 0] = 1.0
                v /= norms[r]
            if weight != 1.0:
                v *= weight
            rows.append(r)
            columns.append(c + offset)
            values.append(v)
        # One CSR matrix for all blocks (scipy's per-block construction and hstack cost more than
        # the features of a small batch), columns sorted within each row as scikit-learn's are.
        r, c, v = np.concatenate(rows), np.concatenate(columns), np.concatenate(values)
        order = np.lexsort((c, r))
        indptr = np.zeros(n + 1, dtype=np.int64)
        np.cumsum(np.bincount(r, minlength=n), out=indptr[1:])
        return sparse.csr_matrix((v[order].astype(np.float32), c[order].astype(np.int32), indptr),
                                 shape=(n, self.n_features))


def _column_counter(vectorizer: TfidfVectorizer, known_words: frozenset[str] = frozenset()):
    """text -> Counter of vocabulary columns (-1 for n-grams not in it), the counts the vectorizer's
    CountVectorizer step would make. C-level map and Counter: no Python statement per n-gram."""
    analyzer, get = vectorizer.build_analyzer(), vectorizer.vocabulary_.get
    if (vectorizer.analyzer == "char_wb" and vectorizer.input == "content" and vectorizer.lowercase
            and vectorizer.strip_accents is None and vectorizer.preprocessor is None and known_words):
        return _CharWbColumns(analyzer, get, known_words)
    return lambda text: Counter(map(get, analyzer(text), repeat(-1)))


class _CharWbColumns:
    """char_wb n-grams never cross a word boundary, so a text's n-grams are its words' n-grams. The
    columns of each known word (one the model learnt: function words, common verbs, the words of
    the red flags) are computed once with scikit-learn's own analyzer and kept; most of an opener
    is such words. Other words (names, places, typos) are analysed each time and never kept: no
    word of a chat stays in memory, and the cache cannot grow beyond the known words."""

    def __init__(self, analyzer, get, known_words: frozenset[str]):
        self.analyzer, self.get, self.known = analyzer, get, known_words
        self.words: dict[str, tuple[int, ...]] = {}

    def __call__(self, text: str) -> Counter:
        words, known, analyzer, get = self.words, self.known, self.analyzer, self.get
        columns: list[int] = []
        # Split at whitespace, where no n-gram crosses; lower-cased first as the vectorizer does.
        for word in text.lower().split():
            found = words.get(word)
            if found is None:
                found = tuple(map(get, analyzer(word), repeat(-1)))
                if word in known:
                    words[word] = found
            columns.extend(found)
        return Counter(columns)
