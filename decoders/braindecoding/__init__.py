"""Brain → stimulus-embedding decoders and their retrieval evaluation.

Decoders map brain responses (fMRI volumes, MEG/EEG epochs) into a stimulus embedding
space (sentence embeddings of captions, image features) and are evaluated by retrieving
the stimulus among candidates (docs/brain_decoding.md):

- :mod:`.embedders` — the spaces: offline sentence model, stored ``/stimuli`` arrays,
  Gabor/pixel image features; a registry;
- :mod:`.ridge` — :class:`MultiTargetRidgeCV`, ridge to many targets with a per-target
  alpha from one shared eigendecomposition;
- :mod:`.contrastive` — :class:`ContrastiveMLPDecoder` (MindEye-style, InfoNCE + MSE);
- :mod:`.cross_subject` — :class:`SharedLatentDecoder` (a new subject fits only a linear
  adapter into the latent spanned by the known subjects' encoding models) and
  :class:`CrossSubjectDecoder` (MindBridge-style adapters + shared head, gradient-trained);
- :mod:`.time_resolved` — per-window decoding and :class:`TemporalConvDecoder` for
  MEG/EEG epochs;
- :mod:`.retrieval` — MindEye-protocol top-k, 2-way identification, caption retrieval,
  permutation chance levels;
- :mod:`.splits` — :class:`RunSplit`, leave-one-run-out that never splits repeats of a
  stimulus;
- :mod:`.semisynthetic`, :mod:`.haxby` — the semi-synthetic and the real data cases.

torch is imported only when a network is built.
"""

from .contrastive import ContrastiveMLPDecoder
from .cross_subject import CrossSubjectDecoder, SharedLatentDecoder
from .embedders import (
    Embedder,
    GaborImageEmbedder,
    PixelImageEmbedder,
    SentenceEmbedder,
    StoredEmbedder,
    event_stimuli,
    list_embedders,
    make_embedder,
    register_embedder,
)
from .errors import BrainDecodingError
from .haxby import HAXBY_CAPTIONS, decode_haxby, load_haxby_blocks
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
from .semisynthetic import compare_decoders, simulate_subjects, synthetic_captions
from .splits import RunSplit, check_split
from .time_resolved import TemporalConvDecoder, sliding_window_retrieval

__all__ = [
    "BrainDecodingError", "MultiTargetRidgeCV", "DEFAULT_ALPHAS", "RunSplit", "check_split",
    "ContrastiveMLPDecoder", "CrossSubjectDecoder", "SharedLatentDecoder", "TemporalConvDecoder",
    "sliding_window_retrieval", "Embedder", "SentenceEmbedder", "StoredEmbedder",
    "GaborImageEmbedder", "PixelImageEmbedder", "event_stimuli", "list_embedders",
    "make_embedder", "register_embedder", "HAXBY_CAPTIONS", "decode_haxby",
    "load_haxby_blocks", "compare_decoders", "simulate_subjects", "synthetic_captions",
    "average_repeats", "candidate_topk", "caption_similarity", "check_embeddings",
    "cosine_similarity", "evaluate_retrieval", "permutation_chance", "subset_topk",
    "two_way_identification",
]
