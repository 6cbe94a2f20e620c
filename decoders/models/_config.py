"""JSON-config round trip shared by the networks in :mod:`decoders.models`."""

from __future__ import annotations

import inspect
from typing import Any


class ConfigMixin:
    """``get_config()`` / ``from_config()`` from the constructor's signature.

    A network stores every constructor argument under the same attribute name (the
    scikit-learn rule), so its configuration is the dict of those attributes.
    """

    def get_config(self) -> dict[str, Any]:
        """Constructor arguments as a JSON-serializable dict."""
        names = [p for p in inspect.signature(type(self).__init__).parameters if p != "self"]
        return {name: getattr(self, name) for name in names}

    @classmethod
    def from_config(cls, config: dict[str, Any]) -> Any:
        """Build a new, untrained network from :meth:`get_config`'s output."""
        return cls(**config)


def same_length(kernel: int) -> tuple[int, int]:
    """Left/right zero padding that keeps the time length for an odd or even ``kernel``."""
    return (kernel - 1) // 2, kernel // 2
