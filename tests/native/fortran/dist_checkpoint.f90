!> Distributed checkpoints under mpirun.
!>
!>   dist_checkpoint DIR
!>
!> Every rank loads DIR/mlp.pt and distributes it, then:
!> 1. torch_distributed_checkpoint_save(DIR/ck.pt): rank 0 writes, every rank gets stat 0;
!> 2. save to a directory that does not exist: every rank gets rank 0's failure;
!> 3. torch_distributed_checkpoint_load from a per-rank file (rank 0: ck.pt, others:
!>    DIR/other.pt, another checkpoint of the same model): every rank ends with rank 0's state,
!>    written to DIR/after_r<rank>.pt;
!> 4. load where rank 1's file is missing: every rank fails.
!> Prints "case rank=R stat=S msg=M" lines.
program dist_checkpoint
  use mpi
  use, intrinsic :: iso_fortran_env, only: real64
  use ftorch, only: torch_model, torch_optim, torch_tensor, torch_kCPU, torch_model_load, torch_model_distribute, &
                    torch_model_parameters, torch_model_num_parameters, torch_optim_Adam, torch_model_save, &
                    torch_distributed_init, torch_distributed_rank, torch_distributed_finalize, torch_delete, &
                    torch_distributed_checkpoint_save, torch_distributed_checkpoint_load, torch_live_handles
  implicit none
  character(len=512) :: dir, msg, mine
  character(len=16) :: tag
  integer :: ierr, rank, stat
  type(torch_model) :: model
  type(torch_optim) :: optim
  type(torch_tensor), allocatable :: params(:)

  call MPI_Init(ierr)
  call get_command_argument(1, dir)
  call torch_distributed_init(MPI_COMM_WORLD, timeout_seconds=60)
  rank = torch_distributed_rank()
  write (tag, '(i0)') rank
  call torch_model_load(model, trim(dir)//'/mlp.pt', torch_kCPU, requires_grad=.true., is_training=.true.)
  call torch_model_distribute(model)
  allocate (params(torch_model_num_parameters(model)))
  call torch_model_parameters(model, params)
  call torch_optim_Adam(optim, params, learning_rate=0.01_real64)

  msg = ''
  call torch_distributed_checkpoint_save(trim(dir)//'/ck.pt', model, optim, stat=stat, errmsg=msg)
  call report('save', stat, msg)
  msg = ''
  call torch_distributed_checkpoint_save(trim(dir)//'/no/such/dir/ck.pt', model, optim, stat=stat, errmsg=msg)
  call report('save_bad', stat, msg)

  mine = trim(dir)//'/ck.pt'
  if (rank /= 0) mine = trim(dir)//'/other.pt'
  msg = ''
  call torch_distributed_checkpoint_load(trim(mine), model, stat=stat, errmsg=msg)
  call report('load', stat, msg)
  call torch_model_save(model, trim(dir)//'/after_r'//trim(tag)//'.pt')

  mine = trim(dir)//'/ck.pt'
  if (rank == 1) mine = trim(dir)//'/missing.pt'
  msg = ''
  call torch_distributed_checkpoint_load(trim(mine), model, stat=stat, errmsg=msg)
  call report('load_bad', stat, msg)

  call torch_delete(params)
  call torch_delete(optim)
  call torch_delete(model)
  call torch_distributed_finalize()
  write (*, '(a, i0, a, i0)') 'rank ', rank, ' live handles at exit: ', torch_live_handles()
  call MPI_Finalize(ierr)

contains

  subroutine report(what, stat, msg)
    character(len=*), intent(in) :: what, msg
    integer, intent(in) :: stat
    write (*, '(a, i0, a, i0, a)') trim(what)//' rank=', rank, ' stat=', stat, ' msg='//trim(msg)
  end subroutine report

end program dist_checkpoint
