!> A long distributed training loop: live handles must stay flat on every rank.
!>
!>   dist_leak MODEL STEPS
!>
!> Every step: forward/backward through a distributed model (Reducer all-reduce), an
!> optimiser step; every 10th step also an all-reduce of the loss and a broadcast.  Prints, per rank,
!> "rank R handles <after warm-up> <at the end> <after deleting everything>".
program dist_leak
  use mpi
  use, intrinsic :: iso_fortran_env, only: int64, real64
  use ftorch, only: torch_tensor, torch_model, torch_optim, torch_kCPU, torch_tensor_from_array, torch_model_load, &
                    torch_model_forward, torch_model_parameters, torch_model_num_parameters, torch_loss_mse, &
                    torch_tensor_backward, torch_optim_Adam, torch_optim_step, torch_optim_zero_grad, torch_delete, &
                    torch_distributed_init, torch_distributed_rank, torch_distributed_finalize, &
                    torch_model_distribute, torch_live_handles, torch_distributed_all_reduce, &
                    torch_distributed_broadcast, torch_reduce_avg
  implicit none
  character(len=512) :: model_file, arg
  integer :: ierr, rank, k, steps
  integer(int64) :: h_warm, h_end
  real(real64), target :: x(8, 4), y(8, 2), loss_value(1), shared(3)
  type(torch_tensor) :: tx(1), ty, tloss, out(1), ts
  type(torch_tensor), allocatable :: params(:)
  type(torch_model) :: model
  type(torch_optim) :: optim

  call MPI_Init(ierr)
  call get_command_argument(1, model_file)
  call get_command_argument(2, arg)
  read (arg, *) steps
  call torch_distributed_init(MPI_COMM_WORLD, timeout_seconds=60)
  rank = torch_distributed_rank()
  call random_number(x)
  call random_number(y)
  call torch_model_load(model, trim(model_file), torch_kCPU, requires_grad=.true., is_training=.true.)
  call torch_model_distribute(model)
  allocate (params(torch_model_num_parameters(model)))
  call torch_model_parameters(model, params)
  call torch_optim_Adam(optim, params, learning_rate=1.0e-3_real64)
  call torch_tensor_from_array(ty, y, torch_kCPU)
  h_warm = 0
  do k = 1, steps
    ! Input and loss tensors rebuilt every step, as simulation codes do.
    call torch_tensor_from_array(tx(1), x, torch_kCPU)
    call torch_tensor_from_array(tloss, loss_value, torch_kCPU)
    call torch_optim_zero_grad(optim)
    call torch_model_forward(model, tx, out, requires_grad=.true.)
    call torch_loss_mse(tloss, out(1), ty)
    call torch_tensor_backward(tloss)
    call torch_optim_step(optim)
    if (mod(k, 10) == 0) then
      shared = loss_value(1)
      call torch_tensor_from_array(ts, shared, torch_kCPU)
      call torch_distributed_all_reduce(ts, torch_reduce_avg)
      call torch_distributed_broadcast(ts, 0)
      call torch_delete(ts)
    end if
    if (k == min(100, steps)) h_warm = torch_live_handles()
  end do
  h_end = torch_live_handles()
  call torch_delete(tx)
  call torch_delete(ty)
  call torch_delete(tloss)
  call torch_delete(out)
  call torch_delete(params)
  call torch_delete(optim)
  call torch_delete(model)
  call torch_distributed_finalize()
  write (*, '(a, i0, a, 3(1x, i0))') 'rank ', rank, ' handles', h_warm, h_end, torch_live_handles()
  call MPI_Finalize(ierr)
end program dist_leak
