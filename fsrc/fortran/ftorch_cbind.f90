!> Interfaces to the C ABI of libftorch (`ftorch.h`).  Internal to the library: user code
!> calls the Fortran API of module `ftorch` instead.
module ftorch_cbind
  use, intrinsic :: iso_c_binding, only: c_char, c_double, c_int, c_int64_t, c_ptr
  implicit none
  private

  ! Mirrors of the C enumerators used by the Fortran layer.
  integer(c_int), parameter, public :: ft_add = 0, ft_sub = 1, ft_mul = 2, ft_div = 3, ft_pow = 4
  integer(c_int), parameter, public :: ft_fill_empty = 0, ft_fill_zeros = 1, ft_fill_ones = 2
  integer(c_int), parameter, public :: ft_flag_copy = 1, ft_flag_temp = 2

  public :: ft_last_error_copy, ft_clear_error, ft_live_handles, ft_live_tensors
  public :: ft_cuda_available, ft_cuda_device_count, ft_set_num_threads, ft_manual_seed
  public :: ft_set_grad_enabled
  public :: ft_tensor_from_blob, ft_tensor_new, ft_tensor_delete, ft_tensor_release
  public :: ft_tensor_consume_temp, ft_tensor_ndim, ft_tensor_shape, ft_tensor_strides
  public :: ft_tensor_dtype, ft_tensor_device, ft_tensor_requires_grad, ft_tensor_print
  public :: ft_tensor_binary, ft_tensor_binary_scalar, ft_tensor_binary_iscalar, ft_tensor_neg
  public :: ft_tensor_sum, ft_tensor_mean, ft_tensor_assign, ft_tensor_copy, ft_tensor_zero
  public :: ft_tensor_detach, ft_tensor_set_requires_grad
  public :: ft_tensor_backward, ft_tensor_get_gradient, ft_tensor_zero_grad
  public :: ft_tensor_dims

  interface
    function ft_last_error_copy(buf, len) result(n) bind(c, name="ft_last_error_copy")
      import :: c_char, c_int
      character(kind=c_char), intent(out) :: buf(*)
      integer(c_int), value :: len
      integer(c_int) :: n
    end function

    subroutine ft_clear_error() bind(c, name="ft_clear_error")
    end subroutine

    function ft_live_handles() result(n) bind(c, name="ft_live_handles")
      import :: c_int64_t
      integer(c_int64_t) :: n
    end function

    function ft_live_tensors() result(n) bind(c, name="ft_live_tensors")
      import :: c_int64_t
      integer(c_int64_t) :: n
    end function

    function ft_cuda_available() result(flag) bind(c, name="ft_cuda_available")
      import :: c_int
      integer(c_int) :: flag
    end function

    function ft_cuda_device_count() result(n) bind(c, name="ft_cuda_device_count")
      import :: c_int
      integer(c_int) :: n
    end function

    function ft_set_num_threads(n) result(status) bind(c, name="ft_set_num_threads")
      import :: c_int
      integer(c_int), value :: n
      integer(c_int) :: status
    end function

    function ft_manual_seed(seed) result(status) bind(c, name="ft_manual_seed")
      import :: c_int, c_int64_t
      integer(c_int64_t), value :: seed
      integer(c_int) :: status
    end function

    function ft_set_grad_enabled(enabled, previous) result(status) bind(c, name="ft_set_grad_enabled")
      import :: c_int
      integer(c_int), value :: enabled
      integer(c_int), intent(out) :: previous
      integer(c_int) :: status
    end function

    function ft_tensor_from_blob(data, ndim, shape, strides, dtype, device_type, device_index, &
                                 requires_grad, flags, out) result(status) bind(c, name="ft_tensor_from_blob")
      import :: c_int, c_int64_t, c_ptr
      type(c_ptr), value :: data
      integer(c_int), value :: ndim
      integer(c_int64_t), intent(in) :: shape(*), strides(*)
      integer(c_int), value :: dtype, device_type, device_index, requires_grad, flags
      type(c_ptr), intent(out) :: out
      integer(c_int) :: status
    end function

    function ft_tensor_new(fill, ndim, shape, dtype, device_type, device_index, requires_grad, out) &
        result(status) bind(c, name="ft_tensor_new")
      import :: c_int, c_int64_t, c_ptr
      integer(c_int), value :: fill, ndim
      integer(c_int64_t), intent(in) :: shape(*)
      integer(c_int), value :: dtype, device_type, device_index, requires_grad
      type(c_ptr), intent(out) :: out
      integer(c_int) :: status
    end function

    function ft_tensor_delete(t) result(status) bind(c, name="ft_tensor_delete")
      import :: c_int, c_ptr
      type(c_ptr), value :: t
      integer(c_int) :: status
    end function

    function ft_tensor_release(t) result(status) bind(c, name="ft_tensor_release")
      import :: c_int, c_ptr
      type(c_ptr), value :: t
      integer(c_int) :: status
    end function

    function ft_tensor_consume_temp(t) result(status) bind(c, name="ft_tensor_consume_temp")
      import :: c_int, c_ptr
      type(c_ptr), value :: t
      integer(c_int) :: status
    end function

    function ft_tensor_ndim(t, ndim) result(status) bind(c, name="ft_tensor_ndim")
      import :: c_int, c_ptr
      type(c_ptr), value :: t
      integer(c_int), intent(out) :: ndim
      integer(c_int) :: status
    end function

    function ft_tensor_shape(t, shape) result(status) bind(c, name="ft_tensor_shape")
      import :: c_int, c_ptr
      type(c_ptr), value :: t
      type(c_ptr), intent(out) :: shape
      integer(c_int) :: status
    end function

    function ft_tensor_strides(t, strides) result(status) bind(c, name="ft_tensor_strides")
      import :: c_int, c_ptr
      type(c_ptr), value :: t
      type(c_ptr), intent(out) :: strides
      integer(c_int) :: status
    end function

    function ft_tensor_dtype(t, dtype) result(status) bind(c, name="ft_tensor_dtype")
      import :: c_int, c_ptr
      type(c_ptr), value :: t
      integer(c_int), intent(out) :: dtype
      integer(c_int) :: status
    end function

    function ft_tensor_device(t, device_type, device_index) result(status) bind(c, name="ft_tensor_device")
      import :: c_int, c_ptr
      type(c_ptr), value :: t
      integer(c_int), intent(out) :: device_type, device_index
      integer(c_int) :: status
    end function

    function ft_tensor_requires_grad(t, flag) result(status) bind(c, name="ft_tensor_requires_grad")
      import :: c_int, c_ptr
      type(c_ptr), value :: t
      integer(c_int), intent(out) :: flag
      integer(c_int) :: status
    end function

    function ft_tensor_print(t) result(status) bind(c, name="ft_tensor_print")
      import :: c_int, c_ptr
      type(c_ptr), value :: t
      integer(c_int) :: status
    end function

    function ft_tensor_binary(op, a, b, flags, out) result(status) bind(c, name="ft_tensor_binary")
      import :: c_int, c_ptr
      integer(c_int), value :: op
      type(c_ptr), value :: a, b
      integer(c_int), value :: flags
      type(c_ptr), intent(out) :: out
      integer(c_int) :: status
    end function

    function ft_tensor_binary_scalar(op, a, s, scalar_first, flags, out) result(status) &
        bind(c, name="ft_tensor_binary_scalar")
      import :: c_double, c_int, c_ptr
      integer(c_int), value :: op
      type(c_ptr), value :: a
      real(c_double), value :: s
      integer(c_int), value :: scalar_first, flags
      type(c_ptr), intent(out) :: out
      integer(c_int) :: status
    end function

    function ft_tensor_binary_iscalar(op, a, s, scalar_first, flags, out) result(status) &
        bind(c, name="ft_tensor_binary_iscalar")
      import :: c_int, c_int64_t, c_ptr
      integer(c_int), value :: op
      type(c_ptr), value :: a
      integer(c_int64_t), value :: s
      integer(c_int), value :: scalar_first, flags
      type(c_ptr), intent(out) :: out
      integer(c_int) :: status
    end function

    function ft_tensor_neg(a, flags, out) result(status) bind(c, name="ft_tensor_neg")
      import :: c_int, c_ptr
      type(c_ptr), value :: a
      integer(c_int), value :: flags
      type(c_ptr), intent(out) :: out
      integer(c_int) :: status
    end function

    function ft_tensor_sum(a, flags, out) result(status) bind(c, name="ft_tensor_sum")
      import :: c_int, c_ptr
      type(c_ptr), value :: a
      integer(c_int), value :: flags
      type(c_ptr), intent(out) :: out
      integer(c_int) :: status
    end function

    function ft_tensor_mean(a, flags, out) result(status) bind(c, name="ft_tensor_mean")
      import :: c_int, c_ptr
      type(c_ptr), value :: a
      integer(c_int), value :: flags
      type(c_ptr), intent(out) :: out
      integer(c_int) :: status
    end function

    function ft_tensor_detach(a, flags, out) result(status) bind(c, name="ft_tensor_detach")
      import :: c_int, c_ptr
      type(c_ptr), value :: a
      integer(c_int), value :: flags
      type(c_ptr), intent(out) :: out
      integer(c_int) :: status
    end function

    function ft_tensor_assign(lhs, rhs) result(status) bind(c, name="ft_tensor_assign")
      import :: c_int, c_ptr
      type(c_ptr), intent(inout) :: lhs
      type(c_ptr), value :: rhs
      integer(c_int) :: status
    end function

    function ft_tensor_copy(src, dst, non_blocking) result(status) bind(c, name="ft_tensor_copy")
      import :: c_int, c_ptr
      type(c_ptr), value :: src, dst
      integer(c_int), value :: non_blocking
      integer(c_int) :: status
    end function

    function ft_tensor_zero(t) result(status) bind(c, name="ft_tensor_zero")
      import :: c_int, c_ptr
      type(c_ptr), value :: t
      integer(c_int) :: status
    end function

    function ft_tensor_set_requires_grad(t, flag) result(status) bind(c, name="ft_tensor_set_requires_grad")
      import :: c_int, c_ptr
      type(c_ptr), value :: t
      integer(c_int), value :: flag
      integer(c_int) :: status
    end function

    function ft_tensor_backward(t, grad, retain_graph) result(status) bind(c, name="ft_tensor_backward")
      import :: c_int, c_ptr
      type(c_ptr), value :: t, grad
      integer(c_int), value :: retain_graph
      integer(c_int) :: status
    end function

    function ft_tensor_get_gradient(t, holder) result(status) bind(c, name="ft_tensor_get_gradient")
      import :: c_int, c_ptr
      type(c_ptr), value :: t
      type(c_ptr), intent(inout) :: holder
      integer(c_int) :: status
    end function

    function ft_tensor_zero_grad(t) result(status) bind(c, name="ft_tensor_zero_grad")
      import :: c_int, c_ptr
      type(c_ptr), value :: t
      integer(c_int) :: status
    end function

    ! Shape and strides in one call, so that querying an expression temporary (which the
    ! call consumes) needs no second call.
    function ft_tensor_dims(t, ndim, shape, strides) result(status) bind(c, name="ft_tensor_dims")
      import :: c_int, c_ptr
      type(c_ptr), value :: t
      integer(c_int), intent(out) :: ndim
      type(c_ptr), intent(out) :: shape, strides
      integer(c_int) :: status
    end function
  end interface

end module ftorch_cbind
