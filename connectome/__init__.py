"""connectome: dynamic functional connectomes and state-switching GLMs.

- Affinities, non-negative tensor factorization and communities (Dyballa et al. 2024):
  :func:`sliding_affinity`, :func:`nonneg_cp` / :class:`NonnegCP`,
  :func:`dynamic_connectome`, :func:`leiden_communities`, :func:`sbm_communities`,
  :func:`structural_enrichment`, :func:`rank_selection`.
- Simulators with planted ground truth: :func:`simulate_calcium_communities`,
  :func:`planted_weighted_graph`.

Estimators take numpy arrays with documented shapes; converting from neurodata objects
happens in the callers (the ``neuroloom`` CLI in :mod:`pipelines`).
"""

from .affinity import AffinityInputError, AffinityTensor, fold_pairs, pair_indices, sliding_affinity
from .communities import (
    CommunityResult,
    DynamicConnectome,
    EnrichmentResult,
    block_matrix,
    component_communities,
    component_graphs,
    dynamic_connectome,
    leiden_communities,
    sbm_communities,
    structural_enrichment,
)
from .ntf import CPResult, NonnegCP, NTFInputError, factor_match_score, match_components, nonneg_cp
from .plotting_ntf import (
    plot_affinity_matrix,
    plot_animal_loadings,
    plot_component_graph,
    plot_time_courses,
)
from .rank_selection import RankSelection, plot_rank_selection, rank_selection
from .sbm import SBMFit, fit_dcsbm, select_dcsbm
from .simulate_communities import (
    PlantedCalcium,
    planted_weighted_graph,
    simulate_calcium_communities,
)

__all__ = [
    "AffinityTensor", "AffinityInputError", "sliding_affinity", "pair_indices", "fold_pairs",
    "nonneg_cp", "NonnegCP", "CPResult", "NTFInputError", "factor_match_score",
    "match_components", "rank_selection", "RankSelection", "plot_rank_selection",
    "CommunityResult", "leiden_communities", "sbm_communities", "component_graphs",
    "component_communities", "block_matrix", "DynamicConnectome", "dynamic_connectome",
    "EnrichmentResult", "structural_enrichment", "fit_dcsbm", "select_dcsbm", "SBMFit",
    "simulate_calcium_communities", "planted_weighted_graph", "PlantedCalcium",
    "plot_time_courses", "plot_animal_loadings", "plot_affinity_matrix", "plot_component_graph",
]
