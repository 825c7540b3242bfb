!> Distributed training launched without MPI (the torchrun convention: RANK, WORLD_SIZE,
!> MASTER_ADDR, MASTER_PORT), built with plain gfortran and libftorch alone.
!>
!>   dist_env MODEL CASE [TIMEOUT]     CASE: train | die | stall | port
!>
!> train: 10 distributed training steps, then prints the first parameter's checksum.
!> die:   rank 1 kills itself (SIGKILL) after 3 steps; rank 0 must fail, not hang.
!> stall: rank 1 stops taking part (sleeps) after 3 steps; rank 0 must fail within TIMEOUT.
!> port:  init only (the test occupies MASTER_PORT).
!> Failures are printed as "failed step=<k> stat=<n> msg=<errmsg>" and the program exits 0.
program dist_env
  use, intrinsic :: iso_fortran_env, only: real64
  use ftorch, only: torch_tensor, torch_model, torch_optim, torch_kCPU, torch_tensor_from_array, torch_model_load, &
                    torch_model_forward, torch_model_parameters, torch_model_num_parameters, torch_loss_mse, &
                    torch_tensor_backward, torch_optim_SGD, torch_optim_step, torch_optim_zero_grad, torch_delete, &
                    torch_distributed_init, torch_distributed_rank, torch_distributed_finalize, &
                    torch_model_distribute, torch_live_handles, torch_distributed_world_size, assignment(=)
  implicit none
  character(len=512) :: model_file, which, arg
  character(len=512) :: msg
  integer :: stat, rank, k, timeout
  real(real64), target :: x(8, 4), y(8, 2), loss_value(1), w(16, 4)
  type(torch_tensor) :: tx(1), ty, tloss, out(1), wt
  type(torch_tensor), allocatable :: params(:)
  type(torch_model) :: model
  type(torch_optim) :: optim

  call get_command_argument(1, model_file)
  call get_command_argument(2, which)
  timeout = 60
  if (command_argument_count() >= 3) then
    call get_command_argument(3, arg)
    read (arg, *) timeout
  end if
  msg = ''
  call torch_distributed_init(timeout_seconds=timeout, stat=stat, errmsg=msg)
  if (stat /= 0) then
    write (*, '(a, i0, a)') 'failed step=0 stat=', stat, ' msg='//trim(msg)
    stop
  end if
  if (which == 'port') then
    write (*, '(a)') 'init succeeded'
    call torch_distributed_finalize()
    stop
  end if
  rank = torch_distributed_rank()
  call random_seed()
  call random_number(x)
  call random_number(y)
  x = x + rank
  call torch_model_load(model, trim(model_file), torch_kCPU, requires_grad=.true., is_training=.true.)
  call torch_model_distribute(model)
  allocate (params(torch_model_num_parameters(model)))
  call torch_model_parameters(model, params)
  call torch_optim_SGD(optim, params, learning_rate=0.1_real64)
  call torch_tensor_from_array(tx(1), x, torch_kCPU)
  call torch_tensor_from_array(ty, y, torch_kCPU)
  call torch_tensor_from_array(tloss, loss_value, torch_kCPU)
  do k = 1, 10
    if (rank == 1 .and. k == 4 .and. which == 'die') call execute_command_line('kill -9 $PPID')
    if (rank == 1 .and. k == 4 .and. which == 'stall') call execute_command_line('sleep 600')
    call torch_optim_zero_grad(optim)
    call torch_model_forward(model, tx, out, requires_grad=.true., stat=stat, errmsg=msg)
    if (stat == 0) call torch_loss_mse(tloss, out(1), ty)
    if (stat == 0) call torch_tensor_backward(tloss, stat=stat, errmsg=msg)
    if (stat /= 0) then
      write (*, '(a, i0, a, i0, a)') 'failed step=', k, ' stat=', stat, ' msg='//trim(msg)
      flush (6)
      exit
    end if
    call torch_optim_step(optim)
  end do
  if (stat == 0) then
    call torch_tensor_from_array(wt, w, torch_kCPU)
    wt = params(1)
    write (*, '(a, i0, a, i0, a, es25.17)') 'rank ', rank, ' of ', torch_distributed_world_size(), ' checksum ', sum(w)
    call torch_delete(wt)
  end if
  call torch_delete(tx)
  call torch_delete(ty)
  call torch_delete(tloss)
  call torch_delete(out)
  call torch_delete(params)
  call torch_delete(optim)
  call torch_delete(model)
  call torch_distributed_finalize()
  write (*, '(a, i0, a, i0)') 'rank ', rank, ' live handles at exit: ', torch_live_handles()
end program dist_env
