!> Distributed data-parallel training across processes (c10d: the engine of PyTorch's
!> DistributedDataParallel).  Every rank runs the same program on its own data; after
!> `torch_model_distribute`, every backward pass leaves the model's gradients averaged
!> across ranks, so the unchanged optimiser code keeps all ranks' models identical.
!>
!>     use ftorch, only: torch_distributed_init, torch_model_distribute, torch_distributed_finalize
!>     call torch_distributed_init(MPI_COMM_WORLD)   ! or rank=, world_size=, master_addr=, master_port=
!>     call torch_model_load(model, 'model.pt', torch_kCPU, requires_grad=.true., is_training=.true.)
!>     call torch_model_distribute(model)
!>     ...   ! forward, loss, backward, optimiser step: as in a single process
!>     call torch_distributed_finalize()
!>
!> The communicator form `torch_distributed_init(comm)` lives in the separate library
!> `libftorch_mpi` (built when MPI is found), so that libftorch itself never depends on MPI:
!> programs that use it link `-lftorch_mpi -lftorch` (CMake: `FTorch::ftorch_mpi`).  The other
!> forms need nothing but libftorch.
module ftorch_distributed
  use, intrinsic :: iso_c_binding, only: c_double, c_int, c_null_char, c_null_ptr, c_ptr
  use ftorch_tensor, only: torch_tensor
  use ftorch_model, only: torch_model
  use ftorch_optim, only: torch_optim, torch_lr_scheduler
  use ftorch_errors, only: ft_check, ft_raise
  use ftorch_cbind, only: ft_distributed_available, ft_distributed_listen, ft_distributed_init, &
                          ft_distributed_is_initialized, ft_distributed_rank, ft_distributed_world_size, &
                          ft_distributed_barrier, ft_distributed_finalize, ft_distributed_all_reduce, &
                          ft_distributed_broadcast, ft_distributed_average_gradients, ft_model_distribute, &
                          ft_distributed_checkpoint_save, ft_distributed_checkpoint_load, ft_err_distributed, &
                          ft_reduce_sum, ft_reduce_avg, ft_reduce_max, ft_reduce_min
  implicit none
  private

  public :: torch_distributed_init, torch_distributed_rank, torch_distributed_world_size
  public :: torch_distributed_is_initialized, torch_distributed_barrier, torch_distributed_finalize
  public :: torch_distributed_all_reduce, torch_distributed_broadcast, torch_distributed_average_gradients
  public :: torch_model_distribute, torch_distributed_available
  public :: torch_distributed_checkpoint_save, torch_distributed_checkpoint_load
  public :: torch_reduce_sum, torch_reduce_avg, torch_reduce_max, torch_reduce_min
  public :: torch_stat_distributed
  ! For libftorch_mpi (the communicator form); not re-exported by module ftorch.
  public :: torch_distributed_init_tcp, torch_distributed_listen

  !> Reductions of `torch_distributed_all_reduce` (enum ft_reduce_op).
  integer, parameter :: torch_reduce_sum = ft_reduce_sum, torch_reduce_avg = ft_reduce_avg
  !! Sum, and mean over the ranks.
  integer, parameter :: torch_reduce_max = ft_reduce_max, torch_reduce_min = ft_reduce_min
  !! Elementwise maximum and minimum over the ranks.
  !> The status of a failed distributed call: no process group, or a collective failed or
  !> timed out (FT_ERR_DISTRIBUTED).
  integer, parameter :: torch_stat_distributed = ft_err_distributed

  !> Join the process group.  Collective: every rank calls it.
  !>
  !> * `torch_distributed_init(comm)`: an MPI communicator (default integer handle; `mpi_f08`
  !>   users pass `comm%MPI_VAL`) gives rank and size; rank 0 opens the rendezvous store on a
  !>   free port and broadcasts it.  Needs `-lftorch_mpi`.
  !> * `torch_distributed_init(rank=, world_size=, master_addr=, master_port=)`: explicit.
  !> * `torch_distributed_init()`: from RANK, WORLD_SIZE, MASTER_ADDR, MASTER_PORT (torchrun).
  !>
  !> Optional in every form: `device_type` (torch_kCPU), `timeout_seconds` (default 300: bounds
  !> the rendezvous and every collective, so a rank that dies makes the others fail within
  !> it), `stat`, `errmsg`.
  interface torch_distributed_init
    module procedure torch_distributed_init_tcp
    !> Join the process group of the ranks of an MPI communicator (in libftorch_mpi).
    subroutine torch_distributed_init_comm(comm, device_type, timeout_seconds, stat, errmsg)
      implicit none
      integer, intent(in) :: comm                        !! MPI communicator handle
      integer, intent(in), optional :: device_type       !! torch_kCPU
      integer, intent(in), optional :: timeout_seconds   !! collective timeout in seconds
      integer, intent(out), optional :: stat             !! status (0: success)
      character(len=*), intent(inout), optional :: errmsg  !! message on failure
    end subroutine torch_distributed_init_comm
  end interface

contains

  real(c_double) function seconds(timeout_seconds)
    integer, intent(in), optional :: timeout_seconds
    seconds = 0
    if (present(timeout_seconds)) seconds = real(timeout_seconds, c_double)
  end function seconds

  !> Explicit or environment rendezvous (see `torch_distributed_init`).  Arguments not given
  !> are read from RANK, WORLD_SIZE, MASTER_ADDR (default 127.0.0.1) and MASTER_PORT.
  subroutine torch_distributed_init_tcp(master_addr, master_port, rank, world_size, device_type, timeout_seconds, &
                                        stat, errmsg)
    character(len=*), intent(in), optional :: master_addr  !! host of rank 0
    integer, intent(in), optional :: master_port           !! TCP port of the store on rank 0
    integer, intent(in), optional :: rank                  !! this process's rank, 0 .. world_size-1
    integer, intent(in), optional :: world_size            !! number of processes
    integer, intent(in), optional :: device_type           !! torch_kCPU
    integer, intent(in), optional :: timeout_seconds       !! collective timeout in seconds (default 300)
    integer, intent(out), optional :: stat                 !! status (0: success)
    character(len=*), intent(inout), optional :: errmsg    !! message on failure
    integer(c_int) :: r, n, port, dev
    r = -1
    n = 0
    port = -1
    dev = 0
    if (present(rank)) r = int(rank, c_int)
    if (present(world_size)) n = int(world_size, c_int)
    if (present(master_port)) port = int(master_port, c_int)
    if (present(device_type)) dev = int(device_type, c_int)
    if (present(master_addr)) then
      call ft_check(ft_distributed_init(r, n, trim(master_addr)//c_null_char, port, dev, seconds(timeout_seconds)), &
                    'torch_distributed_init', stat, errmsg)
    else
      call ft_check(ft_distributed_init(r, n, c_null_char, port, dev, seconds(timeout_seconds)), &
                    'torch_distributed_init', stat, errmsg)
    end if
  end subroutine torch_distributed_init_tcp

  !> Rank 0, before initialising: open the rendezvous store on a free port (written to `port`).
  subroutine torch_distributed_listen(world_size, timeout_seconds, port, stat, errmsg)
    integer, intent(in) :: world_size                     !! number of processes
    integer, intent(in), optional :: timeout_seconds      !! timeout in seconds
    integer, intent(out) :: port                          !! the port the store listens on
    integer, intent(out), optional :: stat                !! status (0: success)
    character(len=*), intent(inout), optional :: errmsg   !! message on failure
    integer(c_int) :: p
    p = -1
    call ft_check(ft_distributed_listen(int(world_size, c_int), seconds(timeout_seconds), p), &
                  'torch_distributed_init', stat, errmsg)
    port = int(p)
  end subroutine torch_distributed_listen

  !> .true. if this library was built with distributed support.
  logical function torch_distributed_available()
    torch_distributed_available = ft_distributed_available() /= 0
  end function torch_distributed_available

  !> .true. between `torch_distributed_init` and `torch_distributed_finalize`.
  logical function torch_distributed_is_initialized()
    integer(c_int) :: flag, status
    flag = 0
    status = ft_distributed_is_initialized(flag)
    torch_distributed_is_initialized = status == 0 .and. flag /= 0
  end function torch_distributed_is_initialized

  !> This process's rank (0-based).  Fails if not initialised.
  integer function torch_distributed_rank()
    integer(c_int) :: r, status
    r = -1
    status = ft_distributed_rank(r)
    if (status /= 0) call ft_raise(status, 'torch_distributed_rank')
    torch_distributed_rank = int(r)
  end function torch_distributed_rank

  !> Number of ranks.  Fails if not initialised.
  integer function torch_distributed_world_size()
    integer(c_int) :: n, status
    n = 0
    status = ft_distributed_world_size(n)
    if (status /= 0) call ft_raise(status, 'torch_distributed_world_size')
    torch_distributed_world_size = int(n)
  end function torch_distributed_world_size

  !> Wait until every rank has reached the barrier.  Collective.
  subroutine torch_distributed_barrier(stat, errmsg)
    integer, intent(out), optional :: stat               !! status (0: success)
    character(len=*), intent(inout), optional :: errmsg  !! message on failure
    call ft_check(ft_distributed_barrier(), 'torch_distributed_barrier', stat, errmsg)
  end subroutine torch_distributed_barrier

  !> Leave the process group (not collective; distributed models stay usable until deleted).
  subroutine torch_distributed_finalize(stat, errmsg)
    integer, intent(out), optional :: stat               !! status (0: success)
    character(len=*), intent(inout), optional :: errmsg  !! message on failure
    call ft_check(ft_distributed_finalize(), 'torch_distributed_finalize', stat, errmsg)
  end subroutine torch_distributed_finalize

  !> Reduce `tensor` in place across ranks (default `torch_reduce_sum`).  Collective; a tensor
  !> that views a Fortran array updates the array.
  subroutine torch_distributed_all_reduce(tensor, op, stat, errmsg)
    type(torch_tensor), intent(in) :: tensor             !! reduced in place
    integer, intent(in), optional :: op                  !! torch_reduce_sum/avg/max/min
    integer, intent(out), optional :: stat               !! status (0: success)
    character(len=*), intent(inout), optional :: errmsg  !! message on failure
    integer(c_int) :: rop
    rop = torch_reduce_sum
    if (present(op)) rop = int(op, c_int)
    call ft_check(ft_distributed_all_reduce(tensor%p, rop), 'torch_distributed_all_reduce', stat, errmsg)
  end subroutine torch_distributed_all_reduce

  !> Overwrite `tensor` on every rank with the values of rank `root`.  Collective.
  subroutine torch_distributed_broadcast(tensor, root, stat, errmsg)
    type(torch_tensor), intent(in) :: tensor             !! overwritten in place
    integer, intent(in) :: root                          !! rank whose values are sent
    integer, intent(out), optional :: stat               !! status (0: success)
    character(len=*), intent(inout), optional :: errmsg  !! message on failure
    call ft_check(ft_distributed_broadcast(tensor%p, int(root, c_int)), 'torch_distributed_broadcast', stat, errmsg)
  end subroutine torch_distributed_broadcast

  !> Replace each parameter's gradient by its mean across ranks (bucketed: one all-reduce per
  !> bucket of at most `bucket_cap_mb` MiB, default 25).  Collective.
  subroutine torch_distributed_average_gradients(parameters, bucket_cap_mb, stat, errmsg)
    type(torch_tensor), intent(in) :: parameters(:)      !! tensors whose gradients are averaged
    real, intent(in), optional :: bucket_cap_mb          !! bucket size limit in MiB
    integer, intent(out), optional :: stat               !! status (0: success)
    character(len=*), intent(inout), optional :: errmsg  !! message on failure
    type(c_ptr) :: handles(size(parameters))
    real(c_double) :: cap
    integer :: i
    do i = 1, size(parameters)
      handles(i) = parameters(i)%p
    end do
    cap = 0
    if (present(bucket_cap_mb)) cap = real(bucket_cap_mb, c_double)
    call ft_check(ft_distributed_average_gradients(handles, size(handles, kind=c_int), cap), &
                  'torch_distributed_average_gradients', stat, errmsg)
  end subroutine torch_distributed_average_gradients

  !> Make `model` data-parallel as PyTorch's DistributedDataParallel does: rank 0's parameters
  !> and buffers are broadcast now; afterwards every backward pass through a forward run with
  !> `requires_grad=.true.` leaves the gradients averaged across ranks.  Collective.
  subroutine torch_model_distribute(model, bucket_cap_mb, stat, errmsg)
    type(torch_model), intent(in) :: model               !! a model loaded on every rank
    real, intent(in), optional :: bucket_cap_mb          !! bucket size limit in MiB (DDP's default 25)
    integer, intent(out), optional :: stat               !! status (0: success)
    character(len=*), intent(inout), optional :: errmsg  !! message on failure
    real(c_double) :: cap
    cap = 0
    if (present(bucket_cap_mb)) cap = real(bucket_cap_mb, c_double)
    call ft_check(ft_model_distribute(model%p, cap), 'torch_model_distribute', stat, errmsg)
  end subroutine torch_model_distribute

  subroutine handles(model, optim, scheduler, m, o, s)
    type(torch_model), intent(in), optional :: model
    type(torch_optim), intent(in), optional :: optim
    type(torch_lr_scheduler), intent(in), optional :: scheduler
    type(c_ptr), intent(out) :: m, o, s
    m = c_null_ptr
    o = c_null_ptr
    s = c_null_ptr
    if (present(model)) m = model%p
    if (present(optim)) o = optim%p
    if (present(scheduler)) s = scheduler%p
  end subroutine handles

  !> Rank 0 writes the checkpoint; the other ranks wait and return rank 0's status.  Collective.
  subroutine torch_distributed_checkpoint_save(filename, model, optim, scheduler, stat, errmsg)
    character(len=*), intent(in) :: filename             !! checkpoint file (written by rank 0)
    type(torch_model), intent(in), optional :: model     !! model whose weights are saved
    type(torch_optim), intent(in), optional :: optim     !! optimiser whose state is saved
    type(torch_lr_scheduler), intent(in), optional :: scheduler  !! scheduler whose state is saved
    integer, intent(out), optional :: stat               !! status (0: success)
    character(len=*), intent(inout), optional :: errmsg  !! message on failure
    type(c_ptr) :: m, o, s
    call handles(model, optim, scheduler, m, o, s)
    call ft_check(ft_distributed_checkpoint_save(trim(filename)//c_null_char, m, o, s), &
                  'torch_distributed_checkpoint_save', stat, errmsg)
  end subroutine torch_distributed_checkpoint_save

  !> Every rank reads the checkpoint, then rank 0's state is broadcast so that all ranks resume
  !> identical.  Collective; if any rank fails, all fail.
  subroutine torch_distributed_checkpoint_load(filename, model, optim, scheduler, stat, errmsg)
    character(len=*), intent(in) :: filename             !! checkpoint file (readable by every rank)
    type(torch_model), intent(in), optional :: model     !! model restored
    type(torch_optim), intent(in), optional :: optim     !! optimiser restored
    type(torch_lr_scheduler), intent(in), optional :: scheduler  !! scheduler restored
    integer, intent(out), optional :: stat               !! status (0: success)
    character(len=*), intent(inout), optional :: errmsg  !! message on failure
    type(c_ptr) :: m, o, s
    call handles(model, optim, scheduler, m, o, s)
    call ft_check(ft_distributed_checkpoint_load(trim(filename)//c_null_char, m, o, s), &
                  'torch_distributed_checkpoint_load', stat, errmsg)
  end subroutine torch_distributed_checkpoint_load

end module ftorch_distributed
