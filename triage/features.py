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
    """Space-joined lower-case lemmas of the word tokens ("gewurgd" -> "wurgen")."""

    def transform(self, docs):
        return [lemma_text(doc) for doc in docs]


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
                ("tfidf", TfidfVectorizer(analyzer="char_wb", ngram_range=(2, 4), min_df=2, sublinear_tf=True,
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
        for name, pipeline in union.transformer_list:
            field, vectorizer = pipeline.steps[0][1], pipeline.steps[-1][1]
            weight = float(weights.get(name, 1.0))
            if isinstance(vectorizer, TfidfVectorizer):
                if vectorizer.norm != "l2" or not vectorizer.use_idf:
                    raise ValueError("CompiledFeatures supports l2-normalised tf-idf only")
                spec = ("tfidf", field, vectorizer.build_analyzer(), vectorizer.vocabulary_,
                        np.asarray(vectorizer.idf_, dtype=np.float64), vectorizer.sublinear_tf, weight, offset)
                offset += len(vectorizer.vocabulary_)
            elif isinstance(vectorizer, DictVectorizer):
                spec = ("dict", field, None, vectorizer.vocabulary_, None, False, weight, offset)
                offset += len(vectorizer.vocabulary_)
            else:
                raise ValueError(f"cannot compile feature block {name!r}")
            self.blocks.append(spec)
        self.n_features = offset

    def transform(self, docs):
        from scipy import sparse

        blocks = []
        n = len(docs)
        for kind, field, analyzer, vocab, idf, sublinear, weight, _ in self.blocks:
            values = field.transform(docs)
            indptr = [0]
            indices: list[int] = []
            counts: list[float] = []
            for value in values:
                if kind == "dict":
                    for key, v in value.items():
                        j = vocab.get(key)
                        if j is not None and v:
                            indices.append(j)
                            counts.append(float(v))
                else:
                    row: dict[int, int] = {}
                    for gram in analyzer(value):
                        j = vocab.get(gram)
                        if j is not None:
                            row[j] = row.get(j, 0) + 1
                    indices.extend(row.keys())
                    counts.extend(row.values())
                indptr.append(len(indices))
            X = sparse.csr_matrix((np.asarray(counts, dtype=np.float64), np.asarray(indices, dtype=np.int32),
                                   np.asarray(indptr, dtype=np.int64)), shape=(n, len(vocab)))
            if kind == "tfidf":
                # Same arithmetic as TfidfTransformer: sublinear tf, idf, then l2 per row.
                if sublinear:
                    np.log(X.data, out=X.data)
                    X.data += 1.0
                X.data *= idf[X.indices]
                norms = np.sqrt(np.asarray(X.multiply(X).sum(axis=1)).ravel())
                norms[norms == 0] = 1.0
                X.data /= np.repeat(norms, np.diff(X.indptr))
            if weight != 1.0:
                X.data *= weight
            blocks.append(X)
        X = sparse.hstack(blocks, format="csr", dtype=np.float32)
        X.sort_indices()
        return X
