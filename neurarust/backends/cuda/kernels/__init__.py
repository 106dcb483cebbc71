"""CUDA C templates, one module per kernel family; importing a module registers its families."""
from . import elementwise, index, linalg, nn, random, reduce  # noqa: F401
