"""dvc.yaml names every module each stage imports, so an edit to one makes `dvc status` call its outputs stale."""

from __future__ import annotations

import ast
from pathlib import Path

import yaml

REPO = Path(__file__).resolve().parents[1]
SRC = REPO / "src"


def _module_file(name: str) -> Path | None:
    """The file of an ``mtl`` module or package, or None for anything outside the project."""
    if name != "mtl" and not name.startswith("mtl."):
        return None
    base = SRC / Path(*name.split("."))
    for candidate in (base.with_suffix(".py"), base / "__init__.py"):
        if candidate.is_file():
            return candidate
    return None


def _imported(path: Path) -> set[Path]:
    """The project files ``path`` imports anywhere (module level or inside functions), with their parent packages."""
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            found.add(node.module)
            found.update(f"{node.module}.{alias.name}" for alias in node.names)
    files = set()
    for name in found:
        parts = name.split(".")
        for i in range(1, len(parts) + 1):  # importing mtl.stages.train runs mtl/stages/__init__.py too
            file = _module_file(".".join(parts[:i]))
            if file is not None:
                files.add(file)
    return files


def import_closure(script: Path) -> set[str]:
    """Every project module a stage script runs, transitively, as repo-relative paths."""
    seen: set[Path] = set()
    todo = [script]
    while todo:
        path = todo.pop()
        if path in seen:
            continue
        seen.add(path)
        todo.extend(_imported(path) - seen)
    return {p.relative_to(REPO).as_posix() for p in seen}


def _stage_deps() -> dict[str, tuple[str, set[str]]]:
    """Each stage of dvc.yaml (foreach stages once, by their template): its script and its listed deps."""
    stages = yaml.safe_load((REPO / "dvc.yaml").read_text())["stages"]
    out = {}
    for name, stage in stages.items():
        body = stage.get("do", stage)
        script = next(word for word in body["cmd"].split() if word.startswith("stages/"))
        out[name] = (script, {d if isinstance(d, str) else next(iter(d)) for d in body.get("deps", [])})
    return out


def _covered(module: str, deps: set[str]) -> bool:
    """A module is covered by its own entry or by a directory dep above it (export depends on all of src/mtl)."""
    return module in deps or any(module.startswith(d.rstrip("/") + "/") for d in deps)


def test_every_stage_depends_on_every_module_it_imports():
    missing = {}
    for name, (script, deps) in _stage_deps().items():
        gap = sorted(m for m in import_closure(REPO / script) if not _covered(m, deps))
        if gap:
            missing[name] = gap
    assert not missing, f"dvc.yaml deps lack modules the stage imports: {missing}"


def test_no_stage_lists_a_module_it_does_not_import():
    """Extra code deps re-run a stage for nothing; keep each list exact."""
    extra = {}
    for name, (script, deps) in _stage_deps().items():
        code = {d for d in deps if d.endswith(".py")}
        surplus = sorted(code - import_closure(REPO / script))
        if surplus:
            extra[name] = surplus
    assert not extra, f"dvc.yaml deps list modules the stage never imports: {extra}"


def test_closure_follows_function_level_and_package_imports(tmp_path):
    closure = import_closure(REPO / "stages/train.py")
    assert "src/mtl/stages/__init__.py" in closure and "src/mtl/stages/train.py" in closure
    assert "src/mtl/pooling.py" in closure  # through model -> encoder -> pooling
    assert "src/mtl/cli.py" not in closure
