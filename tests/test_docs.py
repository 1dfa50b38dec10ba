"""The docs: the README stays short, the user guide under docs/ builds strictly with
MkDocs, every relative link points at a file, every page is in the nav, and the
configuration reference matches the settings models. No Spark, no JVM."""

from __future__ import annotations

import importlib.util
import re
import subprocess
import sys
from pathlib import Path
from types import ModuleType

import yaml

ROOT = Path(__file__).resolve().parents[1]
DOCS = ROOT / "docs"
README = ROOT / "README.md"
MKDOCS_YML = ROOT / "mkdocs.yml"
README_MAX_LINES = 300

# [text](target) and ![alt](target), not inside code; the target up to a space or ")".
LINK = re.compile(r"!?\[[^\]]*\]\(\s*<?([^)\s>]+)>?(?:\s+\"[^\"]*\")?\s*\)")
FENCE = re.compile(r"^```.*?^```", re.MULTILINE | re.DOTALL)
CODE_SPAN = re.compile(r"`[^`\n]*`")

# A measurement table: its header names a measured quantity; a measured cell: a number
# with a unit of time or speed. Either, outside a generated block, is a figure copied by hand.
MEASURED_HEADER = re.compile(
    r"error|accuracy|seconds|\bs\)|\btrain s\b|samples/s|rows/s|\bMSE\b|\bAUC|wall|speed|peak|logloss|"
    r"\bratio\b|\bx (H2O|reference|default)\b",
    re.IGNORECASE,
)
MEASURED_CELL = re.compile(r"\d\s?(rows|samples|cells)/s|\d\s(s|min)\b")
FIGURES_OPENING = re.compile(r"^<!-- figures: [\w.-]+ -->$")
FIGURES_CLOSING = "<!-- /figures -->"


def _relative_links(path: Path) -> list[str]:
    """The relative link targets of a Markdown file (code blocks and spans left out)."""
    text = CODE_SPAN.sub("", FENCE.sub("", path.read_text()))
    targets = [match.group(1) for match in LINK.finditer(text)]
    return [target for target in targets if not re.match(r"^([a-z][a-z0-9+.-]*:|#|/)", target)]


def _nav_pages(nav: object) -> set[str]:
    """Every page file named in mkdocs.yml's nav, at any depth."""
    if isinstance(nav, str):
        return {nav}
    if isinstance(nav, list):
        return set().union(*(_nav_pages(item) for item in nav)) if nav else set()
    if isinstance(nav, dict):
        return set().union(*(_nav_pages(item) for item in nav.values())) if nav else set()
    return set()


def _load_generator(name: str = "gen_config_reference") -> ModuleType:
    path = DOCS / f"{name}.py"
    spec = importlib.util.spec_from_file_location(name, path)
    assert spec is not None and spec.loader is not None, f"{path} cannot be imported"
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # its dataclasses look their module up by name
    spec.loader.exec_module(module)
    return module


def test_mkdocs_builds_strictly(tmp_path: Path) -> None:
    result = subprocess.run(
        [sys.executable, "-m", "mkdocs", "build", "--strict", "-f", str(MKDOCS_YML), "-d", str(tmp_path / "site")],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert result.returncode == 0, (
        "`mkdocs build --strict` failed: fix the broken link, anchor or nav entry it names "
        "(`.venv/bin/python -m mkdocs build --strict` shows it; `pip install -e '.[test]'` installs mkdocs):\n"
        + result.stdout[-3000:]
        + result.stderr[-3000:]
    )


def test_readme_is_short() -> None:
    lines = README.read_text().count("\n")
    assert lines <= README_MAX_LINES, (
        f"README.md has {lines} lines, more than {README_MAX_LINES}: move the detail into a page under docs/ "
        "(and link it from the README's 'Where to read next')"
    )


def test_relative_links_point_at_files() -> None:
    broken = []
    for path in [README, *sorted(DOCS.glob("*.md"))]:
        for target in _relative_links(path):
            file_part = target.split("#", 1)[0]
            if file_part and not (path.parent / file_part).exists():
                broken.append(f"{path.relative_to(ROOT)}: {target}")
    assert not broken, "relative links to files that do not exist (fix the path or create the file): " + ", ".join(
        broken
    )


def test_every_page_is_in_the_nav() -> None:
    config = yaml.safe_load(MKDOCS_YML.read_text())
    in_nav = _nav_pages(config.get("nav"))
    pages = {path.relative_to(DOCS).as_posix() for path in DOCS.rglob("*.md")}
    missing = sorted(pages - in_nav)
    assert not missing, f"pages under docs/ missing from mkdocs.yml's nav (add them there): {missing}"
    unknown = sorted(in_nav - pages)
    assert not unknown, f"mkdocs.yml's nav names pages that do not exist under docs/ (fix or remove them): {unknown}"


def test_configuration_reference_is_current() -> None:
    generated = _load_generator().render_reference()
    committed = (DOCS / "configuration-reference.md").read_text()
    assert generated == committed, (
        "docs/configuration-reference.md differs from the settings models: "
        "run .venv/bin/python docs/gen_config_reference.py and commit the page"
    )


def _hand_copied_figures(path: Path) -> list[str]:
    """'file:line: row' for every Markdown table row with a measured number outside a
    `<!-- figures: NAME -->` block: a row of a table whose header names a measured quantity
    (error, seconds, samples/s, MSE...) holding a digit, or any row with a time or a speed."""
    found = []
    in_block = in_fence = False
    header = ""
    for number, line in enumerate(path.read_text().splitlines(), start=1):
        if line.startswith("```"):
            in_fence = not in_fence
        if FIGURES_OPENING.match(line):
            in_block = True
        elif line == FIGURES_CLOSING:
            in_block = False
        if not line.startswith("|"):
            header = ""
            continue
        text = CODE_SPAN.sub("", line)
        header = header or text
        measured = (MEASURED_HEADER.search(header) and re.search(r"\d", text)) or MEASURED_CELL.search(text)
        if measured and not in_block and not in_fence:
            found.append(f"{path.relative_to(ROOT)}:{number}: {line[:80]}")
    return found


def test_figures_are_current() -> None:
    stale = _load_generator("gen_figures").stale_blocks()
    assert not stale, (
        f"figures blocks differ from benchmarks/results/*.json ({', '.join(stale)}): "
        "run .venv/bin/python docs/gen_figures.py and commit the pages"
    )


def test_figures_check_finds_a_stale_block() -> None:
    generator = _load_generator("gen_figures")
    text = README.read_text()
    assert "<!-- figures: first-look -->" in text, "README.md lost its generated first-look block"
    stale_text = text.replace("<!-- figures: first-look -->\n", "<!-- figures: first-look -->\n| 1 s |\n", 1)
    _, changed = generator.regenerate(stale_text, "README.md")
    assert changed == ["first-look"]


def test_no_measured_figure_outside_generated_blocks() -> None:
    pages = [README, *sorted(p for p in DOCS.glob("*.md") if p.name != "configuration-reference.md")]
    found = [row for page in pages for row in _hand_copied_figures(page)]
    assert not found, (
        "Markdown table rows with measured numbers outside a generated block (figures come from "
        "benchmarks/results/*.json: add a `<!-- figures: NAME -->` block to docs/gen_figures.py and run "
        ".venv/bin/python docs/gen_figures.py, or remove the figure):\n" + "\n".join(found)
    )
