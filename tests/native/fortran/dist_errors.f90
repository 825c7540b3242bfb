!> Error cases of the distributed API under mpirun; prints "case stat=<n> msg=<errmsg>" lines.
!>
!>   dist_errors CASE      CASE: before_init | twice | shape | dtype
program dist_errors
  use mpi
  use, intrinsic :: iso_fortran_env, only: int8, real64
  use ftorch, only: torch_tensor, torch_kCPU, torch_tensor_from_array, torch_delete, torch_distributed_init, &
                    torch_distributed_rank, torch_distributed_all_reduce, torch_distributed_broadcast, &
                    torch_distributed_barrier, torch_distributed_finalize, torch_distributed_is_initialized, &
                    torch_live_handles
  implicit none
  character(len=32) :: which
  character(len=512) :: msg
  integer :: ierr, stat, rank
  real(real64), target :: a(4), b(5)
  real(real64), allocatable, target :: c(:)
  integer(int8), target :: small(3)
  type(torch_tensor) :: t

  call MPI_Init(ierr)
  call MPI_Comm_rank(MPI_COMM_WORLD, rank, ierr)
  call get_command_argument(1, which)
  a = rank + 1
  select case (which)
  case ('before_init')
    call torch_tensor_from_array(t, a, torch_kCPU)
    msg = ''
    call torch_distributed_all_reduce(t, stat=stat, errmsg=msg)
    call report('all_reduce', stat, msg)
    call torch_distributed_broadcast(t, 0, stat=stat, errmsg=msg)
    call report('broadcast', stat, msg)
    call torch_distributed_barrier(stat=stat, errmsg=msg)
    call report('barrier', stat, msg)
    call torch_distributed_finalize(stat=stat, errmsg=msg)
    call report('finalize', stat, msg)
    write (*, '(a, l1)') 'initialized=', torch_distributed_is_initialized()
    call torch_delete(t)
  case ('twice')
    call torch_distributed_init(MPI_COMM_WORLD, timeout_seconds=30)
    call torch_distributed_init(MPI_COMM_WORLD, timeout_seconds=30, stat=stat, errmsg=msg)
    call report('init_comm', stat, msg)
    call torch_distributed_init(rank=rank, world_size=2, master_port=1, stat=stat, errmsg=msg)
    call report('init_tcp', stat, msg)
    call torch_distributed_barrier()  ! the first process group still works
    call torch_distributed_finalize()
  case ('shape')
    call torch_distributed_init(MPI_COMM_WORLD, timeout_seconds=30)
    allocate (c(3 + rank))
    c = 1
    call torch_tensor_from_array(t, c, torch_kCPU)
    call torch_distributed_all_reduce(t, stat=stat, errmsg=msg)
    call report('all_reduce', stat, msg)
    call torch_distributed_broadcast(t, 0, stat=stat, errmsg=msg)
    call report('broadcast', stat, msg)
    call torch_delete(t)
    ! The mismatch was caught before any data moved: the group is still usable.
    call torch_tensor_from_array(t, a, torch_kCPU)
    call torch_distributed_all_reduce(t)
    write (*, '(a, f0.1)') 'after sum=', a(1)
    call torch_delete(t)
    call torch_distributed_finalize()
  case ('dtype')
    call torch_distributed_init(MPI_COMM_WORLD, timeout_seconds=30)
    small = 1
    call torch_tensor_from_array(t, small, torch_kCPU)
    call torch_distributed_all_reduce(t, stat=stat, errmsg=msg)
    call report('all_reduce', stat, msg)
    call torch_delete(t)
    call torch_tensor_from_array(t, b, torch_kCPU)
    call torch_distributed_broadcast(t, 7, stat=stat, errmsg=msg)
    call report('bad_root', stat, msg)
    call torch_distributed_all_reduce(t, 9, stat=stat, errmsg=msg)
    call report('bad_op', stat, msg)
    call torch_delete(t)
    call torch_distributed_finalize()
  end select
  write (*, '(a, i0, a, i0)') 'rank ', rank, ' live handles at exit: ', torch_live_handles()
  call MPI_Finalize(ierr)

contains

  subroutine report(what, stat, msg)
    character(len=*), intent(in) :: what, msg
    integer, intent(in) :: stat
    write (*, '(a, i0, a, i0, a)') trim(what)//' rank=', rank, ' stat=', stat, ' msg='//trim(msg)
  end subroutine report

end program dist_errors
