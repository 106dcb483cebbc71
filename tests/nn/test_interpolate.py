"""``F.interpolate`` (every mode, 3-D to 5-D) and the ``Upsample`` modules, against torch and NumPy."""
import pathlib
import sys

import numpy as np
import pytest

sys.path.insert(0, str(pathlib.Path(__file__).resolve().parents[1]))
sys.path.insert(0, str(pathlib.Path(__file__).resolve().parent))
from _helpers import torch_or_skip as _torch  # noqa: E402
from _spatial import compare  # noqa: E402

import neurarust as nr  # noqa: E402
from neurarust import nn  # noqa: E402
from neurarust.errors import DTypeError, ShapeError  # noqa: E402
from neurarust.nn import functional as F  # noqa: E402
from neurarust.testing import assert_close  # noqa: E402

RNG = np.random.default_rng(5)
TOL = dict(rtol=1e-4, atol=1e-4)


def _randn(*shape, dtype=np.float32):
    return RNG.standard_normal(shape).astype(dtype)


# ------------------------------------------------------------ against torch
CASES = [
    # input shape, options
    ((2, 3, 5, 7), dict(size=(8, 4))),
    ((2, 3, 5, 7), dict(scale_factor=2)),
    ((2, 3, 5, 7), dict(scale_factor=1.7)),
    ((2, 3, 5, 7), dict(size=(3, 11), mode="bilinear")),
    ((2, 3, 5, 7), dict(size=(9, 4), mode="bilinear", align_corners=True)),
    ((2, 3, 5, 7), dict(scale_factor=(1.5, 0.6), mode="bilinear")),
    ((2, 3, 5, 7), dict(scale_factor=1.5, mode="bilinear", recompute_scale_factor=True)),
    ((2, 3, 5, 7), dict(size=(6, 13), mode="nearest-exact")),
    ((2, 3, 5, 7), dict(scale_factor=(0.7, 2.3), mode="nearest-exact")),
    ((2, 3, 5, 7), dict(size=(9, 4), mode="bicubic")),
    ((2, 3, 5, 7), dict(size=(2, 12), mode="bicubic", align_corners=True)),
    ((2, 3, 5, 7), dict(scale_factor=1.4, mode="bicubic")),
    ((2, 3, 5, 7), dict(size=(3, 4), mode="area")),
    ((2, 3, 5, 7), dict(scale_factor=(1.5, 0.5), mode="area")),
    ((2, 3, 11, 13), dict(size=(4, 5), mode="bilinear", antialias=True)),
    ((2, 3, 11, 13), dict(scale_factor=(0.3, 1.6), mode="bicubic", antialias=True)),
    ((2, 3, 11, 13), dict(size=(3, 7), mode="bilinear", antialias=True, align_corners=True)),
    ((2, 3, 9), dict(size=4)),
    ((2, 3, 9), dict(scale_factor=2.5, mode="nearest-exact")),
    ((2, 3, 9), dict(size=14, mode="linear")),
    ((2, 3, 9), dict(size=(5,), mode="linear", align_corners=True)),
    ((2, 3, 9), dict(scale_factor=0.6, mode="linear", recompute_scale_factor=True)),
    ((2, 3, 9), dict(size=4, mode="area")),
    ((1, 2, 3, 4, 5), dict(size=(5, 2, 7))),
    ((1, 2, 3, 4, 5), dict(scale_factor=(2, 0.5, 1.3), mode="nearest-exact")),
    ((1, 2, 3, 4, 5), dict(size=(4, 6, 3), mode="trilinear")),
    ((1, 2, 3, 4, 5), dict(scale_factor=1.5, mode="trilinear", align_corners=True)),
    ((1, 2, 3, 4, 5), dict(size=(2, 3, 2), mode="area")),
]


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("shape,opts", CASES)
def test_interpolate_matches_torch(shape, opts, dtype):
    torch = _torch()
    tol = TOL if dtype == np.float32 else dict(rtol=1e-10, atol=1e-10)
    compare(lambda x: F.interpolate(x, **opts), lambda x: torch.nn.functional.interpolate(x, **opts),
            [_randn(*shape, dtype=dtype)], torch, **tol)


@pytest.mark.parametrize("mode", ["nearest", "nearest-exact", "bilinear", "bicubic", "area"])
def test_interpolate_non_contiguous_inputs_match_torch(mode):
    torch = _torch()
    # (N, H, W, C) storage read as (N, C, H, W), then a strided slice of it.
    compare(lambda x: F.interpolate(x.permute(0, 3, 1, 2)[:, :, ::2, 1:], size=(4, 9), mode=mode),
            lambda x: torch.nn.functional.interpolate(x.permute(0, 3, 1, 2)[:, :, ::2, 1:], size=(4, 9),
                                                      mode=mode),
            [_randn(2, 9, 8, 5)], torch, **TOL)


@pytest.mark.parametrize("mode", ["nearest", "nearest-exact"])
def test_nearest_source_pixels_identical_to_torch(mode):
    # torch picks source pixels with float32 arithmetic whose rounding differs between its
    # kernels; every index must agree, so sweep many size pairs on each kernel's layouts.
    torch = _torch()
    layouts = [lambda n: (1, 1, n), lambda n: (1, 1, 2, n), lambda n: (1, 1, 130, n)]
    for layout in layouts:
        for n_in in range(1, 23):
            shape = layout(n_in)
            x = np.arange(np.prod(shape), dtype=np.float64).reshape(shape)
            requests = [dict(size=tuple(shape[2:-1]) + (n_out,)) for n_out in range(1, 47)]
            requests += [dict(scale_factor=(1.0,) * (len(shape) - 3) + (s,))
                         for s in (0.3, 2 / 3, 1.1, 1.7, 2.5, 1 / 3, 1.0001) if int(n_in * s) >= 1]
            for kwargs in requests:
                expected = torch.nn.functional.interpolate(torch.tensor(x), mode=mode, **kwargs).numpy()
                np.testing.assert_array_equal(F.interpolate(nr.tensor(x), mode=mode, **kwargs).numpy(),
                                              expected, err_msg=f"{shape} {kwargs}")


# ------------------------------------------------------------ NumPy references
def _positions(n_in, n_out, align_corners, scale_factor=None):
    i = np.arange(n_out, dtype=np.float64)
    if align_corners:
        return i * ((n_in - 1) / (n_out - 1) if n_out > 1 else 0.0)
    scale = 1.0 / scale_factor if scale_factor else n_in / n_out
    return (i + 0.5) * scale - 0.5


def _along(x, axis, fn):
    return np.apply_along_axis(fn, axis, x)


def _np_linear(x, sizes, align_corners):
    for axis, n_out in enumerate(sizes, start=2):
        n_in = x.shape[axis]
        pos = np.clip(_positions(n_in, n_out, align_corners), 0, n_in - 1)
        x = _along(x, axis, lambda line: np.interp(pos, np.arange(n_in), line))
    return x


def _keys_kernel(d, a=-0.75):
    d = np.abs(d)
    return np.where(d <= 1, (a + 2) * d ** 3 - (a + 3) * d ** 2 + 1,
                    np.where(d < 2, a * d ** 3 - 5 * a * d ** 2 + 8 * a * d - 4 * a, 0.0))


def _np_bicubic(x, sizes, align_corners):
    for axis, n_out in enumerate(sizes, start=2):
        n_in = x.shape[axis]
        matrix = np.zeros((n_out, n_in))
        for i, p in enumerate(_positions(n_in, n_out, align_corners)):
            base = int(np.floor(p))
            for k in range(base - 1, base + 3):
                matrix[i, min(max(k, 0), n_in - 1)] += _keys_kernel(p - k)
        x = np.moveaxis(np.tensordot(matrix, np.moveaxis(x, axis, 0), axes=1), 0, axis)
    return x


def _np_area(x, sizes):
    for axis, n_out in enumerate(sizes, start=2):
        n_in = x.shape[axis]
        windows = [(int(np.floor(i * n_in / n_out)), int(np.ceil((i + 1) * n_in / n_out)))
                   for i in range(n_out)]
        x = _along(x, axis, lambda line: np.array([line[a:b].mean() for a, b in windows]))
    return x


def _np_antialias_bilinear(x, sizes):
    # Pillow's resampling: a triangle filter stretched by the downscale factor, rows renormalised.
    for axis, n_out in enumerate(sizes, start=2):
        n_in = x.shape[axis]
        scale = n_in / n_out
        centers = (np.arange(n_out) + 0.5) * scale
        taps = np.arange(n_in) + 0.5
        matrix = np.maximum(0.0, 1 - np.abs(taps[None] - centers[:, None]) / max(scale, 1.0))
        matrix /= matrix.sum(1, keepdims=True)
        x = np.moveaxis(np.tensordot(matrix, np.moveaxis(x, axis, 0), axes=1), 0, axis)
    return x


@pytest.mark.parametrize("align_corners", [False, True])
@pytest.mark.parametrize("shape,sizes,mode", [((2, 3, 6), (11,), "linear"),
                                              ((1, 2, 5, 4), (3, 9), "bilinear"),
                                              ((1, 2, 3, 4, 5), (5, 2, 8), "trilinear")])
def test_linear_modes_against_numpy_interp(shape, sizes, mode, align_corners):
    x = _randn(*shape, dtype=np.float64)
    y = F.interpolate(nr.tensor(x), size=sizes, mode=mode, align_corners=align_corners)
    assert_close(y.numpy(), _np_linear(x, sizes, align_corners), rtol=1e-12, atol=1e-12)


@pytest.mark.parametrize("align_corners", [False, True])
def test_bicubic_against_keys_kernel(align_corners):
    x = _randn(2, 2, 5, 6, dtype=np.float64)
    for sizes in [(9, 4), (2, 13), (5, 6)]:
        y = F.interpolate(nr.tensor(x), size=sizes, mode="bicubic", align_corners=align_corners)
        assert_close(y.numpy(), _np_bicubic(x, sizes, align_corners), rtol=1e-12, atol=1e-12)


def test_area_against_window_means():
    for shape, sizes in [((2, 3, 10), (4,)), ((1, 2, 7, 9), (3, 4)), ((1, 2, 7, 9), (10, 9)),
                         ((1, 1, 4, 5, 6), (3, 2, 4))]:
        x = _randn(*shape, dtype=np.float64)
        assert_close(F.interpolate(nr.tensor(x), size=sizes, mode="area").numpy(), _np_area(x, sizes),
                     rtol=1e-12, atol=1e-12)


def test_antialias_bilinear_against_stretched_triangle_filter():
    x = _randn(2, 2, 17, 12, dtype=np.float64)
    for sizes in [(5, 4), (8, 3), (4, 12)]:
        y = F.interpolate(nr.tensor(x), size=sizes, mode="bilinear", antialias=True)
        assert_close(y.numpy(), _np_antialias_bilinear(x, sizes), rtol=1e-12, atol=1e-12)


def test_nearest_modes_against_integer_index_formulas():
    x = np.arange(2 * 3 * 5 * 7, dtype=np.float64).reshape(2, 3, 5, 7)
    assert_close(F.interpolate(nr.tensor(x), scale_factor=2).numpy(), x.repeat(2, 2).repeat(2, 3))
    for h, w in [(3, 11), (8, 4), (13, 2)]:
        rows, cols = np.arange(h) * 5 // h, np.arange(w) * 7 // w
        assert_close(F.interpolate(nr.tensor(x), size=(h, w)).numpy(), x[:, :, rows][:, :, :, cols])
        rows, cols = (2 * np.arange(h) + 1) * 5 // (2 * h), (2 * np.arange(w) + 1) * 7 // (2 * w)
        assert_close(F.interpolate(nr.tensor(x), size=(h, w), mode="nearest-exact").numpy(),
                     x[:, :, rows][:, :, :, cols])


def test_upsampling_preserves_constants_and_integer_nearest():
    ones = nr.ones(1, 2, 4, 5, dtype=nr.float64)
    for mode, kw in [("bilinear", {}), ("bicubic", {}), ("area", {}), ("bicubic", dict(antialias=True))]:
        assert_close(F.interpolate(ones, size=(7, 3), mode=mode, **kw).numpy(), np.ones((1, 2, 7, 3)))
    ints = nr.arange(6).view(1, 1, 6)
    y = F.interpolate(ints, size=3)
    assert y.dtype == nr.int64 and y.tolist() == [[[0, 2, 4]]]


def test_same_size_result_is_a_new_tensor():
    x = nr.tensor(_randn(1, 2, 3, 4))
    y = F.interpolate(x, size=(3, 4))
    assert y is not x and np.array_equal(y.numpy(), x.numpy())
    y.add_(1.0)
    assert not np.array_equal(y.numpy(), x.numpy())


# ------------------------------------------------------------ gradients
GRAD_CASES = [
    ((2, 2, 5), dict(size=8, mode="linear")),
    ((2, 2, 5), dict(scale_factor=0.6, mode="linear", align_corners=True)),
    ((1, 2, 4, 5), dict(size=(3, 7), mode="nearest")),
    ((1, 2, 4, 5), dict(size=(7, 3), mode="nearest-exact")),
    ((1, 2, 4, 5), dict(size=(6, 3), mode="bilinear")),
    ((1, 2, 4, 5), dict(size=(7, 3), mode="bicubic", align_corners=True)),
    ((1, 2, 6, 7), dict(size=(3, 2), mode="bicubic", antialias=True)),
    ((1, 2, 5, 7), dict(size=(3, 4), mode="area")),
    ((1, 1, 3, 4, 5), dict(scale_factor=(1.5, 0.5, 1.2), mode="trilinear")),
]


@pytest.mark.parametrize("shape,opts", GRAD_CASES)
def test_interpolate_gradcheck_float64(shape, opts):
    x = nr.tensor(RNG.standard_normal(shape), requires_grad=True)
    assert nr.autograd.gradcheck(lambda t: F.interpolate(t, **opts), [x])
    assert nr.autograd.gradgradcheck(lambda t: F.interpolate(t, **opts), [x])


# ------------------------------------------------------------ errors
ERROR_CASES = [
    ((1, 1, 4), dict(size=3, mode="bilinear"), NotImplementedError),
    ((1, 1, 4), dict(size=3, mode="trilinear"), NotImplementedError),
    ((1, 1, 4, 4), dict(size=3, mode="linear"), NotImplementedError),
    ((1, 1, 4, 4), dict(size=3, mode="trilinear"), NotImplementedError),
    ((1, 1, 4, 4, 4), dict(size=3, mode="linear"), NotImplementedError),
    ((1, 1, 4, 4, 4), dict(size=3, mode="bilinear"), NotImplementedError),
    ((1, 1, 4), dict(size=3, mode="nearest", align_corners=True), ValueError),
    ((1, 1, 4), dict(size=3, mode="area", align_corners=False), ValueError),
    ((1, 1, 4), dict(), ValueError),
    ((1, 1, 4), dict(size=3, scale_factor=2), ValueError),
    ((1, 1, 4), dict(size=(3, 3)), ValueError),
    ((1, 1, 4), dict(scale_factor=(2, 2)), ValueError),
    ((1, 1, 4), dict(size=3, recompute_scale_factor=True), ValueError),
    ((1, 1, 4), dict(size=(2.0,)), TypeError),
    ((1, 1, 4), dict(size=0), RuntimeError),
    ((1, 1, 4), dict(scale_factor=0.1), RuntimeError),
    ((1, 1, 0), dict(size=2), RuntimeError),
]


@pytest.mark.parametrize("shape,opts,exc", ERROR_CASES)
def test_interpolate_errors_match_torch(shape, opts, exc):
    torch = _torch()
    with pytest.raises(exc) as theirs:
        torch.nn.functional.interpolate(torch.zeros(shape), **opts)
    with pytest.raises(exc) as ours:
        F.interpolate(nr.zeros(shape), **opts)
    # torch's 2-D and 3-D size messages drop the "and" its 1-D message has; ours always has it.
    assert str(ours.value).replace(" and output", " output") == \
        str(theirs.value).replace(" and output", " output")


def test_interpolate_errors_without_torch_counterpart_text():
    x3, x4 = nr.zeros(1, 1, 4), nr.zeros(1, 1, 4, 4)
    x5 = nr.zeros(1, 1, 2, 2, 2)
    for x, mode in [(x3, "bicubic"), (x5, "bicubic"), (x3, "cubic"), (nr.zeros(1, 4), "nearest")]:
        with pytest.raises(NotImplementedError, match=rf"Only 3D, 4D and 5D input .*\(got {mode}\)"):
            F.interpolate(x, size=2, mode=mode)
    for x, mode in [(x3, "linear"), (x4, "nearest"), (x5, "trilinear")]:
        with pytest.raises(ValueError, match="Anti-alias option is restricted to bilinear and bicubic"):
            F.interpolate(x, size=2, mode=mode, antialias=True)
    with pytest.raises(ShapeError, match=r"input \(H: 4, W: 4\) and output \(H: 2, W: 0\)"):
        F.interpolate(x4, size=(2, 0), mode="bilinear")
    with pytest.raises(DTypeError, match="floating point"):
        F.interpolate(nr.zeros(1, 1, 4, dtype=nr.int64), size=2, mode="linear")


# ------------------------------------------------------------ modules
def test_upsample_modules_match_torch():
    torch = _torch()
    configs = [
        (nn.Upsample, torch.nn.Upsample, dict(scale_factor=2), (2, 3, 4, 5)),
        (nn.Upsample, torch.nn.Upsample, dict(size=(3, 7), mode="bicubic", align_corners=True), (2, 3, 4, 5)),
        (nn.Upsample, torch.nn.Upsample, dict(scale_factor=(1.5, 0.5), mode="bilinear"), (1, 2, 4, 6)),
        (nn.Upsample, torch.nn.Upsample, dict(size=5, mode="linear"), (2, 3, 8)),
        (nn.Upsample, torch.nn.Upsample, dict(scale_factor=1.5, mode="trilinear",
                                             recompute_scale_factor=True), (1, 2, 3, 4, 2)),
        (nn.Upsample, torch.nn.Upsample, dict(size=(2, 3), mode="area"), (1, 2, 5, 7)),
        (nn.UpsamplingNearest2d, torch.nn.UpsamplingNearest2d, dict(scale_factor=3), (1, 2, 3, 2)),
        (nn.UpsamplingBilinear2d, torch.nn.UpsamplingBilinear2d, dict(size=(5, 4)), (1, 2, 3, 2)),
    ]
    for cls, tcls, kwargs, shape in configs:
        m, tm = cls(**kwargs), tcls(**kwargs)
        assert repr(m) == repr(tm)
        for name in ("size", "scale_factor", "mode", "align_corners", "recompute_scale_factor", "name"):
            assert getattr(m, name) == getattr(tm, name), name
        assert list(m.state_dict()) == [] and list(m.parameters()) == []
        compare(m, tm, [_randn(*shape)], torch, **TOL)


def test_upsample_is_exported_and_functional_is_shared():
    from neurarust.nn._functional_interpolate import interpolate

    assert F.interpolate is interpolate
    assert {"Upsample", "UpsamplingNearest2d", "UpsamplingBilinear2d"} <= set(nn.__all__)
    seq = nn.Sequential(nn.Conv2d(1, 2, 3, padding=1), nn.Upsample(scale_factor=2, mode="bilinear"))
    assert tuple(seq(nr.zeros(1, 1, 4, 4)).shape) == (1, 2, 8, 8)
