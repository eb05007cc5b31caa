"""Leave-one-out by timestamp, full ranking (the LlamaRec protocol on MovieLens 100K).

Every rating counts as an interaction. Each user's interactions are sorted by time;
the last item is the test target, the second-to-last the validation target, the rest
is training. Models are fitted on the training part only. At test time the user's
history is training plus the validation item (as in LlamaRec); at validation time
it is training only. The whole catalog is ranked, the history excluded. Users with
fewer than three interactions are skipped (no training item would remain).
Ties in time (ML-100K users often rate many items in the same second) are broken by
item id, as LlamaRec's preprocessing does (``sort_values(by=['timestamp', 'sid'])``):
the split, and so every figure, depends on it.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from recagent.retrieval.catalog import InteractionLog


@dataclass(frozen=True)
class LooSplit:
    train: InteractionLog
    train_valid: InteractionLog  # everything but the test targets: what models see for the test stage
    valid: dict[str, int]  # user -> catalog position of the validation target
    test: dict[str, int]  # user -> catalog position of the test target

    def stage(self, name: str) -> tuple[InteractionLog, dict[str, int]]:
        """(what the models are fitted on, the targets) for 'valid' or 'test'."""
        if name == "valid":
            return self.train, self.valid
        if name == "test":
            return self.train_valid, self.test
        raise ValueError(f"unknown stage {name!r}: 'valid' or 'test'")

    def history(self, user: str, stage: str) -> np.ndarray:
        """Positions the user has seen before the target of ``stage`` ('valid' or 'test')."""
        seen = self.train.seen_positions(user)
        return np.append(seen, self.valid[user]) if stage == "test" else seen


def split_leave_one_out(log: InteractionLog) -> LooSplit:
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

    return LooSplit(subset(keep), subset(keep_tv), valid, test)
