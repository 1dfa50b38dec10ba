"""Hyper-parameter search (H2O's grid search, resumable): which combinations to try and
in what order (`combinations`, pure), training them through a stage's own fit function
with every finished model reused (`grid`), and the leaderboard's report table (`report`).

Team members and autoencoders both search through here; each stage supplies how one
model of the grid is trained (or reloaded) and scored.
"""

from sparkling_mnist.search.combinations import (
    Combination,
    SearchPlan,
    combination_at,
    each_value,
    fingerprinted_spec,
    grid_size,
    plan_search,
)
from sparkling_mnist.search.grid import Trial, check_search_names, run_search
from sparkling_mnist.search.report import search_section

__all__ = [
    "Combination",
    "SearchPlan",
    "Trial",
    "check_search_names",
    "combination_at",
    "each_value",
    "fingerprinted_spec",
    "grid_size",
    "plan_search",
    "run_search",
    "search_section",
]
