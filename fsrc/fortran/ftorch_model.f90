!> TorchScript models: loading, forward passes, parameters, train/eval mode and saving.
module ftorch_model
  use, intrinsic :: iso_c_binding, only: c_associated, c_char, c_int, c_null_char, c_null_ptr, c_ptr
  use, intrinsic :: iso_fortran_env, only: output_unit
  use ftorch_types, only: ftorch_int
  use ftorch_devices, only: torch_kCPU, torch_kCUDA, torch_kHIP, torch_kXPU, torch_kMPS
  use ftorch_tensor, only: torch_tensor
  use ftorch_errors, only: ft_check, ft_fits_c_int, ft_raise
  use ftorch_cbind, only: ft_model_load, ft_model_delete, ft_model_release, ft_model_forward, &
                          ft_model_num_parameters, ft_model_parameters, ft_model_set_training, &
                          ft_model_is_training, ft_model_save, ft_model_print_parameters
  implicit none
  private

  ! As in FTorch, ftorch_model also gives the device constants, ftorch_int and torch_tensor.
  public :: torch_kCPU, torch_kCUDA, torch_kHIP, torch_kXPU, torch_kMPS, ftorch_int, torch_tensor

  public :: torch_model, torch_model_load, torch_model_forward, torch_model_parameters
  public :: torch_model_num_parameters, torch_model_save, torch_model_delete
  public :: torch_model_train, torch_model_eval, torch_model_is_training, torch_model_print_parameters

  !> A TorchScript model.
  type :: torch_model
    type(c_ptr) :: p = c_null_ptr  !! library handle
  contains
    procedure :: print_parameters => torch_model_print_parameters
    !! `call model%print_parameters()`: see `torch_model_print_parameters`.
    procedure :: is_training => torch_model_is_training
    !! `model%is_training()`: see `torch_model_is_training`.
    procedure :: train => torch_model_train
    !! `call model%train()`: see `torch_model_train`.
    procedure :: eval => torch_model_eval
    !! `call model%eval()`: see `torch_model_eval`.
    final :: torch_model_finalise
  end type torch_model

contains

  pure function c_string(text) result(s)
    character(len=*), intent(in) :: text
    character(kind=c_char, len=len_trim(text) + 1) :: s
    s = trim(text)//c_null_char
  end function c_string

  !> Load a TorchScript model.  `requires_grad=.false.` freezes its parameters and
  !> `.true.` makes them all trainable; omitted, the file's setting is kept.
  subroutine torch_model_load(model, filename, device_type, device_index, requires_grad, is_training, &
                              stat, errmsg)
    type(torch_model), intent(inout) :: model
    !! The model to construct; a model it already holds is released first.
    character(len=*), intent(in) :: filename
    !! Path of a TorchScript file (`torch.jit.script(m).save(path)`); `torch_stat_io` if it cannot
    !! be read, `torch_stat_model` if it is not TorchScript.
    integer(c_int), intent(in) :: device_type
    !! The device, `torch_kCPU` or `torch_kCUDA` (`torch_stat_device_unavailable` when the device
    !! cannot be used).
    integer, intent(in), optional :: device_index
    !! Device number for `torch_kCUDA` (default 0; -1 for the CPU).
    logical, intent(in), optional :: requires_grad, is_training
    !! `requires_grad`: `.true.` makes every parameter require gradients, `.false.` freezes them
    !! all, absent keeps the file's setting. `is_training`: start in training mode (default
    !! `.false.`: evaluation mode).
    integer, intent(out), optional :: stat
    !! Receives `torch_stat_ok` (0) on success, else the `torch_stat_*` code of the failure; when
    !! absent, a failure prints `ftorch: <procedure>: <cause>` and stops the program.
    character(len=*), intent(inout), optional :: errmsg
    !! Receives the description of a failure (unchanged on success); any length, truncated to fit.
    type(c_ptr) :: handle
    integer(c_int) :: status, index, grad, training
    integer(c_int) :: ignored
    index = merge(-1_c_int, 0_c_int, device_type == torch_kCPU)
    if (present(device_index)) then
      if (.not. ft_fits_c_int(device_index, 'device_index', 'torch_model_load', stat, errmsg)) return
      index = int(device_index, c_int)
    end if
    grad = -1
    if (present(requires_grad)) grad = merge(1_c_int, 0_c_int, requires_grad)
    training = 0
    if (present(is_training)) training = merge(1_c_int, 0_c_int, is_training)
    status = ft_model_load(c_string(filename), device_type, index, grad, training, handle)
    if (status == 0) then
      if (c_associated(model%p)) ignored = ft_model_release(model%p)
      model%p = handle
    end if
    call ft_check(status, 'torch_model_load', stat, errmsg)
  end subroutine torch_model_load

  !> Run the model: outputs receive its results (a tensor viewing a Fortran array gets the
  !> values in that array; with requires_grad=.true. they also keep the autograd graph).
  subroutine torch_model_forward(model, input_tensors, output_tensors, requires_grad, stat, errmsg)
    type(torch_model), intent(in) :: model
    !! The model to run.
    type(torch_tensor), intent(in) :: input_tensors(:)
    !! The inputs of the model's `forward`, in order.
    type(torch_tensor), intent(inout) :: output_tensors(:)
    !! Receive the model's results (a tensor, or a tuple or list of tensors, one per element;
    !! `torch_stat_model` when the number differs); a tensor that views an array gets the values in
    !! that array.
    logical, intent(in), optional :: requires_grad
    !! Record the forward pass for autograd, for training (default `.false.`).
    integer, intent(out), optional :: stat
    !! Receives `torch_stat_ok` (0) on success, else the `torch_stat_*` code of the failure; when
    !! absent, a failure prints `ftorch: <procedure>: <cause>` and stops the program. Errors raised
    !! inside the model keep LibTorch's classification (`torch_stat_shape`, `torch_stat_device`,
    !! `torch_stat_torch`).
    character(len=*), intent(inout), optional :: errmsg
    !! Receives the description of a failure (unchanged on success); any length, truncated to fit.
    type(c_ptr) :: inputs(size(input_tensors)), outputs(size(output_tensors))
    integer :: i
    integer(c_int) :: grad
    do i = 1, size(input_tensors)
      inputs(i) = input_tensors(i)%p
    end do
    do i = 1, size(output_tensors)
      outputs(i) = output_tensors(i)%p
    end do
    grad = 0
    if (present(requires_grad)) grad = merge(1_c_int, 0_c_int, requires_grad)
    call ft_check(ft_model_forward(model%p, inputs, size(inputs, kind=c_int), outputs, size(outputs, kind=c_int), &
                                   grad), 'torch_model_forward', stat, errmsg)
    do i = 1, size(output_tensors)
      output_tensors(i)%p = outputs(i)
    end do
  end subroutine torch_model_forward

  !> Number of parameter tensors of the model.
  integer function torch_model_num_parameters(model) result(n)
    type(torch_model), intent(in) :: model
    !! The model to query.
    integer(c_int) :: count, status
    count = 0
    status = ft_model_num_parameters(model%p, count)
    if (status /= 0) call ft_raise(status, 'torch_model_num_parameters')
    n = int(count)
  end function torch_model_num_parameters

  !> Tensors aliasing the model's parameters (as many as it has), for optimisers.
  subroutine torch_model_parameters(model, output_tensors, stat, errmsg)
    type(torch_model), intent(in) :: model  !! the model
    type(torch_tensor), intent(inout) :: output_tensors(:)  !! receive one tensor per parameter
    integer, intent(out), optional :: stat  !! status (0 on success); without it, errors stop
    character(len=*), intent(inout), optional :: errmsg  !! the error message, when stat /= 0
    type(c_ptr) :: handles(size(output_tensors))
    integer :: i
    integer(c_int) :: status
    do i = 1, size(output_tensors)
      handles(i) = output_tensors(i)%p
    end do
    status = ft_model_parameters(model%p, handles, size(handles, kind=c_int))
    if (status == 0) then
      do i = 1, size(output_tensors)
        output_tensors(i)%p = handles(i)
      end do
    end if
    call ft_check(status, 'torch_model_parameters', stat, errmsg)
  end subroutine torch_model_parameters

  !> Save the model (TorchScript, current weights).
  subroutine torch_model_save(model, filename, stat, errmsg)
    type(torch_model), intent(in) :: model
    !! The model to save with its current weights.
    character(len=*), intent(in) :: filename
    !! Path of the TorchScript file to write (written atomically; `torch_stat_io` on failure).
    integer, intent(out), optional :: stat
    !! Receives `torch_stat_ok` (0) on success, else the `torch_stat_*` code of the failure; when
    !! absent, a failure prints `ftorch: <procedure>: <cause>` and stops the program.
    character(len=*), intent(inout), optional :: errmsg
    !! Receives the description of a failure (unchanged on success); any length, truncated to fit.
    call ft_check(ft_model_save(model%p, c_string(filename)), 'torch_model_save', stat, errmsg)
  end subroutine torch_model_save

  !> Switch to training mode (dropout, batch-norm updates).
  subroutine torch_model_train(model, stat, errmsg)
    class(torch_model), intent(in) :: model
    !! The model to switch to training mode.
    integer, intent(out), optional :: stat
    !! Receives `torch_stat_ok` (0) on success, else the `torch_stat_*` code of the failure; when
    !! absent, a failure prints `ftorch: <procedure>: <cause>` and stops the program.
    character(len=*), intent(inout), optional :: errmsg
    !! Receives the description of a failure (unchanged on success); any length, truncated to fit.
    call ft_check(ft_model_set_training(model%p, 1_c_int), 'torch_model_train', stat, errmsg)
  end subroutine torch_model_train

  !> Switch to evaluation mode.
  subroutine torch_model_eval(model, stat, errmsg)
    class(torch_model), intent(in) :: model
    !! The model to switch to evaluation mode.
    integer, intent(out), optional :: stat
    !! Receives `torch_stat_ok` (0) on success, else the `torch_stat_*` code of the failure; when
    !! absent, a failure prints `ftorch: <procedure>: <cause>` and stops the program.
    character(len=*), intent(inout), optional :: errmsg
    !! Receives the description of a failure (unchanged on success); any length, truncated to fit.
    call ft_check(ft_model_set_training(model%p, 0_c_int), 'torch_model_eval', stat, errmsg)
  end subroutine torch_model_eval

  !> Whether the model is in training mode.
  logical function torch_model_is_training(self) result(training)
    class(torch_model), intent(in) :: self  !! the model
    integer(c_int) :: flag, status
    flag = 0
    status = ft_model_is_training(self%p, flag)
    if (status /= 0) call ft_raise(status, 'torch_model_is_training')
    training = flag /= 0
  end function torch_model_is_training

  !> Print each parameter's name and values.
  subroutine torch_model_print_parameters(self, stat, errmsg)
    class(torch_model), intent(in) :: self  !! the model
    integer, intent(out), optional :: stat  !! status (0 on success); without it, errors stop
    character(len=*), intent(inout), optional :: errmsg  !! the error message, when stat /= 0
    flush (output_unit)
    call ft_check(ft_model_print_parameters(self%p), 'torch_model_print_parameters', stat, errmsg)
  end subroutine torch_model_print_parameters

  !> Release the model (parameter tensors obtained from it stay valid).
  impure elemental subroutine torch_model_delete(model, stat, errmsg)
    type(torch_model), intent(inout) :: model
    !! The model (or array of models) to release; an unconstructed model is left alone.
    integer, intent(out), optional :: stat
    !! Receives `torch_stat_ok` (0) on success, else the `torch_stat_*` code of the failure; when
    !! absent, a failure prints `ftorch: <procedure>: <cause>` and stops the program.
    character(len=*), intent(inout), optional :: errmsg
    !! Receives the description of a failure (unchanged on success); any length, truncated to fit.
    integer(c_int) :: status
    status = ft_model_delete(model%p)
    model%p = c_null_ptr
    call ft_check(status, 'torch_model_delete', stat, errmsg)
  end subroutine torch_model_delete

  impure elemental subroutine torch_model_finalise(model)
    type(torch_model), intent(inout) :: model
    integer(c_int) :: ignored
    if (c_associated(model%p)) ignored = ft_model_release(model%p)
    model%p = c_null_ptr
  end subroutine torch_model_finalise

end module ftorch_model
