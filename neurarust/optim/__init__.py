"""Optimizers (``neurarust.optim``, torch's ``torch.optim``) and learning-rate schedulers.

Example:
    >>> import neurarust as nr
    >>> from neurarust import optim
    >>> w = nr.tensor([3.0], requires_grad=True)
    >>> opt = optim.SGD([w], lr=0.1)
    >>> for _ in range(3):
    ...     opt.zero_grad(); (w * w).sum().backward(); opt.step()
    >>> w
    tensor([1.5360], requires_grad=True)
"""
from . import lr_scheduler
from .adagrad import Adagrad
from .adam import Adam
from .adamw import AdamW
from .optimizer import Optimizer
from .rmsprop import RMSprop
from .sgd import SGD

__all__ = ["Optimizer", "SGD", "Adam", "AdamW", "RMSprop", "Adagrad", "lr_scheduler"]
