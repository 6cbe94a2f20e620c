"""The block mappings of a :class:`~neurodata.Recording` (``rec.timeseries``,
``rec.spikes``, ``rec.connectivity``): dicts whose missing-key error names the blocks
that exist, instead of a bare ``KeyError: 'meg'``."""

from __future__ import annotations

from typing import Any

from .errors import NeurodataError

__all__ = ["Blocks", "BlockNotFoundError"]


class BlockNotFoundError(NeurodataError, KeyError):
    """A block name that the recording does not have (also a ``KeyError``)."""

    def __str__(self) -> str:  # KeyError would otherwise print the message's repr
        return (f"{self.path}: " if self.path else "") + self.message


class Blocks(dict):
    """``dict`` of blocks by name; ``blocks["meg"]`` on a recording without one raises
    :class:`BlockNotFoundError` listing the names there are.

    Examples
    --------
    >>> from neurodata.blocks import Blocks
    >>> Blocks({"eeg": 1}, kind="timeseries")["meg"]
    Traceback (most recent call last):
    ...
    neurodata.blocks.BlockNotFoundError: no timeseries block 'meg'; this recording has ['eeg']
    """

    def __init__(self, items: Any = (), *, kind: str = "timeseries") -> None:
        super().__init__(items)
        self.kind = kind

    def __missing__(self, key: str):
        have = sorted(self)
        hint = f"this recording has {have}" if have else f"this recording has no {self.kind}"
        raise BlockNotFoundError(f"no {self.kind} block {key!r}; {hint}")
