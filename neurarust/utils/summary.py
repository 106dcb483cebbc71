"""``summary``: a Keras-style table of a model's layers, output shapes and parameter counts."""
from __future__ import annotations

from typing import Any, List, Optional, Sequence, Tuple, Union

__all__ = ["summary"]

_Size = Union[Sequence[int], Sequence[Sequence[int]]]


def _shape_of(output: Any, batch_size: int) -> Any:
    from .._core.tensor_base import TensorBase

    if isinstance(output, TensorBase):
        shape = list(output.shape)
        if shape:
            shape[0] = batch_size  # the batch dim is shown as batch_size (-1: any)
        return shape
    if isinstance(output, (list, tuple)):
        return [_shape_of(o, batch_size) for o in output]
    if isinstance(output, dict):
        return {k: _shape_of(v, batch_size) for k, v in output.items()}
    return "-"


def _numel_of(shape: Any) -> int:
    # Elements of the recorded output(s), with the batch dim counted once.
    if isinstance(shape, dict):
        return sum(_numel_of(v) for v in shape.values())
    if isinstance(shape, list) and shape and isinstance(shape[0], (list, dict)):
        return sum(_numel_of(s) for s in shape)
    if isinstance(shape, list):
        n = 1
        for s in shape[1:]:
            n *= s
        return n
    return 0


def summary(model: Any, input_size: _Size, batch_size: int = -1,
            dtypes: Optional[List[Any]] = None, device: Any = None,
            print_summary: bool = True) -> str:
    """Print (and return) a table of the model's layers with output shapes and parameter counts.

    One forward pass runs on random inputs of shape ``(2, *input_size)`` (``(batch_size,
    *input_size)`` when ``batch_size`` is positive) without recording gradients and in
    eval mode (so no batch-norm statistics change; the modes are restored after).
    ``input_size`` is one shape, or a list of shapes for a model taking several inputs,
    with ``dtypes`` giving each input's dtype (float32 by default).  Every module except
    the containers (``Sequential``, ``ModuleList``, ``ModuleDict``) and the model itself
    gets a row, numbered in call order; parameter counts are each module's own.

    Example:
        >>> import neurarust as nr
        >>> from neurarust import nn
        >>> class Affine(nn.Module):
        ...     def __init__(self, n_in, n_out):
        ...         super().__init__()
        ...         self.w = nn.Parameter(nr.zeros(n_out, n_in)); self.b = nn.Parameter(nr.zeros(n_out))
        ...     def forward(self, x):
        ...         return x @ self.w.t() + self.b
        >>> model = nn.Sequential(Affine(4, 8), Affine(8, 2))
        >>> model[1].requires_grad_(False)  # doctest: +ELLIPSIS
        Affine()
        >>> from neurarust.utils import summary
        >>> text = summary(model, (4,))
        ----------------------------------------------------------------
                Layer (type)               Output Shape         Param #
        ================================================================
                    Affine-1                    [-1, 8]              40
                    Affine-2                    [-1, 2]              18
        ================================================================
        Total params: 58
        Trainable params: 40
        Non-trainable params: 18
        ----------------------------------------------------------------
        Input size (MB): 0.00
        Forward/backward pass size (MB): 0.00
        Params size (MB): 0.00
        Estimated Total Size (MB): 0.00
        ----------------------------------------------------------------
    """
    from .. import nn
    from ..autograd.grad_mode import no_grad
    from ..dtypes import as_dtype, float32
    from ..ops.random import rand

    if not isinstance(model, nn.Module):
        raise TypeError(f"summary(): model must be an nn.Module, got {type(model).__name__}")
    sizes: List[Tuple[int, ...]]
    if len(input_size) and isinstance(input_size[0], (list, tuple)):
        sizes = [tuple(s) for s in input_size]
    else:
        sizes = [tuple(input_size)]
    if dtypes is None:
        dtypes = [float32] * len(sizes)
    if len(dtypes) != len(sizes):
        raise ValueError(f"summary(): got {len(dtypes)} dtypes for {len(sizes)} input sizes")
    for s in sizes:
        if not all(isinstance(d, int) and d >= 0 for d in s):
            raise ValueError(f"summary(): input sizes must be non-negative ints, got {s}")

    rows: List[Tuple[str, Any, int, int]] = []  # (name, shape, params, trainable params)
    containers = (nn.Sequential, nn.ModuleList, nn.ModuleDict)

    def hook(module: Any, args: Any, output: Any) -> None:
        params = list(module.parameters(recurse=False))
        n = sum(p.numel() for p in params)
        trainable = sum(p.numel() for p in params if p.requires_grad)
        rows.append((f"{module._get_name()}-{len(rows) + 1}", _shape_of(output, batch_size), n,
                     trainable))

    hooked = [m for m in model.modules()
              if not isinstance(m, containers) and (m is not model or not model._modules)]
    handles = [m.register_forward_hook(hook) for m in hooked]
    modes = [(m, m.training) for m in model.modules()]
    n = batch_size if batch_size > 0 else 2
    try:
        inputs = []
        for s, dt in zip(sizes, dtypes):
            dt = as_dtype(dt)
            x = rand(n, *s, device=device)
            inputs.append(x.to(dt) if dt is not float32 else x)
        model.eval()
        with no_grad():
            model(*inputs)
    finally:
        for h in handles:
            h.remove()
        for m, mode in modes:
            m.training = mode

    total = sum(p.numel() for p in model.parameters())
    trainable = sum(p.numel() for p in model.parameters() if p.requires_grad)
    param_bytes = sum(p.numel() * p.element_size() for p in model.parameters())
    mb = 1024.0 ** 2
    input_mb = abs(sum(_numel_of([n, *s]) * as_dtype(dt).itemsize
                       for s, dt in zip(sizes, dtypes)) * abs(batch_size) / mb)
    # Outputs are kept for the backward pass too, hence x2 (float32 assumed, as Keras does).
    activations_mb = abs(2.0 * sum(_numel_of(r[1]) for r in rows) * 4.0 * abs(batch_size) / mb)
    params_mb = param_bytes / mb

    line = "-" * 64
    out = [line, f"{'Layer (type)':>20}  {'Output Shape':>25} {'Param #':>15}", "=" * 64]
    for name, shape, count, _ in rows:
        out.append(f"{name:>20}  {str(shape):>25} {count:>15,}")
    out += ["=" * 64,
            f"Total params: {total:,}",
            f"Trainable params: {trainable:,}",
            f"Non-trainable params: {total - trainable:,}",
            line,
            f"Input size (MB): {input_mb:0.2f}",
            f"Forward/backward pass size (MB): {activations_mb:0.2f}",
            f"Params size (MB): {params_mb:0.2f}",
            f"Estimated Total Size (MB): {input_mb + activations_mb + params_mb:0.2f}",
            line]
    text = "\n".join(out)
    if print_summary:
        print(text)
    return text
