"""Train the SHIPPED learned reader (agent/reading/data/reader.npz): span-role classifiers for years and genres.

    nice -n 5 .venv/bin/python scripts/train_reader.py            # ~5 min on 2 cores; writes the model
    nice -n 5 .venv/bin/python scripts/train_reader.py --out /tmp/r.npz --n 2000   # a quick run elsewhere

Data: ``scripts/reader_training_data.py`` (generated messages, seed ``--seed``; titles from the bundled catalog) plus
the labelled ReDial utterances ``evals/data/understanding/labels.jsonl`` (weight ``--redial-weight``). Never
``heldout.jsonl`` or any other held-out set. Each message is parsed (with the catalog's title spotter), its
candidate spans found (:func:`recagent.agent.reading.learned.candidate_spans`), and each span labelled from the
message's gold reading: a genre by where the gold puts it (hard genres -> only, exclude -> exclude, soft liked /
disliked -> like / dislike, else none), a year span ``hard`` when its window is the gold's bounds.

Two routes are fitted and compared on a generated dev set (another seed): (b) MiniLM window embedding + span
features, the shipped one; (c) the span features alone (hashed words, cue flags, the parser's reading). The
classifier is softmax regression fitted by full-batch Adam in numpy (seeded, deterministic).
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import sys
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "scripts"))

from reader_training_data import generate  # noqa: E402

from recagent.agent.reading.learned import (  # noqa: E402
    GENRE_ROLES,
    MODEL_PATH,
    YEAR_ROLES,
    LearnedReader,
    SpanModel,
    candidate_spans,
    marked_window,
    span_features,
)
from recagent.agent.reading.parser import parse_message  # noqa: E402

LABELS = ROOT / "evals" / "data" / "understanding" / "labels.jsonl"


def span_label(span, gold: dict) -> str:
    hard, soft = gold["hard"], gold["soft"]
    if span.kind == "genre":
        g = span.genre
        if g in hard["genres"]:
            return "only"
        if g in hard["exclude_genres"]:
            return "exclude"
        if g in soft["liked_genres"]:
            return "like"
        if g in soft["disliked_genres"]:
            return "dislike"
        return "none"
    lo, hi = hard["year_min"], hard["year_max"]
    if span.lo is None and span.hi is None:
        return "none"
    ok_lo = span.lo is None or span.lo == lo
    ok_hi = span.hi is None or span.hi == hi
    return "hard" if ok_lo and ok_hi else "none"


def rows(messages: list[dict], vocab, spot, embed, weight: float = 1.0):
    """Per kind: (cheap features, windows, labels, weights, message index)."""
    out = {k: {"x": [], "win": [], "y": [], "w": [], "msg": []} for k in ("year", "genre")}
    for i, m in enumerate(messages):
        parsed = parse_message(m["text"], vocab, spot)
        spans = candidate_spans(m["text"], parsed, vocab)
        for sp in spans:
            d = out[sp.kind]
            d["x"].append(span_features(m["text"], sp, parsed, spans))
            d["win"].append(marked_window(m["text"], sp))
            roles = YEAR_ROLES if sp.kind == "year" else GENRE_ROLES
            d["y"].append(roles.index(span_label(sp, m)))
            d["w"].append(weight)
            d["msg"].append(i)
    for d in out.values():
        d["x"] = np.stack(d["x"]) if d["x"] else np.zeros((0, 1), np.float32)
        d["e"] = embed(d["win"]) if d["win"] else np.zeros((0, 384), np.float32)
        d["y"], d["w"], d["msg"] = np.array(d["y"]), np.array(d["w"], np.float32), np.array(d["msg"])
    return out


def fit(x: np.ndarray, y: np.ndarray, w: np.ndarray, k: int, seed: int, l2: float = 1e-4, steps: int = 400):
    """Softmax regression by full-batch Adam: (weights, bias, mean, scale)."""
    rng = np.random.default_rng(seed)
    mu = x.mean(0)
    sd = np.maximum(x.std(0), 0.1)
    z = (x - mu) / sd
    W = rng.normal(0, 0.01, (x.shape[1], k)).astype(np.float32)
    b = np.zeros(k, np.float32)
    Y = np.eye(k, dtype=np.float32)[y]
    wn = w / w.sum()
    mW = vW = np.zeros_like(W)
    mb = vb = np.zeros_like(b)
    lr, b1, b2 = 0.02, 0.9, 0.999
    for t in range(1, steps + 1):
        logits = z @ W + b
        logits -= logits.max(1, keepdims=True)
        p = np.exp(logits)
        p /= p.sum(1, keepdims=True)
        g = (p - Y) * wn[:, None]
        gW = z.T @ g + l2 * W
        gb = g.sum(0)
        mW, vW = b1 * mW + (1 - b1) * gW, b2 * vW + (1 - b2) * gW * gW
        mb, vb = b1 * mb + (1 - b1) * gb, b2 * vb + (1 - b2) * gb * gb
        W -= lr * (mW / (1 - b1**t)) / (np.sqrt(vW / (1 - b2**t)) + 1e-8)
        b -= lr * (mb / (1 - b1**t)) / (np.sqrt(vb / (1 - b2**t)) + 1e-8)
    return W.astype(np.float32), b.astype(np.float32), mu.astype(np.float32), sd.astype(np.float32)


def model_for(data, use_embedding: bool, genres: list[str], seed: int) -> SpanModel:
    weights = {}
    for kind, roles in (("year", YEAR_ROLES), ("genre", GENRE_ROLES)):
        d = data[kind]
        x = np.hstack([d["e"], d["x"]]) if use_embedding else d["x"]
        W, b, mu, sd = fit(x, d["y"], d["w"], len(roles), seed)
        weights |= {f"{kind}_w": W, f"{kind}_b": b, f"{kind}_mu": mu, f"{kind}_sd": sd}
    return SpanModel(weights, genres, use_embedding)


def message_scores(model: SpanModel, data, messages: list[dict], vocab, spot) -> dict:
    """Span accuracy, and message-level hard exact match / invented hard on the given messages."""
    reader = LearnedReader(model, vocab, None)
    probs = {}
    for kind in ("year", "genre"):
        d = data[kind]
        if len(d["y"]):
            x = np.hstack([d["e"], d["x"]]) if model.use_embedding else d["x"]
            probs[kind] = model.proba(kind, x)
    acc = {k: float((probs[k].argmax(1) == data[k]["y"]).mean()) for k in probs}
    by_msg: dict[int, list] = {}
    for kind, roles in (("year", YEAR_ROLES), ("genre", GENRE_ROLES)):
        for j, i in enumerate(data[kind]["msg"]):
            by_msg.setdefault(int(i), []).append((kind, j, roles))
    exact = stated = invented = negatives = 0
    for i, m in enumerate(messages):
        parsed = parse_message(m["text"], vocab, spot)
        spans = candidate_spans(m["text"], parsed, vocab)
        counters = {"year": 0, "genre": 0}
        idx = {k: [j for kk, j, _ in by_msg.get(i, []) if kk == k] for k in ("year", "genre")}
        roles = []
        for sp in spans:
            j = idx[sp.kind][counters[sp.kind]]
            counters[sp.kind] += 1
            p = probs[sp.kind][j]
            names = YEAR_ROLES if sp.kind == "year" else GENRE_ROLES
            roles.append((sp, names[int(p.argmax())], float(p.max())))
        u = reader.assemble(parsed, roles)
        pred = {
            ("genres", c.value) if c.kind == "genre" else ("exclude_genres", c.value) if c.kind == "exclude_genre"
            else (c.kind, c.value) for c in u.hard
        }  # fmt: skip
        h = m["hard"]
        gold = {("genres", g) for g in h["genres"]} | {("exclude_genres", g) for g in h["exclude_genres"]}
        gold |= {(k, h[k]) for k in ("year_min", "year_max") if h[k] is not None}
        if gold:
            stated += 1
            exact += pred == gold
        else:
            negatives += 1
            invented += bool(pred)
    return {
        "span_accuracy": {k: round(v, 4) for k, v in acc.items()},
        "hard_exact": f"{exact}/{stated}",
        "invented_hard": f"{invented}/{negatives}",
    }


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--seed", type=int, default=19)
    ap.add_argument("--n", type=int, default=6000, help="generated training messages")
    ap.add_argument("--dev", type=int, default=1500, help="generated dev messages (seed + 1)")
    ap.add_argument("--redial-weight", type=float, default=3.0)
    ap.add_argument("--out", type=Path, default=MODEL_PATH)
    ap.add_argument("--today", type=int, default=dt.date.today().year, help="this year, for 'the last N years'")
    args = ap.parse_args()
    t0 = time.perf_counter()

    from recagent.recommender import Recommender
    from recagent.settings import Settings

    rec = Recommender(Settings())
    vocab = [g for g in rec.catalog.genre_vocab if g != "(no genres listed)"]
    spot = rec.resolver.spot
    embedder = rec.embedder
    titles = sorted({item.title.rsplit(" (", 1)[0] for item in rec.catalog})
    titles = [t for t in titles if ", The" not in t and len(t) < 30 and t.isascii()]

    train = generate(args.n, args.seed, vocab, titles, args.today)
    dev = generate(args.dev, args.seed + 1, vocab, titles, args.today)
    dev_texts = {m["text"] for m in dev}
    train = [m for m in train if m["text"] not in dev_texts]
    redial = [json.loads(line) for line in LABELS.read_text().splitlines() if line.strip()]
    print(
        f"{len(train)} generated + {len(redial)} ReDial training messages, {len(dev)} dev; {time.perf_counter() - t0:.0f} s"
    )

    tr = rows(train, vocab, spot, embedder.embed)
    rd = rows(redial, vocab, spot, embedder.embed, args.redial_weight)
    data = {k: {f: np.concatenate([tr[k][f], rd[k][f]]) for f in ("x", "e", "y", "w")} for k in ("year", "genre")}
    dv = rows(dev, vocab, spot, embedder.embed)
    print(
        "spans: "
        + ", ".join(f"{k} {len(data[k]['y'])} ({np.bincount(data[k]['y']).tolist()})" for k in data)
        + f"; {time.perf_counter() - t0:.0f} s"
    )

    report = {}
    for name, use_emb in (("c: span features only", False), ("b: MiniLM + span features", True)):
        model = model_for(data, use_emb, vocab, args.seed)
        report[name] = {
            "dev (generated, seed+1)": message_scores(model, dv, dev, vocab, spot),
            "labels.jsonl (in-sample)": message_scores(model, rd, redial, vocab, spot),
        }
        print(name, json.dumps(report[name]), f"{time.perf_counter() - t0:.0f} s")
    model.save(args.out)
    back = SpanModel.load(args.out)
    assert all(np.array_equal(back.weights[k], model.weights[k]) for k in model.weights)
    print(f"wrote {args.out} ({args.out.stat().st_size // 1024} KiB) in {time.perf_counter() - t0:.0f} s")


if __name__ == "__main__":
    main()
