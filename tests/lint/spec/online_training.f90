! The code snippets of the online-training specification (shared/spec/online-training.md),
! each in its own procedure, written as the spec recommends: import exactly the operators
! used, assignment(=) included.

! "Operator overloading": the recommended use statement, verbatim, in a procedure that
! uses every operator it imports; "scalar multiplication" through a one-element tensor.
subroutine operator_overloading(a, b, Q)
  use, intrinsic :: iso_fortran_env, only: wp => real32
  use ftorch, only: assignment(=), operator(+), operator(-), operator(*), &
    operator(/), operator(**)
  use ftorch, only: torch_tensor, torch_kCPU, torch_tensor_from_array
  implicit none
  type(torch_tensor), intent(in) :: a, b
  type(torch_tensor), intent(inout) :: Q
  type(torch_tensor) :: multiplier, divisor
  call torch_tensor_from_array(multiplier, [3.0_wp], [1], torch_kCPU)
  call torch_tensor_from_array(divisor, [2.0_wp], [1], torch_kCPU)
  Q = multiplier * (a**3 - b * b / divisor) + a
end subroutine operator_overloading

! "Backpropagation" and "Extracting gradients".
subroutine backpropagation(in_data1, in_data2, out_data1, out_data2, out_data3, tensor_layout)
  use, intrinsic :: iso_fortran_env, only: wp => real32
  use ftorch, only: assignment(=), operator(*)
  use ftorch, only: torch_tensor, torch_kCPU, torch_tensor_from_array, torch_tensor_backward, &
    torch_tensor_get_gradient
  implicit none
  real(wp), dimension(2), target, intent(in) :: in_data1, in_data2
  real(wp), dimension(2), target, intent(inout) :: out_data1, out_data2, out_data3
  integer, intent(in) :: tensor_layout(1)
  type(torch_tensor) :: a, b, Q, dQda, dQdb

  call torch_tensor_from_array(a, in_data1, tensor_layout, torch_kCPU, &
                               requires_grad=.true.)
  call torch_tensor_from_array(b, in_data2, tensor_layout, torch_kCPU, &
                               requires_grad=.true.)
  call torch_tensor_from_array(Q, out_data1, tensor_layout, torch_kCPU)

  Q = a * b

  call torch_tensor_backward(Q)

  call torch_tensor_from_array(dQda, out_data2, tensor_layout, torch_kCPU)
  call torch_tensor_get_gradient(dQda, a)

  call torch_tensor_from_array(dQdb, out_data3, tensor_layout, torch_kCPU)
  call torch_tensor_get_gradient(dQdb, b)
end subroutine backpropagation

! "Zeroing gradients" with `retain_graph`.
subroutine zeroing_gradients(in_data1, in_data2, out_data1, out_data4, tensor_layout)
  use, intrinsic :: iso_fortran_env, only: wp => real32
  use ftorch, only: assignment(=), operator(+), operator(*)
  use ftorch, only: torch_tensor, torch_kCPU, torch_tensor_from_array, torch_tensor_backward, &
    torch_tensor_zero_grad
  implicit none
  real(wp), dimension(2), target, intent(in) :: in_data1, in_data2
  real(wp), dimension(2), target, intent(inout) :: out_data1, out_data4
  integer, intent(in) :: tensor_layout(1)
  type(torch_tensor) :: a, b, Q, P

  call torch_tensor_from_array(a, in_data1, tensor_layout, torch_kCPU, &
                               requires_grad=.true.)
  call torch_tensor_from_array(b, in_data2, tensor_layout, torch_kCPU, &
                               requires_grad=.true.)
  call torch_tensor_from_array(Q, out_data1, tensor_layout, torch_kCPU)
  call torch_tensor_from_array(P, out_data4, tensor_layout, torch_kCPU)

  Q = a * b
  P = a + b

  call torch_tensor_backward(Q)

  ! ...

  call torch_tensor_zero_grad(a)
  call torch_tensor_zero_grad(b)

  call torch_tensor_backward(P, retain_graph=.true.)

  ! ...
end subroutine zeroing_gradients
