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
    if _name == "CrossSubjectDecoder":
        _checks = _checks + ("check_estimators_unfitted",)
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
