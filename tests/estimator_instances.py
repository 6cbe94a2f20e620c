"""Tiny instances of every estimator in the project, for the scikit-learn checks.

One instance per estimator class, with settings small enough that the whole
``check_estimator`` suite runs in seconds (a few EM / optimiser steps, tiny networks);
the behaviour tests of each package use realistic settings.
"""

from __future__ import annotations


def _instances() -> list:
    from connectome import HMMGLM, CouplingGLM, NonnegCP
    from decoders.pipelines_classical import FilterBankCSP
    from decoders.pipelines_tokens import RVQTokenHistogram
    from decoders.tokenizers import KMeansPatchVQ, RVQTokenizer, SpikeTokenizer
    from decoders.torch_estimator import TorchClassifier

    out = [
        CouplingGLM("gaussian", window=1, max_iter=10),
        HMMGLM(2, observation="gaussian", window=1, max_iter=2, m_step_iter=2, verbose=False,
               random_state=0),
        NonnegCP(1, n_restarts=1, n_iter_max=5, random_state=0),
        FilterBankCSP(100.0, bands=[(8.0, 12.0)], n_components=2),
        RVQTokenHistogram(100.0, n_codebooks=1, codebook_size=4, patch_seconds=0.1,
                          n_steps=2, batch_size=8, random_state=0),
        RVQTokenizer(100.0, patch_seconds=0.1, n_codebooks=1, codebook_size=4, dim=8, hidden=4,
                     width=16, kernel_sizes=(3,), n_steps=2, batch_size=8, train_stride=None,
                     random_state=0),
        KMeansPatchVQ(4, sfreq=100.0, patch_seconds=0.1, train_stride=None, max_iter=5),
        SpikeTokenizer(0.05, past_window=0.1, dt=0.01),
        TorchClassifier("shallow", sfreq=100.0, max_epochs=1, batch_size=8, random_state=0),
    ]
    try:  # estimators of decoders subpackages that other work adds
        from decoders.braindecoding.contrastive import ContrastiveMLPDecoder
        from decoders.braindecoding.cross_subject import CrossSubjectDecoder
        from decoders.braindecoding.ridge import MultiTargetRidgeCV
        from decoders.braindecoding.time_resolved import TemporalConvDecoder

        out += [MultiTargetRidgeCV(),
                ContrastiveMLPDecoder(4, n_blocks=1, epochs=1, batch_size=64, random_state=0),
                CrossSubjectDecoder(4, hidden=8, n_blocks=1, epochs=2, adapter_epochs=2,
                                    batch_size=16, random_state=0),
                TemporalConvDecoder(4, n_blocks=1, kernel=3, epochs=1, batch_size=64,
                                    random_state=0)]
    except ImportError:
        pass
    try:  # a second cross-subject decoder (braindecoding work in progress)
        from decoders.braindecoding.cross_subject import SharedLatentDecoder

        out.append(SharedLatentDecoder(4))
    except ImportError:
        pass
    try:
        from decoders.neuroformer import Neuroformer

        out.append(Neuroformer(16, n_head=2, n_layer=1, block_size=16, past_block_size=32,
                               batch_size=16, epochs=1, max_steps=2, amp=False, device="cpu",
                               dropout=0.0))
    except ImportError:
        pass
    return out


INSTANCES = _instances()
