"""C. elegans: the canonical 302 neuron names, whole-brain traces and structural
connectomes, each checked against direct json / pandas / openpyxl reading of the real
files in ../shared/data."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest

import neurodata as nd
from neurodata.celegans_names import (
    NEURONS_302,
    PHARYNGEAL_NEURONS,
    SEX_SPECIFIC_NEURONS,
    normalize_neuron_name,
)
from neurodata.errors import FormatError
from neurodata.io.celegans import (
    attach_connectome,
    connectome_from_edges,
    load_connectome,
    read_celegans_traces,
    read_connectome,
)

CONN = "calcium/celegans_connectome"
TRACES = "calcium/flavell_atanas2023_subset/time_trace.json"
XLSX = f"{CONN}/cook2019_SI5_connectome_adjacency_matrices_corrected_July2020.xlsx"


def _edges(path):
    return json.loads(path.read_text())


# ------------------------------------------------------------------------------- names
def test_302_names_match_the_cell_table(shared):
    """Real data: our hand-written list equals the neurons of the WormWideWeb cell table
    (sensory / interneuron / motorneuron / neuron, hermaphrodite categories)."""
    assert len(NEURONS_302) == len(set(NEURONS_302)) == 302
    assert len(PHARYNGEAL_NEURONS) == 20 and len(SEX_SPECIFIC_NEURONS) == 8
    cells = pd.read_csv(shared(f"{CONN}/connectome_neurons.csv"))
    neurons = cells[cells["type"].isin(["sensory", "interneuron", "motorneuron", "neuron"])
                    & cells["category"].isin(["shared", "hermaphrodite", "pharynx"])]
    assert set(neurons["name"]) == set(NEURONS_302)


def test_names_cover_cook_and_white(shared):
    """Real data: every neuron of Cook 2019 and of White 1986 normalises onto the list;
    the cells left over are muscles, glia and other non-neurons.  White 1986 (unpadded
    DA1, VB1, ...) has every neuron but CANL/CANR, which make no synapses."""
    cells = pd.read_csv(shared(f"{CONN}/connectome_neurons.csv")).set_index("name")
    for name, absent in (("cook_jarrell_2019_h.json", set()),
                         ("white_1986_whole.json", {"CANL", "CANR"})):
        found = {c for e in _edges(shared(f"{CONN}/{name}")) for c in (e["pre"], e["post"])}
        canon = {normalize_neuron_name(c) for c in found} - {None}
        assert canon <= set(NEURONS_302) and set(NEURONS_302) - canon == absent
        rest = {c for c in found if normalize_neuron_name(c) is None}
        neuron_types = {"sensory", "interneuron", "motorneuron", "neuron"}
        assert not any(cells["type"].get(c) in neuron_types for c in rest)
    assert normalize_neuron_name("VB1") == normalize_neuron_name("vb01 ") == "VB01"
    assert normalize_neuron_name("avfl") == "AVFL"
    assert normalize_neuron_name("AVAL?") is None and normalize_neuron_name(3) is None


# ------------------------------------------------------------------------------ traces
def test_traces_equal_json(shared, tmp_path):
    """Real data: 1600 volumes x 98 neurons, values and times as json.load gives them,
    irregular sampling kept as timestamps, names from neurons.json, all identified."""
    path = shared(TRACES)
    doc = json.loads(path.read_text())
    names = json.loads(path.with_name("neurons.json").read_text())[:98]
    t = np.array([r[0] for r in doc])
    x = np.array([r[1] for r in doc], dtype=np.float32)

    rec = nd.load(path)
    cal = rec.timeseries["calcium"]
    assert cal.shape == (1600, 98) and not cal.is_regular
    np.testing.assert_array_equal(cal.timestamps, t)
    np.testing.assert_array_equal(cal[:, :], x)
    ch = cal.channels
    assert ch["name"].tolist() == names == ch["label"].tolist()
    assert set(ch["type"]) == {"neuron"} and rec.subject["species"] == "Caenorhabditis elegans"
    out = tmp_path / "worm.h5"
    rec.save(out)
    with nd.open(out) as back:
        np.testing.assert_array_equal(back.timeseries["calcium"].timestamps, t)


def test_traces_unidentified_and_regular(tmp_path):
    """Synthetic (planted): uniform 0.5 s grid → rate 2 Hz; unknown, repeated and
    zero-padding variants of names are mapped and labelled as documented."""
    doc = [[0.5 * i, [float(i), -float(i), 1.0, 2.0]] for i in range(6)]
    p = tmp_path / "tt.json"
    p.write_text(json.dumps(doc))
    rec = read_celegans_traces(p, neuron_names=["da1", "AVAL?", "DA01", "AVAR"])
    cal = rec.timeseries["calcium"]
    assert cal.is_regular and cal.rate == 2.0 and cal.t0 == 0.0
    ch = cal.channels
    assert ch["name"].tolist() == ["DA01", "unk_000", "unk_001", "AVAR"]
    assert ch["label"].tolist() == ["DA01", "unidentified", "ambiguous:DA01", "AVAR"]
    assert ch["source_name"].tolist() == ["da1", "AVAL?", "DA01", "AVAR"]
    with pytest.warns(UserWarning, match="unidentified"):
        rec = read_celegans_traces(p)
    assert rec.timeseries["calcium"].channels["name"].tolist()[-1] == "unk_003"


@pytest.mark.parametrize("content, match", [
    ('{"a": 1}', "expected a JSON list"),
    ("[[0.0, [1, 2]], [0.5, [1]]]", "different numbers of values"),
    ('[[0.0, [1, "x"]]]', "non-numeric"),
    ("[[0.0, [1, 2]", "not valid JSON"),
])
def test_traces_bad_input(tmp_path, content, match):
    """Bad trace files raise FormatError naming the file; nothing written."""
    p = tmp_path / "bad.json"
    p.write_text(content)
    with pytest.raises(FormatError, match=match) as err:
        read_celegans_traces(p, neuron_names=["AVAL", "AVAR"])
    assert str(p) in str(err.value)
    with pytest.raises(FormatError, match="at least 2 names"):
        p.write_text("[[0.0, [1, 2]]]")
        read_celegans_traces(p, neuron_names=["AVAL"])


# -------------------------------------------------------------------------- connectomes
@pytest.mark.parametrize("name, n_chem, n_gap", [
    ("cook_jarrell_2019_h.json", 4879, 2883), ("white_1986_whole.json", 2405, 1144)])
def test_nemanode_json_counts(shared, name, n_chem, n_gap):
    """Real data: with every cell kept, nonzero entries = JSON edges (MANIFEST counts);
    weights equal sum(syn); gap junctions symmetric; chemical/electrical share nodes."""
    path = shared(f"{CONN}/{name}")
    edges = _edges(path)
    conn = load_connectome(path, neurons_only=False)
    chem, gap = conn["chemical"], conn["electrical"]
    assert chem.nodes == gap.nodes and chem.nodes[:302] == list(NEURONS_302)
    assert np.count_nonzero(chem.weights) == n_chem and chem.directed
    assert np.count_nonzero(gap.weights) == n_gap and not gap.directed
    np.testing.assert_array_equal(gap.weights, gap.weights.T)
    idx = {n: i for i, n in enumerate(chem.nodes)}

    def node(c):
        return normalize_neuron_name(c) or c.strip()

    for e in edges[::50]:
        m = chem if e["typ"] == 0 else gap
        assert m.weights[idx[node(e["pre"])], idx[node(e["post"])]] == sum(e["syn"])
    assert chem.weights.sum() == sum(sum(e["syn"]) for e in edges if e["typ"] == 0)


def test_neurons_only_and_recording(shared, tmp_path):
    """Real data: neurons_only keeps the 302 canonical nodes and exactly the neuron-to-
    neuron edges; the connectome Recording saves, validates and reopens."""
    path = shared(f"{CONN}/cook_jarrell_2019_h.json")
    edges = _edges(path)
    neuron_edges = [e for e in edges if normalize_neuron_name(e["pre"])
                    and normalize_neuron_name(e["post"])]
    rec = nd.load(path)
    chem = rec.connectivity["chemical"]
    assert chem.nodes == list(NEURONS_302)
    assert np.count_nonzero(chem.weights) == sum(e["typ"] == 0 for e in neuron_edges) == 3709
    assert np.count_nonzero(rec.connectivity["electrical"].weights) == 2196
    i, j = chem.nodes.index("AVAL"), chem.nodes.index("VA08")
    assert chem.weights[i, j] == 7
    out = tmp_path / "cook.h5"
    rec.save(out)
    assert nd.validate(out).ok
    with nd.open(out) as back:
        assert back.connectivity["chemical"] == chem


def test_varshney_csv(shared):
    """Real data: chemical = sum of Nbr over S + Sp rows (pandas groupby); the R + Rp rows
    hold the same synapses seen from the receiver; EJ symmetric; NMJ skipped."""
    path = shared(f"{CONN}/varshney2011_NeuronConnect.csv")
    table = pd.read_csv(path)
    for col in ("Neuron 1", "Neuron 2"):
        table[col] = table[col].map(normalize_neuron_name)
    sends = table[table["Type"].isin(["S", "Sp"])].groupby(["Neuron 1", "Neuron 2"])["Nbr"].sum()
    recv = table[table["Type"].isin(["R", "Rp"])].groupby(["Neuron 2", "Neuron 1"])["Nbr"].sum()
    assert sends.sum() == recv.sum() == 6394
    conn = nd.load(path).connectivity
    chem, gap = conn["chemical"], conn["electrical"]
    assert np.count_nonzero(chem.weights) == len(sends) == 2194
    assert chem.weights.sum() == sends.sum()
    idx = {n: k for k, n in enumerate(chem.nodes)}
    for (a, b), v in sends.iloc[::40].items():
        assert chem.weights[idx[a], idx[b]] == v
    ej = table[table["Type"] == "EJ"]
    assert np.count_nonzero(gap.weights) == 1031 and np.array_equal(gap.weights, gap.weights.T)
    a, b = idx["AVAL"], idx["AVAR"]
    assert gap.weights[a, b] == ej[(ej["Neuron 1"] == "AVAL")
                                   & (ej["Neuron 2"] == "AVAR")]["Nbr"].item() == 5


@pytest.fixture(scope="module")
def cook_xlsx():
    """The 4 MB workbook, read once for the module (~3 s)."""
    from tests.conftest import shared_path

    path = shared_path(XLSX)
    return path, load_connectome(path, neurons_only=False)


def test_cook_xlsx_matrices(cook_xlsx):
    """Real data: the SI5 hermaphrodite sheets (openpyxl, labels embedded) hold 4879
    chemical and 2883 gap-junction entries - as the Cook JSON edge list - and pandas
    reads the same numbers from the sheets."""
    path, conn = cook_xlsx
    chem, gap = conn["chemical"], conn["electrical"]
    assert np.count_nonzero(chem.weights) == 4879 and np.count_nonzero(gap.weights) == 2883
    assert chem.weights.sum() == 28113 and gap.weights.sum() == 23313
    sheet = pd.read_excel(path, sheet_name="hermaphrodite chemical", header=None,
                          nrows=12, usecols=range(12))
    assert sheet.iloc[2, 3] == "I1L" and sheet.iloc[5, 2] == "I2L"
    idx = {n: k for k, n in enumerate(chem.nodes)}
    assert chem.weights[idx["I2L"], idx["I1L"]] == sheet.iloc[5, 3] == 2
    assert chem.weights[idx["I1L"], idx["I2L"]] == sheet.iloc[3, 5] == 10


def test_cook_xlsx_agrees_with_json(cook_xlsx, shared):
    """Real data: the workbook and the NemaNode JSON of Cook 2019 give the same neuron
    connectome (same nonzero pattern)."""
    _, conn = cook_xlsx
    js = load_connectome(shared(f"{CONN}/cook_jarrell_2019_h.json"))
    for kind in ("chemical", "electrical"):
        x = conn[kind].weights[:302, :302]
        assert conn[kind].nodes[:302] == js[kind].nodes
        np.testing.assert_array_equal(x > 0, js[kind].weights > 0)


def test_attach_connectome_to_traces(shared):
    """Real data: traces + Cook connectome; 'recorded' nodes follow the channel order."""
    traces = nd.load(shared(TRACES))
    cook = read_connectome(shared(f"{CONN}/cook_jarrell_2019_h.json"))
    rec = attach_connectome(traces, cook, nodes="recorded")
    chem = rec.connectivity["chemical"]
    names = traces.timeseries["calcium"].channels["name"].tolist()
    assert chem.nodes == names and chem.weights.shape == (98, 98)
    full = cook.connectivity["chemical"]
    k = [full.nodes.index(n) for n in names]
    np.testing.assert_array_equal(chem.weights, full.weights[np.ix_(k, k)])
    assert rec.timeseries["calcium"] is traces.timeseries["calcium"] and not traces.connectivity
    assert rec.provenance["steps"][-1]["name"] == "attach_connectome"
    rec2 = attach_connectome(traces, cook, prefix="cook_")
    assert sorted(rec2.connectivity) == ["cook_chemical", "cook_electrical"]
    assert rec2.connectivity["cook_chemical"].weights.shape == (302, 302)


def test_connectome_bad_input(tmp_path):
    """Bad connectome files raise FormatError naming the file."""
    p = tmp_path / "edges.json"
    p.write_text('[{"pre": "AVAL", "post": "AVAR", "syn": [1], "typ": 5}]')
    with pytest.raises(FormatError, match="typ=5"):
        load_connectome(p)
    p.write_text('[{"pre": "AVAL", "post": "AVAR"}]')
    with pytest.raises(FormatError, match=r"edges.json.*pre, post, syn, typ"):
        load_connectome(p)
    c = tmp_path / "conn.csv"
    c.write_text("Neuron 1,Neuron 2,Type,Nbr\nAVAL,AVAR,XX,1\n")
    with pytest.raises(FormatError, match="unknown connection type"):
        load_connectome(c)
    w = connectome_from_edges([("AVAL", "AVAR", 2.0), ("AVAR", "AVAL", 2.0)], kind="electrical")
    assert w.weights.sum() == 4.0
