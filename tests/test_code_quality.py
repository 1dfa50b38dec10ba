"""ruff and mypy are part of the test suite, so CI fails on a lint or typing error."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
BIN = Path(sys.executable).parent


@pytest.mark.parametrize(
    "command",
    [
        ["ruff", "check", "."],
        ["ruff", "format", "--check", "."],
        ["mypy"],
    ],
    ids=["ruff-check", "ruff-format", "mypy"],
)
def test_code_is_clean(command: list[str]) -> None:
    result = subprocess.run(
        [str(BIN / command[0]), *command[1:]], cwd=ROOT, capture_output=True, text=True, timeout=300, check=False
    )
    assert result.returncode == 0, result.stdout[-4000:] + result.stderr[-2000:]


PACKAGE = ROOT / "sparkling_mnist"
GROUND_FLOOR = {"errors", "schema", "rundir", "run_lock", "store_location"}


def _imports() -> dict[str, set[str]]:
    """Every `sparkling_mnist` module and the modules it imports, lazy imports included."""
    import ast

    modules = {}
    for path in PACKAGE.rglob("*.py"):
        parts = list(path.relative_to(ROOT).with_suffix("").parts)
        modules[".".join(parts[:-1] if parts[-1] == "__init__" else parts)] = path
    graph: dict[str, set[str]] = {}
    for name, path in modules.items():
        targets: set[str] = set()
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.ImportFrom) and node.module and node.module.startswith("sparkling_mnist"):
                assert not node.level, f"{name}: relative import"
                for alias in node.names:
                    full = f"{node.module}.{alias.name}"
                    targets.add(full if full in modules else node.module)
            elif isinstance(node, ast.Import):
                targets |= {alias.name for alias in node.names if alias.name.startswith("sparkling_mnist")}
        graph[name] = targets - {name}
    return graph


def _cycle(graph: dict[str, set[str]]) -> list[str] | None:
    """One import cycle of the graph, or None."""
    state: dict[str, int] = {}
    path: list[str] = []

    def visit(node: str) -> list[str] | None:
        state[node] = 1
        path.append(node)
        for target in sorted(graph.get(node, ())):
            if state.get(target) == 1:
                return [*path[path.index(target) :], target]
            if target not in state and (found := visit(target)):
                return found
        state[node] = 2
        path.pop()
        return None

    for node in sorted(graph):
        if node not in state and (found := visit(node)):
            return found
    return None


def test_no_import_cycle_between_modules_or_stage_packages() -> None:
    graph = _imports()
    assert _cycle(graph) is None, " -> ".join(_cycle(graph) or [])
    packages: dict[str, set[str]] = {}
    for module, targets in graph.items():
        home = module.split(".")[1] if "." in module else "sparkling_mnist"
        packages.setdefault(home, set()).update(
            target.split(".")[1] for target in targets if "." in target and target.split(".")[1] != home
        )
    assert _cycle(packages) is None, " -> ".join(_cycle(packages) or [])
    for floor in GROUND_FLOOR:
        assert packages[floor] <= GROUND_FLOOR, f"the ground floor module {floor} imports {packages[floor]}"


LAYERS = (
    ("ground floor", {"sparkling_mnist", *GROUND_FLOOR}),
    (
        "foundations",
        {"config", "augment", "network", "data", "runtime", "search", "evaluate", "torch_trainer", "store"},
    ),
    ("learning stages", {"baseline", "features", "team", "ood"}),
    ("consumers", {"scoring", "export", "tracking", "pipeline", "cli"}),
)
"""The allowed dependency graph (README, Architecture): a package imports its own layer or
the layers below; a learning stage imports no other learning stage."""


def _layering_problems(packages: dict[str, set[str]]) -> list[str]:
    rank = {package: index for index, (_, members) in enumerate(LAYERS) for package in members}
    problems = [f"{package}: in no layer (add it to LAYERS)" for package in packages if package not in rank]
    for package, targets in sorted(packages.items()):
        for target in sorted(targets):
            if rank.get(target, -1) > rank.get(package, len(LAYERS)):
                problems.append(f"{package} ({LAYERS[rank[package]][0]}) imports {target} ({LAYERS[rank[target]][0]})")
            elif package != target and {package, target} <= LAYERS[2][1]:
                problems.append(f"the learning stage {package} imports the learning stage {target}")
    return problems


def test_packages_import_only_their_layer_and_the_layers_below() -> None:
    packages: dict[str, set[str]] = {}
    for module, targets in _imports().items():
        home = module.split(".")[1] if "." in module else "sparkling_mnist"
        packages.setdefault(home, set()).update(
            target.split(".")[1] for target in targets if "." in target and target.split(".")[1] != home
        )
    assert _layering_problems(packages) == []
    assert _layering_problems({"store": {"team"}, "team": {"ood"}, "ood": set()}) == [
        "store (foundations) imports team (learning stages)",
        "the learning stage team imports the learning stage ood",
    ]


def test_the_cycle_check_can_fail() -> None:
    assert _cycle({"a": {"b"}, "b": {"c"}, "c": {"a"}}) == ["a", "b", "c", "a"]
    assert _cycle({"a": {"b"}, "b": set()}) is None


def test_the_command_line_and_a_config_load_without_spark_h2o_or_the_kernels() -> None:
    """A mistyped option or config key is answered before Spark, H2O, torch or the
    compiled augmentation kernels load (they take seconds to import)."""
    heavy = ["pyspark", "h2o", "pysparkling", "torch", "numba", "scipy", "matplotlib"]
    probe = (
        "import sys; import sparkling_mnist.cli.main; from sparkling_mnist.config import load_config; "
        "load_config('conf/full-recipe.yaml', ['augment.enabled=true']); "
        f"print(','.join(m for m in {heavy!r} if m in sys.modules))"
    )
    result = subprocess.run(
        [sys.executable, "-c", probe], cwd=ROOT, capture_output=True, text=True, timeout=60, check=False
    )
    assert result.returncode == 0, result.stderr[-3000:]
    assert result.stdout.strip() == "", f"imported by the CLI and a config load: {result.stdout.strip()}"
