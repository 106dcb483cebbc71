"""``Flatten`` and ``Unflatten``: reshape a range of dims (views when the layout allows)."""
from __future__ import annotations

from typing import Sequence, Union

from .module import Module

__all__ = ["Flatten", "Unflatten"]


class Flatten(Module):
    """Flatten dims ``start_dim..end_dim`` into one (default: all but the batch dim).

    Example:
        >>> import neurarust as nr
        >>> from neurarust import nn
        >>> nn.Flatten(), nn.Flatten()(nr.zeros(2, 3, 4)).shape
        (Flatten(start_dim=1, end_dim=-1), neurarust.Size([2, 12]))
    """

    def __init__(self, start_dim: int = 1, end_dim: int = -1) -> None:
        super().__init__()
        self.start_dim = start_dim
        self.end_dim = end_dim

    def forward(self, input):
        return input.flatten(self.start_dim, self.end_dim)

    def extra_repr(self) -> str:
        return f"start_dim={self.start_dim}, end_dim={self.end_dim}"


class Unflatten(Module):
    """Split dim ``dim`` into ``unflattened_size``.

    Example:
        >>> import neurarust as nr
        >>> from neurarust import nn
        >>> nn.Unflatten(1, (2, 5)), nn.Unflatten(1, (2, 5))(nr.zeros(3, 10)).shape
        (Unflatten(dim=1, unflattened_size=(2, 5)), neurarust.Size([3, 2, 5]))
    """

    def __init__(self, dim: Union[int, str], unflattened_size: Sequence[int]) -> None:
        super().__init__()
        if not isinstance(dim, int):
            raise TypeError(f"Unflatten: named dims are not supported, expected an int dim, got {dim!r}")
        if not isinstance(unflattened_size, (tuple, list)) or not all(isinstance(n, int) for n in unflattened_size):
            raise TypeError(f"Unflatten: unflattened_size must be a tuple of ints, got {unflattened_size!r}")
        self.dim = dim
        self.unflattened_size = unflattened_size

    def forward(self, input):
        return input.unflatten(self.dim, self.unflattened_size)

    def extra_repr(self) -> str:
        return f"dim={self.dim}, unflattened_size={self.unflattened_size}"
