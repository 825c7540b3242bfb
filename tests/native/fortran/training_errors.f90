!> Error cases of the training API, each caught through stat/errmsg.
!> usage: training_errors MODEL OTHER_MODEL NOT_A_MODEL CHECKPOINT_DIR
program training_errors
  use, intrinsic :: iso_fortran_env, only: real32, real64
  use ftorch
  implicit none
  character(len=512) :: model_file, other_file, bogus_file, dir, msg
  real(real32), target :: a2(2), b3(3), w(2)
  type(torch_model) :: model, other, missing, bogus
  type(torch_tensor) :: a, b, loss, frozen(1)
  type(torch_tensor), allocatable :: params(:), other_params(:)
  type(torch_optim) :: optim, other_optim
  integer :: st

  call get_command_argument(1, model_file)
  call get_command_argument(2, other_file)
  call get_command_argument(3, bogus_file)
  call get_command_argument(4, dir)

  call torch_model_load(missing, trim(dir)//'/no-such-model.pt', torch_kCPU, stat=st, errmsg=msg)
  call show('missing_model_file')
  call torch_model_load(bogus, bogus_file, torch_kCPU, stat=st, errmsg=msg)
  call show('not_torchscript')

  a2 = 1
  b3 = 2
  call torch_tensor_from_array(a, a2, torch_kCPU, requires_grad=.true.)
  call torch_tensor_from_array(b, b3, torch_kCPU)
  call torch_loss_mse(loss, a, b, stat=st, errmsg=msg)
  call show('loss_shape_mismatch')

  w = 0
  call torch_tensor_from_array(frozen(1), w, torch_kCPU)
  call torch_optim_Adam(optim, frozen, stat=st, errmsg=msg)
  call show('optimiser_without_requires_grad')

  ! A model loaded with requires_grad=.false. is frozen (FTorch #585): its parameters
  ! cannot be optimised.
  call torch_model_load(model, model_file, torch_kCPU, requires_grad=.false.)
  allocate (params(torch_model_num_parameters(model)))
  call torch_model_parameters(model, params)
  call torch_optim_SGD(optim, params, stat=st, errmsg=msg)
  call show('frozen_model_parameters')

  ! A checkpoint of one model restored into another.
  call torch_model_load(model, model_file, torch_kCPU, requires_grad=.true.)
  call torch_model_parameters(model, params)
  call torch_optim_SGD(optim, params)
  call torch_checkpoint_save(trim(dir)//'/ckpt.pt', model, optim)
  call torch_model_load(other, other_file, torch_kCPU, requires_grad=.true.)
  allocate (other_params(torch_model_num_parameters(other)))
  call torch_model_parameters(other, other_params)
  call torch_optim_SGD(other_optim, other_params)
  call torch_checkpoint_load(trim(dir)//'/ckpt.pt', other, other_optim, stat=st, errmsg=msg)
  call show('checkpoint_of_another_model')
  call torch_checkpoint_load(trim(dir)//'/no-such-checkpoint.pt', model, optim, stat=st, errmsg=msg)
  call show('missing_checkpoint')
  call torch_checkpoint_load(bogus_file, model, optim, stat=st, errmsg=msg)
  call show('not_a_checkpoint')
  write (*, '(a)') 'finished'

contains

  subroutine show(label)
    character(len=*), intent(in) :: label
    write (*, '(a, 1x, i0, 1x, a)') label, st, trim(msg)
    msg = ''
  end subroutine show

end program training_errors
