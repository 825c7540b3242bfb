!> Failures without stat: each case must print "ftorch: <procedure>: <cause>" on standard
!> error and end the program with error stop (never a signal).  usage: fatal CASE
program fatal
  use, intrinsic :: iso_fortran_env, only: real32
  use ftorch, only: assignment(=), operator(*), torch_kCPU, torch_tensor, torch_tensor_from_array, &
                    torch_tensor_backward, torch_tensor_get_gradient, torch_tensor_delete
  implicit none
  real(real32), target :: x2(2), y3(3), h(2)
  type(torch_tensor) :: a, b, c, never, holder, copy
  character(len=32) :: which

  call get_command_argument(1, which)
  x2 = [1.0, 2.0]
  y3 = [1.0, 2.0, 3.0]
  call torch_tensor_from_array(a, x2, torch_kCPU, requires_grad=.true.)
  call torch_tensor_from_array(b, y3, torch_kCPU, requires_grad=.true.)
  select case (trim(which))
  case ('operator')
    c = a * b
  case ('backward')
    call torch_tensor_backward(never)
  case ('get_gradient')
    call torch_tensor_from_array(holder, h, torch_kCPU)
    call torch_tensor_get_gradient(holder, a)
  case ('double_delete')
    c = a * a
    copy%p = c%p
    call torch_tensor_delete(c)
    call torch_tensor_delete(copy)
  case ('use_after_delete')
    c = a * a
    copy%p = c%p
    call torch_tensor_delete(c)
    c = copy * a
  end select
  write (*, '(a)') 'not reached'
end program fatal
