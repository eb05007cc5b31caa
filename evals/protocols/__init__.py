"""Named, documented, seeded evaluation protocols, and where their data comes from."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from recagent.errors import ConfigError, UserError
from recagent.evals.protocols.loo import LooSplit, split_leave_one_out
from recagent.retrieval.loaders import Dataset, load_dataset


class DatasetMissing(UserError):
    """The protocol's dataset is not on this machine: a skip with a reason, not a crash."""

    code = "dataset_missing"


LOO_METRICS = ["recall@5", "recall@10", "recall@20", "ndcg@5", "ndcg@10", "ndcg@20", "mrr@10"]


@dataclass(frozen=True)
class Protocol:
    name: str
    description: str
    dataset: str  # 'bundled' or a folder under the shared data dir
    anchors: dict[str, dict[str, float]] = field(default_factory=dict)  # published results, by system
    kind: str = "loo"  # which runner evaluates it (evals/runs.py): loo, sampled, conversational, redial-chat
    metrics: list[str] = field(default_factory=lambda: list(LOO_METRICS))  # reported unless a config says otherwise
    users: int | None = None  # the protocol's seeded user sample (None: every user)
    candidates: int = 20  # sampled protocols: the target plus this many minus one random unseen items
    max_history: int | None = None  # loo: a user's input is at most their latest this many items
    fit_on_train: bool = False  # loo: the test stage's models are fitted on train too (validation item: input only)

    def split(self, dataset: Dataset) -> LooSplit:
        return split_leave_one_out(dataset.interactions, self.max_history, self.fit_on_train)

    def load(self, shared_data: Path) -> Dataset:
        if self.dataset == "bundled":
            return load_dataset("bundled")
        path = Path(shared_data) / self.dataset
        if not path.exists():
            raise DatasetMissing(f"protocol {self.name} needs {path}, which is absent; skipped")
        return load_dataset(path)


PROTOCOLS: dict[str, Protocol] = {
    p.name: p
    for p in (
        Protocol(
            "ml100k-loo",
            "MovieLens 100K (943 users, 1,682 items), leave-one-out by timestamp (ties by item id), full "
            "ranking, history excluded; the test stage's models are fitted on train plus validation. Our own "
            "benchmark: LlamaRec's 'ML-100k' figures are on ml-latest-small (see ml-latest-small-loo)",
            "ml-100k",
        ),
        Protocol(
            "ml100k-sampled20",
            "MovieLens 100K, LLMRank-style: 200 seeded users, each ranks 20 candidates (the leave-one-out test "
            "item and 19 random items the user never rated, seeded per user), NDCG@1/5/10; LLM variants see the "
            "candidates with the target placed at each configured position (position bias)",
            "ml-100k",
            kind="sampled",
            metrics=["ndcg@1", "ndcg@5", "ndcg@10"],
            users=200,
            candidates=20,
        ),
        Protocol(
            "demo",
            "ml-latest-small (the bundled catalog), the same leave-one-out protocol: small and fast, for CI",
            "bundled",
        ),
    )
}


from recagent.evals.protocols.ml_latest_small import ML_LATEST_SMALL_LOO  # noqa: E402 (subclasses Protocol)
from recagent.evals.protocols.redial import REDIAL  # noqa: E402 (it subclasses Protocol, defined above)

PROTOCOLS[ML_LATEST_SMALL_LOO.name] = ML_LATEST_SMALL_LOO
PROTOCOLS[REDIAL.name] = REDIAL

from recagent.evals.protocols.redial_chat import REDIAL_CHAT  # noqa: E402

PROTOCOLS[REDIAL_CHAT.name] = REDIAL_CHAT


def get_protocol(name: str) -> Protocol:
    try:
        return PROTOCOLS[name]
    except KeyError:
        raise ConfigError(f"unknown protocol {name!r} (known: {', '.join(PROTOCOLS)})") from None
