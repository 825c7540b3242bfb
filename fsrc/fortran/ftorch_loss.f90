!> Loss functions (torch.nn.functional), with FTorch's `reduction_type` argument.
!>
!> The loss is written to `loss_tensor` like an assignment: a tensor viewing a Fortran array
!> receives the value in that array; an unconstructed tensor becomes a new tensor.  With
!> torch_kMean (the default) or torch_kSum it is a one-element rank-1 tensor; with
!> torch_kNone it has the input's shape.
module ftorch_loss
  use, intrinsic :: iso_c_binding, only: c_double, c_int, c_ptr
  use, intrinsic :: iso_fortran_env, only: real64
  use ftorch_types, only: torch_kNone, torch_kMean, torch_kSum
  use ftorch_tensor, only: torch_tensor
  use ftorch_errors, only: ft_check
  use ftorch_cbind, only: ft_loss, ft_loss_mse, ft_loss_l1, ft_loss_smooth_l1, &
                          ft_loss_huber, ft_loss_cross_entropy, ft_loss_bce_with_logits
  implicit none
  private

  ! As in FTorch, ftorch_loss also gives the reduction constants and torch_tensor.
  public :: torch_kNone, torch_kMean, torch_kSum, torch_tensor

  public :: torch_loss_mse, torch_loss_l1, torch_loss_smooth_l1, torch_loss_huber
  public :: torch_loss_cross_entropy, torch_loss_bce_with_logits

  integer(c_int), parameter :: mse = ft_loss_mse, l1 = ft_loss_l1, smooth_l1 = ft_loss_smooth_l1, &
                               huber = ft_loss_huber, cross_entropy = ft_loss_cross_entropy, &
                               bce_with_logits = ft_loss_bce_with_logits

contains

  subroutine compute(kind, name, loss_tensor, input_tensor, target_tensor, reduction_type, param, stat, errmsg)
    integer(c_int), intent(in) :: kind
    character(len=*), intent(in) :: name
    type(torch_tensor), intent(inout) :: loss_tensor
    type(torch_tensor), intent(in) :: input_tensor, target_tensor
    integer(c_int), intent(in), optional :: reduction_type
    real(c_double), intent(in) :: param
    integer, intent(out), optional :: stat
    character(len=*), intent(inout), optional :: errmsg
    integer(c_int) :: reduction
    reduction = torch_kMean
    if (present(reduction_type)) reduction = reduction_type
    call ft_check(ft_loss(kind, input_tensor%p, target_tensor%p, reduction, param, loss_tensor%p), name, stat, errmsg)
  end subroutine compute

  !> Mean squared error.
  subroutine torch_loss_mse(loss_tensor, input_tensor, target_tensor, reduction_type, stat, errmsg)
    type(torch_tensor), intent(inout) :: loss_tensor
    !! Receives the loss (a one-element tensor, or per-element with `torch_kNone`); a tensor that
    !! views an array gets the values in that array.
    type(torch_tensor), intent(in) :: input_tensor, target_tensor
    !! The prediction and the target; shapes must match (`torch_stat_shape`), dtypes and devices
    !! too.
    integer(c_int), intent(in), optional :: reduction_type
    !! `torch_kMean` (default), `torch_kSum` or `torch_kNone`.
    integer, intent(out), optional :: stat
    !! Receives `torch_stat_ok` (0) on success, else the `torch_stat_*` code of the failure; when
    !! absent, a failure prints `ftorch: <procedure>: <cause>` and stops the program.
    character(len=*), intent(inout), optional :: errmsg
    !! Receives the description of a failure (unchanged on success); any length, truncated to fit.
    call compute(mse, 'torch_loss_mse', loss_tensor, input_tensor, target_tensor, reduction_type, 0.0_c_double, &
                 stat, errmsg)
  end subroutine torch_loss_mse

  !> Mean absolute error.
  subroutine torch_loss_l1(loss_tensor, input_tensor, target_tensor, reduction_type, stat, errmsg)
    type(torch_tensor), intent(inout) :: loss_tensor
    !! Receives the loss (a one-element tensor, or per-element with `torch_kNone`); a tensor that
    !! views an array gets the values in that array.
    type(torch_tensor), intent(in) :: input_tensor, target_tensor
    !! The prediction and the target; shapes must match (`torch_stat_shape`), dtypes and devices
    !! too.
    integer(c_int), intent(in), optional :: reduction_type
    !! `torch_kMean` (default), `torch_kSum` or `torch_kNone`.
    integer, intent(out), optional :: stat
    !! Receives `torch_stat_ok` (0) on success, else the `torch_stat_*` code of the failure; when
    !! absent, a failure prints `ftorch: <procedure>: <cause>` and stops the program.
    character(len=*), intent(inout), optional :: errmsg
    !! Receives the description of a failure (unchanged on success); any length, truncated to fit.
    call compute(l1, 'torch_loss_l1', loss_tensor, input_tensor, target_tensor, reduction_type, 0.0_c_double, &
                 stat, errmsg)
  end subroutine torch_loss_l1

  !> Smooth L1 loss with threshold `beta` (default 1).
  subroutine torch_loss_smooth_l1(loss_tensor, input_tensor, target_tensor, reduction_type, beta, stat, errmsg)
    type(torch_tensor), intent(inout) :: loss_tensor
    !! Receives the loss (a one-element tensor, or per-element with `torch_kNone`); a tensor that
    !! views an array gets the values in that array.
    type(torch_tensor), intent(in) :: input_tensor, target_tensor
    !! The prediction and the target; shapes must match (`torch_stat_shape`), dtypes and devices
    !! too.
    integer(c_int), intent(in), optional :: reduction_type
    !! `torch_kMean` (default), `torch_kSum` or `torch_kNone`.
    real(real64), intent(in), optional :: beta
    !! Threshold between the quadratic and the linear part (default 1).
    integer, intent(out), optional :: stat
    !! Receives `torch_stat_ok` (0) on success, else the `torch_stat_*` code of the failure; when
    !! absent, a failure prints `ftorch: <procedure>: <cause>` and stops the program.
    character(len=*), intent(inout), optional :: errmsg
    !! Receives the description of a failure (unchanged on success); any length, truncated to fit.
    real(c_double) :: b
    b = 1.0_c_double
    if (present(beta)) b = beta
    call compute(smooth_l1, 'torch_loss_smooth_l1', loss_tensor, input_tensor, target_tensor, reduction_type, b, &
                 stat, errmsg)
  end subroutine torch_loss_smooth_l1

  !> Huber loss with threshold `delta` (default 1).
  subroutine torch_loss_huber(loss_tensor, input_tensor, target_tensor, reduction_type, delta, stat, errmsg)
    type(torch_tensor), intent(inout) :: loss_tensor
    !! Receives the loss (a one-element tensor, or per-element with `torch_kNone`); a tensor that
    !! views an array gets the values in that array.
    type(torch_tensor), intent(in) :: input_tensor, target_tensor
    !! The prediction and the target; shapes must match (`torch_stat_shape`), dtypes and devices
    !! too.
    integer(c_int), intent(in), optional :: reduction_type
    !! `torch_kMean` (default), `torch_kSum` or `torch_kNone`.
    real(real64), intent(in), optional :: delta
    !! Threshold between the quadratic and the linear part (default 1).
    integer, intent(out), optional :: stat
    !! Receives `torch_stat_ok` (0) on success, else the `torch_stat_*` code of the failure; when
    !! absent, a failure prints `ftorch: <procedure>: <cause>` and stops the program.
    character(len=*), intent(inout), optional :: errmsg
    !! Receives the description of a failure (unchanged on success); any length, truncated to fit.
    real(c_double) :: d
    d = 1.0_c_double
    if (present(delta)) d = delta
    call compute(huber, 'torch_loss_huber', loss_tensor, input_tensor, target_tensor, reduction_type, d, &
                 stat, errmsg)
  end subroutine torch_loss_huber

  !> Cross-entropy of logits `input_tensor` (batch, classes, ...) against class indices
  !> (an int64 tensor without the class dimension) or class probabilities (input's shape).
  subroutine torch_loss_cross_entropy(loss_tensor, input_tensor, target_tensor, reduction_type, label_smoothing, &
                                      stat, errmsg)
    type(torch_tensor), intent(inout) :: loss_tensor
    !! Receives the loss (a one-element tensor, or per-element with `torch_kNone`); a tensor that
    !! views an array gets the values in that array.
    type(torch_tensor), intent(in) :: input_tensor, target_tensor
    !! Logits (batch, classes, ...) and targets: class indices (an int64 tensor without the class
    !! dimension) or class probabilities (the logits' shape).
    integer(c_int), intent(in), optional :: reduction_type
    !! `torch_kMean` (default), `torch_kSum` or `torch_kNone`.
    real(real64), intent(in), optional :: label_smoothing
    !! Amount of label smoothing in [0, 1] (default 0).
    integer, intent(out), optional :: stat
    !! Receives `torch_stat_ok` (0) on success, else the `torch_stat_*` code of the failure; when
    !! absent, a failure prints `ftorch: <procedure>: <cause>` and stops the program.
    character(len=*), intent(inout), optional :: errmsg
    !! Receives the description of a failure (unchanged on success); any length, truncated to fit.
    real(c_double) :: smoothing
    smoothing = 0.0_c_double
    if (present(label_smoothing)) smoothing = label_smoothing
    call compute(cross_entropy, 'torch_loss_cross_entropy', loss_tensor, input_tensor, target_tensor, &
                 reduction_type, smoothing, stat, errmsg)
  end subroutine torch_loss_cross_entropy

  !> Binary cross-entropy of logits against targets in [0, 1].
  subroutine torch_loss_bce_with_logits(loss_tensor, input_tensor, target_tensor, reduction_type, stat, errmsg)
    type(torch_tensor), intent(inout) :: loss_tensor
    !! Receives the loss (a one-element tensor, or per-element with `torch_kNone`); a tensor that
    !! views an array gets the values in that array.
    type(torch_tensor), intent(in) :: input_tensor, target_tensor
    !! Logits and targets in [0, 1], of the same shape (`torch_stat_shape` otherwise).
    integer(c_int), intent(in), optional :: reduction_type
    !! `torch_kMean` (default), `torch_kSum` or `torch_kNone`.
    integer, intent(out), optional :: stat
    !! Receives `torch_stat_ok` (0) on success, else the `torch_stat_*` code of the failure; when
    !! absent, a failure prints `ftorch: <procedure>: <cause>` and stops the program.
    character(len=*), intent(inout), optional :: errmsg
    !! Receives the description of a failure (unchanged on success); any length, truncated to fit.
    call compute(bce_with_logits, 'torch_loss_bce_with_logits', loss_tensor, input_tensor, target_tensor, &
                 reduction_type, 0.0_c_double, stat, errmsg)
  end subroutine torch_loss_bce_with_logits

end module ftorch_loss
