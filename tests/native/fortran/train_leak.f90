!> A long online-training loop; prints "loss L handles_before handles_after rss_kb_before rss_kb_after".
!> usage: train_leak MODEL STEPS
program train_leak
  use, intrinsic :: iso_fortran_env, only: int64, real64
  use ftorch
  implicit none
  integer, parameter :: batch = 8, n_in = 3, n_out = 2
  character(len=512) :: model_file
  character(len=32) :: arg
  real(real64), target :: x(batch, n_in), y(batch, n_out), loss_value(1)
  type(torch_model) :: model
  type(torch_tensor) :: tx(1), out(1), ty, loss
  type(torch_tensor), allocatable :: params(:)
  type(torch_optim) :: optim
  integer(int64) :: steps, k, warmup, h0, h1, r0, r1

  call get_command_argument(1, model_file)
  call get_command_argument(2, arg)
  read (arg, *) steps
  warmup = max(steps / 10, 1_int64)
  call torch_model_load(model, model_file, torch_kCPU, requires_grad=.true., is_training=.true.)
  allocate (params(torch_model_num_parameters(model)))
  call torch_model_parameters(model, params)
  call torch_optim_Adam(optim, params, learning_rate=1.0e-3_real64)
  call torch_tensor_from_array(ty, y, torch_kCPU)
  do k = 1, warmup + steps
    if (k == warmup + 1) then
      h0 = torch_live_handles()
      r0 = rss_kb()
    end if
    call random_number(x)
    y(:, 1) = x(:, 1) * x(:, 2)
    y(:, 2) = x(:, 3) - x(:, 1)
    ! Re-construct the input and loss tensors every step, as FTorch's training example does.
    call torch_tensor_from_array(tx(1), x, torch_kCPU)
    call torch_tensor_from_array(loss, loss_value, torch_kCPU)
    call optim%zero_grad()
    call torch_model_forward(model, tx, out, requires_grad=.true.)
    call torch_loss_mse(loss, out(1), ty)
    call torch_tensor_backward(loss)
    call torch_clip_grad_norm(params, 1.0_real64)
    call optim%step()
  end do
  h1 = torch_live_handles()
  r1 = rss_kb()
  write (*, '(a, es24.16, 4(1x, i0))') 'loss ', loss_value(1), h0, h1, r0, r1

contains

  function rss_kb() result(kb)
    integer(int64) :: kb, pages_total, pages_resident
    integer :: unit
    open (newunit=unit, file='/proc/self/statm', action='read')
    read (unit, *) pages_total, pages_resident
    close (unit)
    kb = pages_resident * 4
  end function rss_kb

end program train_leak
