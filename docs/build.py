"""Build the documentation site (``make docs``): one HTML tree in ``build/docs``.

    python docs/build.py [--out build/docs]

1. Sphinx (``build/docs``): the user guides and the pages of this directory, the Python API
   (autodoc, from the docstrings), the C ABI (generated from ``fsrc/include/ftorch.h``'s
   comments) and one page per lint rule (generated from each rule's docstring: the text of
   ``pyftorch lint --explain CODE``).
2. FORD (``build/docs/fortran``): the Fortran API, from ``fsrc/fortran`` with the ``.fypp``
   modules expanded by fypp first.

The build fails (exit 1) on any warning of Sphinx or FORD and on any public name without
documentation: a public Fortran procedure, type, type-bound procedure, component or
constant of ``ftorch`` or ``ftorch_test_utils`` without a ``!>``/``!!`` comment, or a
procedure argument without one; a public Python name without a docstring; a C function
of ``ftorch.h`` without a comment.
"""

from __future__ import annotations

import argparse
import contextlib
import importlib
import inspect
import io
import re
import shutil
import subprocess
import sys
from pathlib import Path

DOCS = Path(__file__).resolve().parent
ROOT = DOCS.parent
sys.path.insert(0, str(ROOT))

#: Python modules documented by docs/python.md (automodule), checked for docstrings.
PYTHON_MODULES = (
    "pyftorch",
    "pyftorch.core",
    "pyftorch.runtime",
    "pyftorch.model",
    "pyftorch.losses",
    "pyftorch.optim",
    "pyftorch.checkpoint",
    "pyftorch.torchscript",
    "pyftorch.errors",
    "pyftorch.config",
    "pyftorch.crosscheck.engine",
    "pyftorch.crosscheck.suite",
)
#: Fortran modules whose public names are the API (``ftorch`` re-exports the others).
FORTRAN_API_MODULES = ("ftorch", "ftorch_test_utils")
#: Sources FORD leaves out: the bind(c) interfaces are documented as the C ABI.
FORD_EXCLUDE = ("ftorch_cbind.f90",)


# ==========================================================================================
# C ABI: ftorch.h -> capi.md
# ==========================================================================================

_BLOCK = re.compile(r"/\*(.*?)\*/", re.S)


def _comment_text(raw: str) -> str:
    lines = [re.sub(r"^\s*\* ?", "", line) for line in raw.strip("\n").splitlines()]
    return "\n".join(lines).strip()


def c_abi_markdown(header: Path) -> tuple[str, list[str]]:
    """The C ABI page, and the functions of the header that carry no comment."""
    text = header.read_text()
    first = _BLOCK.search(text)
    intro = _comment_text(first.group(1)) if first else ""
    body = text[first.end() :] if first else text
    out = [
        "# C ABI (`ftorch.h`)",
        "",
        "The C interface of `libftorch`; the Fortran module and the Python package are bindings of",
        "these functions.  Include `ftorch.h` and link `-lftorch` (`pyftorch config --cflags --libs`).",
        "",
    ]
    intro_lines = intro.splitlines()[2:]  # drop the title lines
    out += ["```text", *intro_lines, "```", ""]
    undocumented: list[str] = []
    # Walk the header: comments, section rules, declarations (FT_API ...;), enums and typedefs.
    token = re.compile(r"/\*.*?\*/|FT_API[^;]*;|(?:typedef\s+)?enum\s+\w+\s*\{.*?\};|typedef[^;]*;|#[^\n]*", re.S)
    pending: str | None = None
    section_text = False
    for match in token.finditer(body):
        chunk = match.group(0)
        if chunk.startswith("#"):
            continue
        if chunk.startswith("/*"):
            comment = _comment_text(chunk[2:-2])
            if comment.startswith("---"):
                title = [ln for ln in comment.splitlines() if ln.strip() and not ln.startswith("---")]
                if title:
                    head, _, tail = title[0].partition(". ")
                    out += [f"## {head.rstrip('.')}", ""]
                    rest = " ".join([tail, *title[1:]]).strip()
                    section_text = bool(rest) or "." in title[0]
                    if rest:
                        out += [rest, ""]
                pending = None
            else:
                pending = comment
            continue
        decl = re.sub(r"\s+", " ", chunk.replace("FT_API ", "")).strip()
        if chunk.startswith("FT_API"):
            name = re.search(r"(\w+)\s*\(", decl).group(1)
            grouped = _in_group(out)
            out += [f"### `{name}`", "", "```c", decl, "```", ""]
            if pending:
                out += [pending, ""]
            elif not (grouped or section_text):
                undocumented.append(name)
            pending = None
        else:
            if pending:
                out += [pending, ""]
                pending = None
            out += ["```c", chunk.strip(), "```", ""]
    return "\n".join(out) + "\n", undocumented


def _in_group(out: list[str]) -> bool:
    """True when the previous entry is a function of the same section (a group of them)."""
    for line in reversed(out):
        if line.startswith("## "):
            return False
        if line.startswith("### "):
            return True
    return False


# ==========================================================================================
# Lint rules: one page per rule, the text of `pyftorch lint --explain`
# ==========================================================================================


def explain_text(code: str) -> str:
    from preprocess.cli import main as lint_main

    buf = io.StringIO()
    with contextlib.redirect_stdout(buf):
        status = lint_main(["--explain", code])
    assert status == 0, f"pyftorch lint --explain {code} failed"
    return buf.getvalue()


def rule_pages(dest: Path) -> None:
    from preprocess.rules import all_rules

    dest.mkdir(parents=True, exist_ok=True)
    rows = ["| Code | Name | Severity | Fix | Summary |", "|---|---|---|---|---|"]
    toc = []
    for rule in all_rules():
        text = explain_text(rule.code)
        # The explain text uses `## ` sections under a `# ` title: keep it as is.
        (dest / f"{rule.code}.md").write_text(text)
        summary = rule.doc().splitlines()[0].split(":", 1)[-1].strip()
        rows.append(
            f"| [{rule.code}]({rule.code}.md) | `{rule.name}` | {rule.severity} | "
            f"{'yes' if rule.fixable else ''} | {summary} |"
        )
        toc.append(rule.code)
    index = [
        "# Lint rules",
        "",
        "The rules of `pyftorch lint`.  Each page is the text of `pyftorch lint --explain CODE`.",
        "",
        *rows,
        "",
        "```{toctree}",
        ":hidden:",
        "",
        *toc,
        "```",
        "",
    ]
    (dest / "index.md").write_text("\n".join(index))


# ==========================================================================================
# Python: public names without docstrings
# ==========================================================================================


def python_undocumented() -> list[str]:
    missing = []
    for modname in PYTHON_MODULES:
        module = importlib.import_module(modname)
        if not (module.__doc__ or "").strip():
            missing.append(f"module {modname}")
        names = getattr(module, "__all__", None) or [n for n in vars(module) if not n.startswith("_")]
        for name in names:
            obj = getattr(module, name)
            if getattr(obj, "__module__", modname) != modname and modname != "pyftorch":
                continue  # documented where it is defined
            if not (inspect.isclass(obj) or inspect.isfunction(obj)):
                continue
            if not (obj.__doc__ or "").strip():
                missing.append(f"{modname}.{name}")
            if inspect.isclass(obj) and not issubclass(obj, BaseException):
                for attr, member in vars(obj).items():
                    if attr.startswith("_"):
                        continue
                    documentable = inspect.isfunction(member) or isinstance(
                        member, (property, classmethod, staticmethod)
                    )
                    # inspect.getdoc inherits the docstring of the method it overrides, as autodoc does.
                    if documentable and not (inspect.getdoc(getattr(obj, attr)) or "").strip():
                        missing.append(f"{modname}.{name}.{attr}")
    return sorted(set(missing))


# ==========================================================================================
# Fortran: fypp, FORD, and public names without documentation
# ==========================================================================================


def expand_fortran(dest: Path) -> None:
    if dest.exists():
        shutil.rmtree(dest)
    dest.mkdir(parents=True)
    fypp = shutil.which("fypp", path=str(Path(sys.executable).parent)) or shutil.which("fypp")
    for src in sorted((ROOT / "fsrc" / "fortran").iterdir()):
        if src.name in FORD_EXCLUDE:
            continue
        if src.suffix == ".f90":
            shutil.copy2(src, dest / src.name)
        elif src.suffix == ".fypp":
            subprocess.run([fypp, str(src), str(dest / f"{src.stem}.f90")], check=True)


def _doc(entity) -> bool:
    return bool([line for line in (getattr(entity, "doc_list", None) or []) if line.strip()])


def fortran_undocumented(project) -> list[str]:
    """Public API names (and arguments) of the FORD project without documentation."""
    missing: set[str] = set()
    modules = {m.name.lower(): m for m in project.modules}

    def procedure(proc, owner: str) -> None:
        if not _doc(proc):
            missing.add(f"{owner}{proc.name}")
        for arg in getattr(proc, "args", None) or []:
            if not isinstance(arg, str) and not _doc(arg):
                missing.add(f"{owner}{proc.name}: argument {arg.name}")

    for modname in FORTRAN_API_MODULES:
        module = modules[modname]
        for name, proc in module.pub_procs.items():
            specifics = getattr(proc, "modprocs", None) or []
            if specifics or type(proc).__name__ == "FortranInterface":
                if not _doc(proc):
                    missing.add(f"{modname}::{name} (interface)")
                for mp in specifics:
                    target = getattr(mp, "procedure", None) or mp
                    if isinstance(target, str):
                        continue
                    procedure(target, f"{modname}::{name} -> ")
                for sub in (getattr(proc, "subroutines", None) or []) + (getattr(proc, "functions", None) or []):
                    procedure(sub, f"{modname}::{name} -> ")
            else:
                procedure(proc, f"{modname}::")
        for name, dtype in module.pub_types.items():
            if not _doc(dtype):
                missing.add(f"{modname}::{name} (type)")
            for var in dtype.variables:
                if getattr(var, "permission", "public") == "public" and not _doc(var):
                    missing.add(f"{modname}::{name}%{var.name} (component)")
            # A generic binding spread over several `generic ::` lines (one per specific, as
            # fypp writes them) is documented once.
            bindings: dict[str, bool] = {}
            for bound in dtype.boundprocs:
                if getattr(bound, "permission", "public") == "public":
                    bindings[bound.name] = bindings.get(bound.name, False) or _doc(bound)
            missing.update(f"{modname}::{name}%{b} (type-bound)" for b, ok in bindings.items() if not ok)
        for name, var in module.pub_vars.items():
            if not _doc(var):
                missing.add(f"{modname}::{name} (constant)")
    return sorted(missing)


def run_ford(src: Path, out: Path) -> tuple[list[str], list[str]]:
    """Run FORD in this process; returns (its warnings, undocumented public names)."""
    import ford
    import ford.fortran_project
    import ford.output

    warnings: list[str] = []

    def collect(msg: str) -> None:
        warnings.append(str(msg))

    for name in list(sys.modules):
        if (name == "ford" or name.startswith("ford.")) and hasattr(sys.modules[name], "warn"):
            sys.modules[name].warn = collect
    argv = sys.argv
    sys.argv = ["ford", "-q", "-d", str(src), "-o", str(out), str(DOCS / "ford.md")]
    try:
        proj_data, proj_docs = ford.initialize()
    finally:
        sys.argv = argv
    proj_data.warn = False  # its "undocumented" warnings cover private names too: see below
    stdout = io.StringIO()
    with contextlib.redirect_stdout(stdout):
        project = ford.fortran_project.Project(proj_data)
        project.correlate()
        undocumented = fortran_undocumented(project)
        from ford._markdown import MetaMarkdown

        md = MetaMarkdown(
            proj_data.md_base_dir,
            base_url=proj_data.project_url,
            extensions=proj_data.md_extensions,
            aliases=dict(proj_data.alias),
            project=project,
        )
        proj_docs = md.reset().convert(proj_docs, path=proj_data.project_url)
        project.markdown(md)
        if proj_data.summary is not None:
            proj_data.summary = md.convert(proj_data.summary)
        ford.output.Documentation(proj_data, proj_docs, project, None).writeout()
    warnings += [line for line in stdout.getvalue().splitlines() if "warning" in line.lower()]
    return warnings, undocumented


# ==========================================================================================
# Sphinx
# ==========================================================================================


def stage_sphinx(stage: Path) -> list[str]:
    """Copy the doc sources and write the generated pages; returns C functions without docs."""
    if stage.exists():
        shutil.rmtree(stage)
    shutil.copytree(DOCS, stage, ignore=shutil.ignore_patterns("build.py", "ford.md", "__pycache__"))
    capi, undocumented = c_abi_markdown(ROOT / "fsrc" / "include" / "ftorch.h")
    (stage / "capi.md").write_text(capi)
    rule_pages(stage / "lint")
    return undocumented


def run_sphinx(stage: Path, out: Path) -> list[str]:
    from sphinx.cmd.build import build_main

    log = io.StringIO()
    with contextlib.redirect_stderr(log):
        status = build_main(
            ["-b", "html", "-q", "-E", "--keep-going", "-d", str(stage.parent / "doctrees"), str(stage), str(out)]
        )
    lines = [line for line in log.getvalue().splitlines() if line.strip()]
    if status != 0 and not lines:
        lines = [f"sphinx-build exited with status {status}"]
    return lines


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=ROOT / "build" / "docs")
    args = parser.parse_args(argv)
    out = args.out.resolve()
    work = out.parent / "docs-src"
    if out.exists():
        shutil.rmtree(out)
    problems: list[str] = []

    c_missing = stage_sphinx(work / "sphinx")
    problems += [f"C ABI: {name} has no comment in ftorch.h" for name in c_missing]
    problems += [f"Python: {name} has no docstring" for name in python_undocumented()]
    problems += [f"Sphinx: {line}" for line in run_sphinx(work / "sphinx", out)]

    expand_fortran(work / "fortran")
    ford_warnings, f_missing = run_ford(work / "fortran", out / "fortran")
    problems += [f"FORD: {w}" for w in ford_warnings]
    problems += [f"Fortran: {name} is not documented" for name in f_missing]

    for line in problems:
        print(line, file=sys.stderr)
    if problems:
        print(f"make docs: {len(problems)} problems (see above); the site is in {out}", file=sys.stderr)
        return 1
    print(f"make docs: {out / 'index.html'} (Fortran API: {out / 'fortran' / 'index.html'})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
