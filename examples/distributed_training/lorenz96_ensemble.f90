!> Data-parallel online training across an ensemble of simulations, one member per MPI rank.
!>
!> Every rank integrates its own Lorenz-96 ensemble member (its own initial state) with RK4
!> and, at every time step, trains the same MLP (written by distributed_training.py) to
!> predict the advection term from its own state: the model is shared through
!> `torch_model_distribute`, so each backward pass leaves the gradients averaged over the
!> whole ensemble, exactly as PyTorch's DistributedDataParallel would, and the optimiser
!> code is that of the single-process example (examples/online_training).
!>
!> Rank 0 prints every rank's loss (gathered with torch_distributed_all_reduce) every
!> `log_every` steps; each rank writes its loss at every step to losses_rank<r>.dat, and
!> its final model to model_rank<r>.pt.  At the end
!> every rank compares its parameters with rank 0's (broadcast) and the program reports
!> whether all ranks hold bitwise-identical parameters.
!>
!> usage: mpirun -np N lorenz96_ensemble CONFIG.nml INITIAL_MODEL.pt OUTPUT_DIR
program lorenz96_ensemble
  use mpi, only: MPI_COMM_WORLD, MPI_Init, MPI_Finalize
  use, intrinsic :: iso_fortran_env, only: int32, real32, real64
  use ftorch, only: torch_kCPU, torch_tensor, torch_tensor_from_array, torch_tensor_backward, torch_delete, &
                    torch_model, torch_model_load, torch_model_forward, torch_model_parameters, &
                    torch_model_num_parameters, torch_model_save, torch_loss_mse, torch_optim, torch_optim_Adam, &
                    torch_lr_scheduler, torch_lr_scheduler_cosine_annealing, torch_live_handles, &
                    torch_distributed_init, torch_distributed_rank, torch_distributed_world_size, &
                    torch_distributed_finalize, torch_distributed_all_reduce, torch_distributed_broadcast, &
                    torch_model_distribute, torch_tensor_sum, torch_reduce_min, &
                    assignment(=), operator(-), operator(*)
  implicit none

  integer :: k = 40, spinup = 500, steps = 500, log_every = 50
  real(real64) :: forcing = 8.0_real64, dt = 0.005_real64
  real(real64) :: learning_rate = 3.0e-3_real64, eta_min = 1.0e-4_real64
  namelist /config/ k, spinup, steps, log_every, forcing, dt, learning_rate, eta_min

  character(len=512) :: config_file, model_file, out_dir
  character(len=16) :: tag
  real(real64), allocatable :: x(:)
  real(real32), allocatable, target :: features(:, :), target(:, :), all_losses(:)
  real(real32), target :: loss_value(1)
  type(torch_model) :: model
  type(torch_tensor) :: inputs(1), outputs(1), labels, loss, gathered
  type(torch_tensor), allocatable :: params(:)
  type(torch_optim) :: optimiser
  type(torch_lr_scheduler) :: schedule
  integer :: n, unit, losses_unit, ierr, rank, nranks

  call MPI_Init(ierr)
  call get_command_argument(1, config_file)
  call get_command_argument(2, model_file)
  call get_command_argument(3, out_dir)
  open (newunit=unit, file=trim(config_file), status='old', action='read')
  read (unit, nml=config)
  close (unit)

  call torch_distributed_init(MPI_COMM_WORLD)       ! rank, size and rendezvous from the communicator
  rank = torch_distributed_rank()
  nranks = torch_distributed_world_size()
  write (tag, '(i0)') rank

  allocate (x(k), features(k, 4), target(k, 1), all_losses(nranks))
  call initial_state(x, rank)                       ! each ensemble member starts elsewhere
  do n = 1, spinup
    call rk4_step(x)
  end do

  call torch_tensor_from_array(inputs(1), features, torch_kCPU)
  call torch_tensor_from_array(labels, target, torch_kCPU)
  call torch_tensor_from_array(loss, loss_value, torch_kCPU)
  call torch_tensor_from_array(gathered, all_losses, torch_kCPU)

  call torch_model_load(model, model_file, torch_kCPU, requires_grad=.true., is_training=.true.)
  call torch_model_distribute(model)                ! one model for the whole ensemble
  allocate (params(torch_model_num_parameters(model)))
  call torch_model_parameters(model, params)
  call torch_optim_Adam(optimiser, params, learning_rate=learning_rate)
  call torch_lr_scheduler_cosine_annealing(schedule, optimiser, t_max=steps, eta_min=eta_min)

  open (newunit=losses_unit, file=trim(out_dir)//'/losses_rank'//trim(tag)//'.dat', status='replace', &
        action='write')
  write (losses_unit, '(a)') '# step loss'
  do n = 1, steps
    call stencil_features(x, features, target)

    call optimiser%zero_grad()
    call torch_model_forward(model, inputs, outputs, requires_grad=.true.)
    call torch_loss_mse(loss, outputs(1), labels)
    call torch_tensor_backward(loss)                ! gradients arrive averaged over all ranks
    call optimiser%step()
    call schedule%step()

    write (losses_unit, '(i0, 1x, es24.16)') n, real(loss_value(1), real64)
    if (mod(n, log_every) == 0 .or. n == 1) then
      all_losses = 0
      all_losses(rank + 1) = loss_value(1)
      call torch_distributed_all_reduce(gathered)   ! every rank's loss, on every rank
      if (rank == 0) write (*, '(a, i6, a, *(es11.4, :, 1x))') 'step ', n, '  loss per rank ', all_losses
    end if
    call rk4_step(x)
  end do
  close (losses_unit)

  call torch_model_save(model, trim(out_dir)//'/model_rank'//trim(tag)//'.pt')
  call check_identical()

  call torch_delete(params)
  call torch_delete(inputs)
  call torch_delete(outputs)
  call torch_delete(labels)
  call torch_delete(loss)
  call torch_delete(gathered)
  call torch_delete(schedule)
  call torch_delete(optimiser)
  call torch_delete(model)
  call torch_distributed_finalize()
  if (rank == 0) write (*, '(a, i0)') 'live library handles at the end (rank 0): ', torch_live_handles()
  call MPI_Finalize(ierr)

contains

  !> Compare every parameter with rank 0's copy: the sum of squared differences must be
  !> exactly zero on every rank (the flag is reduced with torch_reduce_min).
  subroutine check_identical()
    type(torch_tensor) :: copy, diff, total, flag_t, sq
    real(real32), target :: ssd(1)
    integer(int32), target :: flag(1)
    integer :: i
    flag = 1
    call torch_tensor_from_array(total, ssd, torch_kCPU)
    do i = 1, size(params)
      copy = params(i)                                ! a private copy of this rank's values
      call torch_distributed_broadcast(copy, 0)       ! ... replaced by rank 0's
      diff = copy - params(i)
      sq = diff * diff
      call torch_tensor_sum(total, sq)                ! ssd(1) = sum of squared differences
      if (ssd(1) /= 0) flag = 0
      call torch_delete(copy)
      call torch_delete(diff)
      call torch_delete(sq)
    end do
    call torch_tensor_from_array(flag_t, flag, torch_kCPU)
    call torch_distributed_all_reduce(flag_t, torch_reduce_min)
    if (rank == 0) write (*, '(a, i0, a, l1)') 'parameters bitwise identical on all ', nranks, ' ranks: ', flag(1) == 1
    call torch_delete(flag_t)
    call torch_delete(total)
  end subroutine check_identical

  subroutine initial_state(x, member)
    real(real64), intent(out) :: x(:)
    integer, intent(in) :: member
    integer :: i
    do i = 1, size(x)
      x(i) = forcing + 0.01_real64 * sin(real(i, real64)) + 0.5_real64 * member * cos(0.3_real64 * i)
    end do
  end subroutine initial_state

  subroutine tendency(x, dxdt)
    real(real64), intent(in) :: x(:)
    real(real64), intent(out) :: dxdt(:)
    integer :: i
    do i = 1, size(x)
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

end program lorenz96_ensemble
