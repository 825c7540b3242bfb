!> Every error case of the API, caught through stat/errmsg (procedures) or through
!> torch_set_stop_on_error(.false.) and torch_get_last_error (operators, assignment).
!> Prints "case stat message" lines; the process must end normally.
program errors
  use, intrinsic :: iso_c_binding, only: c_int64_t
  use, intrinsic :: iso_fortran_env, only: real32, real64
  use ftorch, only: assignment(=), operator(+), operator(*), operator(-), &
                    torch_kCPU, torch_kCUDA, torch_kFloat32, torch_tensor, torch_tensor_from_array, &
                    torch_tensor_zeros, torch_tensor_backward, torch_tensor_get_gradient, &
                    torch_tensor_delete, torch_tensor_zero_grad, torch_set_stop_on_error, &
                    torch_get_last_error, torch_tensor_is_constructed, torch_cuda_is_available, &
                    torch_live_tensors
  implicit none
  real(real32), target :: x2(2), y3(3), z2(2), w2(2), g3(3)
  real(real64), target :: d2(2)
  type(torch_tensor) :: a, b, c, d, never, q, g, holder, copy, gpu
  integer :: st
  character(len=512) :: msg

  x2 = [1.0, 2.0]
  y3 = [1.0, 2.0, 3.0]
  z2 = 0
  w2 = 0
  d2 = [1.0_real64, 2.0_real64]
  g3 = 1
  call torch_tensor_from_array(a, x2, torch_kCPU, requires_grad=.true.)
  call torch_tensor_from_array(b, y3, torch_kCPU, requires_grad=.true.)
  call torch_tensor_from_array(d, d2, torch_kCPU, requires_grad=.true.)

  ! An unconstructed tensor.
  msg = ''
  call torch_tensor_backward(never, stat=st, errmsg=msg)
  call show('unconstructed_tensor')

  ! Shapes that do not broadcast, in an operator (no stat possible: deferred errors).
  call torch_set_stop_on_error(.false.)
  c = a * b
  call torch_get_last_error(st, msg)
  call show('operator_shape_mismatch')
  write (*, '(a, 1x, l1)') 'operator_result_constructed', torch_tensor_is_constructed(c)

  ! Assigning a value of another shape into a tensor viewing a Fortran array.
  call torch_tensor_from_array(q, z2, torch_kCPU)
  q = b + b
  call torch_get_last_error(st, msg)
  call show('assignment_shape_mismatch')

  ! Different dtypes.
  c = a * d
  call torch_get_last_error(st, msg)
  call show('operator_dtype_mismatch')
  call torch_set_stop_on_error(.true.)

  ! Backward twice through a graph that was not retained.
  q = a * a
  call torch_tensor_backward(q)
  call torch_tensor_backward(q, stat=st, errmsg=msg)
  call show('second_backward_freed_graph')

  ! get_gradient of a tensor that has no gradient.
  call torch_tensor_from_array(holder, w2, torch_kCPU)
  call torch_tensor_get_gradient(holder, d, stat=st, errmsg=msg)
  call show('get_gradient_without_gradient')

  ! get_gradient into a holder of the wrong shape.
  c = b * b
  call torch_tensor_backward(c)
  call torch_tensor_get_gradient(holder, b, stat=st, errmsg=msg)
  call show('gradient_holder_wrong_shape')

  ! An external gradient of the wrong shape.
  q = a * a
  call torch_tensor_from_array(g, g3, torch_kCPU)
  call torch_tensor_backward(q, g, stat=st, errmsg=msg)
  call show('external_gradient_wrong_shape')

  ! Deleting twice: two variables holding one handle (a bitwise copy).
  c = a + a
  copy%p = c%p
  call torch_tensor_delete(c, stat=st, errmsg=msg)
  call show('first_delete')
  call torch_tensor_delete(copy, stat=st, errmsg=msg)
  call show('second_delete')

  ! CUDA where none is available (on a CUDA machine: a device index that does not exist).
  if (torch_cuda_is_available()) then
    call torch_tensor_zeros(gpu, 1, [2_c_int64_t], torch_kFloat32, torch_kCUDA, device_index=999, &
                            stat=st, errmsg=msg)
  else
    call torch_tensor_zeros(gpu, 1, [2_c_int64_t], torch_kFloat32, torch_kCUDA, stat=st, errmsg=msg)
  end if
  call show('cuda_unavailable')

  ! Tensors on different devices (needs CUDA).
  if (torch_cuda_is_available()) then
    call torch_tensor_from_array(gpu, x2, torch_kCUDA)
    call torch_set_stop_on_error(.false.)
    c = a + gpu
    call torch_get_last_error(st, msg)
    call torch_set_stop_on_error(.true.)
    call show('device_mismatch')
  end if

  ! zero_grad on a tensor without gradient is not an error.
  call torch_tensor_zero_grad(holder, stat=st, errmsg=msg)
  call show('zero_grad_without_gradient')
  write (*, '(a)') 'finished'

contains

  subroutine show(label)
    character(len=*), intent(in) :: label
    write (*, '(a, 1x, i0, 1x, a)') label, st, trim(msg)
    msg = ''
  end subroutine show

end program errors
