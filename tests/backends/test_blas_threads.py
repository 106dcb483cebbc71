import ctypes

import numpy as np
import pytest

from neurarust.backends import blas_threads


@pytest.fixture
def fresh_lookup(monkeypatch):
    """Forget the cached library so a test can steer the lookup."""
    monkeypatch.setattr(blas_threads, "_lookup_done", False)
    monkeypatch.setattr(blas_threads, "_set_threads", None)
    monkeypatch.setattr(blas_threads, "_get_threads", None)


@pytest.fixture
def restore_threads():
    before = blas_threads.get_blas_threads()
    yield before
    if before is not None:
        blas_threads.set_blas_threads(before)


def test_get_returns_positive_int_or_none():
    count = blas_threads.get_blas_threads()
    assert count is None or (isinstance(count, int) and count >= 1)


def test_set_then_get_round_trips(restore_threads):
    if restore_threads is None:
        pytest.skip("scipy does not use a findable OpenBLAS here")
    assert blas_threads.set_blas_threads(1) is True
    assert blas_threads.get_blas_threads() == 1
    assert blas_threads.set_blas_threads(2) is True
    assert blas_threads.get_blas_threads() in (1, 2)  # capped by the build's maximum


def test_controls_the_library_scipy_matmul_uses(restore_threads):
    """The symbol must come from scipy's OpenBLAS, not numpy's separate copy."""
    if restore_threads is None:
        pytest.skip("scipy does not use a findable OpenBLAS here")
    scipy_libs = [p for p in blas_threads._loaded_openblas_paths() if "scipy.libs" in p]
    if not scipy_libs:
        pytest.skip("scipy's OpenBLAS is not a separate scipy.libs library here")
    library = ctypes.CDLL(scipy_libs[0])
    getter = blas_threads._first_symbol(library, "openblas_get_num_threads")
    assert blas_threads.set_blas_threads(1)
    assert getter() == 1


def test_matmul_still_correct_single_threaded(restore_threads):
    from scipy.linalg.blas import sgemm

    blas_threads.set_blas_threads(1)
    a = np.arange(12, dtype=np.float32).reshape(3, 4)
    b = np.arange(8, dtype=np.float32).reshape(4, 2)
    np.testing.assert_allclose(sgemm(1.0, a, b), a @ b)


@pytest.mark.parametrize("bad", [0, -3])
def test_rejects_non_positive(bad):
    with pytest.raises(ValueError, match="set_blas_threads"):
        blas_threads.set_blas_threads(bad)


@pytest.mark.parametrize("bad", [1.5, "2", None, True])
def test_rejects_non_int(bad):
    with pytest.raises(TypeError, match="set_blas_threads"):
        blas_threads.set_blas_threads(bad)


def test_missing_library_degrades_gracefully(fresh_lookup, monkeypatch):
    monkeypatch.setattr(blas_threads, "_candidate_libraries", lambda: [])
    assert blas_threads.set_blas_threads(2) is False
    assert blas_threads.get_blas_threads() is None


def test_unloadable_or_symbol_less_libraries_are_skipped(fresh_lookup, monkeypatch):
    # A file that is not a library, then libc (loadable, no OpenBLAS symbols).
    monkeypatch.setattr(blas_threads, "_candidate_libraries",
                        lambda: [__file__, "libc.so.6"])
    assert blas_threads.set_blas_threads(2) is False
    assert blas_threads.get_blas_threads() is None


def test_only_extension_handles_available_still_works(fresh_lookup, monkeypatch):
    """Without /proc (macOS, Windows) nor a scipy.libs folder the lookup must not raise."""
    monkeypatch.setattr(blas_threads, "_loaded_openblas_paths", lambda: [])
    monkeypatch.setattr(blas_threads.glob, "glob", lambda pattern: [])
    count = blas_threads.get_blas_threads()
    assert count is None or count >= 1


def test_symbol_spellings_include_known_builds():
    names = blas_threads._symbol_names("openblas_set_num_threads")
    for expected in ("openblas_set_num_threads", "scipy_openblas_set_num_threads",
                     "scipy_openblas_set_num_threads64_"):
        assert expected in names
    assert not any(name.endswith("_threads_") for name in names)
