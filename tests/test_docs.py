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


def _load_generator() -> ModuleType:
    path = DOCS / "gen_config_reference.py"
    spec = importlib.util.spec_from_file_location("gen_config_reference", path)
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
