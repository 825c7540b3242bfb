! A compile-only stand-in for the ftorch module, used to check that fixed fixtures still
! compile (gfortran -fsyntax-only) before the native library is built.  Interfaces follow
! FTorch's public API for the forms the fixtures use; bodies do nothing.
module ftorch_types
  implicit none
  integer, parameter :: torch_kUInt8 = 0, torch_kInt8 = 1, torch_kInt16 = 2, torch_kInt32 = 3, &
                        torch_kInt64 = 4, torch_kFloat16 = 5, torch_kFloat32 = 6, torch_kFloat64 = 7
  integer, parameter :: torch_kNone = 0, torch_kMean = 1, torch_kSum = 2
end module ftorch_types

module ftorch
  use, intrinsic :: iso_fortran_env, only: real32, real64, int64
  use ftorch_types
  implicit none
  integer, parameter :: torch_kCPU = 0, torch_kCUDA = 1, torch_kHIP = 1, torch_kXPU = 12, torch_kMPS = 13

  type :: torch_tensor
    integer :: p = 0
  contains
    procedure :: zero_grad => torch_tensor_zero_grad
  end type torch_tensor
  type :: torch_model
    integer :: p = 0
  end type torch_model
  type :: torch_optim
    integer :: p = 0
  contains
    procedure :: step => optim_step
    procedure :: zero_grad => optim_zero_grad
  end type torch_optim

  interface assignment(=)
    module procedure torch_tensor_assign
  end interface
  interface operator(+)
    module procedure torch_tensor_add
  end interface
  interface operator(-)
    module procedure torch_tensor_subtract, torch_tensor_negative
  end interface
  interface operator(*)
    module procedure torch_tensor_multiply
  end interface
  interface operator(/)
    module procedure torch_tensor_divide
  end interface
  interface operator(**)
    module procedure torch_tensor_power_int, torch_tensor_power_real32
  end interface
  interface torch_tensor_from_array
    module procedure from_array_real32_1d, from_array_real64_1d
  end interface
  interface torch_delete
    module procedure torch_tensor_delete
  end interface

contains

  subroutine torch_tensor_assign(output, input)
    type(torch_tensor), intent(inout) :: output
    type(torch_tensor), intent(in) :: input
    output%p = input%p
  end subroutine torch_tensor_assign

  function torch_tensor_add(a, b) result(c)
    type(torch_tensor), intent(in) :: a, b
    type(torch_tensor) :: c
    c%p = a%p + b%p
  end function torch_tensor_add

  function torch_tensor_subtract(a, b) result(c)
    type(torch_tensor), intent(in) :: a, b
    type(torch_tensor) :: c
    c%p = a%p - b%p
  end function torch_tensor_subtract

  function torch_tensor_negative(a) result(c)
    type(torch_tensor), intent(in) :: a
    type(torch_tensor) :: c
    c%p = -a%p
  end function torch_tensor_negative

  function torch_tensor_multiply(a, b) result(c)
    type(torch_tensor), intent(in) :: a, b
    type(torch_tensor) :: c
    c%p = a%p * b%p
  end function torch_tensor_multiply

  function torch_tensor_divide(a, b) result(c)
    type(torch_tensor), intent(in) :: a, b
    type(torch_tensor) :: c
    c%p = a%p
    if (b%p /= 0) c%p = a%p / b%p
  end function torch_tensor_divide

  function torch_tensor_power_int(a, n) result(c)
    type(torch_tensor), intent(in) :: a
    integer, intent(in) :: n
    type(torch_tensor) :: c
    c%p = a%p ** n
  end function torch_tensor_power_int

  function torch_tensor_power_real32(a, x) result(c)
    type(torch_tensor), intent(in) :: a
    real(real32), intent(in) :: x
    type(torch_tensor) :: c
    c%p = a%p + int(x)
  end function torch_tensor_power_real32

  subroutine from_array_real32_1d(tensor, data_in, layout, device_type, device_index, requires_grad)
    type(torch_tensor), intent(out) :: tensor
    real(real32), intent(in), target :: data_in(:)
    integer, intent(in) :: layout(1)
    integer, intent(in) :: device_type
    integer, optional, intent(in) :: device_index
    logical, optional, intent(in) :: requires_grad
    tensor%p = size(data_in) + layout(1) + device_type
  end subroutine from_array_real32_1d

  subroutine from_array_real64_1d(tensor, data_in, layout, device_type, device_index, requires_grad)
    type(torch_tensor), intent(out) :: tensor
    real(real64), intent(in), target :: data_in(:)
    integer, intent(in) :: layout(1)
    integer, intent(in) :: device_type
    integer, optional, intent(in) :: device_index
    logical, optional, intent(in) :: requires_grad
    tensor%p = size(data_in) + layout(1) + device_type
  end subroutine from_array_real64_1d

  subroutine torch_tensor_zeros(tensor, ndims, tensor_shape, dtype, device_type, device_index, requires_grad)
    type(torch_tensor), intent(out) :: tensor
    integer, intent(in) :: ndims, dtype, device_type
    integer(int64), intent(in) :: tensor_shape(:)
    integer, optional, intent(in) :: device_index
    logical, optional, intent(in) :: requires_grad
    tensor%p = ndims + dtype + device_type + int(tensor_shape(1))
  end subroutine torch_tensor_zeros

  subroutine torch_tensor_print(tensor)
    type(torch_tensor), intent(in) :: tensor
    print *, tensor%p
  end subroutine torch_tensor_print

  subroutine torch_tensor_delete(tensor)
    type(torch_tensor), intent(inout) :: tensor
    tensor%p = 0
  end subroutine torch_tensor_delete

  subroutine torch_tensor_backward(tensor, retain_graph)
    type(torch_tensor), intent(in) :: tensor
    logical, optional, intent(in) :: retain_graph
    print *, tensor%p, present(retain_graph)
  end subroutine torch_tensor_backward

  subroutine torch_tensor_get_gradient(gradient, tensor)
    type(torch_tensor), intent(inout) :: gradient
    type(torch_tensor), intent(in) :: tensor
    gradient%p = tensor%p
  end subroutine torch_tensor_get_gradient

  subroutine torch_tensor_zero_grad(tensor)
    class(torch_tensor), intent(inout) :: tensor
    tensor%p = 0
  end subroutine torch_tensor_zero_grad

  subroutine torch_model_forward(model, input_tensors, output_tensors, requires_grad)
    type(torch_model), intent(in) :: model
    type(torch_tensor), intent(in) :: input_tensors(:)
    type(torch_tensor), intent(inout) :: output_tensors(:)
    logical, optional, intent(in) :: requires_grad
    output_tensors(1)%p = model%p + input_tensors(1)%p
  end subroutine torch_model_forward

  subroutine torch_model_parameters(model, parameters)
    type(torch_model), intent(in) :: model
    type(torch_tensor), intent(inout) :: parameters(:)
    parameters(1)%p = model%p
  end subroutine torch_model_parameters

  subroutine torch_loss_mse(loss_tensor, input_tensor, target_tensor, reduction_type)
    type(torch_tensor), intent(inout) :: loss_tensor
    type(torch_tensor), intent(in) :: input_tensor, target_tensor
    integer, optional, intent(in) :: reduction_type
    loss_tensor%p = input_tensor%p - target_tensor%p
  end subroutine torch_loss_mse

  subroutine optim_step(self)
    class(torch_optim), intent(inout) :: self
    self%p = self%p + 1
  end subroutine optim_step

  subroutine optim_zero_grad(self)
    class(torch_optim), intent(inout) :: self
    self%p = 0
  end subroutine optim_zero_grad
end module ftorch
