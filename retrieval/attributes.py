"""Item attributes for critiques: violence, darkness, humor, scariness, family, recency, popularity.

Each attribute is one number per catalog item, standardised over the catalog (mean 0, standard
deviation 1, clipped to ``[-CLIP, CLIP]``), so that a critique ("less violent": violence, -1) moves
every attribute by a comparable amount. They come only from what the catalog itself has:

* **genres**: a prior weight per genre and attribute (Horror is scary, Children is family, War and
  Crime are violent), half averaged over the item's genres, half its strongest signals;
* **tags**: the item's frequent user tags ("violent", "dark comedy", "feel-good", "gore"), matched
  against a small keyword table, where the catalog has tags;
* **embeddings**: the cosine of the item's MiniLM vector (from the vector store) to a positive minus a
  negative prototype phrase ("a violent film full of shootouts..." vs "a gentle, peaceful film");
* **recency**: the release year; **popularity**: log interaction count.

Nothing else (no TMDB keywords, which the critique probes use as held-out judges). The arrays are
cached per (catalog, embedding model, log, recipe version) like the ALS model (``fit_or_load``).
"""

from __future__ import annotations

import hashlib
from pathlib import Path
from typing import get_args

import numpy as np

from recagent.retrieval.base import CritiqueAttribute
from recagent.retrieval.catalog import Catalog, InteractionLog

ATTRIBUTES: tuple[str, ...] = get_args(CritiqueAttribute)
RECIPE_VERSION = "2"  # bump when the tables or the mixing below change: cached arrays are then rebuilt
CLIP = 3.0
GENRE_WEIGHT, TAG_WEIGHT, EMBEDDING_WEIGHT = 1.0, 0.6, 0.35

# attribute -> genre (ml-latest-small vocabulary) -> prior weight in [-1, 1]; other genres count 0
GENRE_PRIORS: dict[str, dict[str, float]] = {
    "violence": {
        "Action": 1.0, "War": 1.0, "Crime": 0.6, "Horror": 0.8, "Thriller": 0.5, "Western": 0.6,
        "Children": -1.0, "Animation": -0.6, "Musical": -0.8, "Romance": -0.5, "Comedy": -0.4,
        "Documentary": -0.4, "Drama": -0.1,
    },
    "darkness": {
        "Film-Noir": 1.0, "Horror": 0.8, "War": 0.7, "Crime": 0.6, "Thriller": 0.6, "Mystery": 0.4, "Drama": 0.3,
        "Children": -1.0, "Comedy": -0.7, "Animation": -0.7, "Musical": -0.7, "Romance": -0.4,
        "Fantasy": -0.2, "Adventure": -0.2,
    },
    "humor": {
        "Comedy": 1.0, "Animation": 0.3, "Children": 0.3, "Musical": 0.1,
        "War": -0.5, "Drama": -0.4, "Thriller": -0.4, "Horror": -0.3, "Documentary": -0.3, "Film-Noir": -0.3,
        "Crime": -0.2, "Mystery": -0.2,
    },
    "scariness": {
        "Horror": 1.0, "Thriller": 0.5, "Mystery": 0.2, "Sci-Fi": 0.1,
        "Children": -0.8, "Animation": -0.5, "Musical": -0.5, "Romance": -0.4, "Comedy": -0.3, "Documentary": -0.3,
    },
    "family": {
        "Children": 1.0, "Animation": 0.8, "Musical": 0.3, "Fantasy": 0.3, "Adventure": 0.3, "Comedy": 0.1,
        "Horror": -1.0, "Thriller": -0.6, "Crime": -0.5, "War": -0.5, "Film-Noir": -0.5, "Drama": -0.2,
    },
}

# attribute -> words or phrases found in a tag -> weight; an item's tag score is the clipped sum
TAG_KEYWORDS: dict[str, dict[str, float]] = {
    "violence": {
        "violen": 1.0, "gore": 1.0, "gory": 1.0, "brutal": 1.0, "bloody": 1.0, "blood": 0.6, "martial arts": 0.6,
        "serial killer": 0.7, "assassin": 0.6, "gangster": 0.5, "mafia": 0.5, "revenge": 0.4, "war": 0.4,
        "action": 0.4, "gun": 0.5, "torture": 1.0,
        "feel-good": -0.7, "feel good": -0.7, "heartwarming": -0.7, "cute": -0.5, "family": -0.5, "disney": -0.6,
        "pixar": -0.6, "romantic": -0.3,
    },
    "darkness": {
        "dark": 0.8, "disturbing": 1.0, "depressing": 1.0, "bleak": 0.9, "grim": 0.8, "gritty": 0.7, "noir": 0.7,
        "psychological": 0.5, "serial killer": 0.7, "suicide": 0.8, "holocaust": 0.8, "mental illness": 0.5,
        "feel-good": -1.0, "feel good": -1.0, "heartwarming": -1.0, "uplifting": -1.0, "lighthearted": -0.8,
        "light-hearted": -0.8, "funny": -0.5, "cute": -0.7, "whimsical": -0.6, "disney": -0.7, "pixar": -0.7,
    },
    "humor": {
        "funny": 1.0, "hilarious": 1.0, "humor": 0.9, "humour": 0.9, "comedy": 0.8, "satire": 0.7, "satirical": 0.7,
        "spoof": 0.9, "parody": 0.9, "witty": 0.8, "quirky": 0.5, "silly": 0.6, "goofy": 0.6,
        "depressing": -0.6, "disturbing": -0.5, "sad": -0.5, "bleak": -0.5,
    },
    "scariness": {
        "scary": 1.0, "horror": 0.8, "creepy": 0.9, "terrifying": 1.0, "frightening": 1.0, "gore": 0.6,
        "ghost": 0.6, "zombie": 0.7, "haunted": 0.8, "suspense": 0.4, "stephen king": 0.4, "tense": 0.3,
        "vampire": 0.6, "monster": 0.4, "demon": 0.7, "slasher": 1.0,
        "feel-good": -0.8, "cute": -0.8, "disney": -0.8, "pixar": -0.8, "heartwarming": -0.7,
    },
    "family": {
        "disney": 1.0, "pixar": 1.0, "family": 1.0, "kids": 1.0, "children": 0.8, "animation": 0.6, "animated": 0.6,
        "fairy tale": 0.6, "cute": 0.6, "heartwarming": 0.4,
        "violen": -0.8, "gore": -1.0, "sex": -0.8, "nudity": -1.0, "drugs": -0.7, "disturbing": -0.8,
        "dark": -0.4, "serial killer": -0.8,
    },
}

# attribute -> (positive prototype, negative prototype), compared with the items' MiniLM vectors
PROTOTYPES: dict[str, tuple[str, str]] = {
    "violence": (
        "a violent film full of shootouts, fights, killings and blood",
        "a gentle, peaceful film without any violence",
    ),
    "darkness": ("a dark, bleak, disturbing and grim film", "a light, cheerful, feel-good and uplifting film"),
    "humor": ("a hilarious comedy full of jokes and laughs", "a serious, solemn drama without humour"),
    "scariness": ("a terrifying horror film, scary and creepy", "a calm, cosy film with nothing scary in it"),
    "family": (
        "a family film for kids and children, animated, Disney",
        "an adult film with violence, sex and disturbing content",
    ),
}


def standardise(x: np.ndarray) -> np.ndarray:
    """Mean 0, standard deviation 1 (0 everywhere for a constant), clipped to [-CLIP, CLIP]."""
    x = np.asarray(x, dtype=np.float64)
    sd = x.std()
    z = (x - x.mean()) / sd if sd > 1e-12 else np.zeros_like(x)
    return np.clip(z, -CLIP, CLIP)


def genre_scores(catalog: Catalog, attribute: str) -> np.ndarray:
    """Half the mean prior weight of an item's genres, half its strongest signals (the largest positive
    plus the most negative weight): Action|Adventure|Thriller is as violent as Action alone, not diluted
    by Adventure. 0 for items without genres."""
    priors = GENRE_PRIORS.get(attribute, {})
    w = np.array([priors.get(g, 0.0) for g in catalog.genre_vocab])
    m = catalog.genre_matrix
    n = m.sum(axis=1)
    mean = np.divide(m.astype(np.float64) @ w, n, out=np.zeros(len(catalog)), where=n > 0)
    strongest = np.where(m, np.maximum(w, 0), 0).max(axis=1, initial=0) + np.where(m, np.minimum(w, 0), 0).min(
        axis=1, initial=0
    )
    return 0.5 * mean + 0.5 * strongest


def tag_scores(catalog: Catalog, attribute: str) -> np.ndarray:
    keywords = TAG_KEYWORDS.get(attribute, {})
    out = np.zeros(len(catalog))
    for i, item in enumerate(catalog.items):
        if item.tags:
            s = sum(w for tag in item.tags for kw, w in keywords.items() if kw in tag)
            out[i] = np.clip(s, -1.5, 1.5)
    return out


def quality_prior(catalog: Catalog, log: InteractionLog | None, shrink: float = 10.0) -> np.ndarray:
    """A popularity/quality prior in [0, 1]: half log-count, half Bayesian-averaged value (rating).

    The average is shrunk towards the global mean by ``shrink`` pseudo-interactions, so an item rated
    5 by one person does not beat a classic. Without a log the prior is 0 everywhere."""
    n = len(catalog)
    if log is None or len(log) == 0:
        return np.zeros(n)
    counts = np.bincount(log.item_positions, minlength=n).astype(np.float64)
    sums = np.bincount(log.item_positions, weights=log.values, minlength=n)
    mean = float(log.values.mean())
    bayes = (sums + shrink * mean) / (counts + shrink)
    spread = bayes.max() - bayes.min()
    quality = (bayes - bayes.min()) / spread if spread > 1e-12 else np.zeros(n)
    pop = np.log1p(counts) / max(np.log1p(counts.max()), 1e-12)
    return 0.5 * pop + 0.5 * quality


class ItemAttributes:
    """Standardised attribute values, ``values[attribute]`` one float per catalog position."""

    def __init__(self, values: dict[str, np.ndarray], prior: np.ndarray):
        self.values = {a: np.asarray(values[a], dtype=np.float32) for a in ATTRIBUTES}
        self.prior = np.asarray(prior, dtype=np.float32)

    def __getitem__(self, attribute: str) -> np.ndarray:
        return self.values[attribute]

    @classmethod
    def compute(cls, catalog: Catalog, vectors: np.ndarray | None, embed, log: InteractionLog | None) -> ItemAttributes:
        """``vectors``: the items' unit embeddings (n, dim) or None; ``embed``: texts -> unit vectors."""
        values: dict[str, np.ndarray] = {}
        protos = None
        if vectors is not None and len(vectors):
            phrases = [p for a in PROTOTYPES for p in PROTOTYPES[a]]
            protos = dict(zip(phrases, np.asarray(embed(phrases))))
        for attribute in ATTRIBUTES:
            if attribute == "recency":
                years = catalog.years.copy()
                years[np.isnan(years)] = np.nanmean(years) if np.isfinite(years).any() else 0.0
                values[attribute] = standardise(years)
                continue
            if attribute == "popularity":
                counts = np.zeros(len(catalog)) if log is None else log.item_counts
                values[attribute] = standardise(np.log1p(counts))
                continue
            raw = GENRE_WEIGHT * genre_scores(catalog, attribute) + TAG_WEIGHT * tag_scores(catalog, attribute)
            if protos is not None:
                pos, neg = PROTOTYPES[attribute]
                raw = raw + EMBEDDING_WEIGHT * standardise(vectors @ protos[pos] - vectors @ protos[neg])
            values[attribute] = standardise(raw)
        return cls(values, quality_prior(catalog, log))

    # ------------------------------------------------------------------ cache

    def save(self, path: Path) -> None:
        path = Path(path)
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_suffix(".tmp.npz")
        np.savez(tmp, prior=self.prior, **self.values)
        tmp.replace(path)

    @classmethod
    def load(cls, path: Path, n_items: int) -> ItemAttributes | None:
        try:
            with np.load(Path(path)) as f:
                values = {a: f[a] for a in ATTRIBUTES}
                prior = f["prior"]
        except (OSError, KeyError, ValueError):
            return None
        if any(len(v) != n_items for v in values.values()) or len(prior) != n_items:
            return None
        return cls(values, prior)

    @classmethod
    def fit_or_load(
        cls,
        catalog: Catalog,
        vectors,
        embed,
        log: InteractionLog | None,
        models_dir: Path,
        model_name: str = "",
    ) -> ItemAttributes:
        """Load the attributes of exactly this catalog, log and embedding model, or compute and save them.

        ``vectors`` is a callable returning the item embeddings (only called when computing)."""
        h = hashlib.sha1(f"{RECIPE_VERSION}\0{catalog.fingerprint}\0{model_name}".encode())
        if log is not None:
            h.update(np.ascontiguousarray(log.item_positions).tobytes())
            h.update(np.ascontiguousarray(log.values).tobytes())
        path = Path(models_dir) / f"attributes-{h.hexdigest()[:16]}.npz"
        got = cls.load(path, len(catalog)) if path.exists() else None
        if got is None:
            got = cls.compute(catalog, vectors(), embed, log)
            got.save(path)
        return got
