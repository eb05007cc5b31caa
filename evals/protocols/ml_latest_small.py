"""``ml-latest-small-loo``: LlamaRec's "ML-100k", which is MovieLens ml-latest-small, preprocessed as LlamaRec does.

LlamaRec (Yue et al., 2023, Table 2: 610 users, 3,650 items) reports its ML-100k figures on
ml-latest-small, not on ML-100K. The rules below follow its code (github.com/Yueeeeeeee/LlamaRec,
``datasets/ml_100k.py``, ``datasets/base.py``, ``config.py``, ``dataloader/lru.py``, ``trainer/lru.py``):

* data: ``ratings.csv`` of ml-latest-small (here the bundled copy, the same file). Every rating is an
  interaction (``min_rating`` 0, and the ML-100k loader applies no rating filter at all); ratings of
  movies missing from ``movies.csv`` would be dropped (there are none).
* 5-core: ``filter_triplets`` with ``min_sc = min_uc = 5``: drop items with fewer than 5 interactions,
  then users with fewer than 5, and repeat until both hold. Result: 610 users, 3,650 items, 90,274
  interactions (asserted in tests/evals/test_eval_mlsmall.py).
* renumbering: ``densify_index`` numbers items 1.. in the iteration order of a Python ``set`` of the
  remaining movie ids (built in ``ratings.csv`` row order). That order matters because of the tie rule:
  it is reproduced here with the same construct (CPython's set layout for ints), and the protocol's
  catalog lists the 3,650 items in that order, so "catalog position" is LlamaRec's item number minus one.
* order and split: each user's interactions sorted by ``(timestamp, item number)``
  (``sort_values(by=['timestamp', 'sid'])``); the last item is the test target, the second-to-last the
  validation target, the rest is training (every user keeps at least 3 training items after 5-core).
* fitting: retrievers are fitted on the training part only, for both stages; at test time the
  validation item is only input (LlamaRec's test set is ``train + val`` as the input sequence with the
  retriever trained on ``train``). ALS item factors, EASE's and the next-item model's weights and the
  popularity counts come from the training part; a user's ALS factors are solved from their input.
* input: at most the last 200 items of the input sequence (``bert_max_len = 200`` for ML-100k): training
  items for validation, training items plus the validation item for test. Every retriever sees a user
  only through that input.
* ranking: the whole 3,650-item catalog, the input items excluded (``trainer/lru.py`` sets the scores of
  the input sequence to -1e9; items older than the last 200 are not excluded there, nor here).
* metrics: NDCG@k, Recall@k (one target, so Recall is HR), MRR@10, over all 610 users.

LlamaRec then reranks its retriever's top 20 with an LLM (``llm_max_history = 20`` history titles in the
prompt); the LLM rows of this protocol rerank the retriever's top 20 the same way (evals/runs.py).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from recagent.evals.protocols import Protocol
from recagent.retrieval.catalog import Catalog, InteractionLog
from recagent.retrieval.loaders import BUNDLED_CATALOG, Dataset, load_dataset

MIN_USER_INTERACTIONS = 5  # LlamaRec's min_uc
MIN_ITEM_INTERACTIONS = 5  # LlamaRec's min_sc
MAX_HISTORY = 200  # LlamaRec's bert_max_len for ML-100k: the input sequence's length
CATALOG_NAME = "ml-latest-small-5core"


def five_core(users: np.ndarray, items: np.ndarray, min_user: int, min_item: int) -> np.ndarray:
    """Rows kept by LlamaRec's ``filter_triplets``: items below ``min_item``, then users below ``min_user``,
    repeatedly, until every remaining user and item has enough interactions."""
    keep = np.ones(len(users), dtype=bool)
    while True:
        _, inv, counts = np.unique(items[keep], return_inverse=True, return_counts=True)
        idx = np.flatnonzero(keep)
        keep[idx[counts[inv] < min_item]] = False
        _, inv, counts = np.unique(users[keep], return_inverse=True, return_counts=True)
        idx = np.flatnonzero(keep)
        keep[idx[counts[inv] < min_user]] = False
        _, item_counts = np.unique(items[keep], return_counts=True)
        _, user_counts = np.unique(users[keep], return_counts=True)
        if not keep.any() or (item_counts.min() >= min_item and user_counts.min() >= min_user):
            return keep


def llamarec_item_order(movie_ids_in_row_order: list[int]) -> list[int]:
    """Movie ids in LlamaRec's item-number order: ``enumerate(set(df['sid']), start=1)`` in ``densify_index``."""
    return list(set(movie_ids_in_row_order))


def load_ml_latest_small_5core(folder: Path = BUNDLED_CATALOG) -> Dataset:
    """ml-latest-small filtered and renumbered as LlamaRec does; the log's rows are each user's
    interactions in LlamaRec's order (users by id, then time, ties by LlamaRec's item number)."""
    full = load_dataset("bundled") if Path(folder) == BUNDLED_CATALOG else load_dataset(Path(folder))
    log = full.interactions
    ids = full.catalog.ids
    user_ids = np.array([int(log.users[u]) for u in log.user_positions], dtype=np.int64)
    movie_ids = np.array([int(ids[p]) for p in log.item_positions], dtype=np.int64)
    # ratings.csv row order (by user, then movie id): the order LlamaRec's set is built in
    row_order = np.lexsort((movie_ids, user_ids))
    keep = five_core(user_ids[row_order], movie_ids[row_order], MIN_USER_INTERACTIONS, MIN_ITEM_INTERACTIONS)
    rows = row_order[keep]
    order = llamarec_item_order([int(m) for m in movie_ids[rows]])
    number = {m: i for i, m in enumerate(order)}  # LlamaRec's item number minus one
    catalog = Catalog([full.catalog.get(str(m)) for m in order], name=CATALOG_NAME)
    positions = np.array([number[int(m)] for m in movie_ids[rows]], dtype=np.int64)
    users, times = user_ids[rows], log.timestamps[rows]
    by_user_time = np.lexsort((positions, times, users))
    rows, positions, users, times = (
        rows[by_user_time],
        positions[by_user_time],
        users[by_user_time],
        times[by_user_time],
    )
    filtered = InteractionLog(catalog, [str(u) for u in users], positions, log.values[rows], times)
    return Dataset(catalog, filtered, Path(folder))


class LlamaRecMovieLensProtocol(Protocol):
    """``load`` returns the bundled ml-latest-small, 5-core and renumbered as LlamaRec does."""

    def load(self, shared_data: Path) -> Dataset:  # noqa: ARG002 (the data is bundled)
        return load_ml_latest_small_5core()


ML_LATEST_SMALL_LOO = LlamaRecMovieLensProtocol(
    "ml-latest-small-loo",
    "MovieLens ml-latest-small preprocessed as LlamaRec's 'ML-100k' (every rating an interaction, 5-core users "
    "and items: 610 users, 3,650 items, 90,274 interactions; items renumbered as LlamaRec does), leave-one-out "
    "by timestamp (ties by LlamaRec's item number), retrievers fitted on the training part for both stages "
    "(the validation item is only input at test time), input capped at the latest 200 items, full ranking "
    "with the input excluded (the LlamaRec protocol)",
    "bundled",
    anchors={  # the LlamaRec paper (Yue et al., 2023), its "ML-100k" column (= this data), full ranking
        "LlamaRec": {"ndcg@10": 0.0759, "recall@10": 0.1524},
        "LRURec": {"ndcg@10": 0.0705, "recall@10": 0.1426},
        "SASRec": {"ndcg@10": 0.0522, "recall@10": 0.0993},
    },
    max_history=MAX_HISTORY,
    fit_on_train=True,
)
