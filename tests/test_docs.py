"""Runs the examples in NeuraRust's docstrings (one test per docstring) and in docs/*.rst.

Every module of the package is imported (an import failure is a test
failure of its own), then ``doctest.DocTestFinder`` collects each docstring
that holds an example.  Outputs must match what PyTorch would print, with
``...`` allowed as a wildcard (``ELLIPSIS``); whitespace is compared exactly
because tensor reprs align columns the way torch does.
"""
import doctest
import importlib
import pkgutil
from pathlib import Path

import pytest

import neurarust as nr

OPTION_FLAGS = doctest.ELLIPSIS
DOCS_DIR = Path(__file__).resolve().parent.parent / "docs"
DOC_PAGES = sorted(p for p in DOCS_DIR.rglob("*.rst") if ">>>" in p.read_text(encoding="utf-8"))

# Docstrings whose example is right but whose code is not yet: name -> reason.
KNOWN_FAILURES = {}


def _module_names():
    names = ["neurarust"]
    for info in pkgutil.walk_packages(nr.__path__, "neurarust.", onerror=lambda name: None):
        names.append(info.name)
    return sorted(set(names))


MODULE_NAMES = _module_names()


def _collect_doctests():
    finder = doctest.DocTestFinder(exclude_empty=True)
    tests = []
    for name in MODULE_NAMES:
        try:
            module = importlib.import_module(name)
        except Exception:  # noqa: BLE001 - reported by test_module_imports
            continue
        tests.extend(t for t in finder.find(module, name) if t.examples)
    return sorted(tests, key=lambda t: t.name)


DOCTESTS = _collect_doctests()


@pytest.fixture(autouse=True)
def _restore_global_state():
    # A docstring may change process-wide settings; later tests must not see them.
    dtype, grad_enabled, threads = nr.get_default_dtype(), nr.is_grad_enabled(), nr.get_num_threads()
    yield
    nr.set_default_dtype(dtype)
    nr.set_grad_enabled(grad_enabled)
    nr.set_num_threads(threads)


@pytest.mark.parametrize("name", MODULE_NAMES)
def test_module_imports(name):
    importlib.import_module(name)


def test_docstring_examples_were_found():
    # Guards against a finder change silently collecting nothing.
    modules_with_examples = {t.name.split(".")[1] for t in DOCTESTS if "." in t.name}
    assert len(DOCTESTS) > 100, f"only {len(DOCTESTS)} docstrings with examples were collected"
    assert {"ops", "autograd", "_tensor"} <= modules_with_examples
    assert {"quickstart.rst", "tensors.rst", "autograd.rst"} <= {p.name for p in DOC_PAGES}


def _params():
    for test in DOCTESTS:
        reason = KNOWN_FAILURES.get(test.name)
        marks = [pytest.mark.xfail(strict=True, reason=reason)] if reason else []
        yield pytest.param(test, id=test.name, marks=marks)


@pytest.mark.parametrize("test", list(_params()))
def test_docstring_example(test):
    # Run on a copy: the finder's globals are shared by every example of a module.
    _run_doctest(doctest.DocTest(test.examples, dict(test.globs), test.name, test.filename,
                                 test.lineno, test.docstring))


def _run_doctest(test):
    report = []
    runner = doctest.DocTestRunner(optionflags=OPTION_FLAGS, verbose=False)
    result = runner.run(test, out=report.append, clear_globs=True)
    if result.failed:
        pytest.fail(f"{result.failed} of {result.attempted} examples failed in {test.name} "
                    f"({test.filename}:{test.lineno}):\n" + "".join(report), pytrace=False)
    return result


@pytest.mark.parametrize("page", DOC_PAGES, ids=[str(p.relative_to(DOCS_DIR)) for p in DOC_PAGES])
def test_documentation_page_examples(page):
    text = page.read_text(encoding="utf-8")
    test = doctest.DocTestParser().get_doctest(text, {}, page.name, str(page), 0)
    _run_doctest(test)
