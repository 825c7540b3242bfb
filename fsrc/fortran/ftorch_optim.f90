!> Optimisers (the algorithms and defaults of torch.optim), learning-rate schedulers and
!> gradient clipping.
!>
!>     call torch_optim_Adam(optim, parameters, learning_rate=1.0e-3_real64)
!>     call torch_lr_scheduler_cosine_annealing(scheduler, optim, t_max=100)
!>     do step = 1, n
!>       call optim%zero_grad()
!>       ... forward, loss, torch_tensor_backward(loss) ...
!>       call torch_clip_grad_norm(parameters, max_norm=1.0_real64)
!>       call optim%step()
!>       call scheduler%step()
!>     end do
module ftorch_optim
  use, intrinsic :: iso_c_binding, only: c_associated, c_double, c_int, c_int64_t, c_null_ptr, c_ptr
  use, intrinsic :: iso_fortran_env, only: int64, real64
  use ftorch_tensor, only: torch_tensor
  use ftorch_errors, only: ft_check, ft_raise
  use ftorch_cbind, only: optim_options => ft_optim_options, ft_optim_defaults, ft_optim_new, &
                          ft_optim_delete, ft_optim_release, ft_optim_step, ft_optim_zero_grad, &
                          ft_optim_get_lr, ft_optim_set_lr, ft_scheduler_new, ft_scheduler_delete, &
                          ft_scheduler_release, ft_scheduler_step, ft_scheduler_get_last_lr, &
                          ft_clip_grad_norm, ft_clip_grad_value, ft_optim_sgd, ft_optim_adam, &
                          ft_optim_adamw, ft_optim_rmsprop, ft_optim_adagrad, ft_sched_step, &
                          ft_sched_exponential, ft_sched_cosine_annealing
  implicit none
  private

  ! As in FTorch, ftorch_optim also gives torch_tensor.
  public :: torch_tensor

  public :: torch_optim, torch_optim_SGD, torch_optim_Adam, torch_optim_AdamW, torch_optim_RMSprop
  public :: torch_optim_Adagrad, torch_optim_delete, torch_optim_step, torch_optim_zero_grad
  public :: torch_optim_get_lr, torch_optim_set_lr
  public :: torch_lr_scheduler, torch_lr_scheduler_step, torch_lr_scheduler_exponential
  public :: torch_lr_scheduler_cosine_annealing, torch_lr_scheduler_delete
  public :: torch_clip_grad_norm, torch_clip_grad_value

  !> An optimiser over a set of parameter tensors.
  type :: torch_optim
    type(c_ptr) :: p = c_null_ptr  !! library handle
  contains
    procedure :: step => torch_optim_step
    !! `call optim%step()`: see `torch_optim_step`.
    procedure :: zero_grad => torch_optim_zero_grad
    !! `call optim%zero_grad()`: see `torch_optim_zero_grad`.
    procedure :: get_lr => torch_optim_get_lr
    !! `optim%get_lr()`: see `torch_optim_get_lr`.
    procedure :: set_lr => torch_optim_set_lr
    !! `call optim%set_lr(lr)`: see `torch_optim_set_lr`.
    final :: torch_optim_finalise
  end type torch_optim

  !> A learning-rate scheduler attached to an optimiser.
  type :: torch_lr_scheduler
    type(c_ptr) :: p = c_null_ptr  !! library handle
  contains
    procedure :: step => torch_lr_scheduler_advance
    !! `call scheduler%step()`: advance one epoch and set the optimiser's learning rate.
    procedure :: get_last_lr => torch_lr_scheduler_get_last_lr
    !! `scheduler%get_last_lr()`: the learning rate the last step set.
    final :: torch_lr_scheduler_finalise
  end type torch_lr_scheduler


  integer(c_int), parameter :: sgd = ft_optim_sgd, adam = ft_optim_adam, adamw = ft_optim_adamw, &
                               rmsprop = ft_optim_rmsprop, adagrad = ft_optim_adagrad
  integer(c_int), parameter :: sched_step = ft_sched_step, sched_exponential = ft_sched_exponential, &
                               sched_cosine = ft_sched_cosine_annealing

contains

  pure function handles(tensors) result(p)
    type(torch_tensor), intent(in) :: tensors(:)
    type(c_ptr) :: p(size(tensors))
    integer :: i
    do i = 1, size(tensors)
      p(i) = tensors(i)%p
    end do
  end function handles

  pure integer(c_int) function c_flag(value, default)
    logical, intent(in), optional :: value
    logical, intent(in) :: default
    c_flag = merge(1_c_int, 0_c_int, default)
    if (present(value)) c_flag = merge(1_c_int, 0_c_int, value)
  end function c_flag

  !> `value` if present, else `default` (the optional real arguments' defaults).
  pure real(c_double) function or_default(value, default)
    real(real64), intent(in), optional :: value
    real(c_double), intent(in) :: default
    or_default = default
    if (present(value)) or_default = value
  end function or_default

  ! The handle plumbing of optimisers and schedulers alike: `release` and `delete` are the
  ! `ft_optim_*` or `ft_scheduler_*` functions of the C ABI (same interface).

  !> Give up the handle `p` (if any) with `release`.
  subroutine release_handle(release, p)
    procedure(ft_optim_release) :: release
    type(c_ptr), intent(inout) :: p
    integer(c_int) :: ignored
    if (c_associated(p)) ignored = release(p)
    p = c_null_ptr
  end subroutine release_handle

  !> After a constructor call that returned `status`: on success, `p` (released first) takes
  !> the new `handle`; the status is reported under `name`.
  subroutine adopt(release, p, status, handle, name, stat, errmsg)
    procedure(ft_optim_release) :: release
    type(c_ptr), intent(inout) :: p
    integer(c_int), intent(in) :: status
    type(c_ptr), intent(in) :: handle
    character(len=*), intent(in) :: name
    integer, intent(out), optional :: stat
    character(len=*), intent(inout), optional :: errmsg
    if (status == 0) then
      call release_handle(release, p)
      p = handle
    end if
    call ft_check(status, name, stat, errmsg)
  end subroutine adopt

  !> Delete the handle `p` with `delete`, forget it and report the status under `name`.
  subroutine delete_handle(delete, p, name, stat, errmsg)
    procedure(ft_optim_delete) :: delete
    type(c_ptr), intent(inout) :: p
    character(len=*), intent(in) :: name
    integer, intent(out), optional :: stat
    character(len=*), intent(inout), optional :: errmsg
    integer(c_int) :: status
    status = delete(p)
    p = c_null_ptr
    call ft_check(status, name, stat, errmsg)
  end subroutine delete_handle

  !> The learning rate read by `get` from the handle `p`; a failure is raised under `name`.
  function current_lr(get, p, name) result(lr)
    procedure(ft_optim_get_lr) :: get
    type(c_ptr), intent(in) :: p
    character(len=*), intent(in) :: name
    real(real64) :: lr
    real(c_double) :: value
    integer(c_int) :: status
    value = -1
    status = get(p, value)
    if (status /= 0) call ft_raise(status, name)
    lr = value
  end function current_lr

  subroutine create(kind, name, optim, parameters, options, stat, errmsg)
    integer(c_int), intent(in) :: kind
    character(len=*), intent(in) :: name
    type(torch_optim), intent(inout) :: optim
    type(torch_tensor), intent(in) :: parameters(:)
    type(optim_options), intent(in) :: options
    integer, intent(out), optional :: stat
    character(len=*), intent(inout), optional :: errmsg
    type(c_ptr) :: handle
    integer(c_int) :: status
    status = ft_optim_new(kind, handles(parameters), size(parameters, kind=c_int), options, handle)
    call adopt(ft_optim_release, optim%p, status, handle, name, stat, errmsg)
  end subroutine create

  subroutine defaults(kind, options)
    integer(c_int), intent(in) :: kind
    type(optim_options), intent(out) :: options
    integer(c_int) :: status
    status = ft_optim_defaults(kind, options)
  end subroutine defaults

  !> Stochastic gradient descent (torch.optim.SGD).
  subroutine torch_optim_SGD(optim, parameters, learning_rate, momentum, weight_decay, dampening, nesterov, &
                             maximize, stat, errmsg)
    type(torch_optim), intent(inout) :: optim
    !! The optimiser to construct; one it already holds is released first.
    type(torch_tensor), intent(in) :: parameters(:)
    !! The parameter tensors (from `torch_model_parameters`, or leaves with `requires_grad=.true.`).
    real(real64), intent(in), optional :: learning_rate, momentum, weight_decay, dampening
    !! As `torch.optim.SGD`'s `lr` (default 1e-3), `momentum`, `weight_decay` and `dampening`
    !! (default 0 each); `torch_stat_invalid_argument` when negative.
    logical, intent(in), optional :: nesterov, maximize
    !! Nesterov momentum (needs momentum > 0 and dampening 0), and maximising instead of minimising
    !! (defaults `.false.`).
    integer, intent(out), optional :: stat
    !! Receives `torch_stat_ok` (0) on success, else the `torch_stat_*` code of the failure; when
    !! absent, a failure prints `ftorch: <procedure>: <cause>` and stops the program.
    character(len=*), intent(inout), optional :: errmsg
    !! Receives the description of a failure (unchanged on success); any length, truncated to fit.
    type(optim_options) :: o
    call defaults(sgd, o)
    if (present(learning_rate)) o%lr = learning_rate
    if (present(momentum)) o%momentum = momentum
    if (present(weight_decay)) o%weight_decay = weight_decay
    if (present(dampening)) o%dampening = dampening
    o%nesterov = c_flag(nesterov, .false.)
    o%maximize = c_flag(maximize, .false.)
    call create(sgd, 'torch_optim_SGD', optim, parameters, o, stat, errmsg)
  end subroutine torch_optim_SGD

  !> Adam (torch.optim.Adam); weight decay is L2 regularisation added to the gradient.
  subroutine torch_optim_Adam(optim, parameters, learning_rate, beta_1, beta_2, eps, weight_decay, amsgrad, &
                              maximize, stat, errmsg)
    type(torch_optim), intent(inout) :: optim
    !! The optimiser to construct; one it already holds is released first.
    type(torch_tensor), intent(in) :: parameters(:)
    !! The parameter tensors (from `torch_model_parameters`, or leaves with `requires_grad=.true.`).
    real(real64), intent(in), optional :: learning_rate, beta_1, beta_2, eps, weight_decay
    !! As `torch.optim.Adam`'s `lr` (default 1e-3), `betas` (0.9, 0.999), `eps` (1e-8) and
    !! `weight_decay` (0); `torch_stat_invalid_argument` when out of range.
    logical, intent(in), optional :: amsgrad, maximize
    !! The AMSGrad variant, and maximising instead of minimising (defaults `.false.`).
    integer, intent(out), optional :: stat
    !! Receives `torch_stat_ok` (0) on success, else the `torch_stat_*` code of the failure; when
    !! absent, a failure prints `ftorch: <procedure>: <cause>` and stops the program.
    character(len=*), intent(inout), optional :: errmsg
    !! Receives the description of a failure (unchanged on success); any length, truncated to fit.
    type(optim_options) :: o
    call defaults(adam, o)
    call adam_options(o, learning_rate, beta_1, beta_2, eps, weight_decay, amsgrad, maximize)
    call create(adam, 'torch_optim_Adam', optim, parameters, o, stat, errmsg)
  end subroutine torch_optim_Adam

  !> AdamW (torch.optim.AdamW): decoupled weight decay, default 0.01.
  subroutine torch_optim_AdamW(optim, parameters, learning_rate, beta_1, beta_2, eps, weight_decay, amsgrad, &
                               maximize, stat, errmsg)
    type(torch_optim), intent(inout) :: optim
    !! The optimiser to construct; one it already holds is released first.
    type(torch_tensor), intent(in) :: parameters(:)
    !! The parameter tensors (from `torch_model_parameters`, or leaves with `requires_grad=.true.`).
    real(real64), intent(in), optional :: learning_rate, beta_1, beta_2, eps, weight_decay
    !! As `torch.optim.AdamW`'s `lr` (default 1e-3), `betas` (0.9, 0.999), `eps` (1e-8) and
    !! `weight_decay` (1e-2); `torch_stat_invalid_argument` when out of range.
    logical, intent(in), optional :: amsgrad, maximize
    !! The AMSGrad variant, and maximising instead of minimising (defaults `.false.`).
    integer, intent(out), optional :: stat
    !! Receives `torch_stat_ok` (0) on success, else the `torch_stat_*` code of the failure; when
    !! absent, a failure prints `ftorch: <procedure>: <cause>` and stops the program.
    character(len=*), intent(inout), optional :: errmsg
    !! Receives the description of a failure (unchanged on success); any length, truncated to fit.
    type(optim_options) :: o
    call defaults(adamw, o)
    call adam_options(o, learning_rate, beta_1, beta_2, eps, weight_decay, amsgrad, maximize)
    call create(adamw, 'torch_optim_AdamW', optim, parameters, o, stat, errmsg)
  end subroutine torch_optim_AdamW

  subroutine adam_options(o, learning_rate, beta_1, beta_2, eps, weight_decay, amsgrad, maximize)
    type(optim_options), intent(inout) :: o
    real(real64), intent(in), optional :: learning_rate, beta_1, beta_2, eps, weight_decay
    logical, intent(in), optional :: amsgrad, maximize
    if (present(learning_rate)) o%lr = learning_rate
    if (present(beta_1)) o%beta1 = beta_1
    if (present(beta_2)) o%beta2 = beta_2
    if (present(eps)) o%eps = eps
    if (present(weight_decay)) o%weight_decay = weight_decay
    o%amsgrad = c_flag(amsgrad, .false.)
    o%maximize = c_flag(maximize, .false.)
  end subroutine adam_options

  !> RMSprop (torch.optim.RMSprop).
  subroutine torch_optim_RMSprop(optim, parameters, learning_rate, alpha, eps, weight_decay, momentum, centered, &
                                 maximize, stat, errmsg)
    type(torch_optim), intent(inout) :: optim
    !! The optimiser to construct; one it already holds is released first.
    type(torch_tensor), intent(in) :: parameters(:)
    !! The parameter tensors (from `torch_model_parameters`, or leaves with `requires_grad=.true.`).
    real(real64), intent(in), optional :: learning_rate, alpha, eps, weight_decay, momentum
    !! As `torch.optim.RMSprop`'s `lr` (default 1e-2), `alpha` (0.99), `eps` (1e-8), `weight_decay`
    !! (0) and `momentum` (0); `torch_stat_invalid_argument` when out of range.
    logical, intent(in), optional :: centered, maximize
    !! Normalise by the centred second moment, and maximise instead of minimising (defaults
    !! `.false.`).
    integer, intent(out), optional :: stat
    !! Receives `torch_stat_ok` (0) on success, else the `torch_stat_*` code of the failure; when
    !! absent, a failure prints `ftorch: <procedure>: <cause>` and stops the program.
    character(len=*), intent(inout), optional :: errmsg
    !! Receives the description of a failure (unchanged on success); any length, truncated to fit.
    type(optim_options) :: o
    call defaults(rmsprop, o)
    if (present(learning_rate)) o%lr = learning_rate
    if (present(alpha)) o%alpha = alpha
    if (present(eps)) o%eps = eps
    if (present(weight_decay)) o%weight_decay = weight_decay
    if (present(momentum)) o%momentum = momentum
    o%centered = c_flag(centered, .false.)
    o%maximize = c_flag(maximize, .false.)
    call create(rmsprop, 'torch_optim_RMSprop', optim, parameters, o, stat, errmsg)
  end subroutine torch_optim_RMSprop

  !> Adagrad (torch.optim.Adagrad).
  subroutine torch_optim_Adagrad(optim, parameters, learning_rate, lr_decay, weight_decay, &
                                 initial_accumulator_value, eps, maximize, stat, errmsg)
    type(torch_optim), intent(inout) :: optim
    !! The optimiser to construct; one it already holds is released first.
    type(torch_tensor), intent(in) :: parameters(:)
    !! The parameter tensors (from `torch_model_parameters`, or leaves with `requires_grad=.true.`).
    real(real64), intent(in), optional :: learning_rate, lr_decay, weight_decay, initial_accumulator_value, eps
    !! As `torch.optim.Adagrad`'s `lr` (default 1e-2), `lr_decay` (0), `weight_decay` (0),
    !! `initial_accumulator_value` (0) and `eps` (1e-10); `torch_stat_invalid_argument` when out of
    !! range.
    logical, intent(in), optional :: maximize
    !! Maximise the objective instead of minimising it (default `.false.`).
    integer, intent(out), optional :: stat
    !! Receives `torch_stat_ok` (0) on success, else the `torch_stat_*` code of the failure; when
    !! absent, a failure prints `ftorch: <procedure>: <cause>` and stops the program.
    character(len=*), intent(inout), optional :: errmsg
    !! Receives the description of a failure (unchanged on success); any length, truncated to fit.
    type(optim_options) :: o
    call defaults(adagrad, o)
    if (present(learning_rate)) o%lr = learning_rate
    if (present(lr_decay)) o%lr_decay = lr_decay
    if (present(weight_decay)) o%weight_decay = weight_decay
    if (present(initial_accumulator_value)) o%initial_accumulator_value = initial_accumulator_value
    if (present(eps)) o%eps = eps
    o%maximize = c_flag(maximize, .false.)
    call create(adagrad, 'torch_optim_Adagrad', optim, parameters, o, stat, errmsg)
  end subroutine torch_optim_Adagrad

  !> One update of every parameter that has a gradient.
  subroutine torch_optim_step(optim, stat, errmsg)
    class(torch_optim), intent(in) :: optim
    !! The optimiser: updates its parameters from their gradients.
    integer, intent(out), optional :: stat
    !! Receives `torch_stat_ok` (0) on success, else the `torch_stat_*` code of the failure; when
    !! absent, a failure prints `ftorch: <procedure>: <cause>` and stops the program.
    character(len=*), intent(inout), optional :: errmsg
    !! Receives the description of a failure (unchanged on success); any length, truncated to fit.
    call ft_check(ft_optim_step(optim%p), 'torch_optim_step', stat, errmsg)
  end subroutine torch_optim_step

  !> Reset the parameters' gradients: removed (PyTorch's default) or, with
  !> `set_to_none=.false.`, zeroed in place.
  subroutine torch_optim_zero_grad(optim, set_to_none, stat, errmsg)
    class(torch_optim), intent(in) :: optim
    !! The optimiser whose parameters' gradients are reset.
    logical, intent(in), optional :: set_to_none
    !! Remove the gradients (default `.true.`, PyTorch's default) instead of zeroing them in place.
    integer, intent(out), optional :: stat
    !! Receives `torch_stat_ok` (0) on success, else the `torch_stat_*` code of the failure; when
    !! absent, a failure prints `ftorch: <procedure>: <cause>` and stops the program.
    character(len=*), intent(inout), optional :: errmsg
    !! Receives the description of a failure (unchanged on success); any length, truncated to fit.
    call ft_check(ft_optim_zero_grad(optim%p, c_flag(set_to_none, .true.)), 'torch_optim_zero_grad', stat, errmsg)
  end subroutine torch_optim_zero_grad

  !> The optimiser's current learning rate.  A failure (an unconstructed optimiser) stops
  !> the program, or is recorded after `torch_set_stop_on_error(.false.)`.
  function torch_optim_get_lr(optim) result(lr)
    class(torch_optim), intent(in) :: optim
    !! The optimiser to query.
    real(real64) :: lr
    lr = current_lr(ft_optim_get_lr, optim%p, 'torch_optim_get_lr')
  end function torch_optim_get_lr

  !> Set the learning rate (for a schedule computed by the caller).
  subroutine torch_optim_set_lr(optim, lr, stat, errmsg)
    class(torch_optim), intent(in) :: optim
    !! The optimiser whose learning rate is set.
    real(real64), intent(in) :: lr
    !! The new learning rate (non-negative; `torch_stat_invalid_argument` otherwise).
    integer, intent(out), optional :: stat
    !! Receives `torch_stat_ok` (0) on success, else the `torch_stat_*` code of the failure; when
    !! absent, a failure prints `ftorch: <procedure>: <cause>` and stops the program.
    character(len=*), intent(inout), optional :: errmsg
    !! Receives the description of a failure (unchanged on success); any length, truncated to fit.
    call ft_check(ft_optim_set_lr(optim%p, real(lr, c_double)), 'torch_optim_set_lr', stat, errmsg)
  end subroutine torch_optim_set_lr

  !> Release an optimiser (elemental: also an array of them).  Its parameters are not affected.
  impure elemental subroutine torch_optim_delete(optim, stat, errmsg)
    type(torch_optim), intent(inout) :: optim
    !! The optimiser (or array of them) to release; an unconstructed one is left alone.
    integer, intent(out), optional :: stat
    !! Receives `torch_stat_ok` (0) on success, else the `torch_stat_*` code of the failure; when
    !! absent, a failure prints `ftorch: <procedure>: <cause>` and stops the program.
    character(len=*), intent(inout), optional :: errmsg
    !! Receives the description of a failure (unchanged on success); any length, truncated to fit.
    call delete_handle(ft_optim_delete, optim%p, 'torch_optim_delete', stat, errmsg)
  end subroutine torch_optim_delete

  impure elemental subroutine torch_optim_finalise(optim)
    type(torch_optim), intent(inout) :: optim
    call release_handle(ft_optim_release, optim%p)
  end subroutine torch_optim_finalise

  ! ======================================================================================
  ! Learning-rate schedulers (torch.optim.lr_scheduler)
  ! ======================================================================================

  subroutine attach(kind, name, scheduler, optim, p1, p2, stat, errmsg)
    integer(c_int), intent(in) :: kind
    character(len=*), intent(in) :: name
    type(torch_lr_scheduler), intent(inout) :: scheduler
    type(torch_optim), intent(in) :: optim
    real(c_double), intent(in) :: p1, p2
    integer, intent(out), optional :: stat
    character(len=*), intent(inout), optional :: errmsg
    type(c_ptr) :: handle
    integer(c_int) :: status
    status = ft_scheduler_new(kind, optim%p, p1, p2, handle)
    call adopt(ft_scheduler_release, scheduler%p, status, handle, name, stat, errmsg)
  end subroutine attach

  !> StepLR: multiply the learning rate by `gamma` (default 0.1) every `step_size` steps.
  subroutine torch_lr_scheduler_step(scheduler, optim, step_size, gamma, stat, errmsg)
    type(torch_lr_scheduler), intent(inout) :: scheduler
    !! The scheduler to construct; one it already holds is released first.
    type(torch_optim), intent(in) :: optim
    !! The optimiser whose learning rate the scheduler sets.
    integer, intent(in) :: step_size
    !! Epochs between two decays (positive; `torch_stat_invalid_argument` otherwise).
    real(real64), intent(in), optional :: gamma
    !! Factor of each decay (default 0.1).
    integer, intent(out), optional :: stat
    !! Receives `torch_stat_ok` (0) on success, else the `torch_stat_*` code of the failure; when
    !! absent, a failure prints `ftorch: <procedure>: <cause>` and stops the program.
    character(len=*), intent(inout), optional :: errmsg
    !! Receives the description of a failure (unchanged on success); any length, truncated to fit.
    call attach(sched_step, 'torch_lr_scheduler_step', scheduler, optim, real(step_size, c_double), &
                or_default(gamma, 0.1_c_double), stat, errmsg)
  end subroutine torch_lr_scheduler_step

  !> ExponentialLR: multiply the learning rate by `gamma` every step.
  subroutine torch_lr_scheduler_exponential(scheduler, optim, gamma, stat, errmsg)
    type(torch_lr_scheduler), intent(inout) :: scheduler
    !! The scheduler to construct; one it already holds is released first.
    type(torch_optim), intent(in) :: optim
    !! The optimiser whose learning rate the scheduler sets.
    real(real64), intent(in) :: gamma
    !! Factor applied at every epoch.
    integer, intent(out), optional :: stat
    !! Receives `torch_stat_ok` (0) on success, else the `torch_stat_*` code of the failure; when
    !! absent, a failure prints `ftorch: <procedure>: <cause>` and stops the program.
    character(len=*), intent(inout), optional :: errmsg
    !! Receives the description of a failure (unchanged on success); any length, truncated to fit.
    call attach(sched_exponential, 'torch_lr_scheduler_exponential', scheduler, optim, 0.0_c_double, &
                real(gamma, c_double), stat, errmsg)
  end subroutine torch_lr_scheduler_exponential

  !> CosineAnnealingLR: anneal from the initial rate to `eta_min` (default 0) over `t_max` steps.
  subroutine torch_lr_scheduler_cosine_annealing(scheduler, optim, t_max, eta_min, stat, errmsg)
    type(torch_lr_scheduler), intent(inout) :: scheduler
    !! The scheduler to construct; one it already holds is released first.
    type(torch_optim), intent(in) :: optim
    !! The optimiser whose learning rate the scheduler sets.
    integer, intent(in) :: t_max
    !! Number of epochs of the half cosine period (positive; `torch_stat_invalid_argument`
    !! otherwise).
    real(real64), intent(in), optional :: eta_min
    !! Lowest learning rate (default 0).
    integer, intent(out), optional :: stat
    !! Receives `torch_stat_ok` (0) on success, else the `torch_stat_*` code of the failure; when
    !! absent, a failure prints `ftorch: <procedure>: <cause>` and stops the program.
    character(len=*), intent(inout), optional :: errmsg
    !! Receives the description of a failure (unchanged on success); any length, truncated to fit.
    call attach(sched_cosine, 'torch_lr_scheduler_cosine_annealing', scheduler, optim, real(t_max, c_double), &
                or_default(eta_min, 0.0_c_double), stat, errmsg)
  end subroutine torch_lr_scheduler_cosine_annealing

  !> Advance the schedule by one step (call after the optimiser's step).
  subroutine torch_lr_scheduler_advance(scheduler, stat, errmsg)
    class(torch_lr_scheduler), intent(in) :: scheduler
    integer, intent(out), optional :: stat
    character(len=*), intent(inout), optional :: errmsg
    call ft_check(ft_scheduler_step(scheduler%p), 'torch_lr_scheduler%step', stat, errmsg)
  end subroutine torch_lr_scheduler_advance

  function torch_lr_scheduler_get_last_lr(scheduler) result(lr)
    class(torch_lr_scheduler), intent(in) :: scheduler
    real(real64) :: lr
    lr = current_lr(ft_scheduler_get_last_lr, scheduler%p, 'torch_lr_scheduler%get_last_lr')
  end function torch_lr_scheduler_get_last_lr

  !> Release a learning-rate scheduler (elemental: also an array of them).
  impure elemental subroutine torch_lr_scheduler_delete(scheduler, stat, errmsg)
    type(torch_lr_scheduler), intent(inout) :: scheduler
    !! The scheduler (or array of them) to release; an unconstructed one is left alone.
    integer, intent(out), optional :: stat
    !! Receives `torch_stat_ok` (0) on success, else the `torch_stat_*` code of the failure; when
    !! absent, a failure prints `ftorch: <procedure>: <cause>` and stops the program.
    character(len=*), intent(inout), optional :: errmsg
    !! Receives the description of a failure (unchanged on success); any length, truncated to fit.
    call delete_handle(ft_scheduler_delete, scheduler%p, 'torch_lr_scheduler_delete', stat, errmsg)
  end subroutine torch_lr_scheduler_delete

  impure elemental subroutine torch_lr_scheduler_finalise(scheduler)
    type(torch_lr_scheduler), intent(inout) :: scheduler
    call release_handle(ft_scheduler_release, scheduler%p)
  end subroutine torch_lr_scheduler_finalise

  ! ======================================================================================
  ! Gradient clipping (torch.nn.utils)
  ! ======================================================================================

  !> Scale the gradients so that their joint `norm_type`-norm (default 2; <= 0 for the
  !> maximum norm) is at most `max_norm`.  `total_norm` receives the norm before clipping.
  subroutine torch_clip_grad_norm(parameters, max_norm, norm_type, total_norm, stat, errmsg)
    type(torch_tensor), intent(in) :: parameters(:)
    !! The parameters whose gradients are scaled in place.
    real(real64), intent(in) :: max_norm
    !! Largest allowed norm of all gradients together.
    real(real64), intent(in), optional :: norm_type
    !! Order of the norm (default 2; zero or negative for the maximum norm).
    real(real64), intent(out), optional :: total_norm
    !! Receives the norm of the gradients before clipping.
    integer, intent(out), optional :: stat
    !! Receives `torch_stat_ok` (0) on success, else the `torch_stat_*` code of the failure; when
    !! absent, a failure prints `ftorch: <procedure>: <cause>` and stops the program.
    character(len=*), intent(inout), optional :: errmsg
    !! Receives the description of a failure (unchanged on success); any length, truncated to fit.
    real(c_double) :: norm
    norm = 0
    call ft_check(ft_clip_grad_norm(handles(parameters), size(parameters, kind=c_int), real(max_norm, c_double), &
                                    or_default(norm_type, 2.0_c_double), norm), 'torch_clip_grad_norm', stat, errmsg)
    if (present(total_norm)) total_norm = norm
  end subroutine torch_clip_grad_norm

  !> Clamp every gradient element to [-clip_value, clip_value].
  subroutine torch_clip_grad_value(parameters, clip_value, stat, errmsg)
    type(torch_tensor), intent(in) :: parameters(:)
    !! The parameters whose gradients are clipped in place.
    real(real64), intent(in) :: clip_value
    !! Every gradient element is clipped to [-clip_value, clip_value].
    integer, intent(out), optional :: stat
    !! Receives `torch_stat_ok` (0) on success, else the `torch_stat_*` code of the failure; when
    !! absent, a failure prints `ftorch: <procedure>: <cause>` and stops the program.
    character(len=*), intent(inout), optional :: errmsg
    !! Receives the description of a failure (unchanged on success); any length, truncated to fit.
    call ft_check(ft_clip_grad_value(handles(parameters), size(parameters, kind=c_int), real(clip_value, c_double)), &
                  'torch_clip_grad_value', stat, errmsg)
  end subroutine torch_clip_grad_value

end module ftorch_optim
