"""The 92-object image set of Kriegeskorte et al. (2008) with its dissimilarity matrices.

``Kriegeskorte_Neuron2008_supplementalData.mat`` (as distributed with rsatoolbox's
demos) holds the stimuli and two representational dissimilarity matrices (RDMs):

- ``stimuli_92objs``: 92 structs, each a 175 x 175 x 3 uint8 ``image`` and its
  category (``category`` name, ``human``/``face``/``animal``/``natural`` flags);
- ``categoryVectors`` (92 x 12) with the 12 ``categoryLabels``;
- ``RDMs_mIT_hIT_fig1``: two condensed RDMs (length 92*91/2 = 4186): monkey IT
  (674 neurons) and human IT (316 fMRI voxels).

The file holds no time series: the recording is *stimuli only* (``/stimuli``), which
the format accepts (``validate`` notes "no signals" as a warning, not an error).  RDMs
are stored square (92 x 92, zero diagonal) under ``rdm_<name>``.

When the rsatoolbox companions lie beside the file they are read too (``companions=True``):
``92_brainRDMs.mat`` (human IT fMRI RDMs, 4 subjects x 2 sessions → ``rdm_hIT_subjects``
of shape (4, 2, 92, 92)), ``92_behavRDMs.mat`` (16 similarity-judgement RDMs →
``rdm_behaviour``) and ``92_modelRDMs.mat`` (8 model RDMs → ``rdm_models``), each with a
``*_names`` array.  ``simTruePatterns.mat`` holds SIMULATED response patterns
(rsatoolbox ground truth, not brain data) and is never read.

Reference: Kriegeskorte N, Mur M, Ruff DA, Kiani R, Bodurka J, Esteky H, Tanaka K,
Bandettini PA (2008) Matching categorical object representations in inferior temporal
cortex of man and monkey. Neuron 60:1126-1141.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import numpy as np

from ..errors import FormatError
from ..log import logger, verbose
from ..recording import Recording
from ._base import Reader, register
from ._isolate import safe_loadmat

__all__ = ["read_rsa_images", "square_rdm", "RSAImagesReader"]

COMPANION_FILES = {"92_brainRDMs.mat": ("RDMs", "rdm_hIT_subjects"),
                   "92_behavRDMs.mat": ("rdms_behav_92", "rdm_behaviour"),
                   "92_modelRDMs.mat": ("Models", "rdm_models")}
SIMULATED = "simTruePatterns.mat"


def square_rdm(condensed: Any, *, path: Path | None = None) -> np.ndarray:
    """A condensed (upper-triangle, row-major) RDM → square symmetric, zero diagonal.

    Examples
    --------
    >>> square_rdm([1.0, 2.0, 3.0])
    array([[0., 1., 2.],
           [1., 0., 3.],
           [2., 3., 0.]])
    """
    v = np.asarray(condensed, dtype=np.float64).ravel()
    n = int(round((1 + np.sqrt(1 + 8 * v.size)) / 2))
    if n * (n - 1) // 2 != v.size:
        raise FormatError(f"an RDM of length {v.size} is not condensed (n*(n-1)/2 for "
                          "some n); expected the upper triangle of a square matrix", path=path)
    out = np.zeros((n, n))
    iu = np.triu_indices(n, 1)
    out[iu] = v
    out.T[iu] = v
    return out


def _rdm_list(items: Any, path: Path) -> tuple[np.ndarray, list[str]]:
    arr = np.atleast_1d(items)
    mats, names = [], []
    for it in arr.ravel():
        m = np.asarray(it.RDM, dtype=np.float64)
        mats.append(square_rdm(m, path=path) if m.ndim == 1 else m)
        names.append(str(getattr(it, "name", "")))
    shapes = {m.shape for m in mats}
    if len(shapes) != 1:
        raise FormatError(f"RDMs of different shapes {sorted(shapes)}", path=path)
    return np.stack(mats).reshape(arr.shape + mats[0].shape), names


def _sniff(path: Path) -> bool:
    from scipy.io import whosmat

    try:
        names = {w[0] for w in whosmat(path)}
    except Exception:  # not MATLAB v5: not this file
        return False
    return "stimuli_92objs" in names or {"categoryVectors", "RDMs_mIT_hIT_fig1"} <= names


class RSAImagesReader(Reader):
    """Reader of the Kriegeskorte 2008 92-image set (see the module docstring)."""

    name = "92-image RSA set (MAT)"
    extensions = (".mat",)
    modality = "stimuli + RDMs"
    library = "scipy.io.loadmat"
    keeps = ("images (92,175,175,3) uint8, categories, monkey/human IT RDMs (square); "
             "the rsatoolbox companion RDM files beside it")
    loader = "neurodata.io.read_rsa_images"
    packages = ("scipy",)

    def sniff(self, path: Path) -> bool:
        return _sniff(path)

    def read(self, path: Path, *, companions: bool = True, **_: Any) -> Recording:
        mat = safe_loadmat(path, squeeze_me=True, struct_as_record=False)
        if "stimuli_92objs" not in mat:
            raise FormatError(f"holds {sorted(k for k in mat if not k.startswith('__'))}; "
                              "expected 'stimuli_92objs'", path=path)
        objs = np.atleast_1d(mat["stimuli_92objs"])
        images = np.stack([np.asarray(o.image) for o in objs])
        if images.dtype != np.uint8 or images.ndim != 4 or images.shape[-1] != 3:
            raise FormatError(f"images are {images.dtype} {images.shape}; expected uint8 "
                              "(N, H, W, 3)", path=path)
        stimuli: dict[str, Any] = {"images": images}
        for field in ("category", "human", "face", "animal", "natural"):
            if all(hasattr(o, field) for o in objs):
                vals = [getattr(o, field) for o in objs]
                stimuli[f"image_{field}"] = (np.array([str(v) for v in vals], dtype=object)
                                             if field == "category"
                                             else np.asarray(vals, dtype=np.int8))
        skipped = [f"stimuli_92objs.{f}" for f in objs[0]._fieldnames
                   if f not in ("image", "category", "human", "face", "animal", "natural")]
        if "categoryVectors" in mat:
            stimuli["category_vectors"] = np.asarray(mat["categoryVectors"], dtype=np.int8)
            stimuli["category_labels"] = np.array([str(x) for x in
                                                   np.atleast_1d(mat["categoryLabels"])],
                                                  dtype=object)
        rdm_names: list[str] = []
        if "RDMs_mIT_hIT_fig1" in mat:
            rdms, rdm_names = _rdm_list(mat["RDMs_mIT_hIT_fig1"], path)
            for name, m in zip(rdm_names, rdms, strict=True):
                stimuli[f"rdm_{name}"] = m
        skipped += [k for k in mat if not k.startswith("__") and k not in (
            "stimuli_92objs", "categoryVectors", "categoryLabels", "RDMs_mIT_hIT_fig1")]
        sources = [path]
        if companions:
            for fname, (var, key) in COMPANION_FILES.items():
                cpath = path.with_name(fname)
                if not cpath.is_file():
                    continue
                cmat = safe_loadmat(cpath, squeeze_me=True, struct_as_record=False)
                if var not in cmat:
                    raise FormatError(f"expected the variable {var!r}", path=cpath)
                rdms, names = _rdm_list(cmat[var], cpath)
                if rdms.shape[-1] != images.shape[0]:
                    raise FormatError(f"RDMs are {rdms.shape[-2:]}; the image set has "
                                      f"{images.shape[0]} images", path=cpath)
                stimuli[key] = rdms.astype(np.float32)
                stimuli[f"{key}_names"] = np.array(names, dtype=object)
                sources.append(cpath)
        logger.info("%s: %d images %s, %d RDM arrays", path.name, images.shape[0],
                    images.shape[1:], sum(k.startswith("rdm_") for k in stimuli))
        return self.recording(
            [], path=path, sources=sources, stimuli=stimuli,
            subject={"id": "various", "species": "Macaca mulatta / Homo sapiens",
                     "description": ", ".join(rdm_names)},
            session={"id": path.stem, "description": "92 object images and IT RDMs "
                     "(Kriegeskorte et al. 2008); stimuli only, no time series"},
            parameters={"companions": companions, "rdm_storage": "square"}, skipped=skipped)


_READER = register(RSAImagesReader())


@verbose
def read_rsa_images(path: str | os.PathLike, *, companions: bool = True,
                    verbose: bool | str | None = None) -> Recording:
    """Read the Kriegeskorte et al. (2008) 92-image set and its RDMs.

    Parameters
    ----------
    path : path-like
        ``Kriegeskorte_Neuron2008_supplementalData.mat``.
    companions : bool, default=True
        Also read ``92_brainRDMs.mat``, ``92_behavRDMs.mat`` and ``92_modelRDMs.mat``
        beside it (never ``simTruePatterns.mat``: simulated data).
    verbose : bool or str or None

    Returns
    -------
    Recording
        Stimuli only: ``images`` (92, 175, 175, 3) uint8, ``image_category`` ...,
        ``category_vectors`` (92, 12), ``category_labels`` (12,), square RDMs
        ``rdm_mIT_674neurons`` and ``rdm_hITvisStim_316vx`` (92, 92), and the
        companions' RDM stacks.

    Examples
    --------
    >>> rec = read_rsa_images("Kriegeskorte_Neuron2008_supplementalData.mat")  # doctest: +SKIP
    >>> rec.stimuli["images"].shape  # doctest: +SKIP
    (92, 175, 175, 3)
    """
    return _READER(path, companions=companions)
