"""scikit-learn's estimator checks over every estimator in the project (synthetic data
from scikit-learn; tiny settings from tests/estimator_instances.py).

Estimators that fit a (n_samples, n_features) table pass every check except the
documented ones below.  The others fit something that is not a table: spike trains
(``SpikeTokenizer``), token windows (``Neuroformer``), a 3-way tensor (``NonnegCP``),
epochs of shape (n_epochs, n_channels, n_times) (``FilterBankCSP``,
``RVQTokenHistogram``, ``TorchClassifier``, ``TemporalConvDecoder``), mappings per
subject (``CrossSubjectDecoder``), or a signal with its sampling rate whose patches must
be long enough for the encoder (``RVQTokenizer``, ``KMeansPatchVQ``).  For those the
checks that feed a random 2-D table cannot apply; their API checks run and must pass
(constructor stores its arguments, ``get_params`` / ``set_params`` / ``clone`` round
trip, no attributes set in ``__init__``, defaults constructible, ``repr``, mixin order),
and the table checks are expected to fail, each for the reason given.
"""

from __future__ import annotations

import warnings

import pytest
import torch
from sklearn.exceptions import ConvergenceWarning
from sklearn.utils.estimator_checks import parametrize_with_checks

from tests.estimator_instances import INSTANCES

# The checks that call fit (or predict/transform) on a random 2-D numeric table.
_TABLE_CHECKS = (
    "check_fit_score_takes_y", "check_estimators_overwrite_params",
    "check_dont_overwrite_parameters", "check_estimators_fit_returns_self",
    "check_readonly_memmap_input", "check_n_features_in_after_fitting",
    "check_positive_only_tag_during_fit", "check_estimators_dtypes", "check_complex_data",
    "check_dtype_object", "check_estimators_empty_data_messages",
    "check_pipeline_consistency", "check_estimators_nan_inf", "check_estimator_sparse_tag",
    "check_estimator_sparse_array", "check_estimator_sparse_matrix",
    "check_estimators_pickle", "check_f_contiguous_array_estimator",
    "check_methods_sample_order_invariance", "check_methods_subset_invariance",
    "check_fit2d_1sample", "check_fit2d_1feature", "check_dict_unchanged",
    "check_fit_idempotent", "check_fit_check_is_fitted", "check_n_features_in",
    "check_fit2d_predict1d",
)
_TRANSFORMER_TABLE_CHECKS = ("check_transformer_data_not_an_array",
                             "check_transformer_general", "check_transformer_preserve_dtypes")
_CLASSIFIER_TABLE_CHECKS = (
    "check_estimators_unfitted", "check_classifier_data_not_an_array",
    "check_classifiers_one_label", "check_classifiers_classes", "check_classifiers_train",
    "check_classifiers_regression_target", "check_supervised_y_2d",
    "check_decision_proba_consistency", "check_requires_y_none",
)

_REGRESSOR_TABLE_CHECKS = (
    "check_regressors_train", "check_regressor_data_not_an_array",
    "check_regressor_multioutput", "check_regressors_no_decision_function",
    "check_supervised_y_2d", "check_regressors_int", "check_requires_y_none",
)

_INPUT = {
    "NonnegCP": "fits a 3-way non-negative tensor (pairs x windows x animals), not a table",
    "FilterBankCSP": "fits epochs of shape (n_epochs, n_channels, n_times), not a table",
    "RVQTokenHistogram": "fits epochs of shape (n_epochs, n_channels, n_times), not a table",
    "TorchClassifier": "fits epochs of shape (n_epochs, n_channels, n_times), not a table",
    "RVQTokenizer": "fits signals with a sampling rate; a table's rows are too few samples "
                    "for one patch of the convolutional encoder",
    "KMeansPatchVQ": "fits signals with a sampling rate (rate=), cut into patches",
    "SpikeTokenizer": "fits neurodata.SpikeTrains (spike times and unit names), not a table",
    "Neuroformer": "fits TokenWindows (spike tokens), not a table",
    "TemporalConvDecoder": "fits epochs of shape (n_epochs, n_channels, n_times), not a "
                           "table",
    "CrossSubjectDecoder": "fits mappings {subject: array} (one adapter per subject), not a "
                           "table",
    "SharedLatentDecoder": "fits mappings {subject: array} (one adapter per subject), not a "
                           "table",
}

_EXPECTED: dict[str, dict[str, str]] = {
    # bins form a time series: reordering or subsetting them changes the posteriors
    "HMMGLM": {"check_methods_sample_order_invariance": "posteriors depend on the order of "
                                                        "bins (a time series)",
               "check_methods_subset_invariance": "single bins are shorter than the filter "
                                                  "window"},
    "MultiTargetRidgeCV": {"check_regressor_multioutput": "float32 predictions by design "
                                                          "(dtype=)"},
    "ContrastiveMLPDecoder": {
        "check_regressor_multioutput": "float32 predictions by design (torch float32)",
        "check_regressors_train": "1 training epoch (test speed) is too few for the "
                                  "check's fit-quality threshold",
    },
}
for _name, _why in _INPUT.items():
    _checks = _TABLE_CHECKS
    if _name in ("FilterBankCSP", "RVQTokenHistogram"):
        _checks = _checks + _TRANSFORMER_TABLE_CHECKS
    if _name == "TorchClassifier":
        _checks = _checks + _CLASSIFIER_TABLE_CHECKS
    if _name == "TemporalConvDecoder":
        _checks = _checks + _REGRESSOR_TABLE_CHECKS
    if _name in ("CrossSubjectDecoder", "SharedLatentDecoder"):
        _checks = _checks + ("check_estimators_unfitted",)
    if _name == "FilterBankCSP":  # target_tags.required: fit(X_table, None) is a table check
        _checks = _checks + ("check_requires_y_none",)
    _EXPECTED[_name] = dict.fromkeys(_checks, _why)


def _expected_failed(estimator) -> dict[str, str]:
    return _EXPECTED.get(type(estimator).__name__, {})


def test_every_estimator_is_listed():
    """Every BaseEstimator subclass defined in the project's packages has an instance here."""
    import importlib
    import inspect
    import pkgutil

    from sklearn.base import BaseEstimator

    found = set()
    for pkg in ("connectome", "decoders"):
        mod = importlib.import_module(pkg)
        for info in pkgutil.walk_packages(mod.__path__, prefix=f"{pkg}."):
            try:
                sub = importlib.import_module(info.name)
            except ImportError:  # an optional dependency of one module
                continue
            for name, obj in vars(sub).items():
                if (inspect.isclass(obj) and issubclass(obj, BaseEstimator)
                        and obj.__module__ == info.name and not name.startswith("_")):
                    found.add(name)
    listed = {type(e).__name__ for e in INSTANCES}
    assert found <= listed, f"add tiny instances of {sorted(found - listed)}"


@pytest.fixture(autouse=True, scope="module")
def _one_torch_thread():
    """Tiny models run fastest on one thread."""
    old = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(old)


@parametrize_with_checks(INSTANCES, expected_failed_checks=_expected_failed)
def test_sklearn_checks(estimator, check):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        check(estimator)


# ----------------------------------------------------------------------- tags and verbose
def test_count_glms_declare_non_negative_input():
    """Synthetic (scikit-learn's own checks): Poisson/Bernoulli GLMs carry the
    positive_only tag and refuse negative input the way scikit-learn checks it; the
    Gaussian ones accept it."""
    from sklearn.utils import get_tags
    from sklearn.utils.estimator_checks import (
        check_fit_non_negative,
        check_positive_only_tag_during_fit,
    )

    from connectome import HMMGLM, CouplingGLM

    for obs in ("poisson", "bernoulli"):
        for est in (CouplingGLM(obs, window=1, max_iter=10),
                    HMMGLM(2, observation=obs, window=1, max_iter=2, m_step_iter=2,
                           verbose=False, random_state=0)):
            assert get_tags(est).input_tags.positive_only
            assert not get_tags(est).target_tags.required
            check_positive_only_tag_during_fit(type(est).__name__, est)
            check_fit_non_negative(type(est).__name__, est)
    assert not get_tags(CouplingGLM("gaussian")).input_tags.positive_only


def test_epoch_estimators_declare_their_input():
    """Epoch estimators say they take 3-D arrays; FBCSP needs y."""
    from sklearn.utils import get_tags

    by_name = {type(e).__name__: e for e in INSTANCES}
    for name in ("FilterBankCSP", "TorchClassifier", "RVQTokenHistogram"):
        assert get_tags(by_name[name]).input_tags.three_d_array, name
    assert get_tags(by_name["FilterBankCSP"]).target_tags.required
    assert not get_tags(by_name["RVQTokenHistogram"]).target_tags.required


def test_nonneg_cp_declares_non_negative_input():
    """Synthetic tensors: NonnegCP carries the positive_only tag, refuses a negative
    3-way tensor with scikit-learn's phrase (also at masked-in entries), and scikit-learn's
    own non-negative check passes."""
    import numpy as np
    from sklearn.utils import get_tags
    from sklearn.utils.estimator_checks import check_fit_non_negative

    from connectome import NonnegCP

    est = NonnegCP(rank=1, n_restarts=1, n_iter_max=200, tol=1e-4, random_state=0)
    assert get_tags(est).input_tags.positive_only
    assert not get_tags(est).target_tags.required
    x = np.random.default_rng(0).random((4, 3, 2))
    x[1, 2, 0] = -0.5
    with pytest.raises(ValueError, match="Negative values in data"):
        est.fit(x)
    with pytest.raises(ValueError, match="Negative values in data"):
        est.fit(x, mask=np.ones(x.shape, bool))
    mask = np.ones(x.shape, bool)
    mask[1, 2, 0] = False  # a masked negative entry is missing data, not an error
    assert est.fit(x, mask=mask).factors_[0].shape == (4, 1)
    check_fit_non_negative("NonnegCP", est)


# Estimators whose fit still takes verbose= without the deprecation (the old decoders
# convention): none left.  Their fit(verbose=) is a deprecated alias now, listed below.
_FIT_VERBOSE_PENDING: dict[str, str] = {}
_FIT_VERBOSE_DEPRECATED = ("RVQTokenHistogram", "RVQTokenizer", "KMeansPatchVQ",
                           "SpikeTokenizer", "Neuroformer")


def test_one_verbose_convention():
    """Estimators take verbose in the constructor (scikit-learn's convention, values as
    neurodata.log: None/True/False/level); fit(verbose=) survives only as a deprecated
    alias (the deprecated list above) or in the pending list (empty)."""
    import inspect

    for est in INSTANCES:
        name = type(est).__name__
        if "verbose" in inspect.signature(type(est).fit).parameters:
            assert name in _FIT_VERBOSE_DEPRECATED or name in _FIT_VERBOSE_PENDING, name
        if name in _FIT_VERBOSE_DEPRECATED:
            assert "verbose" in est.get_params(deep=False), name
        if "verbose" in est.get_params(deep=False):
            assert inspect.signature(type(est)).parameters["verbose"].default is None, name


def test_fit_verbose_is_deprecated_and_constructor_verbose_shows_progress(capsys):
    """Synthetic epochs: RVQTokenHistogram.fit(verbose=) warns (FutureWarning) and still
    applies; TorchClassifier(verbose=True) shows its epoch bar, verbose=False hides it."""
    import numpy as np

    from decoders.pipelines_tokens import RVQTokenHistogram
    from decoders.torch_estimator import TorchClassifier

    rng = np.random.default_rng(0)
    X = rng.standard_normal((8, 2, 100))
    y = np.repeat([0, 1], 4)
    tok = RVQTokenHistogram(100.0, n_codebooks=1, codebook_size=4, patch_seconds=0.5,
                            n_steps=2, batch_size=8, random_state=0)
    with pytest.warns(FutureWarning, match=r"fit\(verbose=\.\.\.\) is deprecated"):
        tok.fit(X, verbose=False)
    assert tok.transform(X).shape == (8, 2 * 4)
    TorchClassifier("shallow", sfreq=100.0, max_epochs=1, batch_size=8, random_state=0,
                    verbose=True).fit(X, y)
    assert "shallow" in capsys.readouterr().err
    TorchClassifier("shallow", sfreq=100.0, max_epochs=1, batch_size=8, random_state=0,
                    verbose=False).fit(X, y)
    assert "shallow" not in capsys.readouterr().err


def test_deprecated_fit_verbose_warns_and_constructor_verbose_applies(capsys, monkeypatch):
    """Synthetic spike trains and signals: each estimator whose verbose moved to the
    constructor warns (FutureWarning) on fit(verbose=) and still applies it to that call;
    without it, fit and encode log at the constructor's level, and encode's per-call
    verbose overrides it for one call."""
    import logging

    import numpy as np

    import neurodata as nd
    from decoders.neuroformer import Neuroformer, make_windows
    from decoders.tokenizers import KMeansPatchVQ, RVQTokenizer, SpikeTokenizer
    from neurodata.log import logger

    st = nd.SpikeTrains.from_unit_times({"a": [0.012, 0.031, 0.12], "b": [0.045, 0.16]},
                                        t_start=0.0, t_stop=0.2)
    capsys.readouterr()
    before = logger.level

    def info_logged(fn) -> bool:  # the package handler writes to stderr
        fn()
        return "SpikeTokenizer: 2 units" in capsys.readouterr().err

    # fit logs "SpikeTokenizer: n units" at INFO: shown under verbose=True only
    assert info_logged(lambda: SpikeTokenizer(verbose=True).fit(st))
    assert not info_logged(lambda: SpikeTokenizer(verbose=False).fit(st))
    assert not info_logged(lambda: SpikeTokenizer().fit(st))  # None: package level
    with pytest.warns(FutureWarning, match=r"SpikeTokenizer\.fit\(verbose=\.\.\.\) is "
                                           r"deprecated.*SpikeTokenizer\(\.\.\., verbose"):
        assert not info_logged(lambda: SpikeTokenizer(verbose=True).fit(st, verbose=False))
    assert logger.level == before  # the call's level does not leak out

    # encode: None follows the instance, a per-call value overrides it for that call
    import decoders.tokenizers.spike as spike_module

    tok = SpikeTokenizer(window=0.05, past_window=0.05, dt=0.01, verbose="DEBUG").fit(st)
    seen = []
    ticks = spike_module._ticks

    def spy(*args):  # runs inside encode: records the level encode runs under
        seen.append(logger.getEffectiveLevel())
        return ticks(*args)

    monkeypatch.setattr(spike_module, "_ticks", spy)
    tok.encode(st)
    assert seen and set(seen) == {logging.DEBUG}
    seen.clear()
    tok.encode(st, verbose=False)
    assert seen and set(seen) == {logging.WARNING}

    x = np.random.default_rng(0).standard_normal((400, 2))
    for est in (KMeansPatchVQ(n_codes=2, sfreq=100.0, patch_seconds=0.5),
                RVQTokenizer(100.0, patch_seconds=0.5, n_codebooks=1, codebook_size=2,
                             dim=4, hidden=2, width=8, kernel_sizes=(3,), n_steps=1,
                             batch_size=8, codebook_init="random")):
        with pytest.warns(FutureWarning, match=type(est).__name__ + r"\.fit\(verbose="):
            est.fit(x, rate=100.0, verbose=False)
        assert est.encode(x, rate=100.0).shape[:2] == (2, 8)

    w = make_windows(st, tok, block_size=8, max_past=16)
    with pytest.warns(FutureWarning, match=r"Neuroformer\.fit\(verbose="):
        m = Neuroformer(8, n_head=2, n_layer=1, block_size=8, past_block_size=16, epochs=1,
                        batch_size=4, device="cpu").fit(w, verbose=False)
    assert len(m.history_) == 1 and "verbose" not in m._meta()["estimator"]
