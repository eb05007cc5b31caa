"""Item attributes for critiques, from genres, tags, MiniLM vectors, years and counts (the slice of ml-latest-small)."""

from __future__ import annotations

import numpy as np
import pytest

from recagent.retrieval.attributes import ATTRIBUTES, ItemAttributes, quality_prior


@pytest.fixture(scope="module")
def attrs(rec):
    return rec.preference_scorer.attributes


def value(rec, attrs, attribute, item_id):
    return float(attrs[attribute][rec.catalog.position(item_id)])


def test_every_attribute_is_standardised(rec, attrs):
    for a in ATTRIBUTES:
        v = attrs[a]
        assert v.shape == (len(rec.catalog),) and np.isfinite(v).all()
        assert abs(float(v.mean())) < 0.1 and 0.5 < float(v.std()) <= 1.01, a


def test_attributes_are_sane_on_known_movies(rec, attrs):
    toy_story, se7en, heat, lord_of_illusions, castle_freak, babe = "1", "47", "6", "177", "220", "34"
    for horror in (lord_of_illusions, castle_freak):
        assert value(rec, attrs, "scariness", horror) > value(rec, attrs, "scariness", toy_story) + 1.5
    assert value(rec, attrs, "family", toy_story) > value(rec, attrs, "family", se7en) + 2
    assert value(rec, attrs, "family", babe) > value(rec, attrs, "family", heat) + 2
    assert value(rec, attrs, "violence", heat) > value(rec, attrs, "violence", toy_story) + 2
    assert value(rec, attrs, "darkness", se7en) > value(rec, attrs, "darkness", toy_story) + 2
    grumpier_old_men, ace_ventura = "3", "19"
    for comedy in (grumpier_old_men, ace_ventura):
        assert value(rec, attrs, "humor", comedy) > value(rec, attrs, "humor", se7en)
    years = rec.catalog.years
    newest, oldest = int(np.nanargmax(years)), int(np.nanargmin(years))
    assert attrs["recency"][newest] > attrs["recency"][oldest]
    counts = rec.popularity.counts
    assert attrs["popularity"][int(counts.argmax())] > attrs["popularity"][int(counts.argmin())]


def test_tags_move_an_attribute(rec, attrs):
    """Two items with the same genres: the one tagged "dark"/"disturbing" is darker."""
    tagged = [p for p, it in enumerate(rec.catalog) if any(t in ("disturbing", "dark") for t in it.tags)]
    assert tagged, "the slice has items tagged dark or disturbing"
    g = rec.catalog.genre_matrix
    moved = 0
    for p in tagged:
        same = np.flatnonzero((g == g[p]).all(axis=1) & ~np.isin(np.arange(len(g)), tagged))
        if len(same):
            moved += attrs["darkness"][p] > np.median(attrs["darkness"][same])
    assert moved >= 1


def test_attributes_are_cached_per_catalog(rec, tmp_path):
    calls = []

    def vectors():
        calls.append(1)
        return rec.store.embeddings(rec.catalog.ids)

    log = rec.dataset.interactions
    a = ItemAttributes.fit_or_load(rec.catalog, vectors, rec.embedder.embed, log, tmp_path, "m")
    b = ItemAttributes.fit_or_load(rec.catalog, vectors, rec.embedder.embed, log, tmp_path, "m")
    assert len(calls) == 1 and len(list(tmp_path.glob("attributes-*.npz"))) == 1
    for attr in ATTRIBUTES:
        np.testing.assert_array_equal(a[attr], b[attr])
    ItemAttributes.fit_or_load(rec.catalog, vectors, rec.embedder.embed, log, tmp_path, "another-model")
    assert len(calls) == 2


def test_quality_prior_shrinks_rare_items(rec):
    prior = quality_prior(rec.catalog, rec.dataset.interactions)
    assert prior.min() >= 0 and prior.max() <= 1
    counts = rec.popularity.counts
    assert prior[int(counts.argmax())] > np.median(prior)
    assert (quality_prior(rec.catalog, None) == 0).all()
