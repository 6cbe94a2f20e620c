"""Brain → stimulus-embedding decoders and their retrieval evaluation.

Decoders map brain responses (fMRI volumes, MEG/EEG epochs) into a stimulus embedding
space (sentence embeddings of captions, image features) and are evaluated by retrieving
the stimulus among candidates:

- :mod:`.ridge` — :class:`MultiTargetRidgeCV`, ridge to many targets with a per-target
  alpha from one shared eigendecomposition;
- :mod:`.retrieval` — MindEye-protocol top-k, 2-way identification, caption retrieval,
  permutation chance levels;
- :mod:`.splits` — :class:`RunSplit`, leave-one-run-out that never splits repeats of a
  stimulus.
"""

from .errors import BrainDecodingError
from .retrieval import (
    average_repeats,
    candidate_topk,
    caption_similarity,
    check_embeddings,
    cosine_similarity,
    evaluate_retrieval,
    permutation_chance,
    subset_topk,
    two_way_identification,
)
from .ridge import DEFAULT_ALPHAS, MultiTargetRidgeCV
from .splits import RunSplit, check_split

__all__ = [
    "BrainDecodingError", "MultiTargetRidgeCV", "DEFAULT_ALPHAS", "RunSplit", "check_split",
    "average_repeats", "candidate_topk", "caption_similarity", "check_embeddings",
    "cosine_similarity", "evaluate_retrieval", "permutation_chance", "subset_topk",
    "two_way_identification",
]
