"""Movies people mention together in real recommendation dialogues (ReDial), as an item-to-item source.

The shipped file (``retrieval/data/redial-comentions/``, built by ``recagent data build-comentions`` from
ReDial's ``train_data_subset500.jsonl`` only, titles bridged to ml-latest-small by title and year) counts,
for each pair of movies, the train dialogues mentioning both. The score of a candidate for a user who
liked movies ``L`` is ``sum_l w_l * count(l, c) / sqrt(dialogues(l) * dialogues(c))``, the latest liked
movie weighing most. ReDial (Li et al., NeurIPS 2018) is CC BY 4.0; see the folder's ATTRIBUTION.md.

The file is keyed by ml-latest-small ``movieId`` and carries each movie's title: it applies to a catalog
whose items with those ids have those titles (the bundled catalog, or a slice of it), and to no other
(an unrelated catalog whose ids happen to be the same numbers has other titles there).
"""

from __future__ import annotations

import csv
from pathlib import Path

import numpy as np
import scipy.sparse as sp

from recagent.retrieval.base import RetrievalQuery, Scored, allowed_mask, top_k
from recagent.retrieval.catalog import Catalog
from recagent.retrieval.itemitem import recency_weights

DATA_DIR = Path(__file__).resolve().parent / "data" / "redial-comentions"
MOVIES_FILE, PAIRS_FILE = "movies.csv", "pairs.npz"
MIN_MATCH = 0.9  # of the file's ids a catalog holds, the share whose titles must agree for it to be used


def same_title_key(title: str) -> str:
    """A title as compared when checking that a shipped file's ids are this catalog's films (case and spacing
    ignored; the learned ranker's catalog check uses it too)."""
    return " ".join(title.lower().split())


def read_movies(folder: Path = DATA_DIR) -> list[dict]:
    with open(Path(folder) / MOVIES_FILE, newline="", encoding="utf-8") as f:
        return list(csv.DictReader(f))


def catalog_positions(catalog: Catalog, movies: list[dict]) -> np.ndarray | None:
    """Each file movie's position in ``catalog`` (-1 where absent or titled otherwise); None when the catalog
    is not the one the file is for (fewer than MIN_MATCH of the ids it holds carry the file's titles)."""
    pos = np.full(len(movies), -1, dtype=np.int64)
    for j, m in enumerate(movies):
        if m["movieId"] in catalog and same_title_key(catalog.get(m["movieId"]).title) == same_title_key(m["title"]):
            pos[j] = catalog.position(m["movieId"])
    present = sum(1 for m in movies if m["movieId"] in catalog)
    if not present or (pos >= 0).sum() < MIN_MATCH * present:
        return None
    return pos


class CoMentionRetriever:
    name = "comentions"

    def __init__(
        self,
        catalog: Catalog,
        matrix: sp.csr_matrix,
        suggested: np.ndarray,
        half_life: float = 2.0,
        mentioned: np.ndarray | None = None,
    ):
        if matrix.shape != (len(catalog), len(catalog)) or len(suggested) != len(catalog):
            raise ValueError("one row, column and suggestion count per catalog item is needed")
        self.catalog = catalog
        self.matrix = matrix.tocsr()
        self.suggested = np.asarray(suggested, dtype=np.float64)  # times suggested in the train dialogues
        self.half_life = half_life
        # train dialogues mentioning each movie: breaks the many ties between small suggestion counts
        self.mentioned = np.zeros(len(catalog)) if mentioned is None else np.asarray(mentioned, dtype=np.float64)
        self._popular = self.suggested + 1e-3 * self.mentioned / max(self.mentioned.max(), 1.0)

    @classmethod
    def load(cls, catalog: Catalog, folder: Path = DATA_DIR, half_life: float = 2.0) -> CoMentionRetriever | None:
        """The shipped co-mentions mapped onto ``catalog``; None when the catalog is not the one they are for."""
        folder = Path(folder)
        if not (folder / MOVIES_FILE).exists() or not (folder / PAIRS_FILE).exists():
            return None
        movies = read_movies(folder)
        pos = catalog_positions(catalog, movies)
        if pos is None:
            return None
        with np.load(folder / PAIRS_FILE) as f:
            rows, cols, counts = f["rows"], f["cols"], f["counts"].astype(np.float64)
        dialogues = np.array([float(m["dialogues"]) for m in movies])
        keep = (pos[rows] >= 0) & (pos[cols] >= 0)
        rows, cols, counts = rows[keep], cols[keep], counts[keep]
        weights = counts / np.sqrt(np.maximum(dialogues[rows], 1) * np.maximum(dialogues[cols], 1))
        n = len(catalog)
        r, c = pos[rows], pos[cols]
        m = sp.csr_matrix((np.concatenate([weights, weights]), (np.concatenate([r, c]), np.concatenate([c, r]))), (n, n))
        suggested = np.zeros(n)
        have = pos >= 0
        suggested[pos[have]] = [float(mv["suggested"]) for mv, h in zip(movies, have) if h]
        mentioned = np.zeros(n)
        mentioned[pos[have]] = dialogues[have]
        return cls(catalog, m, suggested, half_life, mentioned)

    def knows(self, user_id: str | None) -> bool:
        return False  # no user histories: the source answers liked items only

    def scores(self, liked_ids: list[str]) -> np.ndarray | None:
        liked = self.catalog.positions(i for i in liked_ids if i in self.catalog)
        if not len(liked):
            return None
        w = recency_weights(len(liked), self.half_life)
        s = np.asarray(self.matrix[liked].T @ w).ravel()
        return s if s.any() else None

    def retrieve(
        self,
        query: RetrievalQuery,
        k: int,
        exclude: np.ndarray | None = None,
        items: np.ndarray | None = None,
        anchors: list[str] | None = None,
    ) -> Scored:
        """Co-mentions of the liked items (or of ``anchors`` when given, e.g. the items shown so far)."""
        s = self.scores(query.liked_ids if anchors is None else anchors)
        if s is None:
            return Scored.empty()
        mask = allowed_mask(len(self.catalog), query.filters.mask(self.catalog), exclude, items)
        mask = (s > 0) if mask is None else mask & (s > 0)
        # ties (many movies share a count) go to the more often suggested
        return top_k(s + 1e-6 * self.suggested / max(self.suggested.max(), 1.0), k, mask)

    def popular(
        self,
        query: RetrievalQuery,
        k: int,
        exclude: np.ndarray | None = None,
        items: np.ndarray | None = None,
        genre_boost: float = 0.0,
    ) -> Scored:
        """The movies train recommenders suggested most (a conversation's popularity prior); with soft genres
        in the query, each count is scaled by ``1 + genre_boost x`` the item's genre match (the sum of the
        weights of its genres; the factor never below 0.1), so a comedy fan's prior leans to the often-suggested comedies."""
        mask = allowed_mask(len(self.catalog), query.filters.mask(self.catalog), exclude, items)
        mask = (self.suggested > 0) if mask is None else mask & (self.suggested > 0)
        scores = self._popular
        genres = query.preferences.genres
        if genre_boost > 0 and genres:
            col = {g: j for j, g in enumerate(self.catalog.genre_vocab)}
            w = np.zeros(len(col))
            for g, v in genres.items():
                if g in col:
                    w[col[g]] = v
            match = self.catalog.genre_matrix.astype(np.float64) @ w
            scores = scores * (1.0 + genre_boost * np.maximum(match, -0.9 / genre_boost))
        return top_k(scores, k, mask)
