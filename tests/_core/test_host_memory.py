"""host_memory.empty: large arrays from a free list of dead blocks, never aliasing live ones."""
import numpy as np
import pytest

import neurarust as nr
from neurarust._core import host_memory


def test_empty_reuses_dead_blocks_and_never_aliases_live_arrays():
    shape = (300, 1000)  # 1.2 MB: above the size that goes through the free list
    a = host_memory.empty(shape, np.float32)
    assert a.shape == shape and a.dtype == np.float32 and a.flags.c_contiguous and a.flags.writeable
    addr = a.ctypes.data
    view = a[10:]  # a view keeps the block alive
    del a
    b = host_memory.empty(shape, np.float32)
    assert b.ctypes.data != addr
    b[...] = 1.0
    view[...] = 2.0
    assert (b == 1.0).all() and (view == 2.0).all()
    del view
    held, blocks = host_memory._cache_info()
    assert held >= 1_200_000 and blocks >= 1
    # Same byte size, different shape and dtype: the dead block is reused.
    c = host_memory.empty((150_000, 2), np.int32)
    assert c.ctypes.data == addr and c.dtype == np.int32 and c.shape == (150_000, 2)
    assert host_memory._cache_info()[0] == held - 1_200_000
    # Small, object and non-native arrays are plain numpy arrays.
    assert host_memory.empty((3, 4), np.float64).flags.owndata
    assert host_memory.empty((100_000,), object).dtype == object
    assert host_memory.empty((100_000,), ">f8").dtype == np.dtype(">f8")
    with pytest.raises(ValueError, match="negative"):
        host_memory.empty((-1, 100_000), np.float32)


def test_large_elementwise_outputs_reuse_dead_blocks():
    a = nr.ones(300, 1000)
    first = (a + a)
    addr = first.data_ptr()
    expected = np.full((300, 1000), 2.0, np.float32)
    np.testing.assert_array_equal(first.numpy(), expected)
    del first
    second = a * 3.0
    # The dead sum's block serves the product; its old contents are overwritten.
    assert second.data_ptr() == addr
    np.testing.assert_array_equal(second.numpy(), np.full((300, 1000), 3.0, np.float32))
    live = a.exp()
    assert live.data_ptr() != second.data_ptr()
    np.testing.assert_allclose(live.numpy(), np.full((300, 1000), np.e, np.float32), rtol=1e-6)
    np.testing.assert_array_equal(second.numpy(), np.full((300, 1000), 3.0, np.float32))
