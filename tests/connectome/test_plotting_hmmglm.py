"""HMM-GLM figures draw on given axes and return the figure."""

from __future__ import annotations

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pytest  # noqa: E402

from connectome.plotting_hmmglm import (  # noqa: E402
    plot_connectome,
    plot_state_posteriors,
    plot_state_weights,
)


def test_plots_return_figures_and_use_given_axes():
    rng = np.random.default_rng(0)
    proba = rng.dirichlet(np.ones(3), size=200)
    fig, ax = plt.subplots()
    assert plot_state_posteriors(proba, bin_size=0.05, behavior=rng.random(200),
                                 behavior_label="speed (cm/s)", ax=ax) is fig
    fig2 = plot_state_weights(rng.normal(size=(3, 5, 5)))
    assert len(fig2.axes) == 4  # three states + colour bar
    fig3 = plot_connectome(rng.integers(-1, 2, (5, 5)))
    assert fig3.axes[0].get_title() == "learned prior"
    plt.close("all")


def test_plot_bad_shapes():
    with pytest.raises(ValueError, match="behavior must have shape"):
        plot_state_posteriors(np.ones((10, 2)) / 2, behavior=np.ones(9))
    with pytest.raises(ValueError, match="weights must have shape"):
        plot_state_weights(np.ones((3, 4)))
    with pytest.raises(ValueError, match="square"):
        plot_connectome(np.ones((3, 4)))
    plt.close("all")
