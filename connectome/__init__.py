"""connectome: dynamic functional connectomes and state-switching GLMs.

- Affinities, non-negative tensor factorization and communities (Dyballa et al. 2024):
  :func:`sliding_affinity`, :func:`nonneg_cp` / :class:`NonnegCP`,
  :func:`dynamic_connectome`, :func:`leiden_communities`, :func:`sbm_communities`,
  :func:`structural_enrichment`, :func:`rank_selection`.
- State-switching GLMs (one-hot GLM paper): :class:`CouplingGLM`, :class:`HMMGLM`
  (no prior, Gaussian or one-hot prior), :func:`forward_backward`, :func:`viterbi`,
  :func:`match_states`.
- Simulators with planted ground truth: :func:`simulate_calcium_communities`,
  :func:`planted_weighted_graph`, :func:`simulate_switching_glm`.

- Analyses end to end (arrays or recordings in, typed results out; what the ``neuroloom``
  commands run): :func:`glmhmm_analysis` (with :func:`split_blocks`,
  :func:`compare_models`, :func:`state_behavior_summary`, :func:`load_structural_matrix`)
  and :func:`connectome_analysis` (with :func:`load_structural`, :func:`enrichment_table`).

Estimators take numpy arrays with documented shapes; the recording-to-array step is in
:mod:`neurodata` (:func:`neurodata.load_counts`, :func:`neurodata.load_traces`).
"""

from . import _requires  # noqa: F401  (first: a missing torch is explained, not a traceback)
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
from .connectome_analysis import ConnectomeAnalysis, connectome_analysis
from .glm import CouplingGLM, GLMInputError, check_trials
from .glm_basis import exponential_basis, history_features, raised_cosine_basis
from .glmhmm_analysis import GLMHMMAnalysis, glmhmm_analysis
from .hmm import ForwardBackwardResult, HMMInputError, forward_backward, viterbi
from .hmmglm import HMMGLM
from .model_comparison import ModelComparison, compare_models, split_blocks
from .ntf import CPResult, NonnegCP, NTFInputError, factor_match_score, match_components, nonneg_cp
from .plotting_hmmglm import plot_connectome, plot_state_posteriors, plot_state_weights
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
from .simulate_switching import SwitchingSimulation, simulate_switching_glm
from .state_behavior import state_behavior_summary
from .state_matching import StateMatch, match_states
from .structural import enrichment_table, load_structural, load_structural_matrix

__all__ = [
    "AffinityTensor", "AffinityInputError", "sliding_affinity", "pair_indices", "fold_pairs",
    "nonneg_cp", "NonnegCP", "CPResult", "NTFInputError", "factor_match_score",
    "match_components", "rank_selection", "RankSelection", "plot_rank_selection",
    "CommunityResult", "leiden_communities", "sbm_communities", "component_graphs",
    "component_communities", "block_matrix", "DynamicConnectome", "dynamic_connectome",
    "EnrichmentResult", "structural_enrichment", "fit_dcsbm", "select_dcsbm", "SBMFit",
    "simulate_calcium_communities", "planted_weighted_graph", "PlantedCalcium",
    "plot_time_courses", "plot_animal_loadings", "plot_affinity_matrix", "plot_component_graph",
    "CouplingGLM", "GLMInputError", "check_trials", "exponential_basis", "raised_cosine_basis",
    "history_features", "forward_backward", "viterbi", "ForwardBackwardResult", "HMMInputError",
    "HMMGLM", "simulate_switching_glm", "SwitchingSimulation", "match_states", "StateMatch",
    "plot_state_posteriors", "plot_state_weights", "plot_connectome",
    "split_blocks", "compare_models", "ModelComparison", "state_behavior_summary",
    "load_structural_matrix", "load_structural", "enrichment_table",
    "glmhmm_analysis", "GLMHMMAnalysis", "connectome_analysis", "ConnectomeAnalysis",
]
