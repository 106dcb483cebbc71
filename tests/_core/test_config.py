import os
import re

import pytest

from neurarust._core import config


@pytest.fixture
def restore_threads():
    saved = config.get_num_threads()
    yield
    config.set_num_threads(saved)


def test_openmp_flag_is_bool():
    assert isinstance(config.openmp_enabled(), bool)


def test_default_thread_count_is_available_cpus():
    env = os.environ.get("OMP_NUM_THREADS", "").split(",")[0].strip()
    expected = int(env) if env.isdigit() and int(env) >= 1 else len(os.sched_getaffinity(0))
    assert config._default_num_threads() == expected


def test_set_and_get_num_threads(restore_threads):
    config.set_num_threads(3)
    assert config.get_num_threads() == 3
    config.set_num_threads(1)
    assert config.get_num_threads() == 1


@pytest.mark.parametrize("bad", [0, -2])
def test_set_num_threads_rejects_non_positive(bad, restore_threads):
    before = config.get_num_threads()
    with pytest.raises(ValueError, match="thread count >= 1"):
        config.set_num_threads(bad)
    assert config.get_num_threads() == before


def test_set_num_threads_rejects_non_integers():
    with pytest.raises(TypeError):
        config.set_num_threads("2")


def test_simd_level_and_compiler_info():
    level = config.simd_level()
    assert level in ("avx512f", "avx2", "baseline")
    info = config.compiler_info()
    assert re.search(r"compiler \S+", info)
    assert f"SIMD dispatch {level}" in info
    assert ("OpenMP on" in info) == config.openmp_enabled()
