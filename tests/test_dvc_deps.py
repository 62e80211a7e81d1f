"""dvc.yaml names the code each stage imports, by layer folder, so an edit makes `dvc status` call exactly its dependents stale.

A stage depends on the layer folders (``src/mtl/<layer>``) its script imports, transitively, and on its own
modules of the pipeline layer, file by file (one module per stage: an edit to the train stage's module must not
re-run prepare). These tests compute each stage's import graph and check dvc.yaml both ways.
"""

from __future__ import annotations

import ast
from pathlib import Path

import yaml

REPO = Path(__file__).resolve().parents[1]
SRC = REPO / "src"
PACKAGE = SRC / "mtl"
# the one layer listed module by module; every other layer is listed as its folder
FILE_LAYER = "pipeline"


def _module_file(name: str) -> Path | None:
    """The file of an ``mtl`` module or package, or None for anything outside the project."""
    if name != "mtl" and not name.startswith("mtl."):
        return None
    base = SRC / Path(*name.split("."))
    for candidate in (base.with_suffix(".py"), base / "__init__.py"):
        if candidate.is_file():
            return candidate
    return None


def _type_checking_only(tree: ast.Module) -> set[int]:
    """The ids of nodes inside ``if TYPE_CHECKING:`` blocks: imports for annotations, which never run."""
    skipped = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.If) and isinstance(node.test, ast.Name) and node.test.id == "TYPE_CHECKING":
            skipped.update(id(inner) for stmt in node.body for inner in ast.walk(stmt))
    return skipped


def _imported(path: Path) -> set[Path]:
    """The project files ``path`` imports anywhere (module level or inside functions), with their parent packages."""
    found: set[str] = set()
    tree = ast.parse(path.read_text())
    skipped = _type_checking_only(tree)
    for node in ast.walk(tree):
        if id(node) in skipped:
            continue
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            found.add(node.module)
            found.update(f"{node.module}.{alias.name}" for alias in node.names)
    files = set()
    for name in found:
        parts = name.split(".")
        for i in range(1, len(parts) + 1):  # importing mtl.pipeline.train runs mtl/pipeline/__init__.py too
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
    return {p.relative_to(REPO).as_posix() if p.is_relative_to(REPO) else str(p) for p in seen}


def code_deps(closure: set[str]) -> set[str]:
    """The dvc.yaml deps that cover ``closure``: layer folders, the pipeline layer's files, and every file outside ``src/mtl/<layer>``."""
    deps = set()
    for module in closure:
        parts = Path(module).relative_to("src/mtl").parts if module.startswith("src/mtl/") else ()
        if len(parts) >= 2 and parts[0] != FILE_LAYER:
            deps.add(f"src/mtl/{parts[0]}")
        else:
            deps.add(module)
    return deps


def _stage_deps() -> dict[str, tuple[str, set[str]]]:
    """Each stage of dvc.yaml (foreach stages once, by their template): its script and its listed code deps."""
    stages = yaml.safe_load((REPO / "dvc.yaml").read_text())["stages"]
    out = {}
    for name, stage in stages.items():
        body = stage.get("do", stage)
        script = next(word for word in body["cmd"].split() if word.startswith("stages/"))
        listed = {d if isinstance(d, str) else next(iter(d)) for d in body.get("deps", [])}
        out[name] = (script, {d for d in listed if d.startswith(("src/", "stages/"))})
    return out


def _covered(module: str, deps: set[str]) -> bool:
    """A module is covered by its own entry or by a folder dep above it (export depends on all of src/mtl)."""
    return module in deps or any(module.startswith(d.rstrip("/") + "/") for d in deps)


def test_every_stage_depends_on_every_module_it_imports():
    missing = {}
    for name, (script, deps) in _stage_deps().items():
        gap = sorted(m for m in import_closure(REPO / script) if not _covered(m, deps))
        if gap:
            missing[name] = gap
    assert not missing, f"dvc.yaml deps lack modules the stage imports: {missing}"


def test_no_stage_lists_code_it_does_not_import():
    """Extra code deps re-run a stage for nothing: a listed file must be imported, a listed folder must hold an imported module."""
    extra = {}
    for name, (script, deps) in _stage_deps().items():
        closure = import_closure(REPO / script)
        surplus = sorted(d for d in deps if not any(m == d or m.startswith(d.rstrip("/") + "/") for m in closure))
        if surplus:
            extra[name] = surplus
    assert not extra, f"dvc.yaml deps list code the stage never imports: {extra}"


def test_stages_list_layers_as_folders_and_pipeline_modules_as_files():
    """The granularity is the layer: a stage lists ``src/mtl/model``, not model.py files (export alone lists all of src/mtl)."""
    for name, (script, deps) in _stage_deps().items():
        if "src/mtl" in deps:
            continue  # export ships the whole package with the model
        assert deps == code_deps(import_closure(REPO / script)), name


def test_closure_follows_function_level_and_package_imports(tmp_path):
    closure = import_closure(REPO / "stages/train.py")
    assert "src/mtl/pipeline/__init__.py" in closure and "src/mtl/pipeline/train.py" in closure
    assert "src/mtl/model/pooling.py" in closure  # through model -> encoder -> pooling
    assert "src/mtl/apps/cli.py" not in closure
    module = tmp_path / "script.py"
    module.write_text("def f():\n    from mtl.registry.gate import decide\n")
    assert "src/mtl/registry/gate.py" in import_closure(module)  # a function-level import counts


def test_data_stages_do_not_depend_on_the_model_runtime_or_training():
    """An edit to a runtime or freezing module leaves the data stages as they are."""
    deps = _stage_deps()
    for name in ("prepare", "align"):
        assert not {"src/mtl/runtime", "src/mtl/training", "src/mtl/inference"} & deps[name][1], name
    assert "src/mtl/model" not in deps["prepare"][1]
    assert {"src/mtl/runtime", "src/mtl/training"} <= deps["train"][1]
