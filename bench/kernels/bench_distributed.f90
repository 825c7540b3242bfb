!> Distributed benchmarks (run under mpirun; see bench/distributed.py).
!>
!>   bench_distributed train MODEL DATA STEPS WARMUP
!>     STEPS timed data-parallel training steps (torch_model_distribute, Adam, MSE) of the
!>     bench MLP in float32; DATA holds x(32,16) then y(32,16) (Fortran order).  Rank 0
!>     prints "train <seconds per step>".
!>   bench_distributed allreduce MAXBYTES
!>     for N = 1 KiB, 4 KiB, ... MAXBYTES: float32 buffers of N bytes all-reduced (sum) by
!>     MPI_Allreduce, by torch_distributed_all_reduce, and as one gradient by
!>     torch_distributed_average_gradients.  Rank 0 prints "allreduce N t_mpi t_ftorch t_grad"
!>     (seconds per call, the median of 5 timed batches).
program bench_distributed
  use mpi
  use, intrinsic :: iso_fortran_env, only: int64, real32, real64
  use ftorch, only: torch_tensor, torch_model, torch_optim, torch_kCPU, torch_tensor_from_array, torch_model_load, &
                    torch_model_forward, torch_model_parameters, torch_model_num_parameters, torch_loss_mse, &
                    torch_tensor_backward, torch_optim_Adam, torch_optim_step, torch_optim_zero_grad, torch_delete, &
                    torch_distributed_init, torch_distributed_rank, torch_distributed_finalize, &
                    torch_model_distribute, torch_distributed_all_reduce, torch_distributed_average_gradients, &
                    torch_set_num_threads, torch_tensor_sum, torch_distributed_barrier, operator(*)
  implicit none
  character(len=512) :: mode, arg
  integer :: ierr, rank

  call MPI_Init(ierr)
  call torch_set_num_threads(1)
  call torch_distributed_init(MPI_COMM_WORLD)
  rank = torch_distributed_rank()
  call get_command_argument(1, mode)
  if (mode == 'train') then
    call train()
  else
    call allreduce()
  end if
  call torch_distributed_finalize()
  call MPI_Finalize(ierr)

contains

  subroutine train()
    character(len=512) :: model_file, data_file
    integer :: steps, warmup, k, u
    real(real32), target :: x(32, 16), y(32, 16), loss_value(1)
    type(torch_model) :: model
    type(torch_optim) :: optim
    type(torch_tensor) :: tx(1), ty, tloss, out(1)
    type(torch_tensor), allocatable :: params(:)
    real(real64) :: t0
    call get_command_argument(2, model_file)
    call get_command_argument(3, data_file)
    call get_command_argument(4, arg)
    read (arg, *) steps
    call get_command_argument(5, arg)
    read (arg, *) warmup
    open (newunit=u, file=trim(data_file), access='stream', form='unformatted', status='old')
    read (u) x, y
    close (u)
    call torch_model_load(model, trim(model_file), torch_kCPU, requires_grad=.true., is_training=.true.)
    call torch_model_distribute(model)
    allocate (params(torch_model_num_parameters(model)))
    call torch_model_parameters(model, params)
    call torch_optim_Adam(optim, params, learning_rate=1.0e-3_real64)
    call torch_tensor_from_array(tx(1), x, torch_kCPU)
    call torch_tensor_from_array(ty, y, torch_kCPU)
    call torch_tensor_from_array(tloss, loss_value, torch_kCPU)
    do k = 1, warmup + steps
      if (k == warmup + 1) then
        call torch_distributed_barrier()
        t0 = MPI_Wtime()
      end if
      call torch_model_forward(model, tx, out, requires_grad=.true.)
      call torch_loss_mse(tloss, out(1), ty)
      call torch_tensor_backward(tloss)
      call torch_optim_step(optim)
      call torch_optim_zero_grad(optim)
    end do
    call torch_distributed_barrier()
    if (rank == 0) write (*, '(a, es14.6)') 'train ', (MPI_Wtime() - t0) / steps
    call torch_delete(tx)
    call torch_delete(ty)
    call torch_delete(tloss)
    call torch_delete(out)
    call torch_delete(params)
    call torch_delete(optim)
    call torch_delete(model)
  end subroutine train

  subroutine allreduce()
    integer(int64) :: maxbytes, nbytes
    integer :: n, reps, batch, c
    real(real32), allocatable, target :: buf(:), res(:), w(:), g(:)
    real(real64) :: times(5, 3), ignored
    type(torch_tensor) :: t, p(1), s, cw
    call get_command_argument(2, arg)
    read (arg, *) maxbytes
    nbytes = 1024
    do while (nbytes <= maxbytes)
      n = int(nbytes / 4)
      reps = int(max(2_int64, min(200_int64, (256_int64 * 1024 * 1024) / (nbytes * 20))))
      allocate (buf(n), res(n), w(n), g(n))
      buf = 0.0
      w = 1.0
      g = real(rank + 1, real32)
      call torch_tensor_from_array(t, buf, torch_kCPU)
      call torch_tensor_from_array(p(1), w, torch_kCPU, requires_grad=.true.)
      call torch_tensor_from_array(cw, g, torch_kCPU)
      call torch_tensor_sum(s, p(1) * cw)
      call torch_tensor_backward(s)                   ! p(1) now has a gradient of n floats
      do c = 1, 3
        ignored = measure(c, 1, buf, res, t, p)                     ! warm-up
      end do
      do batch = 1, 5
        do c = 1, 3
          times(batch, c) = measure(c, reps, buf, res, t, p)
        end do
      end do
      if (rank == 0) write (*, '(a, i0, 3(1x, es14.6))') 'allreduce ', nbytes, (median(times(:, c)), c = 1, 3)
      call torch_delete(t)
      call torch_delete(p)
      call torch_delete(s)
      call torch_delete(cw)
      deallocate (buf, res, w, g)
      nbytes = nbytes * 4
    end do
  end subroutine allreduce

  real(real64) function measure(c, count, buf, res, t, p)
    integer, intent(in) :: c, count
    real(real32), intent(inout) :: buf(:), res(:)
    type(torch_tensor), intent(in) :: t, p(:)
    real(real64) :: start
    integer :: i
    call MPI_Barrier(MPI_COMM_WORLD, ierr)
    start = MPI_Wtime()
    do i = 1, count
      select case (c)
      case (1)
        call MPI_Allreduce(buf, res, size(buf), MPI_REAL, MPI_SUM, MPI_COMM_WORLD, ierr)
      case (2)
        call torch_distributed_all_reduce(t)
      case (3)
        call torch_distributed_average_gradients(p)
      case default
        error stop 'measure: unknown case'
      end select
    end do
    measure = (MPI_Wtime() - start) / count
  end function measure

  real(real64) function median(v)
    real(real64), intent(in) :: v(:)
    real(real64) :: s(size(v)), tmp
    integer :: i, j
    s = v
    do i = 2, size(s)
      tmp = s(i)
      j = i - 1
      do while (j >= 1)
        if (s(j) <= tmp) exit
        s(j + 1) = s(j)
        j = j - 1
      end do
      s(j + 1) = tmp
    end do
    median = s((size(s) + 1) / 2)
  end function median

end program bench_distributed
