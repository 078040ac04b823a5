"""Places, households and the network: sizes, sourced attributes, structure."""

import unicodedata

import numpy as np
import pytest

from diffusion import AdoptionModel, ModelParams, ParameterError
from diffusion.foundation.sources import place, places
from diffusion.model.network import build_network
from diffusion.model.population import build_population, income_sigma


def rng(seed=0):
    return np.random.default_rng(seed)


def test_place_presets_and_names_keep_diacritics():
    assert place("thon_dong").households == 275
    assert place("thon_dong").name == "Thôn Đông"
    qn = place("quang_ninh")
    assert 390_000 <= qn.households <= 410_000
    for p in places().values():
        assert p.name == unicodedata.normalize("NFC", p.name)
        assert p.basis  # every preset says where its numbers come from


def test_thon_dong_has_275_households_in_one_hamlet():
    pop = build_population("thon_dong", ModelParams(), rng())
    assert pop.n == 275 and pop.n_hamlets == 1
    assert pop.hamlet_names == ["Thôn Đông"]


def test_scale_changes_households_of_a_hamlet_and_hamlets_of_a_province():
    assert build_population("thon_dong", ModelParams(), rng(), scale=2).n == 550
    pop = build_population("quang_ninh", ModelParams(), rng(), scale=0.01)
    assert pop.n_hamlets == 15
    assert 3_000 < pop.n < 5_000
    assert np.all(np.diff(pop.hamlet) >= 0)  # hamlets are contiguous blocks


def test_income_matches_mean_and_quintile_ratio():
    prm = ModelParams()
    pop = build_population("quang_ninh", prm, rng(), scale=0.25)
    mean = prm.income_mean_vnd * pop.place.income_multiplier
    assert pop.income.mean() == pytest.approx(mean, rel=0.02)
    inc = np.sort(pop.income)
    k = inc.size // 5
    assert inc[-k:].mean() / inc[:k].mean() == pytest.approx(7.6, rel=0.05)
    assert income_sigma(7.6) == pytest.approx(0.7186, abs=1e-3)


def test_household_attributes_are_consistent():
    prm = ModelParams()
    pop = build_population("commune", prm, rng())
    assert np.all(pop.working_age <= pop.size)
    assert np.all(pop.working_age[pop.elderly_only] == 0)
    assert np.all(pop.head_age[pop.elderly_only] >= 65)
    assert pop.size.mean() == pytest.approx(prm.household_size_mean, rel=0.05)
    assert pop.working_age.sum() / pop.size.sum() == pytest.approx(prm.working_age_share, abs=0.03)
    assert pop.poor.mean() == pytest.approx(prm.poor_share, abs=0.002)
    assert not np.any(pop.poor & pop.near_poor)
    # the poor are the poorest
    assert pop.income[pop.poor].max() <= pop.income[~pop.poor].min()
    assert np.all((pop.skill >= 0) & (pop.skill <= 1))
    # older heads have less digital skill on average
    assert pop.skill[pop.head_age >= 65].mean() < pop.skill[pop.head_age < 40].mean()
    # leaders: about 8 per hamlet
    counts = np.bincount(pop.hamlet[pop.leader], minlength=pop.n_hamlets)
    assert np.all(counts == prm.leaders_per_hamlet)


def test_the_start_state_depends_on_income_and_age():
    """The start state comes from the model's history from 2008: richer and younger households have taken
    up smartphones more often by 2021."""
    m = AdoptionModel("quang_ninh", scale=0.05, start="2021-01", months=1, seed=3, agents=False)
    pop, st = m.population, m.state
    a = st.adopted[0]
    assert 0.05 < a.mean() < 0.99
    assert a[pop.quintile == 4].mean() > a[pop.quintile == 0].mean() + 0.05
    assert a[st.young_age < 30].mean() > a[st.elderly_only].mean() + 0.05


def test_households_of_hamlets_are_those_of_their_blocks():
    pop = build_population("commune", ModelParams(), np.random.default_rng(2))
    for hamlets in ([0], [3, 1], [], list(range(pop.n_hamlets))):
        h = np.array(hamlets, dtype=np.int64)
        expected = np.concatenate([np.flatnonzero(pop.hamlet == x) for x in h]) if h.size else np.empty(0)
        np.testing.assert_array_equal(pop.households_of(h), expected)


def test_small_world_is_symmetric_with_the_mean_degree_inside_hamlets():
    prm = ModelParams(mean_degree=6, rewiring=0.1, inter_hamlet_ties=0.0)
    pop = build_population("commune", prm, rng())
    net = build_network(pop, prm, rng(1))
    adj = net.adjacency
    assert (adj != adj.T).nnz == 0
    assert adj.diagonal().sum() == 0
    assert net.degree.mean() == pytest.approx(6, rel=0.05)
    rows, cols = adj.nonzero()
    assert np.all(pop.hamlet[rows] == pop.hamlet[cols])  # no ties between hamlets when switched off


def test_inter_hamlet_ties_stay_inside_the_commune():
    prm = ModelParams(inter_hamlet_ties=0.2)
    pop = build_population("quang_ninh", prm, rng(), scale=0.02)
    net = build_network(pop, prm, rng(1))
    rows, cols = net.adjacency.nonzero()
    across = pop.hamlet[rows] != pop.hamlet[cols]
    assert across.any()
    assert np.all(pop.commune[rows[across]] == pop.commune[cols[across]])


def test_share_of_matches_dense_computation():
    prm = ModelParams()
    pop = build_population("commune", prm, rng())
    net = build_network(pop, prm, rng(1))
    x = rng(2).random(pop.n) < 0.3
    dense = net.adjacency @ x.astype(float) / net.degree
    idx = np.array([0, 5, 17, 1000, pop.n - 1])
    np.testing.assert_allclose(net.share_of(idx, x), dense[idx])


def test_complete_network_is_well_mixed():
    prm = ModelParams(network="complete")
    pop = build_population("well_mixed", prm, rng())
    net = build_network(pop, prm, rng())
    x = np.zeros(pop.n, dtype=bool)
    x[:100] = True
    s = net.share_of(np.array([0, 500]), x)
    assert s[0] == pytest.approx(99 / 999)
    assert s[1] == pytest.approx(100 / 999)


@pytest.mark.integration
def test_province_builds_at_full_scale_without_agents():
    m = AdoptionModel("quang_ninh", months=2, seed=0)
    assert m.population.n > 390_000
    assert len(m.agents) == 0  # no Household objects at province scale
    m.step()
    assert m.outputs["share_smartphone"] > 0.5
    assert len(m.agents) == 0


@pytest.mark.parametrize(
    "kwargs, name",
    [
        ({"place": "atlantis"}, "place"),
        ({"mechanism": "contagion"}, "mechanism"),
        ({"rewiring": 1.5}, "rewiring"),
        ({"q_smartphone": -0.1}, "smartphone.q"),
        ({"poor_share": -0.01}, "poor_share"),
        ({"mean_degree": 5}, "mean_degree"),
        ({"scale": 0}, "scale"),
        ({"months": 0}, "months"),
        ({"start": "2021-13"}, "start"),
        ({"nonsense": 1}, "nonsense"),
    ],
)
def test_bad_parameters_raise_clear_errors(kwargs, name):
    with pytest.raises(ParameterError) as err:
        AdoptionModel(**kwargs)
    msg = str(err.value)
    assert name in msg
    assert "not allowed" in msg


def test_unknown_place_lists_the_choices():
    with pytest.raises(ParameterError, match="thon_dong"):
        AdoptionModel("thon_dongg")
    with pytest.raises(ParameterError, match="did you mean 'thon_dong'"):
        AdoptionModel("thon_dongg")


def test_share_of_reads_the_rows_of_the_adjacency():
    """The neighbour share the monthly step computes, against slicing the CSR row by row (households without
    ties, repeated households and an empty list included)."""
    import scipy.sparse as sp

    from diffusion.model.network import Network

    rng = np.random.default_rng(3)
    for _ in range(200):
        n = int(rng.integers(1, 30))
        a = sp.random(n, n, density=rng.random() * 0.5, random_state=int(rng.integers(1e9)), format="csr")
        a = sp.csr_matrix(((a + a.T) > 0).astype(np.float32))
        a.setdiag(0)
        a.eliminate_zeros()
        idx = rng.integers(0, n, int(rng.integers(0, 40)))
        x = rng.random(n) < 0.4
        share = Network(n, a).share_of(idx, x)
        rows = [a.indices[a.indptr[i]:a.indptr[i + 1]] for i in idx]
        np.testing.assert_allclose(share, [x[r].mean() if r.size else 0.0 for r in rows], rtol=1e-12)


def test_share_of_neighbours_counts_the_ties():
    """The neighbour share the step reads, against the adjacency matrix times the indicator."""
    prm = ModelParams()
    pop = build_population("commune", prm, np.random.default_rng(1))
    net = build_network(pop, prm, np.random.default_rng(2))
    x = np.random.default_rng(3).random(pop.n) < 0.3
    idx = np.random.default_rng(4).permutation(pop.n)[:200]
    expected = (net.adjacency @ x.astype(np.float64))[idx] / np.diff(net.adjacency.indptr)[idx]
    np.testing.assert_allclose(net.share_of(idx, x), expected, rtol=1e-12)
    assert net.share_of(idx[:0], x).size == 0
