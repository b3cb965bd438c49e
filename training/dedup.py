"""Exact and near-duplicate detection, within the corpus and across the train/test split.

Exact: equal after lower-casing and removing punctuation and extra white space.
Near: cosine similarity of character 3-5-gram TF-IDF vectors of at least NEAR_THRESHOLD.
"""

from __future__ import annotations

import re
import sys
from collections.abc import Sequence

import numpy as np
from scipy.sparse.csgraph import connected_components
from sklearn.feature_extraction.text import TfidfVectorizer

NEAR_THRESHOLD = 0.8
_PUNCT = re.compile(r"[^\w\s]", re.UNICODE)
_SPACE = re.compile(r"\s+")


def normalise(text: str) -> str:
    return _SPACE.sub(" ", _PUNCT.sub(" ", text.lower())).strip()


def similar_pairs(texts: Sequence[str], others: Sequence[str] | None = None,
                  threshold: float = NEAR_THRESHOLD) -> list[tuple[int, int, float]]:
    """(i, j, similarity) with similarity >= threshold; within texts, or texts x others."""
    vec = TfidfVectorizer(analyzer="char_wb", ngram_range=(3, 5), sublinear_tf=True)
    norm_a = [normalise(t) for t in texts]
    norm_b = [normalise(t) for t in others] if others is not None else None
    vec.fit(norm_a + (norm_b or []))
    A = vec.transform(norm_a)
    B = vec.transform(norm_b) if norm_b is not None else A
    pairs = []
    step = 1000
    for lo in range(0, A.shape[0], step):
        sims = (A[lo:lo + step] @ B.T).tocoo()
        for i, j, s in zip(sims.row, sims.col, sims.data):
            i = int(i) + lo
            if others is None and j <= i:
                continue
            if s >= threshold or (norm_a[i] == (norm_b[j] if norm_b is not None else norm_a[j])):
                pairs.append((i, int(j), float(min(s, 1.0))))
    return pairs


def duplicate_groups(texts: Sequence[str], threshold: float = NEAR_THRESHOLD) -> np.ndarray:
    """A group id per text; near-duplicates share a group (so a split can keep them together)."""
    from scipy.sparse import coo_matrix

    pairs = similar_pairs(texts, threshold=threshold)
    n = len(texts)
    if not pairs:
        return np.arange(n)
    rows = [p[0] for p in pairs]
    cols = [p[1] for p in pairs]
    graph = coo_matrix((np.ones(len(pairs)), (rows, cols)), shape=(n, n))
    _, labels = connected_components(graph, directed=False)
    return labels


def main(argv: list[str] | None = None) -> int:
    """Report duplicates in the seed corpus, across its split, and against the challenge set."""
    from training.data import load_challenge, load_seed

    seed = load_seed()
    texts = [r.text for r in seed]
    pairs = similar_pairs(texts)
    exact = [p for p in pairs if normalise(texts[p[0]]) == normalise(texts[p[1]])]
    split = {r.id: r.split for r in seed}
    cross = [p for p in pairs if split[seed[p[0]].id] != split[seed[p[1]].id]]
    challenge = load_challenge()
    vs_challenge = similar_pairs([r.text for r in challenge], texts)
    print(f"seed corpus: {len(texts)} openers")
    print(f"exact duplicates: {len(exact)}; near duplicates (cos >= {NEAR_THRESHOLD}): {len(pairs) - len(exact)}")
    print(f"near/exact duplicate pairs across train/test: {len(cross)}")
    print(f"challenge items near a seed opener: {len(vs_challenge)}")
    for i, j, s in (pairs + [])[:20]:
        print(f"  {seed[i].id} ~ {seed[j].id} ({s:.2f})")
    return 1 if cross or vs_challenge else 0


if __name__ == "__main__":
    sys.exit(main())
