import numpy as np
import pytest

import neurarust as nr
from neurarust.utils.data import transforms as T


def _img(c=3, h=5, w=7):
    return np.arange(c * h * w, dtype=np.float32).reshape(c, h, w)


def test_to_tensor():
    hwc = np.random.default_rng(0).integers(0, 256, (4, 5, 3), dtype=np.uint8)
    t = T.ToTensor()(hwc)
    assert t.shape == (3, 4, 5) and t.dtype == nr.float32
    np.testing.assert_allclose(t.numpy(), hwc.transpose(2, 0, 1) / np.float32(255), rtol=1e-6)
    g = T.ToTensor()(np.ones((2, 3), np.float64))  # non-uint8 keeps values and dtype
    assert g.shape == (1, 2, 3) and g.dtype == nr.float64
    with pytest.raises(TypeError):
        T.ToTensor()(nr.zeros(3, 2, 2))


def test_normalize_numpy_and_tensor():
    x = _img()
    mean, std = [1.0, 2.0, 3.0], [2.0, 4.0, 0.5]
    ref = (x - np.array(mean, np.float32)[:, None, None]) / np.array(std, np.float32)[:, None, None]
    np.testing.assert_allclose(T.Normalize(mean, std)(x), ref, rtol=1e-6)
    t = T.Normalize(mean, std)(nr.from_numpy(x.copy()))
    assert isinstance(t, nr.Tensor)
    np.testing.assert_allclose(t.numpy(), ref, rtol=1e-6)
    with pytest.raises(ValueError, match="std evaluated to zero"):
        T.Normalize([0.0], [0.0])(x)
    with pytest.raises(TypeError, match="float"):
        T.Normalize([0.0], [1.0])(np.zeros((1, 2, 2), np.uint8))


def test_flips():
    x = _img()
    np.testing.assert_array_equal(T.RandomHorizontalFlip(1.0)(x), x[:, :, ::-1])
    np.testing.assert_array_equal(T.RandomVerticalFlip(1.0)(x), x[:, ::-1, :])
    assert T.RandomHorizontalFlip(0.0)(x) is x
    t = T.RandomHorizontalFlip(1.0)(nr.from_numpy(x))
    assert isinstance(t, nr.Tensor)
    np.testing.assert_array_equal(t.numpy(), x[:, :, ::-1])
    nr.manual_seed(0)
    flips = [T.RandomHorizontalFlip()(x)[0, 0, 0] != x[0, 0, 0] for _ in range(200)]
    assert 60 < sum(flips) < 140


def test_center_crop():
    x = _img(1, 5, 7)
    np.testing.assert_array_equal(T.CenterCrop((3, 4))(x), x[:, 1:4, 2:6])  # round(1.0), round(1.5)=2
    padded = T.CenterCrop(9)(x)  # larger than the image: zero-padded around it
    assert padded.shape == (1, 9, 9)
    np.testing.assert_array_equal(padded[:, 2:7, 1:8], x)
    assert padded[:, :2].sum() == 0


def test_random_crop_windows():
    x = _img(2, 6, 6)
    nr.manual_seed(1)
    for _ in range(20):
        out = T.RandomCrop(4, padding=1)(x)
        assert out.shape == (2, 4, 4)
        padded = np.pad(x, ((0, 0), (1, 1), (1, 1)))
        assert any(np.array_equal(out, padded[:, i:i + 4, j:j + 4]) for i in range(5) for j in range(5))
    out = T.RandomCrop((8, 3), pad_if_needed=True, fill=-1)(x)
    assert out.shape == (2, 8, 3) and (out == -1).any()
    e = T.RandomCrop(6, padding=(1, 2), padding_mode="edge")(x)
    assert e.shape == (2, 6, 6)
    with pytest.raises(ValueError, match="Required crop size"):
        T.RandomCrop(7)(x)


def test_resize_by_hand():
    x = np.array([[[0.0, 1.0], [2.0, 3.0]]], np.float32)
    np.testing.assert_array_equal(T.Resize((4, 4), interpolation="nearest")(x)[0],
                                  [[0, 0, 1, 1], [0, 0, 1, 1], [2, 2, 3, 3], [2, 2, 3, 3]])
    # bilinear, half-pixel centres: source coordinate (d + 0.5) / 2 - 0.5, clamped at 0
    row = T.Resize((1, 4))(np.array([[[0.0, 1.0]]], np.float32))[0, 0]
    np.testing.assert_allclose(row, [0.0, 0.25, 0.75, 1.0])
    assert T.Resize(4)(np.zeros((3, 8, 16), np.float32)).shape == (3, 4, 8)  # smaller edge -> 4
    u8 = T.Resize((3, 3))(np.full((1, 2, 2), 200, np.uint8))
    assert u8.dtype == np.uint8 and (u8 == 200).all()


@pytest.mark.parametrize("mode", ["nearest", "bilinear"])
def test_resize_matches_torch_interpolate(mode):
    torch = pytest.importorskip("torch")
    x = np.random.default_rng(0).standard_normal((3, 7, 9)).astype(np.float32)
    for size in [(4, 5), (11, 13), (7, 3)]:
        ours = T.Resize(size, interpolation=mode)(nr.from_numpy(x)).numpy()
        kw = {} if mode == "nearest" else {"align_corners": False}
        ref = torch.nn.functional.interpolate(torch.from_numpy(x)[None], size=size, mode=mode, **kw)[0].numpy()
        np.testing.assert_allclose(ours, ref, rtol=1e-5, atol=1e-6)


def test_compose_lambda_pipeline():
    pipe = T.Compose([T.ToTensor(), T.RandomCrop(4, padding=2), T.RandomHorizontalFlip(),
                      T.Normalize([0.5], [0.5]), T.Lambda(lambda t: t * 2)])
    out = pipe(np.full((6, 6), 255, np.uint8))
    assert out.shape == (1, 4, 4) and float(out.max().item()) == 2.0
    with pytest.raises(TypeError):
        T.Lambda(3)
    assert "RandomCrop" in repr(pipe)
