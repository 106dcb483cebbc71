"""Gradient clipping and parameter/vector conversion, as ``torch.nn.utils``.

Example:
    >>> import neurarust as nr
    >>> p = nr.nn.Parameter(nr.ones(3)); p.grad = nr.full((3,), 4.0)
    >>> nr.nn.utils.clip_grad_norm_([p], max_norm=1.0)
    tensor(6.9282)
"""
from .clip_grad import clip_grad_norm_, clip_grad_value_, clip_grads_with_norm_, get_total_norm
from .convert_parameters import parameters_to_vector, vector_to_parameters

__all__ = ["clip_grad_norm_", "clip_grad_value_", "clip_grads_with_norm_", "get_total_norm",
           "parameters_to_vector", "vector_to_parameters"]
