"""The end-to-end DynamicConnectome object: summary, save, plots."""

from __future__ import annotations

import json

import matplotlib
import numpy as np
import pandas as pd
import pytest

from connectome.communities import DynamicConnectome, dynamic_connectome
from connectome.simulate_communities import simulate_calcium_communities

matplotlib.use("Agg")


@pytest.fixture(scope="module")
def dc():
    sim = simulate_calcium_communities(
        24,
        2,
        community_size=8,
        n_animals=3,
        n_times=1200,
        event_rate=0.5,
        participation=0.9,
        random_state=1,
    )
    return dynamic_connectome(
        sim.traces,
        window=30,
        rank=3,
        rate=sim.rate,
        neuron_names=sim.neuron_names,
        random_state=0,
        tol=1e-5,
        n_restarts=2,
    )


def test_summary_and_shapes(dc):
    assert isinstance(dc, DynamicConnectome) and dc.rank == 3
    assert dc.time_courses().shape == (dc.affinity.shape[1], 3)
    g = dc.component_graph(0)
    assert g.shape == (24, 24) and np.allclose(g, g.T)
    table = dc.summary_table()
    assert list(table.component) == [0, 1, 2]
    assert {"weight", "peak_time", "n_communities", "community_sizes"} <= set(table.columns)
    assert json.dumps(dc.to_dict())


def test_save(dc, tmp_path):
    out = dc.save(tmp_path / "res")
    assert {p.name for p in out.iterdir()} == {
        "affinity.npz",
        "cp.npz",
        "communities.json",
        "summary.csv",
    }
    assert len(pd.read_csv(out / "summary.csv")) == 3


def test_plots(dc, tmp_path):
    events = pd.DataFrame(
        {"onset": [10.0, 100.0], "duration": [20.0, 5.0], "label": ["stim", "stim"]}
    )
    behaviour = (np.arange(0, 400, 1.0), np.sin(np.arange(400) / 20))
    figs = [
        dc.plot_time_courses(events=events, behavior=behaviour),
        dc.plot_time_courses(events=[(5.0, 3.0, "odor")]),
        dc.plot_animal_loadings(),
        dc.plot_affinity_matrix(0),
        dc.plot_graph(1),
    ]
    for k, fig in enumerate(figs):
        fig.savefig(tmp_path / f"f{k}.png")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots()
    assert dc.plot_graph(0, ax=ax) is fig
    plt.close("all")
