"""Which combinations of a search's hyper-parameters are tried, and in which order. Pure.

Combination `k` is the k-th of the cartesian product of the values, over the names in
sorted order with the last name varying fastest. Its index names it whatever the
strategy (its model is `<base id>_g<k>`), so a model of the grid is the same model in
every run of the same search, and the order the names were written in does not matter.
"""

from __future__ import annotations

import math
import random
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from pydantic import BaseModel

from sparkling_mnist.config.training import SearchSettings

H2O_STRATEGIES = {"cartesian": "Cartesian", "random": "RandomDiscrete"}
"""The config's strategy names and H2O's (`search_criteria["strategy"]`)."""


@dataclass(frozen=True)
class Combination:
    """One point of the grid: its index in the cartesian order and its parameter values."""

    index: int
    params: dict[str, Any]


def grid_size(hyper_params: Mapping[str, Sequence[Any]]) -> int:
    """How many combinations the values make (the product of their counts)."""
    return math.prod(len(values) for values in hyper_params.values())


def combination_at(hyper_params: Mapping[str, Sequence[Any]], index: int) -> Combination:
    """Combination `index` of the cartesian order (names sorted, the last one fastest).

    Raises:
        IndexError: `index` outside the grid.
    """
    size = grid_size(hyper_params)
    if not 0 <= index < size:
        raise IndexError(f"combination {index} is outside the grid of {size}")
    names = sorted(hyper_params)
    chosen: dict[str, Any] = {}
    rest = index
    for name in reversed(names):
        rest, position = divmod(rest, len(hyper_params[name]))
        chosen[name] = hyper_params[name][position]
    return Combination(index, {name: chosen[name] for name in names})


@dataclass(frozen=True)
class SearchPlan:
    """A search resolved for one model: the combinations to try, in order, and how to
    rank and stop (`max_runtime_secs`: 0 for no limit)."""

    strategy: str
    hyper_params: dict[str, list[Any]]
    sort_by: str
    seed: int
    max_models: int
    max_runtime_secs: float
    grid_size: int
    combinations: tuple[Combination, ...]

    def model_id(self, base_id: str, combination: Combination) -> str:
        """The id (and saved file name) of a combination's model."""
        return f"{base_id}_g{combination.index}"


def plan_search(settings: SearchSettings, *, sort_by: str, default_seed: int) -> SearchPlan:
    """The combinations a search tries, in order: the whole cartesian product, or
    (`random`) a seeded draw without replacement; at most `max_models` of them.

    Args:
        settings: the model's `search` block.
        sort_by: the metric ranking its models (the block's own, or the stage's default).
        default_seed: the seed of the draw when the block names none (the run seed).
    """
    hyper_params = {name: list(values) for name, values in settings.hyper_params.items()}
    size = grid_size(hyper_params)
    count = min(size, settings.max_models) if settings.max_models else size
    seed = settings.seed if settings.seed is not None else default_seed
    order: Sequence[int] = (
        range(count) if settings.strategy == "cartesian" else random.Random(seed).sample(range(size), count)
    )
    return SearchPlan(
        strategy=settings.strategy,
        hyper_params=hyper_params,
        sort_by=sort_by,
        seed=seed,
        max_models=settings.max_models,
        max_runtime_secs=settings.max_runtime_secs,
        grid_size=size,
        combinations=tuple(combination_at(hyper_params, index) for index in order),
    )


def each_value(search: SearchSettings, params: Mapping[str, Any]) -> Iterator[dict[str, Any]]:
    """`params` with one searched value set, for every value of every hyper-parameter:
    what a per-value check (can torch train it?) needs, without the whole grid."""
    for name, values in search.hyper_params.items():
        for value in values:
            yield {**params, name: value}


def fingerprinted_spec(spec: BaseModel) -> dict[str, Any]:
    """A member's or autoencoder's spec as its fingerprint takes it: the `search` block
    included when there is one, left out otherwise (so models keep the ids they had
    before searches existed)."""
    searched = getattr(spec, "search", None) is not None
    dumped: dict[str, Any] = spec.model_dump(mode="json", exclude=None if searched else {"search"})
    return dumped
