"""The public op namespace (re-exported as ``neurarust.*``)."""
from . import creation, elementwise, indexing, linalg, random, reduction, views  # noqa: F401
