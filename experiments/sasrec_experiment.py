"""SASRec (or GRU4Rec) with full-softmax cross-entropy on ml-latest-small-loo, VALIDATION only.

The "SASRec+" recipe of Klenitskiy & Vasilev (RecSys 2023): every position predicts the next item, with
cross-entropy over the whole catalog (tied item embeddings). Plain torch on CPU. Trained on the protocol's
training part; each user's last TRAINING item is held out for early stopping (the model trains on the items
before it), so no validation target is seen while training. Reports the model alone on the validation
targets (input: the latest 200 training items, those excluded), then the hybrid with the model as an extra
RRF source over the hybrid's own per-source lists (``tune_fusion.source_ranks`` /
``fused_rank``, the default fusion settings), a small grid of its weight and rrf_k.

    taskset -c 1 .venv/bin/python experiments/sasrec_experiment.py --dropout 0.2 --lr 2e-3 --out /tmp/sasrec.json
    taskset -c 1 .venv/bin/python experiments/sasrec_experiment.py --model gru --dropout 0.3 --lr 2e-3

Results: experiments/results/ml-latest-small-loo-experiments-2026-12-01.md. One core: about 14 s an epoch (SASRec) or
11 s (GRU4Rec), 10-15 min a run; call with ``taskset -c N`` (torch is set to one thread).
"""

from __future__ import annotations

import argparse
import itertools
import json
import math
import time

import numpy as np
import torch
from torch import nn
from tune_fusion import fused_rank, ndcg_recall, source_ranks

from recagent.evals.protocols import get_protocol
from recagent.evals.retrievers import RetrieverBench, RetrieverVariant
from recagent.retrieval.base import RetrievalQuery
from recagent.retrieval.embeddings import Embedder
from recagent.retrieval.itemitem import Sequences
from recagent.settings import Settings


class SASRec(nn.Module):
    def __init__(self, n_items: int, max_len: int, hidden: int, blocks: int, heads: int, dropout: float):
        super().__init__()
        self.heads = heads
        self.item = nn.Embedding(n_items + 1, hidden, padding_idx=0)
        self.pos = nn.Embedding(max_len, hidden)
        self.drop = nn.Dropout(dropout)
        layer = nn.TransformerEncoderLayer(
            hidden, heads, hidden, dropout, batch_first=True, norm_first=True, activation="gelu"
        )
        self.encoder = nn.TransformerEncoder(layer, blocks, enable_nested_tensor=False)
        self.norm = nn.LayerNorm(hidden)
        self.scale = math.sqrt(hidden)
        nn.init.normal_(self.item.weight, std=hidden**-0.5)  # unit-norm items: logits of order 1 at the start
        nn.init.normal_(self.pos.weight, std=1.0)
        with torch.no_grad():
            self.item.weight[0].zero_()

    def forward(self, seq: torch.Tensor) -> torch.Tensor:
        """Hidden states (B, L, H) of left-padded sequences (0 = padding)."""
        b, length = seq.shape
        x = self.item(seq) * self.scale + self.pos(
            torch.arange(self.pos.num_embeddings - length, self.pos.num_embeddings)
        )
        x = self.drop(x * (seq > 0).unsqueeze(-1))
        causal = torch.ones(length, length, dtype=torch.bool).tril()
        allowed = causal & (seq > 0).unsqueeze(1)  # (B, L, L): keys that are items, at or before the query
        allowed = allowed | torch.eye(length, dtype=torch.bool)  # every row keeps itself (no empty softmax)
        mask = torch.zeros(b, length, length).masked_fill(~allowed, float("-inf"))
        mask = mask.repeat_interleave(self.heads, dim=0)
        return self.norm(self.encoder(x, mask=mask))

    def logits(self, h: torch.Tensor) -> torch.Tensor:
        return h @ self.item.weight[1:].T


class GRU4Rec(nn.Module):
    """GRU4Rec with the same full-softmax head (tied item embeddings)."""

    def __init__(self, n_items: int, max_len: int, hidden: int, blocks: int, heads: int, dropout: float):
        super().__init__()
        self.item = nn.Embedding(n_items + 1, hidden, padding_idx=0)
        nn.init.normal_(self.item.weight, std=hidden**-0.5)
        with torch.no_grad():
            self.item.weight[0].zero_()
        self.drop = nn.Dropout(dropout)
        self.gru = nn.GRU(hidden, hidden, num_layers=1, batch_first=True)
        self.out = nn.Linear(hidden, hidden)

    def forward(self, seq: torch.Tensor) -> torch.Tensor:
        h, _ = self.gru(self.drop(self.item(seq)))
        return self.out(self.drop(h))

    def logits(self, h: torch.Tensor) -> torch.Tensor:
        return h @ self.item.weight[1:].T


MODELS = {"sasrec": SASRec, "gru": GRU4Rec}


def left_pad(seqs: list[np.ndarray], length: int) -> torch.Tensor:
    out = np.zeros((len(seqs), length), dtype=np.int64)
    for i, s in enumerate(seqs):
        s = s[-length:]
        if len(s):
            out[i, -len(s) :] = s
    return torch.from_numpy(out)


def windows(seqs: list[np.ndarray], max_len: int) -> list[np.ndarray]:
    """Training windows of max_len + 1 items (inputs and shifted targets), cut from each sequence's end."""
    out = []
    for s in seqs:
        end = len(s)
        while end >= 2:
            out.append(s[max(0, end - max_len - 1) : end])
            end -= max_len
    return out


@torch.no_grad()
def score_last(model: SASRec, inputs: list[np.ndarray], max_len: int, batch: int = 256) -> np.ndarray:
    """Scores (n, n_items) of each input's next item; input items excluded (-inf)."""
    model.eval()
    outs = []
    for i in range(0, len(inputs), batch):
        chunk = inputs[i : i + batch]
        h = model(left_pad(chunk, max_len))[:, -1]
        sc = model.logits(h)
        for j, s in enumerate(chunk):
            sc[j, torch.from_numpy(s[-max_len:] - 1)] = -float("inf")
        outs.append(sc.numpy())
    return np.concatenate(outs)


def ranks_of(scores: np.ndarray, targets: np.ndarray) -> list[int]:
    t = scores[np.arange(len(targets)), targets]
    return ((scores > t[:, None]).sum(1) + 1).tolist()  # ties count for the target here


def train(seqs: list[np.ndarray], n_items: int, args, holdout: np.ndarray | None, log) -> tuple[SASRec, dict]:
    """Train on ``seqs`` (item numbers 1..n); early-stop on ``holdout`` (each seq's next item) when given."""
    torch.manual_seed(args.seed)
    rng = np.random.default_rng(args.seed)
    model = MODELS[args.model](n_items, args.max_len, args.hidden, args.blocks, args.heads, args.dropout)
    opt = torch.optim.Adam(model.parameters(), lr=args.lr)
    data = windows(seqs, args.max_len)
    best, best_epoch, best_state, history = -1.0, 0, None, []
    t0 = time.perf_counter()
    for epoch in range(1, args.epochs + 1):
        model.train()
        total, count = 0.0, 0
        # batches of similar lengths (padded to their longest), in random order
        by_len = sorted(rng.permutation(len(data)), key=lambda j: len(data[j]))
        batches = [by_len[i : i + args.batch] for i in range(0, len(by_len), args.batch)]
        for b in rng.permutation(len(batches)):
            chunk = [data[j] for j in batches[b]]
            batch = left_pad(chunk, max(len(s) for s in chunk))
            inp, tgt = batch[:, :-1], batch[:, 1:]
            h = model(inp)
            keep = tgt > 0
            loss = nn.functional.cross_entropy(model.logits(h[keep]), tgt[keep] - 1)
            opt.zero_grad()
            loss.backward()
            opt.step()
            total += loss.item() * int(keep.sum())
            count += int(keep.sum())
        row = {"epoch": epoch, "loss": round(total / count, 4), "seconds": round(time.perf_counter() - t0, 1)}
        if holdout is not None:
            nd, rc = ndcg_recall(ranks_of(score_last(model, seqs, args.max_len), holdout - 1))
            row.update({"holdout_ndcg@10": round(nd, 4), "holdout_recall@10": round(rc, 4)})
            if nd > best:
                best, best_epoch = nd, epoch
                best_state = {k: v.clone() for k, v in model.state_dict().items()}
        history.append(row)
        log(row)
        if holdout is not None and epoch - best_epoch >= args.patience:
            break
    if best_state is not None:
        model.load_state_dict(best_state)
    return model, {
        "best_epoch": best_epoch,
        "best_holdout_ndcg@10": best,
        "history": history,
        "train_seconds": round(time.perf_counter() - t0, 1),
    }


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--model", choices=sorted(MODELS), default="sasrec")
    ap.add_argument("--max-len", type=int, default=200)
    ap.add_argument("--hidden", type=int, default=64)
    ap.add_argument("--blocks", type=int, default=2)
    ap.add_argument("--heads", type=int, default=1)
    ap.add_argument("--dropout", type=float, default=0.3)
    ap.add_argument("--lr", type=float, default=1e-3)
    ap.add_argument("--batch", type=int, default=64)
    ap.add_argument("--epochs", type=int, default=200)
    ap.add_argument("--patience", type=int, default=10)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--no-fusion", action="store_true")
    ap.add_argument("--out", default=None)
    ap.add_argument("--save", default=None, help="save the trained weights here")
    ap.add_argument("--load", default=None, help="load trained weights instead of training")
    args = ap.parse_args()
    torch.set_num_threads(1)

    settings = Settings()
    protocol = get_protocol("ml-latest-small-loo")
    split = protocol.split(protocol.load(settings.shared_data))
    embedder = Embedder(settings.embedding_model, settings.embedding_batch_size)
    bench = RetrieverBench(split, "valid", settings.data_dir / "evals", embedder, show_progress=False)
    users = sorted(bench.targets)
    n_items = len(bench.catalog)
    train_seqs = Sequences(bench.fit_log)
    inputs = Sequences(bench.log)  # validation input: the latest 200 training items

    # early stopping on each user's last TRAINING item (the model trains on the items before it)
    seqs = [train_seqs.of(u) + 1 for u in users]
    fit_seqs, holdout = [s[:-1] for s in seqs], np.array([s[-1] for s in seqs])
    if args.load:
        model = MODELS[args.model](n_items, args.max_len, args.hidden, args.blocks, args.heads, args.dropout)
        model.load_state_dict(torch.load(args.load))
        info = {"loaded": args.load, "train_seconds": 0, "best_epoch": None}
    else:
        model, info = train(fit_seqs, n_items, args, holdout, lambda r: print(r, flush=True))
    if args.save:
        torch.save(model.state_dict(), args.save)
    print(f"trained {info['train_seconds']} s, best epoch {info['best_epoch']}", flush=True)

    val_inputs = [inputs.of(u) + 1 for u in users]
    targets = np.array([bench.targets[u] for u in users])
    scores = score_last(model, val_inputs, args.max_len)
    alone = ndcg_recall(ranks_of(scores, targets))
    print(f"{args.model} alone on validation: NDCG@10 {alone[0]:.4f} Recall@10 {alone[1]:.4f}", flush=True)
    result = {
        "args": vars(args),
        **info,
        "valid_alone": {"ndcg@10": round(alone[0], 4), "recall@10": round(alone[1], 4)},
    }

    if not args.no_fusion:
        variant = RetrieverVariant(name="hybrid", retriever="hybrid")
        lists = source_ranks(bench, variant, users, False)
        hybrid = bench.hybrid(variant)
        for i, u in enumerate(users):  # SASRec's top 100 with the hybrid's own exclusions
            sc = scores[i].copy()
            sc[hybrid.seen_positions(RetrievalQuery(user_id=u))] = -np.inf
            top = np.argsort(-sc, kind="stable")[: hybrid.fusion.per_source]
            lists[u]["sasrec"] = top
        f = hybrid.fusion
        base = {
            "vector": f.vector_weight,
            "mf": f.mf_weight,
            "ease": f.ease_weight,
            "sequential": f.sequential_weight,
            "popularity": f.popularity_weight,
        }
        rows = []
        for rrf_k, w in itertools.product([5.0, 10.0, 20.0], [0.0, 0.25, 0.5, 0.75, 1.0, 1.5, 2.0]):
            weights = {**base, "sasrec": w}
            nd, rc = ndcg_recall([fused_rank(lists[u], bench.targets[u], weights, rrf_k) for u in users])
            rows.append({"rrf_k": rrf_k, "sasrec": w, "ndcg@10": round(nd, 4), "recall@10": round(rc, 4)})
            print(rows[-1], flush=True)
        result["fusion"] = rows
    if args.out:
        with open(args.out, "w") as fh:
            json.dump(result, fh, indent=2)


if __name__ == "__main__":
    main()
