"""Array namespaces for the NTF solvers: one algorithm, numpy or torch underneath.

The solvers only use matrix products (``@``), slicing, ``reshape`` and the handful
of functions gathered here, so the same code runs on numpy arrays and on torch
tensors (CPU or CUDA) without type checks inside the algorithm (STYLE.md, connectome).
"""

from __future__ import annotations

from typing import Any

import numpy as np

__all__ = ["get_namespace", "NumpyNamespace", "TorchNamespace"]


class NumpyNamespace:
    """numpy implementation of the small array API the solvers need."""

    name = "numpy"
    device = "cpu"

    def asarray(self, x: Any, dtype: Any) -> np.ndarray:
        return np.ascontiguousarray(np.asarray(x), dtype=dtype)

    def to_numpy(self, x: Any) -> np.ndarray:
        return np.asarray(x)

    def as_bool(self, x: Any) -> np.ndarray:
        return np.ascontiguousarray(x, dtype=bool)

    def clip0(self, x: np.ndarray) -> np.ndarray:
        return np.maximum(x, 0.0)

    def clip_min(self, x: np.ndarray, value: float) -> np.ndarray:
        return np.maximum(x, value)

    def einsum(self, spec: str, *ops: np.ndarray) -> np.ndarray:
        return np.einsum(spec, *ops, optimize=False)

    def where(self, cond: Any, a: Any, b: Any) -> Any:
        return np.where(cond, a, b)

    def scalar(self, x: Any) -> float:
        return float(x)

    def sqnorm(self, x: np.ndarray) -> float:
        # dot of the flat view: no temporary the size of the tensor
        flat = x.reshape(-1)
        return float(np.dot(flat, flat))

    def copy(self, x: np.ndarray) -> np.ndarray:
        return np.array(x, copy=True)

    def contiguous(self, x: np.ndarray) -> np.ndarray:
        return np.ascontiguousarray(x)

    def diag(self, x: np.ndarray) -> np.ndarray:
        return np.diag(x).copy()


class TorchNamespace:
    """torch implementation (CPU or CUDA) of the same small array API."""

    name = "torch"

    def __init__(self, device: str | None = None) -> None:
        import torch

        self.torch = torch
        if device in (None, "auto"):
            device = "cuda" if torch.cuda.is_available() else "cpu"
        self.device = str(device)

    def asarray(self, x: Any, dtype: Any) -> Any:
        torch = self.torch
        tdtype = torch.float32 if np.dtype(dtype) == np.float32 else torch.float64
        if isinstance(x, torch.Tensor):
            return x.to(device=self.device, dtype=tdtype).contiguous()
        arr = np.ascontiguousarray(np.asarray(x), dtype=np.dtype(dtype))
        return torch.from_numpy(arr).to(self.device)

    def as_bool(self, x: Any) -> Any:
        return self.torch.from_numpy(np.ascontiguousarray(x, dtype=bool)).to(self.device)

    def to_numpy(self, x: Any) -> np.ndarray:
        if isinstance(x, self.torch.Tensor):
            return x.detach().cpu().numpy()
        return np.asarray(x)

    def clip0(self, x: Any) -> Any:
        return self.torch.clamp(x, min=0.0)

    def clip_min(self, x: Any, value: float) -> Any:
        return self.torch.clamp(x, min=value)

    def einsum(self, spec: str, *ops: Any) -> Any:
        return self.torch.einsum(spec, *ops)

    def where(self, cond: Any, a: Any, b: Any) -> Any:
        return self.torch.where(cond, a, b)

    def scalar(self, x: Any) -> float:
        return float(x.item()) if isinstance(x, self.torch.Tensor) else float(x)

    def sqnorm(self, x: Any) -> float:
        flat = x.reshape(-1)
        return float(self.torch.dot(flat, flat).item())

    def copy(self, x: Any) -> Any:
        return x.clone()

    def contiguous(self, x: Any) -> Any:
        return x.contiguous()

    def diag(self, x: Any) -> np.ndarray:
        # small (rank,) vector, brought to the host once per update to avoid a
        # device synchronisation per component
        return self.torch.diagonal(x).detach().cpu().numpy()


def get_namespace(backend: str, device: str | None = None) -> NumpyNamespace | TorchNamespace:
    """Array namespace for ``backend`` ("numpy" or "torch")."""
    if backend == "numpy":
        if device not in (None, "cpu", "auto"):
            raise ValueError(
                f"device={device!r} needs backend='torch'; the numpy backend runs on the CPU only"
            )
        return NumpyNamespace()
    if backend == "torch":
        try:
            import torch
        except ImportError as exc:  # pragma: no cover - torch is a core dependency
            raise ValueError("backend='torch' needs PyTorch installed") from exc
        if device is not None and str(device).startswith("cuda") and not torch.cuda.is_available():
            raise ValueError(f"device={device!r} requested but CUDA is not available")
        return TorchNamespace(device)
    raise ValueError(f"backend must be 'numpy' or 'torch', got {backend!r}")
