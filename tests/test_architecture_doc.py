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


def test_modules_are_imported_only_by_literal_names():
    """Nothing from a file or a config names a module to import: every
    ``import_optional(...)`` / ``importlib.import_module(...)`` call in the packages takes
    a string literal, or an f-string whose only fields are our own ``__name__`` /
    ``__package__`` or a module found by ``pkgutil`` in our own package."""
    import ast

    root = DOC.parents[1]
    allowed_fields = {"__name__", "__package__", "module", "_info.name", "info.name",
                      "_LAZY[name]"}
    bad = []
    for pkg in ("neurodata", "connectome", "decoders", "pipelines"):
        for path in sorted((root / pkg).rglob("*.py")):
            for node in ast.walk(ast.parse(path.read_text())):
                if not (isinstance(node, ast.Call) and node.args):
                    continue
                fn = ast.unparse(node.func)
                if fn.split(".")[-1] not in ("import_optional", "import_module"):
                    continue
                arg = node.args[0]
                if isinstance(arg, ast.Constant) and isinstance(arg.value, str):
                    continue
                if isinstance(arg, ast.JoinedStr) and all(
                        ast.unparse(v.value) in allowed_fields
                        for v in arg.values if isinstance(v, ast.FormattedValue)):
                    continue
                if path.name == "dependencies.py" and ast.unparse(arg) == "name":
                    continue  # import_optional itself
                bad.append(f"{path.relative_to(root)}:{node.lineno}: {ast.unparse(node)}")
    assert not bad, bad
