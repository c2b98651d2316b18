"""The project's modules import each other in a straight line, imports inside functions included.

Two rules: no module imports itself round a circle, and the clinic's shared modules never import a
product app (``appointments``, ``education``) back. Today some ``clinic`` modules still do: they are
named below, one by one, and the list may only shrink as their code moves to a home of its own.
"""

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
PACKAGES = ["appointments", "clinic", "education"]
PRODUCT_APPS = ["appointments", "education"]
SHARED = "clinic"

# The project's root URL map wires the product apps' pages in: it is the one clinic module meant to.
WIRING = {"clinic.urls"}
# The clinic's modules that import a product app today, and which app each imports. Shrink it;
# never add to it: a shared module that needs a product's code is in the wrong place.
KNOWN_BACKWARD_IMPORTS = {
    "clinic.admin": {"appointments", "education"},
    "clinic.details": {"education"},
    "clinic.health": {"appointments"},
    "clinic.staff": {"appointments"},
    "clinic.staff_admin": {"appointments"},
    "clinic.staff_work": {"appointments"},
    "clinic.views": {"education"},
}


def _module_name(path, root=ROOT):
    parts = list(path.relative_to(root).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def _modules(root=ROOT, packages=PACKAGES):
    return {
        _module_name(path, root): path
        for package in packages
        for path in (root / package).rglob("*.py")
        if "migrations" not in path.parts
    }


def _imports(name, path, known):
    """The project modules that ``name`` imports, when it loads or inside any of its functions."""
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    found = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            found |= {alias.name for alias in node.names}
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                anchor = package.rsplit(".", node.level - 1)[0] if node.level > 1 else package
                base = f"{anchor}.{base}" if base else anchor
            for alias in node.names:
                submodule = f"{base}.{alias.name}"
                found.add(submodule if submodule in known else base)
    return {module for module in found if module in known and module != name}


def _graph(root=ROOT, packages=PACKAGES):
    modules = _modules(root, packages)
    return {name: _imports(name, path, modules.keys()) for name, path in modules.items()}


def _cycles(graph):
    cycles, state, stack = [], {}, []

    def visit(node):
        state[node] = "open"
        stack.append(node)
        for target in sorted(graph[node]):
            if state.get(target) == "open":
                cycles.append([*stack[stack.index(target) :], target])
            elif target not in state:
                visit(target)
        stack.pop()
        state[node] = "done"

    for node in sorted(graph):
        if node not in state:
            visit(node)
    return cycles


def _backward_imports(graph):
    """Each shared module that imports a product app, with the apps it imports."""
    found = {}
    for name, targets in graph.items():
        if name.split(".")[0] != SHARED or name in WIRING:
            continue
        apps = {target.split(".")[0] for target in targets} & set(PRODUCT_APPS)
        if apps:
            found[name] = apps
    return found


def _write(root, files):
    for name, text in files.items():
        path = root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)


def test_the_finder_sees_a_circle():
    assert _cycles({"a": {"b"}, "b": {"c"}, "c": {"a"}}) == [["a", "b", "c", "a"]]
    assert _cycles({"a": {"b"}, "b": set()}) == []


def test_the_finder_sees_a_circle_made_by_an_import_inside_a_function(tmp_path):
    _write(
        tmp_path,
        {
            "shop/__init__.py": "",
            "shop/orders.py": "from .mail import send\n",
            "shop/mail.py": "def send():\n    from .orders import total\n    return total\n",
        },
    )
    graph = _graph(tmp_path, ["shop"])
    assert graph["shop.mail"] == {"shop.orders"}
    assert _cycles(graph) == [["shop.mail", "shop.orders", "shop.mail"]]


def test_the_finder_sees_a_shared_module_importing_a_product_inside_a_function(tmp_path):
    _write(
        tmp_path,
        {
            "clinic/__init__.py": "",
            "clinic/mail.py": "def send():\n    from appointments.models import Request\n    return Request\n",
            "appointments/__init__.py": "",
            "appointments/models.py": "from clinic import mail\n",
        },
    )
    assert _backward_imports(_graph(tmp_path, ["clinic", "appointments"])) == {
        "clinic.mail": {"appointments"}
    }


def test_no_module_of_the_project_imports_itself_round_a_circle():
    graph = _graph()
    # The graph is real: the services import the models, the admin imports the services, and an
    # import inside a function counts (the health page reads the worker's heartbeat so).
    assert "appointments.models" in graph["appointments.services.requests"]
    assert "appointments.services" in graph["appointments.admin.requests"]
    assert "appointments.jobs" in graph["clinic.health"]
    assert _cycles(graph) == []


def test_no_new_shared_module_imports_a_product_app():
    found = _backward_imports(_graph())
    grown = {
        name: apps - KNOWN_BACKWARD_IMPORTS.get(name, set())
        for name, apps in found.items()
        if apps - KNOWN_BACKWARD_IMPORTS.get(name, set())
    }
    assert grown == {}
    # A module that no longer imports back is taken off the list, so the list only shrinks.
    assert found == KNOWN_BACKWARD_IMPORTS
