!> The communicator form of `torch_distributed_init` (library libftorch_mpi).
!>
!> Declared in module `ftorch_distributed` (so `use ftorch, only: torch_distributed_init`
!> covers it) and defined here, in a separate library built with the MPI Fortran compiler,
!> so that libftorch never depends on MPI.  Programs that call it link `-lftorch_mpi`.
!>
!> Rank 0 opens the c10d rendezvous store on a port the system chooses (no collisions
!> between concurrent jobs) and broadcasts it over `comm`; when every rank runs on rank 0's
!> node the store and gloo use the loopback interface, otherwise rank 0's host name
!> (MPI_Get_processor_name; FTORCH_MASTER_ADDR overrides it).
subroutine torch_distributed_init_comm(comm, device_type, timeout_seconds, stat, errmsg)
  use mpi
  use ftorch_distributed, only: torch_distributed_init_tcp, torch_distributed_listen, torch_distributed_is_initialized
  use ftorch_errors, only: ft_fail
  implicit none
  integer, intent(in) :: comm                          !! MPI communicator handle
  integer, intent(in), optional :: device_type         !! torch_kCPU
  integer, intent(in), optional :: timeout_seconds     !! collective timeout in seconds
  integer, intent(out), optional :: stat               !! status (0: success)
  character(len=*), intent(inout), optional :: errmsg  !! message on failure
  integer, parameter :: stat_distributed = 15
  character(len=MPI_MAX_PROCESSOR_NAME) :: mine, root
  character(len=512) :: addr, message
  integer :: rank, nranks, port, ierr, namelen, lstat, status
  logical :: same, all_same, initialized, any_initialized

  call MPI_Initialized(initialized, ierr)
  if (.not. initialized) then
    call ft_fail(stat_distributed, 'torch_distributed_init', 'MPI is not initialised: call MPI_Init first', &
                 stat, errmsg)
    return
  end if
  call MPI_Comm_rank(comm, rank, ierr)
  if (ierr == MPI_SUCCESS) call MPI_Comm_size(comm, nranks, ierr)
  if (ierr /= MPI_SUCCESS) then
    call ft_fail(stat_distributed, 'torch_distributed_init', 'the MPI communicator is not valid', stat, errmsg)
    return
  end if

  ! Init twice is an error on every rank (not a hang of the ranks that did not notice).
  call MPI_Allreduce(torch_distributed_is_initialized(), any_initialized, 1, MPI_LOGICAL, MPI_LOR, comm, ierr)
  if (any_initialized) then
    call ft_fail(stat_distributed, 'torch_distributed_init', 'distributed training is already initialised; call ' // &
                 'torch_distributed_finalize before initialising again', stat, errmsg)
    return
  end if

  mine = ''
  call MPI_Get_processor_name(mine, namelen, ierr)
  root = mine
  call MPI_Bcast(root, len(root), MPI_CHARACTER, 0, comm, ierr)
  same = mine == root
  call MPI_Allreduce(same, all_same, 1, MPI_LOGICAL, MPI_LAND, comm, ierr)
  call get_environment_variable('FTORCH_MASTER_ADDR', addr, status=status)
  if (status /= 0 .or. len_trim(addr) == 0) then
    if (all_same) then
      addr = '127.0.0.1'
    else
      addr = root
    end if
  end if

  ! Rank 0 opens the store before anyone connects; an error there reaches every rank.
  port = -1
  message = ''
  lstat = 0
  if (rank == 0) then
    call torch_distributed_listen(nranks, timeout_seconds, port, stat=lstat, errmsg=message)
    if (lstat /= 0) port = -1
    if (index(message, 'torch_distributed_init: ') == 1) message = message(25:)
  end if
  call MPI_Bcast(port, 1, MPI_INTEGER, 0, comm, ierr)
  if (port < 0) then
    if (rank /= 0) message = 'rank 0 could not open the rendezvous store'
    if (lstat == 0) lstat = stat_distributed
    call ft_fail(lstat, 'torch_distributed_init', trim(message), stat, errmsg)
    return
  end if
  call torch_distributed_init_tcp(master_addr=trim(addr), master_port=port, rank=rank, world_size=nranks, &
                                  device_type=device_type, timeout_seconds=timeout_seconds, stat=stat, errmsg=errmsg)
end subroutine torch_distributed_init_comm
