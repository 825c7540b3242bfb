!> Save a checkpoint over and over, for the kill -9 test.  usage: save_loop PATH N
!> One parameter of N float64 values, all equal, trained with SGD + momentum on
!> mse(w, 0): every step keeps the values equal, so a complete checkpoint holds a constant
!> parameter and a constant momentum buffer.  Prints "ready" after the first save.
program save_loop
  use, intrinsic :: iso_fortran_env, only: real64, output_unit
  use ftorch
  implicit none
  character(len=512) :: path
  character(len=32) :: arg
  integer :: n, k
  real(real64), allocatable, target :: w(:), zero(:), loss_value(:)
  type(torch_tensor) :: params(1), target, loss
  type(torch_optim) :: optim

  call get_command_argument(1, path)
  call get_command_argument(2, arg)
  read (arg, *) n
  allocate (w(n), zero(n), loss_value(1))
  w = 1.0_real64
  zero = 0.0_real64
  call torch_tensor_from_array(params(1), w, torch_kCPU, requires_grad=.true.)
  call torch_tensor_from_array(target, zero, torch_kCPU)
  call torch_tensor_from_array(loss, loss_value, torch_kCPU)
  call torch_optim_SGD(optim, params, learning_rate=0.1_real64, momentum=0.9_real64)
  do k = 1, huge(k) - 1
    call optim%zero_grad()
    call torch_loss_mse(loss, params(1), target)
    call torch_tensor_backward(loss)
    call optim%step()
    call torch_checkpoint_save(path, optim=optim)
    if (k == 1) then
      write (output_unit, '(a)') 'ready'
      flush (output_unit)
    end if
  end do
end program save_loop
