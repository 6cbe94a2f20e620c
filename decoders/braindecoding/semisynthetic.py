"""Semi-synthetic brain → caption data: real caption embeddings, simulated voxels.

Built by this project to test decoders where the answer is known.  Stimuli are real
sentence embeddings (:func:`synthetic_captions`: 600 captions, 40 things x 15 scenes,
embedded with any :class:`~.embedders.Embedder`, by default all-MiniLM-L6-v2); brain
responses are simulated by a linear–nonlinear encoding model (Naselaris et al. 2011,
"Encoding and decoding in fMRI", NeuroImage 56:400) seen through an HRF and noise:

1. a **shared latent code** ``z = standardise(E B)``: ``B`` (dim x latent_dim) is one
   random orthonormal projection for all subjects (brains share a representational
   space, the premise of cross-subject decoding);
2. **per-subject voxel tuning**: neural response ``r_v = softplus(g (z W_s)_v + b_v)``,
   ``W_s`` (latent_dim x n_voxels_s) Gaussian, offsets ``b_v`` ~ N(-1, 0.5) (a rectifying
   nonlinearity); a fraction ``energy_fraction`` of the voxels are "energy" units,
   ``r_v = softplus(g ((z W_s)_v^2 - 1) / 2 + b_v)``, tuned to the magnitude of their
   projection and blind to its sign (the complex-cell form of the LN model), which no
   linear read-out can use — so the brain → embedding map is not linear;
3. **BOLD**: trials every ``isi`` seconds (jittered) in runs; the neural responses are
   convolved with SPM's canonical double-gamma HRF (peak 6 s, undershoot 16 s, ratio
   1/6), sampled every ``tr`` seconds, plus AR(1) noise (rho 0.3) with standard deviation
   ``noise`` and a slow drift;
4. **single-trial betas** by least squares on one HRF regressor per trial plus a
   constant and linear drift per run ("least squares all", Mumford et al. 2012,
   NeuroImage 59:2636) — what the decoders see, with the overlap of neighbouring trials
   left in.

Subjects differ in voxel count; every subject sees the same training-stimulus pool and
the same held-out test stimuli (never shown in training), as in NSD's shared images.

What subjects share, and what they do not: the latent code ``z`` (the same ``B`` for
all) — that is, *which* directions of the embedding brains encode (``latent_dim`` of
``dim``) — but not their voxel tuning: every ``W_s`` is drawn independently, so nothing
about a new subject's voxel weights can be learnt from other subjects.  A cross-subject
model can transfer the shared part only (see :class:`~.cross_subject.
SharedLatentDecoder`); a voxel-space "anatomical" correspondence between subjects is not
simulated.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from sklearn.utils.validation import check_random_state

from .errors import BrainDecodingError
from .retrieval import check_embeddings

__all__ = ["synthetic_captions", "spm_hrf", "SimulatedSubject", "simulate_subjects",
           "split_stimuli", "compare_decoders"]

_THINGS = [
    "a dog", "a cat", "a man", "a woman", "a child", "a horse", "a bird", "a red car",
    "a city bus", "a train", "a small boat", "a bicycle", "an elephant", "a giraffe",
    "a pizza", "a birthday cake", "a laptop", "a clock", "a wooden chair", "a bed",
    "a kite", "a surfer", "a tennis player", "a skateboarder", "a teddy bear",
    "an airplane", "a cow", "a flock of sheep", "a zebra", "a bowl of fruit",
    "a motorcycle", "a fire hydrant", "a stop sign", "an umbrella", "a suitcase",
    "a pair of skis", "a bench", "a vase of flowers", "a sandwich", "a television",
]
_SCENES = [
    "on a sandy beach", "in a kitchen", "on a busy city street", "in a grassy field",
    "in the snow", "next to a river", "inside a living room", "at night under street lights",
    "on a wooden table", "in front of an old building", "in a forest", "at an airport",
    "in a park on a sunny day", "in the rain", "on a mountain road",
]


def synthetic_captions() -> list[str]:
    """600 captions "a photo of <thing> <scene>" (40 things x 15 scenes), in a fixed order."""
    return [f"a photo of {t} {s}" for t in _THINGS for s in _SCENES]


def spm_hrf(tr: float, *, duration: float = 32.0) -> np.ndarray:
    """SPM's canonical double-gamma HRF sampled every ``tr`` seconds, peak normalised."""
    from scipy.stats import gamma

    t = np.arange(0.0, duration, tr)
    h = gamma.pdf(t, 6.0) - gamma.pdf(t, 16.0) / 6.0
    return h / h.max()


@dataclass
class SimulatedSubject:
    """One simulated subject: single-trial betas and what they were responses to."""

    subject: str
    X: np.ndarray            # (n_trials, n_voxels) float32 single-trial betas
    stimulus: np.ndarray     # (n_trials,) index into the embedding table
    run: np.ndarray          # (n_trials,) run of each trial
    is_test: np.ndarray      # (n_trials,) bool: a held-out test trial
    params: dict[str, Any] = field(default_factory=dict)

    @property
    def n_voxels(self) -> int:
        return int(self.X.shape[1])

    def train(self, n: int | None = None) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """First ``n`` training trials (all when ``None``): X, stimulus, run."""
        idx = np.flatnonzero(~self.is_test)
        if n is not None:
            if n > idx.size:
                raise BrainDecodingError(f"{self.subject}: asked for {n} training trials, "
                                         f"has {idx.size}")
            idx = idx[:n]
        return self.X[idx], self.stimulus[idx], self.run[idx]

    def test(self) -> tuple[np.ndarray, np.ndarray]:
        """Test trials averaged over repeats: X (n_test_stimuli, n_voxels), stimulus ids."""
        idx = np.flatnonzero(self.is_test)
        stim = self.stimulus[idx]
        uniq, inv = np.unique(stim, return_inverse=True)
        X = np.zeros((uniq.size, self.X.shape[1]))
        np.add.at(X, inv, self.X[idx])
        return (X / np.bincount(inv)[:, None]).astype(np.float32), uniq


def split_stimuli(n_stimuli: int, n_test: int, *, random_state: Any = 0
                  ) -> tuple[np.ndarray, np.ndarray]:
    """Disjoint random (train, test) stimulus indices."""
    if n_test >= n_stimuli:
        raise BrainDecodingError(f"n_test={n_test} leaves no training stimulus out of "
                                 f"{n_stimuli}")
    perm = check_random_state(random_state).permutation(n_stimuli)
    return np.sort(perm[n_test:]), np.sort(perm[:n_test])


def _lsa_betas(neural: np.ndarray, onsets: np.ndarray, n_scans: int, tr: float,
               noise: float, rng) -> np.ndarray:
    """Simulate one run's BOLD from per-trial neural responses and re-estimate betas."""
    hrf = spm_hrf(tr)
    n_trials, n_vox = neural.shape
    fine = 10  # 0.1-TR grid for the onsets
    grid = np.zeros((n_scans * fine, n_trials))
    for i, t in enumerate(onsets):
        grid[int(round(t / tr * fine)), i] = 1.0
    hrf_fine = np.interp(np.arange(hrf.size * fine) / fine, np.arange(hrf.size), hrf)
    conv = np.stack([np.convolve(grid[:, i], hrf_fine)[: n_scans * fine]
                     for i in range(n_trials)], axis=1)
    D = conv[::fine]  # (n_scans, n_trials)
    drift = np.linspace(-1, 1, n_scans)
    bold = D @ neural + np.outer(drift, rng.normal(0, 0.5, n_vox))
    e = rng.standard_normal((n_scans, n_vox)) * noise
    for t in range(1, n_scans):  # AR(1) noise
        e[t] += 0.3 * e[t - 1]
    bold += e
    design = np.column_stack([D, np.ones(n_scans), drift])
    beta, *_ = np.linalg.lstsq(design, bold, rcond=None)
    return beta[:n_trials]


def simulate_subjects(embeddings: Any, *, train_stimuli: Sequence[int],
                      test_stimuli: Sequence[int], n_train_trials: int = 1200,
                      n_test_repeats: int = 1, n_voxels: Sequence[int] = (300, 400, 500, 600),
                      latent_dim: int = 32, gain: float = 1.5, noise: float = 1.0,
                      energy_fraction: float = 0.0,
                      tr: float = 2.0, isi: float = 4.0, trials_per_run: int = 60,
                      random_state: Any = 0) -> list[SimulatedSubject]:
    """Simulate single-trial fMRI betas of several subjects (see the module docstring).

    Parameters
    ----------
    embeddings : array of shape (n_stimuli, dim)
        Real stimulus embeddings (e.g. sentence embeddings of :func:`synthetic_captions`).
    train_stimuli, test_stimuli : sequence of int
        Disjoint stimulus indices; training trials cycle through ``train_stimuli`` in a
        per-subject random order, every test stimulus is shown ``n_test_repeats`` times.
    n_train_trials : int, default=1200
    n_test_repeats : int, default=1
    n_voxels : sequence of int
        Voxel count of each subject (one subject per entry).
    latent_dim : int, default=32
        Size of the shared latent code.
    gain : float, default=1.5
        Gain of the voxel nonlinearity (larger = more nonlinear).
    noise : float, default=1.0
        Standard deviation of the BOLD noise (the neural responses are ~1).
    energy_fraction : float, default=0.0
        Share of sign-blind "energy" voxels.
    tr, isi : float
        Repetition time and mean inter-trial interval, seconds.
    trials_per_run : int, default=60
    random_state : int, RandomState or None

    Returns
    -------
    list of SimulatedSubject
        ``sub-01``, ``sub-02``, ...; trials in presentation order, test trials last.
    """
    E = check_embeddings(embeddings, "stimulus embeddings").astype(np.float64)
    train_stimuli = np.asarray(train_stimuli, dtype=np.int64)
    test_stimuli = np.asarray(test_stimuli, dtype=np.int64)
    if np.intersect1d(train_stimuli, test_stimuli).size:
        raise BrainDecodingError("train_stimuli and test_stimuli overlap; test stimuli must be "
                                 "unseen in training")
    if max(train_stimuli.max(), test_stimuli.max()) >= E.shape[0]:
        raise BrainDecodingError(f"stimulus indices exceed the {E.shape[0]} embeddings "
                                 "(stimulus/event count mismatch)")
    rng = check_random_state(random_state)
    B, _ = np.linalg.qr(rng.standard_normal((E.shape[1], latent_dim)))
    Z = E @ B
    Z = (Z - Z.mean(0)) / (Z.std(0) + 1e-12)
    subjects = []
    for si, nv in enumerate(n_voxels):
        W = rng.standard_normal((latent_dim, int(nv))) / np.sqrt(latent_dim)
        b = rng.normal(-1.0, 0.5, int(nv))
        reps = int(np.ceil(n_train_trials / train_stimuli.size))
        train_seq = np.concatenate([rng.permutation(train_stimuli) for _ in range(reps)])
        train_seq = train_seq[:n_train_trials]
        test_seq = np.concatenate([rng.permutation(test_stimuli)
                                   for _ in range(n_test_repeats)])
        seq = np.concatenate([train_seq, test_seq])
        is_test = np.r_[np.zeros(train_seq.size, bool), np.ones(test_seq.size, bool)]
        drive = Z[seq] @ W
        energy = rng.random(int(nv)) < energy_fraction
        drive[:, energy] = (drive[:, energy] ** 2 - 1.0) / 2.0
        neural_all = np.logaddexp(0.0, gain * drive + b)  # softplus
        X = np.empty((seq.size, int(nv)))
        run = np.empty(seq.size, dtype=np.int64)
        # Runs never mix training and test trials, so leave-one-run-out is clean.
        bounds = []
        for lo, hi in ((0, train_seq.size), (train_seq.size, seq.size)):
            bounds += [(s, min(s + trials_per_run, hi)) for s in range(lo, hi, trials_per_run)]
        for r, (lo, hi) in enumerate(bounds):
            k = hi - lo
            onsets = 6.0 + np.arange(k) * isi + rng.uniform(-0.5, 0.5, k)
            n_scans = int(np.ceil((onsets[-1] + 20.0) / tr))
            X[lo:hi] = _lsa_betas(neural_all[lo:hi], onsets, n_scans, tr, noise, rng)
            run[lo:hi] = r
        subjects.append(SimulatedSubject(
            f"sub-{si + 1:02d}", X.astype(np.float32), seq, run, is_test,
            params={"n_voxels": int(nv), "latent_dim": latent_dim, "gain": gain,
                    "noise": noise, "energy_fraction": energy_fraction, "tr": tr,
                    "isi": isi}))
    return subjects


def compare_decoders(embeddings: Any, *, train_sizes: Sequence[int] = (150, 300, 600, 1200),
                     fewshot_sizes: Sequence[int] = (25, 50, 100, 200),
                     seeds: Sequence[int] = (0,), n_candidates: int = 300,
                     n_subsets: int = 30, mlp_params: dict | None = None,
                     xsub_params: dict | None = None, xsub_mlp_params: dict | None = None,
                     sim_params: dict | None = None) -> list[dict[str, Any]]:
    """Top-1 among ``n_candidates`` held-out stimuli for ridge, MLP and cross-subject.

    For each seed: simulate subjects (:func:`simulate_subjects`, ``sim_params``; 300 test
    stimuli unseen in training); on ``sub-01`` fit ridge and the contrastive MLP at each
    training size; build the cross-subject model (:class:`~.cross_subject.
    SharedLatentDecoder`, ``xsub_params``) from all but the last subject (all their
    training trials), then for the last ("new") subject compare per-subject ridge with
    the cross-subject model whose adapter alone is fitted, at each few-shot size.

    Rows (``model``):

    - ``ridge``, ``mlp``: sub-01, retrieval in the embedding space;
    - ``ridge_fewshot``: the new subject's own ridge (one leave-one-out alpha for all
      targets: with 25-50 trials it retrieved better than a per-target alpha, so the
      baseline is the stronger ridge), embedding space;
    - ``xsub_fewshot``: the cross-subject model, adapter only, retrieval in its shared
      latent (:meth:`~.cross_subject.SharedLatentDecoder.predict_latent` against
      :meth:`~.cross_subject.SharedLatentDecoder.transform_stimuli` of the candidates);
    - ``xsub_fewshot_embedding``: the same model's embedding-space predictions (its
      linear head), to show where the difference comes from;
    - ``xsub_mlp_fewshot`` (only when ``xsub_mlp_params`` is given): the gradient-trained
      :class:`~.cross_subject.CrossSubjectDecoder`, ``add_subject(method="align")``.

    Returns
    -------
    list of dict
        Rows ``{seed, model, subject, n_train, top1, top5}``.
    """
    from .contrastive import ContrastiveMLPDecoder
    from .cross_subject import CrossSubjectDecoder, SharedLatentDecoder
    from .retrieval import subset_topk
    from .ridge import MultiTargetRidgeCV

    E = check_embeddings(embeddings, "stimulus embeddings")
    n_test = min(n_candidates, E.shape[0] // 2)
    rows = []
    for seed in seeds:
        train_st, test_st = split_stimuli(E.shape[0], n_test, random_state=seed)
        subs = simulate_subjects(E, train_stimuli=train_st, test_stimuli=test_st,
                                 n_train_trials=max(train_sizes), random_state=seed,
                                 **(sim_params or {}))

        def score(pred, cand, seed=seed):
            res = subset_topk(pred, cand, n_candidates=n_test, n_subsets=n_subsets,
                              random_state=seed)
            return res[1], res[5]

        def add(model, subject, n, pred, cand, seed=seed):
            t1, t5 = score(pred, cand)
            rows.append({"seed": seed, "model": model, "subject": subject,
                         "n_train": int(n), "top1": t1, "top5": t5})

        first = subs[0]
        Xte, ste = first.test()
        for n in train_sizes:
            X, st, _ = first.train(n)
            for name, model in (
                    ("ridge", MultiTargetRidgeCV()),
                    ("mlp", ContrastiveMLPDecoder(random_state=seed, **(mlp_params or {})))):
                add(name, first.subject, n, model.fit(X, E[st]).predict(Xte), E[ste])
        known, new = subs[:-1], subs[-1]
        Xk = {s.subject: s.train()[0] for s in known}
        Yk = {s.subject: E[s.train()[1]] for s in known}
        xsub = SharedLatentDecoder(**(xsub_params or {})).fit(Xk, Yk)
        xmlp = (CrossSubjectDecoder(random_state=seed, **xsub_mlp_params).fit(Xk, Yk)
                if xsub_mlp_params is not None else None)
        Xte, ste = new.test()
        cand_latent = xsub.transform_stimuli(E[ste])
        for n in fewshot_sizes:
            X, st, _ = new.train(n)
            add("ridge_fewshot", new.subject, n,
                MultiTargetRidgeCV(alpha_per_target=False).fit(X, E[st]).predict(Xte), E[ste])
            xsub.add_subject(new.subject, X, E[st])
            add("xsub_fewshot", new.subject, n, xsub.predict_latent(Xte, subject=new.subject),
                cand_latent)
            add("xsub_fewshot_embedding", new.subject, n,
                xsub.predict(Xte, subject=new.subject), E[ste])
            if xmlp is not None:
                xmlp.add_subject(new.subject, X, E[st])
                add("xsub_mlp_fewshot", new.subject, n,
                    xmlp.predict(Xte, subject=new.subject), E[ste])
    return rows
