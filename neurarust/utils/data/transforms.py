"""Image transforms on numpy arrays and tensors in CHW layout (torchvision's semantics).

Each transform returns the type it was given (a numpy array stays an array, a
tensor stays a tensor), except :class:`ToTensor`.  Random transforms draw from
NeuraRust's default generator, so ``nr.manual_seed`` (and the per-worker
seeding of the DataLoader) makes them reproducible.

Example:
    >>> import numpy as np
    >>> from neurarust.utils.data import transforms as T
    >>> img = np.full((4, 6, 3), 255, dtype=np.uint8)          # HWC
    >>> t = T.Compose([T.ToTensor(), T.CenterCrop(2), T.Normalize([0.5] * 3, [0.5] * 3)])(img)
    >>> t.shape, t.max().item()
    (neurarust.Size([3, 2, 2]), 1.0)
"""
from __future__ import annotations

import numbers
from typing import Any, Callable, Optional, Sequence, Tuple, Union

import numpy as np

from ..._core.tensor_base import TensorBase
from ...dtypes import get_default_dtype
from ...autograd.grad_mode import no_grad
from ...ops.creation import from_numpy
from ...ops.random import rand, randint

__all__ = ["Compose", "Lambda", "ToTensor", "Normalize", "RandomHorizontalFlip",
           "RandomVerticalFlip", "RandomCrop", "CenterCrop", "Resize"]

Size = Union[int, Sequence[int]]


def _to_numpy(img) -> Tuple[np.ndarray, bool]:
    if isinstance(img, TensorBase):
        return img.detach().cpu().numpy(), True
    if isinstance(img, np.ndarray):
        return img, False
    raise TypeError(f"expected a numpy array or a tensor (CHW or HW), got {type(img).__name__}")


def _back(arr: np.ndarray, was_tensor: bool):
    if not was_tensor:
        return arr
    return from_numpy(np.ascontiguousarray(arr))


def _check_image(arr: np.ndarray, name: str) -> None:
    if arr.ndim < 2:
        raise ValueError(f"{name}: expected an image with at least 2 dimensions (..., H, W), got shape {arr.shape}")


def _pair(size: Size, name: str) -> Tuple[int, int]:
    if isinstance(size, numbers.Integral):
        return int(size), int(size)
    size = tuple(int(s) for s in size)
    if len(size) == 1:
        return size[0], size[0]
    if len(size) != 2:
        raise ValueError(f"{name}: size should be an int or a sequence of 1 or 2 ints, got {size}")
    return size  # type: ignore[return-value]


def _pad(arr: np.ndarray, left: int, top: int, right: int, bottom: int, fill, mode: str) -> np.ndarray:
    widths = [(0, 0)] * (arr.ndim - 2) + [(top, bottom), (left, right)]
    if mode == "constant":
        return np.pad(arr, widths, mode="constant", constant_values=fill)
    if mode not in ("edge", "reflect", "symmetric"):
        raise ValueError(f"padding_mode should be constant, edge, reflect or symmetric, got {mode!r}")
    return np.pad(arr, widths, mode=mode)


class Compose:
    """Apply ``transforms`` one after another.

    Example:
        >>> from neurarust.utils.data import transforms as T
        >>> T.Compose([T.Lambda(lambda x: x + 1), T.Lambda(lambda x: x * 2)])(3)
        8
    """

    def __init__(self, transforms: Sequence[Callable]) -> None:
        self.transforms = list(transforms)

    def __call__(self, img):
        for t in self.transforms:
            img = t(img)
        return img

    def __repr__(self) -> str:
        body = "".join(f"\n    {t}" for t in self.transforms)
        return f"{type(self).__name__}({body}\n)"


class Lambda:
    """Wrap a function as a transform.

    Example:
        >>> from neurarust.utils.data import transforms as T
        >>> T.Lambda(abs)(-2)
        2
    """

    def __init__(self, lambd: Callable[[Any], Any]) -> None:
        if not callable(lambd):
            raise TypeError(f"Argument lambd should be callable, got {type(lambd).__name__!r}")
        self.lambd = lambd

    def __call__(self, img):
        return self.lambd(img)

    def __repr__(self) -> str:
        return f"{type(self).__name__}()"


class ToTensor:
    """An HWC (or HW) numpy image to a CHW tensor; uint8 is scaled to floats in ``[0, 1]``.

    Other dtypes keep their values and dtype (torchvision's rule).

    Example:
        >>> import numpy as np
        >>> from neurarust.utils.data import transforms as T
        >>> t = T.ToTensor()(np.array([[[0, 255]]], dtype=np.uint8))   # H=1, W=1, C=2
        >>> t.shape, t.dtype, t.flatten().tolist()
        (neurarust.Size([2, 1, 1]), neurarust.float32, [0.0, 1.0])
    """

    def __call__(self, pic):
        if isinstance(pic, TensorBase):
            raise TypeError("ToTensor: pic should be a numpy array (HWC or HW), got a tensor")
        if not isinstance(pic, np.ndarray):
            raise TypeError(f"ToTensor: pic should be a numpy array, got {type(pic).__name__}")
        if pic.ndim not in (2, 3):
            raise ValueError(f"ToTensor: pic should be 2 or 3 dimensional (HW or HWC), got {pic.ndim} dimensions")
        if pic.ndim == 2:
            pic = pic[:, :, None]
        chw = np.ascontiguousarray(pic.transpose(2, 0, 1))
        if chw.dtype == np.uint8:
            chw = chw.astype(get_default_dtype().numpy) / np.asarray(255, get_default_dtype().numpy)
        return from_numpy(np.ascontiguousarray(chw))

    def __repr__(self) -> str:
        return f"{type(self).__name__}()"


class Normalize:
    """``(img - mean[c]) / std[c]`` per channel of a float CHW image.

    Example:
        >>> import neurarust as nr
        >>> from neurarust.utils.data import transforms as T
        >>> T.Normalize([1.0, 2.0], [2.0, 4.0])(nr.ones(2, 1, 1)).flatten()
        tensor([ 0.0000, -0.2500])
    """

    def __init__(self, mean: Sequence[float], std: Sequence[float], inplace: bool = False) -> None:
        self.mean = list(mean) if isinstance(mean, Sequence) else [mean]
        self.std = list(std) if isinstance(std, Sequence) else [std]
        self.inplace = inplace

    def __call__(self, img):
        arr, was_tensor = _to_numpy(img)
        if arr.ndim < 3:
            raise ValueError(f"Normalize: expected a tensor image of size (..., C, H, W), got shape {arr.shape}")
        if arr.dtype.kind != "f":
            raise TypeError(f"Normalize: input tensor should be a float tensor, got {arr.dtype}")
        mean = np.asarray(self.mean, arr.dtype)
        std = np.asarray(self.std, arr.dtype)
        if (std == 0).any():
            raise ValueError(f"std evaluated to zero after conversion to {arr.dtype}, leading to division by zero.")
        shape = (-1, 1, 1)
        out = arr if self.inplace and arr.flags.writeable else None
        res = np.subtract(arr, mean.reshape(shape), out=out)
        res = np.divide(res, std.reshape(shape), out=res)
        if self.inplace and was_tensor and out is not None:
            return img
        return _back(res, was_tensor)

    def __repr__(self) -> str:
        return f"{type(self).__name__}(mean={self.mean}, std={self.std})"


class RandomHorizontalFlip:
    """Flip the last (width) dimension with probability ``p``.

    Example:
        >>> import numpy as np
        >>> from neurarust.utils.data import transforms as T
        >>> T.RandomHorizontalFlip(p=1.0)(np.array([[1, 2, 3]]))
        array([[3, 2, 1]])
    """

    def __init__(self, p: float = 0.5) -> None:
        self.p = p

    def __call__(self, img):
        if rand(1).item() < self.p:
            arr, was_tensor = _to_numpy(img)
            _check_image(arr, "RandomHorizontalFlip")
            return _back(arr[..., ::-1].copy(), was_tensor)
        return img

    def __repr__(self) -> str:
        return f"{type(self).__name__}(p={self.p})"


class RandomVerticalFlip:
    """Flip the height dimension (second to last) with probability ``p``.

    Example:
        >>> import numpy as np
        >>> from neurarust.utils.data import transforms as T
        >>> T.RandomVerticalFlip(p=1.0)(np.array([[1], [2]]))
        array([[2],
               [1]])
    """

    def __init__(self, p: float = 0.5) -> None:
        self.p = p

    def __call__(self, img):
        if rand(1).item() < self.p:
            arr, was_tensor = _to_numpy(img)
            _check_image(arr, "RandomVerticalFlip")
            return _back(arr[..., ::-1, :].copy(), was_tensor)
        return img

    def __repr__(self) -> str:
        return f"{type(self).__name__}(p={self.p})"


class CenterCrop:
    """Crop the centre ``size`` (int or ``(h, w)``); an image smaller than that is zero-padded first.

    Example:
        >>> import numpy as np
        >>> from neurarust.utils.data import transforms as T
        >>> T.CenterCrop(2)(np.arange(16).reshape(4, 4))
        array([[ 5,  6],
               [ 9, 10]])
    """

    def __init__(self, size: Size) -> None:
        self.size = _pair(size, "CenterCrop")

    def __call__(self, img):
        arr, was_tensor = _to_numpy(img)
        _check_image(arr, "CenterCrop")
        th, tw = self.size
        h, w = arr.shape[-2:]
        if th > h or tw > w:
            ph, pw = max(th - h, 0), max(tw - w, 0)
            arr = _pad(arr, pw // 2, ph // 2, (pw + 1) // 2, (ph + 1) // 2, 0, "constant")
            h, w = arr.shape[-2:]
        top = int(round((h - th) / 2.0))
        left = int(round((w - tw) / 2.0))
        return _back(arr[..., top:top + th, left:left + tw].copy(), was_tensor)

    def __repr__(self) -> str:
        return f"{type(self).__name__}(size={self.size})"


class RandomCrop:
    """Crop a random ``size`` window, after optional ``padding`` (and ``pad_if_needed``).

    ``padding`` is an int (all sides), ``(left/right, top/bottom)`` or
    ``(left, top, right, bottom)``; ``padding_mode`` is ``"constant"`` (with
    ``fill``), ``"edge"``, ``"reflect"`` or ``"symmetric"``.

    Example:
        >>> import numpy as np
        >>> from neurarust.utils.data import transforms as T
        >>> T.RandomCrop(3, padding=1)(np.ones((2, 3, 3))).shape
        (2, 3, 3)
    """

    def __init__(self, size: Size, padding: Optional[Union[int, Sequence[int]]] = None,
                 pad_if_needed: bool = False, fill: float = 0, padding_mode: str = "constant") -> None:
        self.size = _pair(size, "RandomCrop")
        self.padding = padding
        self.pad_if_needed = pad_if_needed
        self.fill = fill
        self.padding_mode = padding_mode

    def _padding(self) -> Tuple[int, int, int, int]:
        p = self.padding
        if isinstance(p, numbers.Integral):
            return int(p), int(p), int(p), int(p)
        p = tuple(int(v) for v in p)  # type: ignore[union-attr]
        if len(p) == 1:
            return p[0], p[0], p[0], p[0]
        if len(p) == 2:
            return p[0], p[1], p[0], p[1]
        if len(p) == 4:
            return p  # type: ignore[return-value]
        raise ValueError(f"RandomCrop: padding must be an int or a 1, 2 or 4 element sequence, got {p}")

    def __call__(self, img):
        arr, was_tensor = _to_numpy(img)
        _check_image(arr, "RandomCrop")
        if self.padding is not None:
            arr = _pad(arr, *self._padding(), self.fill, self.padding_mode)
        th, tw = self.size
        h, w = arr.shape[-2:]
        if self.pad_if_needed and w < tw:
            arr = _pad(arr, tw - w, 0, tw - w, 0, self.fill, self.padding_mode)
        if self.pad_if_needed and h < th:
            arr = _pad(arr, 0, th - h, 0, th - h, self.fill, self.padding_mode)
        h, w = arr.shape[-2:]
        if h < th or w < tw:
            raise ValueError(f"Required crop size {(th, tw)} is larger than input image size {(h, w)}")
        i = randint(0, h - th + 1, (1,)).item()
        j = randint(0, w - tw + 1, (1,)).item()
        return _back(arr[..., i:i + th, j:j + tw].copy(), was_tensor)

    def __repr__(self) -> str:
        return f"{type(self).__name__}(size={self.size}, padding={self.padding})"


class Resize:
    """Resize to ``size``: ``(h, w)``, or an int for the smaller edge (aspect ratio kept).

    ``interpolation`` is ``"bilinear"`` (default) or ``"nearest"``, with
    ``F.interpolate``'s half-pixel convention (``align_corners=False``) and no
    antialiasing.  Integer images are resampled in float32 and rounded back.

    Example:
        >>> import numpy as np
        >>> from neurarust.utils.data import transforms as T
        >>> T.Resize((2, 4), interpolation="nearest")(np.array([[1, 2], [3, 4]]))
        array([[1, 1, 2, 2],
               [3, 3, 4, 4]])
    """

    def __init__(self, size: Size, interpolation: str = "bilinear", max_size: Optional[int] = None,
                 antialias: Optional[bool] = None) -> None:
        if interpolation not in ("bilinear", "nearest"):
            raise ValueError(f"Resize: interpolation must be 'bilinear' or 'nearest', got {interpolation!r}")
        self.size = size
        self.interpolation = interpolation
        self.max_size = max_size
        self.antialias = antialias

    def _target(self, h: int, w: int) -> Tuple[int, int]:
        if isinstance(self.size, numbers.Integral) or len(self.size) == 1:
            s = int(self.size if isinstance(self.size, numbers.Integral) else self.size[0])
            short, long = (h, w) if h <= w else (w, h)
            new_short, new_long = s, int(s * long / short)
            if self.max_size is not None and new_long > self.max_size:
                new_short, new_long = int(self.max_size * new_short / new_long), self.max_size
            return (new_short, new_long) if h <= w else (new_long, new_short)
        return _pair(self.size, "Resize")

    def __call__(self, img):
        arr, was_tensor = _to_numpy(img)
        _check_image(arr, "Resize")
        th, tw = self._target(*arr.shape[-2:])
        from ...nn.functional import interpolate  # nn imports data lazily too: no cycle at import

        work = arr if arr.dtype.kind == "f" else arr.astype(np.float32)
        batch = work.reshape((1, -1) + work.shape[-2:])  # (1, C, H, W) as interpolate wants
        with no_grad():
            resized = interpolate(from_numpy(np.ascontiguousarray(batch)), size=(th, tw),
                                  mode=self.interpolation,
                                  align_corners=False if self.interpolation == "bilinear" else None)
        out = resized.numpy().reshape(arr.shape[:-2] + (th, tw))
        if arr.dtype.kind in "iub":
            if self.interpolation == "nearest":
                out = out.astype(arr.dtype)
            else:
                info = np.iinfo(arr.dtype) if arr.dtype.kind != "b" else None
                out = np.round(out)
                out = (np.clip(out, info.min, info.max) if info else out).astype(arr.dtype)
        return _back(np.ascontiguousarray(out), was_tensor)

    def __repr__(self) -> str:
        return f"{type(self).__name__}(size={self.size}, interpolation={self.interpolation})"
