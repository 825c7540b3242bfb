!> Data-parallel training of a TorchScript MLP with Adam, one data shard per MPI rank.
!>
!>   dist_train DIR STEPS LOG_EVERY
!>
!> For each dtype (real32, real64) and each way of averaging gradients -- `model`
!> (torch_model_distribute: c10d::Reducer hooks) and `grads` (torch_distributed_average_gradients
!> after every backward) -- it loads DIR/mlp_<dtype>.pt, trains STEPS steps on
!> DIR/shard<rank>_<dtype>.bin (x(batch, n_in) then y(batch, n_out), Fortran order), and saves
!> the model to DIR/out_<mode>_<dtype>_r<rank>_s<step>.pt after step 1 and every LOG_EVERY
!> steps.  Losses go to DIR/loss_<mode>_<dtype>_r<rank>.txt.  Prints the live handles at the end.
program dist_train
  use mpi
  use, intrinsic :: iso_fortran_env, only: real32, real64
  use ftorch, only: torch_tensor, torch_model, torch_optim, torch_kCPU, torch_tensor_from_array, torch_model_load, &
                    torch_model_forward, torch_model_parameters, torch_model_num_parameters, torch_model_save, &
                    torch_loss_mse, torch_tensor_backward, torch_optim_Adam, torch_optim_step, torch_optim_zero_grad, &
                    torch_delete, torch_live_handles, torch_distributed_init, torch_distributed_rank, &
                    torch_distributed_finalize, torch_distributed_average_gradients, torch_model_distribute
  implicit none
  integer, parameter :: batch = 8, n_in = 4, n_out = 2
  character(len=512) :: dir, arg
  integer :: steps, log_every, ierr, rank, stat
  character(len=512) :: msg

  call MPI_Init(ierr)
  call get_command_argument(1, dir)
  call get_command_argument(2, arg)
  read (arg, *) steps
  call get_command_argument(3, arg)
  read (arg, *) log_every
  call torch_distributed_init(MPI_COMM_WORLD, timeout_seconds=60, stat=stat, errmsg=msg)
  if (stat /= 0) then
    write (*, '(a)') 'init failed: '//trim(msg)
    call MPI_Abort(MPI_COMM_WORLD, 2, ierr)
  end if
  rank = torch_distributed_rank()
  call train64('model')
  call train64('grads')
  call train32('model')
  call train32('grads')
  call torch_distributed_finalize()
  write (*, '(a, i0, a, i0)') 'rank ', rank, ' live handles at exit: ', torch_live_handles()
  call MPI_Finalize(ierr)

contains

  character(len=16) function itoa(i)
    integer, intent(in) :: i
    write (itoa, '(i0)') i
  end function itoa

  subroutine train64(mode)
    character(len=*), intent(in) :: mode
    real(real64), target :: x(batch, n_in), y(batch, n_out), loss_value(1)
    integer :: u
    open (newunit=u, file=trim(dir)//'/shard'//trim(itoa(rank))//'_real64.bin', access='stream', &
          form='unformatted', status='old')
    read (u) x, y
    close (u)
    block
      type(torch_tensor) :: tx(1), ty, tloss
      call torch_tensor_from_array(tx(1), x, torch_kCPU)
      call torch_tensor_from_array(ty, y, torch_kCPU)
      call torch_tensor_from_array(tloss, loss_value, torch_kCPU)
      call train(mode, 'real64', tx, ty, tloss, loss64=loss_value)
      call torch_delete(tx)
      call torch_delete(ty)
      call torch_delete(tloss)
    end block
  end subroutine train64

  subroutine train32(mode)
    character(len=*), intent(in) :: mode
    real(real32), target :: x(batch, n_in), y(batch, n_out), loss_value(1)
    integer :: u
    open (newunit=u, file=trim(dir)//'/shard'//trim(itoa(rank))//'_real32.bin', access='stream', &
          form='unformatted', status='old')
    read (u) x, y
    close (u)
    block
      type(torch_tensor) :: tx(1), ty, tloss
      call torch_tensor_from_array(tx(1), x, torch_kCPU)
      call torch_tensor_from_array(ty, y, torch_kCPU)
      call torch_tensor_from_array(tloss, loss_value, torch_kCPU)
      call train(mode, 'real32', tx, ty, tloss, loss32=loss_value)
      call torch_delete(tx)
      call torch_delete(ty)
      call torch_delete(tloss)
    end block
  end subroutine train32

  subroutine train(mode, dtype, tx, ty, tloss, loss32, loss64)
    character(len=*), intent(in) :: mode, dtype
    type(torch_tensor), intent(in) :: tx(1), ty
    type(torch_tensor), intent(inout) :: tloss
    real(real32), intent(in), optional :: loss32(1)
    real(real64), intent(in), optional :: loss64(1)
    type(torch_model) :: model
    type(torch_optim) :: optim
    type(torch_tensor) :: out(1)
    type(torch_tensor), allocatable :: params(:)
    integer :: k, u
    character(len=:), allocatable :: tag
    tag = mode//'_'//dtype//'_r'//trim(itoa(rank))
    call torch_model_load(model, trim(dir)//'/mlp_'//dtype//'.pt', torch_kCPU, requires_grad=.true., &
                          is_training=.true.)
    if (mode == 'model') call torch_model_distribute(model)
    allocate (params(torch_model_num_parameters(model)))
    call torch_model_parameters(model, params)
    call torch_optim_Adam(optim, params, learning_rate=0.01_real64)
    open (newunit=u, file=trim(dir)//'/loss_'//tag//'.txt', status='replace', action='write')
    do k = 1, steps
      call torch_optim_zero_grad(optim)
      call torch_model_forward(model, tx, out, requires_grad=.true.)
      call torch_loss_mse(tloss, out(1), ty)
      call torch_tensor_backward(tloss)
      if (mode == 'grads') call torch_distributed_average_gradients(params)
      call torch_optim_step(optim)
      if (present(loss64)) write (u, '(es25.17)') loss64(1)
      if (present(loss32)) write (u, '(es25.17)') loss32(1)
      if (k == 1 .or. mod(k, log_every) == 0) &
        call torch_model_save(model, trim(dir)//'/out_'//tag//'_s'//trim(itoa(k))//'.pt')
    end do
    close (u)
    call torch_delete(out)
    call torch_delete(params)
    call torch_delete(optim)
    call torch_delete(model)
  end subroutine train

end program dist_train
