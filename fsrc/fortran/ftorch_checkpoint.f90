!> Checkpoint and restart: model weights, optimiser state and scheduler state in one file.
module ftorch_checkpoint
  use, intrinsic :: iso_c_binding, only: c_char, c_int, c_null_char, c_null_ptr, c_ptr
  use ftorch_model, only: torch_model
  use ftorch_optim, only: torch_optim, torch_lr_scheduler
  use ftorch_errors, only: ft_check
  use ftorch_cbind, only: ft_checkpoint_save, ft_checkpoint_load
  implicit none
  private

  public :: torch_checkpoint_save, torch_checkpoint_load

contains

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

  !> Write the model's weights, the optimiser's state and the scheduler's state (each
  !> optional) to `filename`.
  subroutine torch_checkpoint_save(filename, model, optim, scheduler, stat, errmsg)
    character(len=*), intent(in) :: filename
    !! Path of the checkpoint to write (written atomically: an interrupted save leaves any previous
    !! file intact; `torch_stat_io` on failure).
    type(torch_model), intent(in), optional :: model
    !! The model whose weights are saved.
    type(torch_optim), intent(in), optional :: optim
    !! The optimiser whose state is saved.
    type(torch_lr_scheduler), intent(in), optional :: scheduler
    !! The scheduler whose state is saved.
    integer, intent(out), optional :: stat
    !! Receives `torch_stat_ok` (0) on success, else the `torch_stat_*` code of the failure; when
    !! absent, a failure prints `ftorch: <procedure>: <cause>` and stops the program.
    character(len=*), intent(inout), optional :: errmsg
    !! Receives the description of a failure (unchanged on success); any length, truncated to fit.
    type(c_ptr) :: m, o, s
    call handles(model, optim, scheduler, m, o, s)
    call ft_check(ft_checkpoint_save(trim(filename)//c_null_char, m, o, s), 'torch_checkpoint_save', stat, errmsg)
  end subroutine torch_checkpoint_save

  !> Restore a checkpoint into existing objects (built as when it was saved, on any device).
  !> A checkpoint of a different model, optimiser or scheduler is refused and nothing changes.
  subroutine torch_checkpoint_load(filename, model, optim, scheduler, stat, errmsg)
    character(len=*), intent(in) :: filename
    !! Path of a checkpoint written by `torch_checkpoint_save` (`torch_stat_io` if unreadable,
    !! `torch_stat_model` if it does not match the objects).
    type(torch_model), intent(in), optional :: model
    !! The model to restore (built as when the checkpoint was saved).
    type(torch_optim), intent(in), optional :: optim
    !! The optimiser to restore (over the same parameters as when saved).
    type(torch_lr_scheduler), intent(in), optional :: scheduler
    !! The scheduler to restore.
    integer, intent(out), optional :: stat
    !! Receives `torch_stat_ok` (0) on success, else the `torch_stat_*` code of the failure; when
    !! absent, a failure prints `ftorch: <procedure>: <cause>` and stops the program.
    character(len=*), intent(inout), optional :: errmsg
    !! Receives the description of a failure (unchanged on success); any length, truncated to fit.
    type(c_ptr) :: m, o, s
    call handles(model, optim, scheduler, m, o, s)
    call ft_check(ft_checkpoint_load(trim(filename)//c_null_char, m, o, s), 'torch_checkpoint_load', stat, errmsg)
  end subroutine torch_checkpoint_load

end module ftorch_checkpoint
