!> The autograd snippets of FTorch's "Online training" page, as one complete program.
!>
!> Q = a * b with a = [2, 3] and b = [6, 4] gives dQ/da = b and dQ/db = a.  After zeroing
!> the gradients, P = a + b is differentiated with retain_graph=.true., so its graph can be
!> used again: a second backward through P accumulates dP/da = dP/db = 2.
program autograd
  use, intrinsic :: iso_fortran_env, only: wp => real32
  use ftorch, only: assignment(=), operator(+), operator(-), operator(*), &
                    operator(/), operator(**), torch_kCPU, torch_tensor, torch_delete, &
                    torch_tensor_from_array, torch_tensor_backward, &
                    torch_tensor_get_gradient, torch_tensor_zero_grad
  implicit none

  integer, parameter :: tensor_layout(1) = [1]
  real(wp), dimension(2), target :: in_data1, in_data2
  real(wp), dimension(2), target :: out_data1, out_data2, out_data3, out_data4
  real(wp), dimension(1), target :: multiplier_value
  type(torch_tensor) :: a, b, Q, P, R, dQda, dQdb, multiplier

  in_data1 = [2.0_wp, 3.0_wp]
  in_data2 = [6.0_wp, 4.0_wp]

  ! --- The requires_grad property and backpropagation ---------------------------------------
  call torch_tensor_from_array(a, in_data1, tensor_layout, torch_kCPU, requires_grad=.true.)
  call torch_tensor_from_array(b, in_data2, tensor_layout, torch_kCPU, requires_grad=.true.)
  call torch_tensor_from_array(Q, out_data1, tensor_layout, torch_kCPU)

  Q = a * b

  call torch_tensor_backward(Q)

  call torch_tensor_from_array(dQda, out_data2, tensor_layout, torch_kCPU)
  call torch_tensor_get_gradient(dQda, a)

  call torch_tensor_from_array(dQdb, out_data3, tensor_layout, torch_kCPU)
  call torch_tensor_get_gradient(dQdb, b)

  write (*, '(a, 2f10.4)') 'Q     =', out_data1
  write (*, '(a, 2f10.4)') 'dQ/da =', out_data2
  write (*, '(a, 2f10.4)') 'dQ/db =', out_data3

  ! --- Zeroing gradients, then a second gradient with retain_graph ------------------------------
  Q = a * b
  P = a + b

  ! The gradients of a and b still hold dQ/da and dQ/db from above: this backward adds to
  ! them, and zero_grad below resets them, as in the specification's snippet.
  call torch_tensor_backward(Q)  ! noqa: FT103

  call torch_tensor_zero_grad(a)
  call torch_tensor_zero_grad(b)

  call torch_tensor_backward(P, retain_graph=.true.)
  call torch_tensor_get_gradient(dQda, a)
  call torch_tensor_get_gradient(dQdb, b)
  write (*, '(a, 2f10.4)') 'dP/da =', out_data2
  write (*, '(a, 2f10.4)') 'dP/db =', out_data3

  ! The retained graph can be traversed again; gradients accumulate until zeroed.
  call torch_tensor_backward(P)  ! noqa: FT103 (accumulation is the point here)
  call torch_tensor_get_gradient(dQda, a)
  write (*, '(a, 2f10.4)') 'dP/da after a second backward =', out_data2

  ! --- Scalar multiplication: the scalar as a one-element rank-1 tensor ----------------------
  ! The tensor views its array, so the array must be a variable that outlives the tensor
  ! (an expression such as [3.0_wp] is a temporary that is gone after the call).
  ! pyftorch also accepts Fortran scalars directly: 3.0_wp * a.
  call torch_tensor_zero_grad(a)
  call torch_tensor_zero_grad(b)
  multiplier_value = 3.0_wp
  call torch_tensor_from_array(multiplier, multiplier_value, [1], torch_kCPU)
  call torch_tensor_from_array(R, out_data4, tensor_layout, torch_kCPU)
  R = multiplier * (a**3 - b * b / 2.0_wp)  ! noqa: FT005 (pyftorch's native scalar operator)
  call torch_tensor_backward(R)
  call torch_tensor_get_gradient(dQda, a)
  call torch_tensor_get_gradient(dQdb, b)
  write (*, '(a, 2f10.4)') 'R = 3*(a**3 - b*b/2) =', out_data4
  write (*, '(a, 2f10.4)') 'dR/da = 9*a**2       =', out_data2
  write (*, '(a, 2f10.4)') 'dR/db = -3*b         =', out_data3

  call torch_delete(a)
  call torch_delete(b)
  call torch_delete(Q)
  call torch_delete(P)
  call torch_delete(R)
  call torch_delete(dQda)
  call torch_delete(dQdb)
  call torch_delete(multiplier)
end program autograd
