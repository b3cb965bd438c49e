"""scikit-learn transformers that turn parsed openers (spaCy Docs) into features.

The Docs come from the pipeline in triage/nlp.py, so `doc._.cues` and `doc._.red_flags` are set.
"""

from __future__ import annotations

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


class DocText(_DocField):
    """The opener's lower-cased text (for character n-grams, robust to spelling)."""

    def transform(self, docs):
        return [doc.text.lower() for doc in docs]


class DocLemmas(_DocField):
    """Space-joined lower-case lemmas of the word tokens ("gewurgd" -> "wurgen")."""

    def transform(self, docs):
        return [" ".join(t.lemma_.lower() for t in doc if not (t.is_punct or t.is_space)) for doc in docs]


class DocCues(_DocField):
    """The linguistic cues and red flags on `doc._.cues` as feature dicts."""

    def transform(self, docs):
        return [doc._.cues for doc in docs]


def build_features(char_max_features: int = 60000, lemma_max_features: int = 30000) -> FeatureUnion:
    """Character n-grams + lemma n-grams + linguistic cues, weighted so no block dominates."""
    return FeatureUnion(
        [
            ("char", Pipeline([
                ("text", DocText()),
                ("tfidf", TfidfVectorizer(analyzer="char_wb", ngram_range=(2, 5), min_df=2, sublinear_tf=True,
                                          max_features=char_max_features, dtype=np.float32)),
            ])),
            ("lemma", Pipeline([
                ("lemmas", DocLemmas()),
                ("tfidf", TfidfVectorizer(ngram_range=(1, 2), min_df=2, sublinear_tf=True, token_pattern=r"(?u)\b\w+\b",
                                          max_features=lemma_max_features, dtype=np.float32)),
            ])),
            ("cue", Pipeline([
                ("cues", DocCues()),
                ("dict", DictVectorizer(dtype=np.float32)),
            ])),
        ],
        transformer_weights={"char": 1.0, "lemma": 0.8, "cue": 0.5},
    )
