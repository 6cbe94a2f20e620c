"""docs/architecture.md: every Python example on the page runs as written (synthetic data
and the bundled EEG sample)."""

from __future__ import annotations

from pathlib import Path

DOC = Path(__file__).resolve().parents[1] / "docs" / "architecture.md"


def _blocks() -> list[str]:
    parts = DOC.read_text().split("```python\n")[1:]
    return [p.split("```", 1)[0] for p in parts]


def test_examples_run():
    blocks = _blocks()
    assert len(blocks) >= 6
    for i, block in enumerate(blocks):
        exec(compile(block, f"docs/architecture.md[{i}]", "exec"), {"__name__": f"doc{i}"})


def _private_imports(root: Path, folders: tuple[str, ...]) -> list[str]:
    import ast

    packages = ("neurodata", "connectome", "decoders", "pipelines")
    found = []
    for folder in folders:
        for path in sorted((root / folder).rglob("*.py")):
            for node in ast.walk(ast.parse(path.read_text())):
                if isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
                    mods, names = [node.module], [a.name for a in node.names]
                elif isinstance(node, ast.Import):
                    mods, names = [a.name for a in node.names], []
                else:
                    continue
                for mod in mods:
                    top = mod.split(".")[0]
                    if top not in packages or top == folder:
                        continue
                    private = [p for p in mod.split(".")[1:] if p.startswith("_")]
                    private += [n for n in names if n.startswith("_")]
                    if private:
                        found.append(f"{path.relative_to(root)}: {mod} {private}")
    return found


def test_no_cross_package_private_imports():
    """The rule the page states: no package module imports a ``_private`` name (or module)
    from another package."""
    root = DOC.parents[1]
    offenders = _private_imports(root, ("neurodata", "connectome", "decoders", "pipelines"))
    assert not offenders, offenders
