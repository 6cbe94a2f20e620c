"""The real case: Haxby et al. 2001 fMRI blocks decoded into caption embeddings.

Haxby, Gobbini, Furey, Ishai, Schouten & Pietrini (2001), "Distributed and overlapping
representations of faces and objects in ventral temporal cortex", Science 293:2425.
Subject 1, 12 runs, 8 categories, one 22.5-s block per category per run (96 blocks).

Each block becomes one sample: the mean of its volumes shifted by the haemodynamic
delay (``shift_s``, 5 s), after per-run linear detrending and z-scoring.  The decoder
(:class:`~.ridge.MultiTargetRidgeCV`, alphas chosen by leave-one-run-out inside the
training runs) maps the block to the sentence embedding of its category's caption
(:data:`HAXBY_CAPTIONS`); the prediction retrieves the nearest of the 8 captions.
Evaluation is leave-one-run-out; chance is 1/8; the p-value comes from refitting the
whole cross-validation with the category labels permuted within each run.  The same
folds score nilearn's ``Decoder`` (linear SVC, its default C grid) as the reference
classifier.

Two layouts are read:

``"slice"`` (default; bundled as the ``haxby2001_slice`` sample)
    PyMVPA's example dataset: the posterior half of one axial slice at full resolution
    (40 x 20 x 1, 530 in-mask voxels, TR 2.5 s, 1452 volumes), 12 runs concatenated, a
    per-volume label file.
``"openfmri"``
    The OpenfMRI layout (``sub001/BOLD/task001_runNNN/bold_25mm.nii.gz`` + events TSV),
    25-mm voxels.  Its VT mask has a single voxel at that resolution, so the brain mask
    (129 voxels) is used.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import numpy as np

from neurodata.errors import MissingFileError
from neurodata.log import logger, verbose

from .errors import BrainDecodingError

__all__ = ["SLICE_FILES", "HAXBY_CAPTIONS", "HaxbyBlocks", "load_haxby_blocks", "decode_haxby",
           "haxby_root", "topk_vs_n"]

#: Files of the "slice" layout: the BOLD run, the voxel mask, the per-volume labels.
#: (``pipelines.workflows.plan`` keeps a copy so that planning does not import the
#: decoders; a test checks the two agree.)
SLICE_FILES = ("bold.nii.gz", "mask.nii.gz", "attributes_literal.txt")

#: The caption of each category: what the decoder's target embedding says.
HAXBY_CAPTIONS = {
    "bottle": "a photo of a bottle",
    "cat": "a photo of a cat",
    "chair": "a photo of a chair",
    "face": "a photo of a human face",
    "house": "a photo of a house",
    "scissors": "a photo of a pair of scissors",
    "scrambledpix": "a scrambled picture of random noise",
    "shoe": "a photo of a shoe",
}


def haxby_root(root: str | os.PathLike | None = None, *, layout: str = "slice") -> Path:
    """Folder of the Haxby data: ``root`` if given, else the bundled sample (slice)."""
    if root is not None:
        p = Path(root)
        if not p.exists():
            raise MissingFileError(f"no Haxby data folder at {p}", path=p)
        return p
    if layout != "slice":
        raise BrainDecodingError("only the 'slice' layout is bundled; pass root= for "
                                 "the OpenfMRI 25-mm layout")
    from neurodata.samples import sample_path

    return Path(sample_path("haxby2001_slice")).parent


class HaxbyBlocks:
    """Block samples: ``X`` (n_blocks, n_voxels), ``labels``, ``runs``, and the mask used."""

    def __init__(self, X: np.ndarray, labels: np.ndarray, runs: np.ndarray, layout: str,
                 source: str):
        self.X = X
        self.labels = labels
        self.runs = runs
        self.layout = layout
        self.source = source

    def __len__(self) -> int:
        return int(self.X.shape[0])

    def __repr__(self) -> str:
        return (f"<HaxbyBlocks {self.X.shape[0]} blocks x {self.X.shape[1]} voxels, "
                f"{np.unique(self.runs).size} runs, layout {self.layout!r}>")


def _zscore_detrend(d: np.ndarray) -> np.ndarray:
    from scipy.signal import detrend

    d = detrend(np.asarray(d, dtype=np.float64), axis=0)
    return (d - d.mean(0)) / (d.std(0) + 1e-9)


def _blocks_from_labels(data, labels, tr, shift_s):
    """Contiguous non-rest label runs → (block means, block labels)."""
    shift = int(round(shift_s / tr))
    lab = np.asarray(labels, dtype=object)
    shifted = np.r_[np.array(["rest"] * shift, dtype=object), lab[: lab.size - shift]]
    X, y = [], []
    i = 0
    while i < shifted.size:
        if shifted[i] == "rest":
            i += 1
            continue
        j = i
        while j < shifted.size and shifted[j] == shifted[i]:
            j += 1
        X.append(data[i:j].mean(0))
        y.append(str(shifted[i]))
        i = j
    return X, y


@verbose
def load_haxby_blocks(root: str | os.PathLike | None = None, *, layout: str = "slice",
                      shift_s: float = 5.0, verbose: bool | str | None = None) -> HaxbyBlocks:
    """Read the Haxby runs and average each category block (HRF-shifted) into a sample.

    Parameters
    ----------
    root : path-like or None
        The dataset folder (``None``: the bundled slice sample).
    layout : {"slice", "openfmri"}
    shift_s : float, default=5.0
        Haemodynamic delay added to each block's window, seconds.
    verbose : bool or str or None

    Returns
    -------
    HaxbyBlocks
        96 blocks (12 runs x 8 categories).
    """
    import neurodata as nd

    base = haxby_root(root, layout=layout)
    X, y, g = [], [], []
    if layout == "slice":
        import pandas as pd

        bold, mask, attr = (base / name for name in SLICE_FILES)
        for f in (bold, mask, attr):
            if not f.exists():
                raise MissingFileError(f"the Haxby slice layout needs {f.name}", path=f)
        rec = nd.load(bold, mask=mask, verbose=False)
        ts = rec.timeseries["bold"]
        data = ts.slice_samples(0, ts.shape[0])
        table = pd.read_csv(attr, sep=r"\s+", header=None, names=["label", "chunk"])
        if len(table) != data.shape[0]:
            raise BrainDecodingError(f"{attr}: {len(table)} label lines for {data.shape[0]} "
                                     "volumes (stimulus/event count mismatch)")
        tr = 1.0 / ts.rate
        for run in np.unique(table["chunk"]):
            sel = (table["chunk"] == run).to_numpy()
            xb, yb = _blocks_from_labels(_zscore_detrend(data[sel]),
                                         table["label"].to_numpy()[sel], tr, shift_s)
            X += xb
            y += yb
            g += [int(run)] * len(yb)
        source = str(bold)
    elif layout == "openfmri":
        sub = base / "sub001"
        mask = sub / "masks" / "25mm" / "brain.nii.gz"
        runs = sorted((sub / "BOLD").glob("task001_run*"))
        if not runs:
            raise MissingFileError("no sub001/BOLD/task001_run* folders", path=base)
        for ri, d in enumerate(runs):
            rec = nd.load(d / "bold_25mm.nii.gz", mask=mask, events=d / "bold_events.tsv",
                          verbose=False)
            ts = rec.timeseries["bold"]
            data = _zscore_detrend(ts.slice_samples(0, ts.shape[0]))
            t = np.arange(ts.shape[0]) / ts.rate
            for _, ev in rec.events.to_dataframe().iterrows():
                sel = (t >= ev["onset"] + shift_s) & (t < ev["onset"] + ev["duration"] + shift_s)
                X.append(data[sel].mean(0))
                y.append(str(ev["label"]))
                g.append(ri)
        source = str(base)
    else:
        raise ValueError(f"layout must be 'slice' or 'openfmri'; got {layout!r}")
    blocks = HaxbyBlocks(np.asarray(X, np.float32), np.asarray(y), np.asarray(g), layout,
                         source)
    unknown = sorted(set(blocks.labels) - set(HAXBY_CAPTIONS))
    if unknown:
        raise BrainDecodingError(f"categories {unknown} have no caption in HAXBY_CAPTIONS")
    logger.info("Haxby %s: %r", layout, blocks)
    return blocks


def _cv_retrieval(X, labels, runs, C, cats, alphas):
    """Leave-one-run-out caption retrieval; returns per-block retrieved index and folds."""
    from sklearn.model_selection import LeaveOneGroupOut

    from .retrieval import candidate_topk
    from .ridge import MultiTargetRidgeCV
    from .splits import check_split

    idx = np.searchsorted(cats, labels)
    retrieved = np.empty(len(labels), dtype=np.int64)
    pred = np.empty((len(labels), C.shape[1]), dtype=np.float32)
    folds = []
    for train, test in LeaveOneGroupOut().split(X, groups=runs):
        check_split(train, test, runs)
        model = MultiTargetRidgeCV(alphas, cv=LeaveOneGroupOut()).fit(
            X[train], C[idx[train]], groups=runs[train])
        pred[test] = model.predict(X[test])
        _, retrieved[test] = candidate_topk(pred[test], C, idx[test], k=1)
        folds.append((train, test))
    return idx, retrieved, folds, pred


def _permute_within(labels, runs, rng):
    out = labels.copy()
    for r in np.unique(runs):
        sel = np.flatnonzero(runs == r)
        out[sel] = labels[rng.permutation(sel)]
    return out


@verbose
def decode_haxby(blocks: HaxbyBlocks | None = None, *, embedder: Any = "minilm-l6-v2",
                 alphas=(1.0, 10.0, 100.0, 1e3, 1e4), n_permutations: int = 100,
                 nilearn_reference: bool = True, random_state: Any = 0,
                 verbose: bool | str | None = None) -> dict[str, Any]:
    """Leave-one-run-out caption retrieval on Haxby 2001, beside nilearn's Decoder.

    Parameters
    ----------
    blocks : HaxbyBlocks or None
        From :func:`load_haxby_blocks` (``None`` loads the bundled sample).
    embedder : str or Embedder, default="minilm-l6-v2"
        Embeds :data:`HAXBY_CAPTIONS`.
    alphas : sequence of float
        Ridge penalties (chosen per target by leave-one-run-out inside the training runs).
    n_permutations : int, default=100
        Label permutations (within runs) for the p-value; 0 skips.
    nilearn_reference : bool, default=True
        Also score ``nilearn.decoding.Decoder(estimator="svc")`` on the same folds.
    random_state : int or None
    verbose : bool or str or None

    Returns
    -------
    dict
        ``top1`` (caption retrieval accuracy), ``top1_per_run``, ``chance`` (1/8),
        ``p_value``, ``null_mean``, ``null_p95``, ``caption_similarity``,
        ``confusion`` (8 x 8 counts, rows = true), ``categories``, ``captions``,
        ``nilearn_accuracy`` and ``nilearn_per_run`` (when asked), ``folds`` (the test
        runs), ``embedding_space``, ``topk_vs_n`` (top-1 among N = 2..8 captions),
        ``topk_curve`` (top-k among the 8, k = 1..8) and the arrays ``predictions``,
        ``true_index``, ``retrieved``, ``runs`` (not JSON; for figures).
    """
    from sklearn.utils.validation import check_random_state

    from .embedders import Embedder, make_embedder
    from .retrieval import candidate_topk, caption_similarity

    if blocks is None:
        blocks = load_haxby_blocks()
    emb = make_embedder(embedder) if isinstance(embedder, str) else embedder
    if not isinstance(emb, Embedder):
        raise BrainDecodingError(f"embedder must be a name or an Embedder; got {embedder!r}")
    cats = np.array(sorted(HAXBY_CAPTIONS))
    C = emb.embed([HAXBY_CAPTIONS[c] for c in cats])
    X, labels, runs = blocks.X, blocks.labels, blocks.runs
    alphas = np.asarray(alphas, dtype=np.float64)
    idx, retrieved, folds, pred = _cv_retrieval(X, labels, runs, C, cats, alphas)
    hits = retrieved == idx
    top1 = float(hits.mean())
    per_run = {int(r): float(hits[runs == r].mean()) for r in np.unique(runs)}
    rng = check_random_state(random_state)
    null = []
    for _ in range(int(n_permutations)):
        perm = _permute_within(labels, runs, rng)
        pidx, pret, _, _ = _cv_retrieval(X, perm, runs, C, cats, alphas)
        null.append(float(np.mean(pret == pidx)))
    null = np.asarray(null)
    confusion = np.zeros((cats.size, cats.size), dtype=np.int64)
    np.add.at(confusion, (idx, retrieved), 1)
    out: dict[str, Any] = {
        "top1": top1, "chance": 1.0 / cats.size, "top1_per_run": per_run,
        "n_blocks": int(len(labels)), "n_voxels": int(X.shape[1]), "layout": blocks.layout,
        "caption_similarity": caption_similarity(C[retrieved], C[idx]),
        "p_value": float((1 + np.sum(null >= top1)) / (1 + null.size)) if null.size else None,
        "null_mean": float(null.mean()) if null.size else None,
        "null_p95": float(np.percentile(null, 95)) if null.size else None,
        "n_permutations": int(n_permutations),
        "confusion": confusion.tolist(), "categories": cats.tolist(),
        "captions": [HAXBY_CAPTIONS[c] for c in cats],
        "folds": [sorted(set(runs[te].tolist())) for _, te in folds],
        "embedding_space": emb.record(),
        "topk_vs_n": topk_vs_n(pred, C, idx, random_state=random_state),
        "topk_curve": {int(k): candidate_topk(pred, C, idx, k=k)[0][k]
                       for k in range(1, cats.size + 1)},
        "predictions": pred, "true_index": idx, "retrieved": retrieved,
        "runs": np.asarray(runs),
    }
    if nilearn_reference:
        acc, per = _nilearn_decoder(X, labels, runs, folds)
        out["nilearn_accuracy"], out["nilearn_per_run"] = acc, per
    logger.info("Haxby caption retrieval top-1 %.3f (chance %.3f, p=%s); nilearn %s",
                top1, out["chance"], out["p_value"], out.get("nilearn_accuracy"))
    return out


def topk_vs_n(pred, C, true_index, *, n_draws: int = 50, random_state: Any = 0
              ) -> dict[int, float]:
    """Top-1 among N candidate captions (the true one + N-1 random others), N = 2..len(C)."""
    from sklearn.utils.validation import check_random_state

    from .retrieval import cosine_similarity

    rng = check_random_state(random_state)
    S = cosine_similarity(pred, C)
    n_c = C.shape[0]
    out = {}
    for n in range(2, n_c + 1):
        hits = []
        for i, t in enumerate(true_index):
            others = np.delete(np.arange(n_c), t)
            for _ in range(n_draws if n < n_c else 1):
                cand = np.r_[t, rng.choice(others, n - 1, replace=False)]
                hits.append(np.argmax(S[i, cand]) == 0)
        out[n] = float(np.mean(hits))
    return out


def _nilearn_decoder(X, labels, runs, folds):
    """nilearn ``Decoder(estimator="svc")`` on the same folds, on the block samples.

    The blocks are already masked arrays, so they are wrapped as a 4-D image of shape
    ``(n_voxels, 1, 1, n_blocks)`` with an all-ones mask (nilearn sees the same numbers).
    """
    import warnings

    import nibabel as nib
    from nilearn.decoding import Decoder
    from sklearn.model_selection import LeaveOneGroupOut

    affine = np.eye(4)
    mask = nib.Nifti1Image(np.ones((X.shape[1], 1, 1), np.int8), affine)
    correct = np.zeros(len(labels), dtype=bool)
    for train, test in folds:
        img_tr = nib.Nifti1Image(X[train].T[:, None, None, :].astype(np.float32), affine)
        img_te = nib.Nifti1Image(X[test].T[:, None, None, :].astype(np.float32), affine)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            dec = Decoder(estimator="svc", mask=mask, standardize="zscore_sample",
                          screening_percentile=100, cv=LeaveOneGroupOut(), scoring="accuracy")
            dec.fit(img_tr, labels[train], groups=runs[train])
            correct[test] = np.asarray(dec.predict(img_te)) == labels[test]
    per = {int(r): float(correct[runs == r].mean()) for r in np.unique(runs)}
    return float(correct.mean()), per
