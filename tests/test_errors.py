"""The exception hierarchy and the errors typical bad inputs raise.

Every class derives from ``NeuraRustError`` and from the builtins listed in
``neurarust/errors.py``; each bad input raises the right class with a message naming the
op and the offending shapes / dtypes / devices.  Where torch is importable, the same bad
input must raise in torch an exception catchable as the same builtin.
"""
import numpy as np
import pytest

import neurarust as nr
from neurarust import errors
from neurarust._core.tensor_base import make_tensor


def torch_module():
    return pytest.importorskip("torch")


# ------------------------------------------------------------------ hierarchy
BUILTIN_BASES = {
    "ShapeError": (ValueError, RuntimeError),
    "DTypeError": (TypeError, RuntimeError),
    "TensorIndexError": (IndexError, RuntimeError),
    "DeviceError": (RuntimeError,),
    "DeviceConversionError": (TypeError, RuntimeError),
    "AutogradError": (RuntimeError,),
    "IntegerDivisionByZeroError": (ZeroDivisionError, RuntimeError),
    "OutOfMemoryError": (RuntimeError,),
}


def test_every_exported_error_is_in_the_table():
    assert set(errors.__all__) == set(BUILTIN_BASES) | {"NeuraRustError"}


@pytest.mark.parametrize("name", sorted(BUILTIN_BASES))
def test_error_classes_derive_from_the_root_and_their_builtins(name):
    cls = getattr(errors, name)
    assert issubclass(cls, errors.NeuraRustError)
    for base in BUILTIN_BASES[name]:
        assert issubclass(cls, base), f"{name} should be catchable as {base.__name__}"
    assert getattr(nr, name) is cls  # exported at the top level too
    instance = cls("message")
    assert isinstance(instance, Exception) and str(instance) == "message"


def test_root_is_a_plain_exception_exported_at_top_level():
    assert nr.NeuraRustError is errors.NeuraRustError
    assert issubclass(errors.NeuraRustError, Exception)
    assert not issubclass(errors.NeuraRustError, RuntimeError)


def test_gradcheck_error_is_an_autograd_error():
    from neurarust.autograd.gradcheck import GradcheckError

    assert issubclass(GradcheckError, nr.AutogradError)


def raised(fn):
    with pytest.raises(Exception) as info:
        fn()
    return info.value


# ------------------------------------------------------------------ shapes
def test_matmul_shape_mismatch_names_both_shapes_and_inner_dims():
    error = raised(lambda: nr.ones(2, 3) @ nr.ones(4, 5))
    assert isinstance(error, nr.ShapeError)
    message = str(error)
    for fragment in ("matmul", "2x3", "4x5", "3 and 4"):
        assert fragment in message, f"{fragment!r} missing from {message!r}"


def test_matmul_batch_mismatch_names_the_full_shapes():
    error = raised(lambda: nr.ones(2, 2, 3) @ nr.ones(3, 3, 5))
    assert isinstance(error, nr.ShapeError)
    assert "matmul" in str(error) and "[2, 2, 3]" in str(error) and "[3, 3, 5]" in str(error)


def test_matrix_vector_mismatch():
    error = raised(lambda: nr.ones(2, 3) @ nr.ones(4))
    assert isinstance(error, nr.ShapeError) and "matmul" in str(error)
    assert "3" in str(error) and "4" in str(error)


def test_broadcasting_failure_names_op_and_shapes():
    error = raised(lambda: nr.ones(2, 3) + nr.ones(4))
    assert isinstance(error, nr.ShapeError)
    message = str(error)
    assert "add" in message and "[2, 3]" in message and "[4]" in message
    error = raised(lambda: nr.ones(2, 3) * nr.ones(3, 2))
    assert isinstance(error, nr.ShapeError) and "mul" in str(error)


def test_view_of_incompatible_layout_suggests_reshape():
    error = raised(lambda: nr.ones(2, 3).t().view(6))
    assert isinstance(error, nr.ShapeError)
    message = str(error)
    assert "view" in message and "reshape" in message and "[3, 2]" in message and "[6]" in message
    assert nr.ones(2, 3).t().reshape(6).shape == (6,)  # the suggested fix works


def test_view_with_wrong_number_of_elements():
    error = raised(lambda: nr.ones(2, 3).view(4))
    assert isinstance(error, nr.ShapeError)
    assert "view" in str(error) and "[4]" in str(error) and "6" in str(error)


def test_cat_and_expand_mismatches():
    error = raised(lambda: nr.cat([nr.ones(2, 3), nr.ones(2, 4)]))
    assert isinstance(error, nr.ShapeError) and "cat" in str(error)
    assert "[2, 3]" in str(error) and "[2, 4]" in str(error)
    error = raised(lambda: nr.ones(3).expand(2, 4))
    assert isinstance(error, nr.ShapeError) and "expand" in str(error) and "[2, 4]" in str(error)


def test_item_and_bool_of_multi_element_tensor():
    error = raised(lambda: nr.ones(2).item())
    assert isinstance(error, nr.ShapeError) and "2 elements" in str(error)
    error = raised(lambda: bool(nr.ones(2)))
    assert isinstance(error, nr.ShapeError) and "ambiguous" in str(error)


# ------------------------------------------------------------------ indices
def test_index_out_of_range_names_index_dim_and_size():
    error = raised(lambda: nr.ones(2, 3)[5])
    assert isinstance(error, nr.TensorIndexError)
    assert "index 5" in str(error) and "dimension 0" in str(error) and "size 2" in str(error)
    error = raised(lambda: nr.ones(2, 3)[0, -4])
    assert isinstance(error, nr.TensorIndexError) and "-4" in str(error) and "size 3" in str(error)


def test_tensor_index_out_of_range():
    error = raised(lambda: nr.ones(2, 3)[nr.tensor([0, 7])])
    assert isinstance(error, nr.TensorIndexError)
    assert "7" in str(error) and "size 2" in str(error)


def test_too_many_indices_and_dim_out_of_range():
    error = raised(lambda: nr.ones(3)[0, 0])
    assert isinstance(error, nr.TensorIndexError) and "too many indices" in str(error)
    error = raised(lambda: nr.ones(2).sum(3))
    assert isinstance(error, nr.TensorIndexError)
    assert "sum" in str(error) and "[-1, 0]" in str(error) and "3" in str(error)


def test_wrong_dtype_for_an_index():
    error = raised(lambda: nr.ones(3)[nr.tensor([0.0, 1.0])])
    assert isinstance(error, nr.TensorIndexError) and "float32" in str(error)
    error = raised(lambda: nr.ones(3)[1.0])
    assert isinstance(error, nr.TensorIndexError) and "float" in str(error)
    error = raised(lambda: nr.ones(3).index_select(0, nr.tensor([0.0])))
    assert isinstance(error, nr.DTypeError)
    assert "index_select" in str(error) and "float32" in str(error)


# ------------------------------------------------------------------ dtypes
def test_bool_subtraction_and_negation():
    error = raised(lambda: nr.tensor([True]) - nr.tensor([False]))
    assert isinstance(error, nr.DTypeError) and "Subtraction" in str(error) and "bool" in str(error)
    error = raised(lambda: -nr.tensor([True]))
    assert isinstance(error, nr.DTypeError) and "Negation" in str(error)


def test_mean_of_an_integer_tensor():
    error = raised(lambda: nr.tensor([1, 2]).mean())
    assert isinstance(error, nr.DTypeError)
    assert "mean" in str(error) and "floating point" in str(error) and "Int64" in str(error)
    assert nr.tensor([1, 2]).mean(dtype=nr.float32).item() == 1.5  # the way out


def test_dtype_mismatch_and_invalid_in_place_cast():
    error = raised(lambda: nr.ones(2, 2) @ nr.ones(2, 2, dtype=nr.float64))
    assert isinstance(error, nr.DTypeError)
    assert "matmul" in str(error) and "float32" in str(error) and "float64" in str(error)
    error = raised(lambda: nr.ones(2, dtype=nr.int64).add_(1.5))
    assert isinstance(error, nr.DTypeError) and "float32" in str(error) and "int64" in str(error)
    error = raised(lambda: nr.ones(2) & nr.ones(2))
    assert isinstance(error, nr.DTypeError) and "bitwise_and" in str(error)


def test_integer_division_by_zero():
    error = raised(lambda: nr.tensor([1]) // nr.tensor([0]))
    assert isinstance(error, nr.IntegerDivisionByZeroError)
    assert "division by zero" in str(error) and "floor_divide" in str(error)


# ------------------------------------------------------------------ devices
@pytest.mark.skipif(nr.cuda.is_available(), reason="CUDA is available here")
def test_cuda_tensor_creation_says_why_cuda_is_unavailable():
    from neurarust.backends.cuda import unavailable_reason as cuda_unavailable_reason

    error = raised(lambda: nr.zeros(2, device="cuda"))
    assert isinstance(error, nr.DeviceError)
    assert "cuda" in str(error) and "not available" in str(error)
    assert cuda_unavailable_reason() in str(error)
    error = raised(lambda: nr.ones(2).to("cuda"))
    assert isinstance(error, nr.DeviceError) and cuda_unavailable_reason() in str(error)


def test_unknown_device_type():
    error = raised(lambda: nr.zeros(2, device="tpu"))
    assert isinstance(error, nr.DeviceError) and "tpu" in str(error) and "cpu" in str(error)


def fake_cuda_tensor():
    # No CUDA backend exists yet, so build a tensor that only *claims* to be on cuda:
    # the device check must reject the mix before any kernel touches the data.
    return make_tensor(nr.Tensor, np.ones(2, np.float32), nr.float32, nr.device("cuda"))


@pytest.mark.parametrize("op, name", [
    (lambda a, b: a + b, "add"),
    (lambda a, b: b * a, "mul"),
    (lambda a, b: nr.cat([a, b]), "cat"),
    (lambda a, b: nr.where(a > 0, a, b), "where"),
])
def test_mixing_devices_names_op_and_both_devices(op, name):
    error = raised(lambda: op(nr.ones(2), fake_cuda_tensor()))
    assert isinstance(error, nr.DeviceError)
    message = str(error)
    assert name in message and "cpu" in message and "cuda" in message and "same device" in message


# ------------------------------------------------------------------ autograd misuse
def test_numpy_of_a_tensor_that_requires_grad():
    error = raised(lambda: nr.ones(2, requires_grad=True).numpy())
    assert isinstance(error, nr.AutogradError) and "detach().numpy()" in str(error)
    assert nr.ones(2, requires_grad=True).detach().numpy().tolist() == [1.0, 1.0]


def test_autograd_misuse_errors():
    error = raised(lambda: nr.ones(2, dtype=nr.int64, requires_grad=True))
    assert isinstance(error, nr.AutogradError) and "int64" in str(error)
    error = raised(lambda: nr.ones(2, requires_grad=True).add_(1))
    assert isinstance(error, nr.AutogradError) and "leaf Variable" in str(error)


# ------------------------------------------------------------------ torch raises the same builtin
SAME_BUILTIN_AS_TORCH = [
    ("matmul", lambda lib: lib.ones(2, 3) @ lib.ones(4, 5), RuntimeError),
    ("broadcast", lambda lib: lib.ones(2, 3) + lib.ones(4), RuntimeError),
    ("view", lambda lib: lib.ones(2, 3).t().view(6), RuntimeError),
    ("view_numel", lambda lib: lib.ones(2, 3).view(4), RuntimeError),
    ("cat", lambda lib: lib.cat([lib.ones(2, 3), lib.ones(2, 4)]), RuntimeError),
    ("index", lambda lib: lib.ones(2, 3)[5], IndexError),
    ("tensor_index", lambda lib: lib.ones(2, 3)[lib.tensor([0, 7])], IndexError),
    ("float_index", lambda lib: lib.ones(3)[lib.tensor([0.0])], IndexError),
    ("dim", lambda lib: lib.ones(2).sum(3), IndexError),
    ("index_select_dtype", lambda lib: lib.ones(3).index_select(0, lib.tensor([0.0])), RuntimeError),
    ("bool_sub", lambda lib: lib.tensor([True]) - lib.tensor([False]), RuntimeError),
    ("mean_int", lambda lib: lib.tensor([1, 2]).mean(), RuntimeError),
    ("mm_dtype", lambda lib: lib.ones(2, 2) @ lib.ones(2, 2, dtype=lib.float64), RuntimeError),
    ("inplace_cast", lambda lib: lib.ones(2, dtype=lib.int64).add_(1.5), RuntimeError),
    ("int_div_zero", lambda lib: lib.tensor([1]) // lib.tensor([0]), RuntimeError),
    ("numpy_grad", lambda lib: lib.ones(2, requires_grad=True).numpy(), RuntimeError),
    ("item", lambda lib: lib.ones(2).item(), RuntimeError),
    ("bool", lambda lib: bool(lib.ones(2)), RuntimeError),
    ("int_requires_grad", lambda lib: lib.ones(2, dtype=lib.int64, requires_grad=True), RuntimeError),
    ("leaf_inplace", lambda lib: lib.ones(2, requires_grad=True).add_(1), RuntimeError),
    ("unknown_device", lambda lib: lib.zeros(2, device="tpu"), RuntimeError),
]


@pytest.mark.parametrize("name, fn, builtin", SAME_BUILTIN_AS_TORCH,
                         ids=[case[0] for case in SAME_BUILTIN_AS_TORCH])
def test_neurarust_raises_a_neurarust_error_catchable_as_the_builtin(name, fn, builtin):
    error = raised(lambda: fn(nr))
    assert isinstance(error, nr.NeuraRustError) and isinstance(error, builtin)


@pytest.mark.parametrize("name, fn, builtin", SAME_BUILTIN_AS_TORCH,
                         ids=[case[0] for case in SAME_BUILTIN_AS_TORCH])
def test_torch_raises_the_same_builtin(name, fn, builtin):
    torch = torch_module()
    assert isinstance(raised(lambda: fn(torch)), builtin)
