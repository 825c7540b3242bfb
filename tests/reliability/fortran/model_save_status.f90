!> Save a model where the save must fail, and report the status: usage:
!> model_save_status MODEL TARGET [CHECKPOINT_TARGET]
!> Prints "model <stat> <errmsg>" (and "checkpoint <stat> <errmsg>"), then "finished": the
!> program must get a status back, never abort.
program model_save_status
  use ftorch
  implicit none
  character(len=512) :: model_file, target, ckpt_target
  character(len=512) :: msg
  integer :: st
  type(torch_model) :: model

  call get_command_argument(1, model_file)
  call get_command_argument(2, target)
  call get_command_argument(3, ckpt_target)
  call torch_model_load(model, model_file, torch_kCPU)
  msg = ''
  call torch_model_save(model, target, stat=st, errmsg=msg)
  write (*, '(a, i0, 1x, a)') 'model ', st, trim(msg)
  if (len_trim(ckpt_target) > 0) then
    msg = ''
    call torch_checkpoint_save(ckpt_target, model=model, stat=st, errmsg=msg)
    write (*, '(a, i0, 1x, a)') 'checkpoint ', st, trim(msg)
  end if
  call torch_delete(model)
  write (*, '(a)') 'finished'
end program model_save_status
