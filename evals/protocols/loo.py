"""Leave-one-out by timestamp, full ranking (ml100k-loo, demo; ml-latest-small-loo with two options).

Every rating counts as an interaction. Each user's interactions are sorted by time;
the last item is the test target, the second-to-last the validation target, the rest
is training. Models are fitted on the training part only. At test time the user's
history is training plus the validation item (as in LlamaRec); at validation time
it is training only. The whole catalog is ranked, the history excluded. Users with
fewer than three interactions are skipped (no training item would remain).
Ties in time (ML-100K users often rate many items in the same second) are broken by
item id, as LlamaRec's preprocessing does (``sort_values(by=['timestamp', 'sid'])``):
the split, and so every figure, depends on it.

Two options serve ml-latest-small-loo (LlamaRec's own preprocessing, evals/protocols/ml_latest_small.py):
``fit_on_train`` fits the models on the training part for the test stage too (the validation item is
then only input), and ``max_history`` caps each user's input at their latest items. A stage's
``inputs`` are what a user is made of at query time (and what is excluded from their ranking);
without the options they are the log the models were fitted on.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from recagent.retrieval.catalog import InteractionLog


@dataclass(frozen=True)
class LooSplit:
    train: InteractionLog
    train_valid: InteractionLog  # everything but the test targets: what models see for the test stage
    valid: dict[str, int]  # user -> catalog position of the validation target
    test: dict[str, int]  # user -> catalog position of the test target
    fit_on_train: bool = False  # the test stage's models are fitted on train too (the validation item is input)
    input_logs: dict[str, InteractionLog] = field(default_factory=dict)  # stage -> users' inputs, when they differ

    def stage(self, name: str) -> tuple[InteractionLog, dict[str, int]]:
        """(what the models are fitted on, the targets) for 'valid' or 'test'."""
        if name == "valid":
            return self.train, self.valid
        if name == "test":
            return (self.train if self.fit_on_train else self.train_valid), self.test
        raise ValueError(f"unknown stage {name!r}: 'valid' or 'test'")

    def inputs(self, name: str) -> InteractionLog:
        """Each user's input at query time for ``name``: train (valid) or train plus the validation item
        (test), capped at ``max_history`` latest items when the split has a cap."""
        if name in self.input_logs:
            return self.input_logs[name]
        if name not in ("valid", "test"):
            raise ValueError(f"unknown stage {name!r}: 'valid' or 'test'")
        return self.train if name == "valid" else self.train_valid

    def history(self, user: str, stage: str) -> np.ndarray:
        """Positions the user has seen before the target of ``stage`` ('valid' or 'test')."""
        seen = self.train.seen_positions(user)
        return np.append(seen, self.valid[user]) if stage == "test" else seen


def dataset_stats(log: InteractionLog) -> dict[str, int]:
    """Users, items (the catalog ranked) and interactions of a protocol's dataset."""
    return {"users": log.n_users, "items": len(log.catalog), "interactions": len(log)}


def cap_history(log: InteractionLog, max_items: int | None) -> InteractionLog:
    """Each user's last ``max_items`` interactions (by time, ties by catalog position); all when None."""
    if max_items is None:
        return log
    order = np.lexsort((log.item_positions, log.timestamps, log.user_positions))
    users = log.user_positions[order]
    ends = np.searchsorted(users, users, side="right")
    from_end = ends - np.arange(len(order))  # 1 for each user's latest interaction
    idx = np.sort(order[from_end <= max_items])
    return InteractionLog(
        log.catalog,
        [log.users[u] for u in log.user_positions[idx]],
        log.item_positions[idx],
        log.values[idx],
        log.timestamps[idx],
    )


def split_leave_one_out(log: InteractionLog, max_history: int | None = None, fit_on_train: bool = False) -> LooSplit:
    order = np.lexsort((log.item_positions, log.timestamps, log.user_positions))
    users_sorted = log.user_positions[order]
    bounds = np.flatnonzero(np.diff(users_sorted)) + 1
    keep = np.ones(len(log), dtype=bool)
    keep_tv = np.ones(len(log), dtype=bool)
    valid, test = {}, {}
    for group in np.split(order, bounds):
        if len(group) < 3:
            keep[group] = False
            keep_tv[group] = False
            continue
        user = log.users[log.user_positions[group[0]]]
        test[user] = int(log.item_positions[group[-1]])
        valid[user] = int(log.item_positions[group[-2]])
        keep[group[-2:]] = False
        keep_tv[group[-1]] = False

    def subset(mask: np.ndarray) -> InteractionLog:
        idx = np.flatnonzero(mask)
        users = [log.users[u] for u in log.user_positions[idx]]
        return InteractionLog(log.catalog, users, log.item_positions[idx], log.values[idx], log.timestamps[idx])

    train, train_valid = subset(keep), subset(keep_tv)
    inputs = {}
    if max_history is not None:
        inputs = {"valid": cap_history(train, max_history), "test": cap_history(train_valid, max_history)}
    return LooSplit(train, train_valid, valid, test, fit_on_train, inputs)
