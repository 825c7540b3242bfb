!> Online training inside a simulation's time loop.
!>
!> The Lorenz-96 model, dx_k/dt = (x_{k+1} - x_{k-2}) x_{k-1} - x_k + F on a ring of K
!> variables, is integrated with RK4.  At every time step a small MLP (a TorchScript model
!> written by online_training.py) is trained, on the current state, to predict the
!> nonlinear advection term (x_{k+1} - x_{k-2}) x_{k-1} from the local stencil
!> (x_{k-2}, x_{k-1}, x_k, x_{k+1}): forward, MSE loss, backward, gradient clipping, an
!> Adam step and a cosine learning-rate schedule.  The loss is printed every `log_every`
!> steps and written to losses.dat; the trained model and the final state are saved.
!>
!> usage: lorenz96_online CONFIG.nml INITIAL_MODEL.pt OUTPUT_DIR
program lorenz96_online
  use, intrinsic :: iso_fortran_env, only: real32, real64
  use ftorch, only: torch_kCPU, torch_tensor, torch_tensor_from_array, torch_tensor_backward, &
                    torch_model, torch_model_load, torch_model_forward, torch_model_parameters, &
                    torch_model_num_parameters, torch_model_save, torch_loss_mse, torch_optim, &
                    torch_optim_Adam, torch_lr_scheduler, torch_lr_scheduler_cosine_annealing, &
                    torch_clip_grad_norm, torch_live_handles
  implicit none

  ! Configuration (read from the namelist written by online_training.py).
  integer :: k = 40, spinup = 500, steps = 1000, log_every = 5
  real(real64) :: forcing = 8.0_real64, dt = 0.005_real64
  real(real64) :: learning_rate = 3.0e-3_real64, eta_min = 1.0e-4_real64, max_norm = 1.0_real64
  namelist /config/ k, spinup, steps, log_every, forcing, dt, learning_rate, eta_min, max_norm

  character(len=512) :: config_file, model_file, out_dir
  real(real64), allocatable :: x(:)
  real(real32), allocatable, target :: features(:, :), target(:, :)
  real(real32), target :: loss_value(1)
  type(torch_model) :: model
  type(torch_tensor) :: inputs(1), outputs(1), labels, loss
  type(torch_tensor), allocatable :: params(:)
  type(torch_optim) :: optimiser
  type(torch_lr_scheduler) :: schedule
  integer :: n, unit, losses_unit

  call get_command_argument(1, config_file)
  call get_command_argument(2, model_file)
  call get_command_argument(3, out_dir)
  open (newunit=unit, file=trim(config_file), status='old', action='read')
  read (unit, nml=config)
  close (unit)

  allocate (x(k), features(k, 4), target(k, 1))
  call initial_state(x)
  do n = 1, spinup
    call rk4_step(x)
  end do

  ! The tensors view the Fortran arrays: refreshing the arrays refreshes the tensors.
  call torch_tensor_from_array(inputs(1), features, torch_kCPU)
  call torch_tensor_from_array(labels, target, torch_kCPU)
  call torch_tensor_from_array(loss, loss_value, torch_kCPU)

  call torch_model_load(model, model_file, torch_kCPU, requires_grad=.true., is_training=.true.)
  allocate (params(torch_model_num_parameters(model)))
  call torch_model_parameters(model, params)
  call torch_optim_Adam(optimiser, params, learning_rate=learning_rate)
  call torch_lr_scheduler_cosine_annealing(schedule, optimiser, t_max=steps, eta_min=eta_min)

  open (newunit=losses_unit, file=trim(out_dir)//'/losses.dat', status='replace', action='write')
  write (losses_unit, '(a)') '# step loss learning_rate'
  do n = 1, steps
    call stencil_features(x, features, target)

    call optimiser%zero_grad()
    call torch_model_forward(model, inputs, outputs, requires_grad=.true.)
    call torch_loss_mse(loss, outputs(1), labels)      ! loss_value(1) now holds the loss
    call torch_tensor_backward(loss)
    call torch_clip_grad_norm(params, max_norm)
    call optimiser%step()

    if (mod(n, log_every) == 0 .or. n == 1) then
      write (*, '(a, i6, a, es13.6, a, es11.4)') 'step ', n, '  loss ', loss_value(1), &
        '  lr ', optimiser%get_lr()
      write (losses_unit, '(i0, 2(1x, es24.16))') n, real(loss_value(1), real64), optimiser%get_lr()
    end if
    call schedule%step()

    call rk4_step(x)
  end do
  close (losses_unit)

  call torch_model_save(model, trim(out_dir)//'/model_trained.pt')
  open (newunit=unit, file=trim(out_dir)//'/final_state.dat', status='replace', action='write')
  write (unit, '(es24.16)') x
  close (unit)
  write (*, '(a, i0)') 'live library handles at the end: ', torch_live_handles()

contains

  subroutine initial_state(x)
    real(real64), intent(out) :: x(:)
    integer :: i
    do i = 1, size(x)
      x(i) = forcing + 0.01_real64 * sin(real(i, real64))
    end do
  end subroutine initial_state

  !> The Lorenz-96 tendency; the advection term is what the network learns.
  subroutine tendency(x, dxdt)
    real(real64), intent(in) :: x(:)
    real(real64), intent(out) :: dxdt(:)
    integer :: i, n
    n = size(x)
    do i = 1, n
      dxdt(i) = advection(x, i) - x(i) + forcing
    end do
  end subroutine tendency

  pure real(real64) function advection(x, i)
    real(real64), intent(in) :: x(:)
    integer, intent(in) :: i
    integer :: n
    n = size(x)
    advection = (x(wrap(i + 1, n)) - x(wrap(i - 2, n))) * x(wrap(i - 1, n))
  end function advection

  pure integer function wrap(i, n)
    integer, intent(in) :: i, n
    wrap = modulo(i - 1, n) + 1
  end function wrap

  subroutine rk4_step(x)
    real(real64), intent(inout) :: x(:)
    real(real64), dimension(size(x)) :: k1, k2, k3, k4
    call tendency(x, k1)
    call tendency(x + 0.5_real64 * dt * k1, k2)
    call tendency(x + 0.5_real64 * dt * k2, k3)
    call tendency(x + dt * k3, k4)
    x = x + (dt / 6.0_real64) * (k1 + 2.0_real64 * k2 + 2.0_real64 * k3 + k4)
  end subroutine rk4_step

  !> Network inputs (the scaled stencil) and targets (the scaled advection term).
  subroutine stencil_features(x, features, target)
    real(real64), intent(in) :: x(:)
    real(real32), intent(out) :: features(:, :), target(:, :)
    integer :: i, n
    n = size(x)
    do i = 1, n
      features(i, 1) = real(x(wrap(i - 2, n)) / 10.0_real64, real32)
      features(i, 2) = real(x(wrap(i - 1, n)) / 10.0_real64, real32)
      features(i, 3) = real(x(i) / 10.0_real64, real32)
      features(i, 4) = real(x(wrap(i + 1, n)) / 10.0_real64, real32)
      target(i, 1) = real(advection(x, i) / 100.0_real64, real32)
    end do
  end subroutine stencil_features

end program lorenz96_online
