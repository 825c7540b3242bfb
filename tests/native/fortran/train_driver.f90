!> Runs training cases listed in a manifest and writes, per case, the loss at every step
!> and the final parameters.  The model is element-wise so that it needs only the tensor
!> operators: logits = x * w + b, with w and b broadcast over the batch.
!>
!> Manifest line (list-directed):
!>   dtype loss reduction loss_param optim lr momentum dampening weight_decay nesterov
!>   beta1 beta2 eps amsgrad alpha centered lr_decay initial_accumulator_value
!>   scheduler sched_p1 sched_p2 clip clip_value steps batch features infile outfile
!> dtype: 'real32'|'real64'; loss: mse|l1|smooth_l1|huber|cross_entropy|cross_entropy_prob|bce
!> optim: sgd|adam|adamw|rmsprop|adagrad; scheduler: none|step|exponential|cosine;
!> clip: none|norm|value.  infile holds x(batch,features), y, w0(features), b0(features)
!> in the dtype (y: int64 class indices for cross_entropy).
program train_driver
  use, intrinsic :: iso_fortran_env, only: int64, real32, real64
  use ftorch
  implicit none
  character(len=32) :: dtype, loss, optim, scheduler, clip
  character(len=512) :: infile, outfile, manifest
  real(real64) :: loss_param, lr, momentum, dampening, weight_decay, beta1, beta2, eps, alpha, lr_decay
  real(real64) :: initial_acc, sched_p1, sched_p2, clip_value
  logical :: nesterov, amsgrad, centered
  integer :: reduction, steps, batch, features, u, ios

  call get_command_argument(1, manifest)
  open (newunit=u, file=trim(manifest), status='old', action='read')
  do
    read (u, *, iostat=ios) dtype, loss, reduction, loss_param, optim, lr, momentum, dampening, weight_decay, &
      nesterov, beta1, beta2, eps, amsgrad, alpha, centered, lr_decay, initial_acc, scheduler, sched_p1, &
      sched_p2, clip, clip_value, steps, batch, features, infile, outfile
    if (ios /= 0) exit
    if (dtype == 'real32') then
      call run32()
    else
      call run64()
    end if
  end do
  close (u)
  write (*, '(a, i0)') 'live handles at exit: ', torch_live_handles()

contains

  subroutine run32()
    real(real32), allocatable, target :: x(:, :), y(:, :), w(:), b(:), loss_value(:)
    integer(int64), allocatable, target :: labels(:)
    allocate (x(batch, features), y(batch, features), w(features), b(features), labels(batch))
    call read_inputs32(x, y, w, b, labels)
    allocate (loss_value(1))
    call train(torch_kFloat32, x32=x, y32=y, w32=w, b32=b, labels=labels, loss32=loss_value)
  end subroutine run32

  subroutine run64()
    real(real64), allocatable, target :: x(:, :), y(:, :), w(:), b(:), loss_value(:)
    integer(int64), allocatable, target :: labels(:)
    allocate (x(batch, features), y(batch, features), w(features), b(features), labels(batch))
    call read_inputs64(x, y, w, b, labels)
    allocate (loss_value(1))
    call train(torch_kFloat64, x64=x, y64=y, w64=w, b64=b, labels=labels, loss64=loss_value)
  end subroutine run64

  subroutine read_inputs32(x, y, w, b, labels)
    real(real32), intent(out) :: x(:, :), y(:, :), w(:), b(:)
    integer(int64), intent(out) :: labels(:)
    integer :: v
    open (newunit=v, file=trim(infile), access='stream', form='unformatted', status='old')
    if (loss == 'cross_entropy') then
      read (v) x, labels, w, b
    else
      read (v) x, y, w, b
    end if
    close (v)
  end subroutine read_inputs32

  subroutine read_inputs64(x, y, w, b, labels)
    real(real64), intent(out) :: x(:, :), y(:, :), w(:), b(:)
    integer(int64), intent(out) :: labels(:)
    integer :: v
    open (newunit=v, file=trim(infile), access='stream', form='unformatted', status='old')
    if (loss == 'cross_entropy') then
      read (v) x, labels, w, b
    else
      read (v) x, y, w, b
    end if
    close (v)
  end subroutine read_inputs64

  !> The training loop, shared by both kinds (arrays arrive through optional arguments).
  subroutine train(dtype_code, x32, y32, w32, b32, loss32, x64, y64, w64, b64, loss64, labels)
    integer, intent(in) :: dtype_code
    real(real32), intent(inout), target, optional :: x32(:, :), y32(:, :), w32(:), b32(:), loss32(:)
    real(real64), intent(inout), target, optional :: x64(:, :), y64(:, :), w64(:), b64(:), loss64(:)
    integer(int64), intent(inout), target :: labels(:)
    type(torch_tensor) :: tx, ty, params(2), tloss, logits, tvalue
    type(torch_optim) :: opt
    type(torch_lr_scheduler) :: sched
    real(real64), allocatable :: history(:, :)
    real(real64) :: lrs(steps), norms(steps)
    integer :: k, v, n_loss

    ! A reduction-free loss is recorded through its sum.
    n_loss = 1
    allocate (history(n_loss, steps))
    ! Tensors are built over the arrays.  x: (batch, features) -> Fortran layout, so the
    ! tensor is indexed like the array.
    if (dtype_code == torch_kFloat32) then
      call torch_tensor_from_array(tx, x32, torch_kCPU)
      call torch_tensor_from_array(ty, y32, torch_kCPU)
      call torch_tensor_from_array(params(1), w32, torch_kCPU, requires_grad=.true.)
      call torch_tensor_from_array(params(2), b32, torch_kCPU, requires_grad=.true.)
      call torch_tensor_from_array(tvalue, loss32, torch_kCPU)
      if (reduction /= 0) call torch_tensor_from_array(tloss, loss32, torch_kCPU)
    else
      call torch_tensor_from_array(tx, x64, torch_kCPU)
      call torch_tensor_from_array(ty, y64, torch_kCPU)
      call torch_tensor_from_array(params(1), w64, torch_kCPU, requires_grad=.true.)
      call torch_tensor_from_array(params(2), b64, torch_kCPU, requires_grad=.true.)
      call torch_tensor_from_array(tvalue, loss64, torch_kCPU)
      if (reduction /= 0) call torch_tensor_from_array(tloss, loss64, torch_kCPU)
    end if
    if (loss == 'cross_entropy') call torch_tensor_from_array(ty, labels, torch_kCPU)

    select case (trim(optim))
    case ('sgd')
      call torch_optim_SGD(opt, params, learning_rate=lr, momentum=momentum, weight_decay=weight_decay, &
                           dampening=dampening, nesterov=nesterov)
    case ('adam')
      call torch_optim_Adam(opt, params, learning_rate=lr, beta_1=beta1, beta_2=beta2, eps=eps, &
                            weight_decay=weight_decay, amsgrad=amsgrad)
    case ('adamw')
      call torch_optim_AdamW(opt, params, learning_rate=lr, beta_1=beta1, beta_2=beta2, eps=eps, &
                             weight_decay=weight_decay, amsgrad=amsgrad)
    case ('rmsprop')
      call torch_optim_RMSprop(opt, params, learning_rate=lr, alpha=alpha, eps=eps, weight_decay=weight_decay, &
                               momentum=momentum, centered=centered)
    case ('adagrad')
      call torch_optim_Adagrad(opt, params, learning_rate=lr, lr_decay=lr_decay, weight_decay=weight_decay, &
                               initial_accumulator_value=initial_acc, eps=eps)
    end select
    select case (trim(scheduler))
    case ('step')
      call torch_lr_scheduler_step(sched, opt, step_size=nint(sched_p1), gamma=sched_p2)
    case ('exponential')
      call torch_lr_scheduler_exponential(sched, opt, gamma=sched_p2)
    case ('cosine')
      call torch_lr_scheduler_cosine_annealing(sched, opt, t_max=nint(sched_p1), eta_min=sched_p2)
    end select

    norms = 0
    do k = 1, steps
      call opt%zero_grad()
      logits = tx * params(1) + params(2)
      select case (trim(loss))
      case ('mse')
        call torch_loss_mse(tloss, logits, ty, reduction)
      case ('l1')
        call torch_loss_l1(tloss, logits, ty, reduction)
      case ('smooth_l1')
        call torch_loss_smooth_l1(tloss, logits, ty, reduction, beta=loss_param)
      case ('huber')
        call torch_loss_huber(tloss, logits, ty, reduction, delta=loss_param)
      case ('cross_entropy', 'cross_entropy_prob')
        call torch_loss_cross_entropy(tloss, logits, ty, reduction, label_smoothing=loss_param)
      case ('bce')
        call torch_loss_bce_with_logits(tloss, logits, ty, reduction)
      end select
      if (reduction == 0) call torch_tensor_sum(tvalue, tloss)
      if (dtype_code == torch_kFloat32) then
        history(:, k) = loss32
      else
        history(:, k) = loss64
      end if
      call torch_tensor_backward(tloss)
      select case (trim(clip))
      case ('norm')
        call torch_clip_grad_norm(params, clip_value, total_norm=norms(k))
      case ('value')
        call torch_clip_grad_value(params, clip_value)
      end select
      call opt%step()
      lrs(k) = opt%get_lr()
      if (trim(scheduler) /= 'none') then
        call sched%step()
        lrs(k) = sched%get_last_lr()
      end if
    end do

    open (newunit=v, file=trim(outfile), access='stream', form='unformatted', status='replace')
    if (dtype_code == torch_kFloat32) then
      write (v) history, lrs, norms, real(w32, real64), real(b32, real64)
    else
      write (v) history, lrs, norms, w64, b64
    end if
    close (v)
  end subroutine train

end program train_driver
