!> Training with checkpoint and restart.  usage:
!>   checkpoint_restart MODEL OUT_MODEL FIRST LAST [SAVE_CKPT] [LOAD_CKPT]
!> Trains steps FIRST..LAST (data depend only on the step number), optionally restoring a
!> checkpoint before and writing one after, then saves the model to OUT_MODEL.
program checkpoint_restart
  use, intrinsic :: iso_fortran_env, only: real64
  use ftorch
  implicit none
  integer, parameter :: batch = 8, n_in = 3, n_out = 2
  character(len=512) :: model_file, out_file, save_ckpt, load_ckpt
  character(len=32) :: arg
  real(real64), target :: x(batch, n_in), y(batch, n_out), loss_value(1)
  type(torch_model) :: model
  type(torch_tensor) :: tx(1), ty, out(1), loss
  type(torch_tensor), allocatable :: params(:)
  type(torch_optim) :: optim
  type(torch_lr_scheduler) :: scheduler
  integer :: first, last, k, i, j

  call get_command_argument(1, model_file)
  call get_command_argument(2, out_file)
  call get_command_argument(3, arg)
  read (arg, *) first
  call get_command_argument(4, arg)
  read (arg, *) last
  call get_command_argument(5, save_ckpt)
  call get_command_argument(6, load_ckpt)

  call torch_model_load(model, model_file, torch_kCPU, requires_grad=.true., is_training=.true.)
  allocate (params(torch_model_num_parameters(model)))
  call torch_model_parameters(model, params)
  call torch_optim_Adam(optim, params, learning_rate=0.02_real64, weight_decay=0.01_real64, amsgrad=.true.)
  call torch_lr_scheduler_cosine_annealing(scheduler, optim, t_max=150, eta_min=0.001_real64)
  if (len_trim(load_ckpt) > 0 .and. trim(load_ckpt) /= '-') then
    call torch_checkpoint_load(load_ckpt, model, optim, scheduler)
  end if

  call torch_tensor_from_array(tx(1), x, torch_kCPU)
  call torch_tensor_from_array(ty, y, torch_kCPU)
  call torch_tensor_from_array(loss, loss_value, torch_kCPU)
  do k = first, last
    do j = 1, n_in
      do i = 1, batch
        x(i, j) = sin(0.37_real64 * k + 1.3_real64 * i + 0.7_real64 * j)
      end do
    end do
    do j = 1, n_out
      y(:, j) = x(:, 1) * x(:, 2) - 0.5_real64 * j * x(:, 3)
    end do
    call optim%zero_grad()
    call torch_model_forward(model, tx, out, requires_grad=.true.)
    call torch_loss_mse(loss, out(1), ty)
    call torch_tensor_backward(loss)
    call torch_clip_grad_norm(params, 1.0_real64)
    call optim%step()
    call scheduler%step()
  end do
  if (len_trim(save_ckpt) > 0 .and. trim(save_ckpt) /= '-') call torch_checkpoint_save(save_ckpt, model, optim, scheduler)
  call torch_model_save(model, out_file)
  write (*, '(a, es24.16, a, es24.16)') 'loss ', loss_value(1), ' lr ', scheduler%get_last_lr()
end program checkpoint_restart
