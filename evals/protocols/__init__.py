"""Named, documented, seeded evaluation protocols, and where their data comes from."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from recagent.errors import RecagentError
from recagent.retrieval.loaders import Dataset, load_dataset


class DatasetMissing(RecagentError):
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
            "MovieLens 100K, leave-one-out by timestamp (ties by item id), full ranking, history excluded "
            "(the LlamaRec protocol)",
            "ml-100k",
            anchors={
                "LlamaRec": {"ndcg@10": 0.0759, "recall@10": 0.1524},
                "LRURec": {"ndcg@10": 0.0705, "recall@10": 0.1426},
                "SASRec": {"ndcg@10": 0.0522, "recall@10": 0.0993},
            },
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


from recagent.evals.protocols.redial import REDIAL  # noqa: E402 (it subclasses Protocol, defined above)

PROTOCOLS[REDIAL.name] = REDIAL

from recagent.evals.protocols.redial_chat import REDIAL_CHAT  # noqa: E402

PROTOCOLS[REDIAL_CHAT.name] = REDIAL_CHAT


def get_protocol(name: str) -> Protocol:
    try:
        return PROTOCOLS[name]
    except KeyError:
        raise RecagentError(f"unknown protocol {name!r} (known: {', '.join(PROTOCOLS)})") from None
