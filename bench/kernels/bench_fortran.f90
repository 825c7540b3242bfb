!> Benchmark kernels written with the public `ftorch` API, exactly as a user would write
!> them (`c = a * b`, `call torch_tensor_backward(...)`).  Each `bind(c)` entry point runs
!> one operation n times, so the cost of calling it from Python is negligible.
!>
!> Protocol (the same for bench_cxx.cpp; bench/variants.py drives both):
!>   bench_f_setup(size, dtype, a, b, grad_mode)  copy the inputs into Fortran arrays and
!>       build tensors viewing them; grad_mode 0: plain tensors; 1: `a` requires gradients
!>       and the graph q = a*b + a/b is built; 2: as 1, plus one backward so a has a gradient;
!>   bench_f_<case>(n)        the measured loops; they return 0 or the first failure's status;
!>   bench_f_result(what, buf) copy an output into a float64 buffer of `size` elements:
!>       0 the operator result c, 1 the tensor t built by from_array, 2 the gradient of a,
!>       3 the gradient holder's array, 4 the first-layer weight after training (C order),
!>       5 the array q_* that the tensor qv views (the view_* cases assign into it);
!>   bench_f_teardown()       release everything.
!> The training step has its own set-up, bench_f_train_setup(path, path_len, batch, n_in,
!> n_out, dtype, x, y, lr): load the TorchScript model, build Adam over its parameters and
!> copy the batch (C order, (batch, n_in) and (batch, n_out)) into Fortran arrays x(batch,
!> n_in) and y(batch, n_out), which the input and target tensors view, as in
!> examples/online_training/lorenz96_online.f90.
!> Failures do not stop the program (torch_set_stop_on_error(.false.)): the harness runs in
!> a Python process and checks the returned status.
module bench_kernels_fortran
  use, intrinsic :: iso_c_binding, only: c_char, c_double, c_f_pointer, c_int, c_int64_t, c_ptr
  use, intrinsic :: iso_fortran_env, only: real32, real64
  use ftorch, only: assignment(=), operator(+), operator(-), operator(*), operator(/), &
                    torch_kCPU, torch_kFloat32, torch_kFloat64, torch_tensor, torch_delete, &
                    torch_tensor_from_array, torch_tensor_backward, torch_tensor_get_gradient, &
                    torch_tensor_zero_grad, torch_set_num_threads, torch_set_stop_on_error, &
                    torch_get_last_error, torch_tensor_get_shape, torch_model, torch_model_load, &
                    torch_model_forward, torch_model_num_parameters, torch_model_parameters, &
                    torch_loss_mse, torch_optim, torch_optim_Adam
  implicit none
  private

  integer(c_int), parameter :: out_c = 0, out_t = 1, out_grad = 2, out_holder = 3, out_weight = 4, out_q = 5
  integer(c_int), parameter :: stat_invalid = 8

  integer(c_int) :: dtype = torch_kFloat64
  integer(c_int64_t) :: n_elem = 0
  ! The user's arrays: tensors view them (no copy).  a_*, b_*: inputs; ones_*: the external
  ! gradient; g_*: the gradient holder; o_*: where results are read back.
  ! q_*: the simulation's own array that the view_* cases assign into (through qv).
  real(real32), allocatable, target :: a_32(:), b_32(:), ones_32(:), g_32(:), o_32(:), q_32(:)
  real(real64), allocatable, target :: a_64(:), b_64(:), ones_64(:), g_64(:), o_64(:), q_64(:)
  type(torch_tensor) :: a, b, c, q, ones, g, t, o, qv

  ! The training step: the model, its parameters, the optimiser, the batch (x, y, viewed by
  ! inputs(1) and target), the forward's output and the loss; w_* receives the first
  ! layer's weight for the correctness check (through the tensor weight, which views it).
  type(torch_model) :: model
  type(torch_optim) :: optim
  type(torch_tensor), allocatable :: params(:)
  type(torch_tensor) :: inputs(1), outputs(1), target, loss, weight
  real(real32), allocatable, target :: x_32(:, :), y_32(:, :), w_32(:, :)
  real(real64), allocatable, target :: x_64(:, :), y_64(:, :), w_64(:, :)

contains

  !> 0, or the status of the first failure since the last call (and forget it).
  integer(c_int) function last_status()
    integer :: stat
    call torch_get_last_error(stat)
    last_status = int(stat, c_int)
  end function last_status

  integer(c_int) function bench_f_setup(size, dtype_code, pa, pb, grad_mode) bind(c, name='bench_f_setup')
    integer(c_int64_t), value :: size
    integer(c_int), value :: dtype_code, grad_mode
    type(c_ptr), value :: pa, pb
    real(real32), pointer :: src32(:)
    real(real64), pointer :: src64(:)
    logical :: grad

    call torch_set_stop_on_error(.false.)
    call torch_set_num_threads(1)
    call release_all()
    dtype = dtype_code
    n_elem = size
    grad = grad_mode > 0
    select case (dtype)
    case (torch_kFloat32)
      allocate (a_32(size), b_32(size), ones_32(size), g_32(size), o_32(size), q_32(size))
      call c_f_pointer(pa, src32, [size])
      a_32 = src32
      call c_f_pointer(pb, src32, [size])
      b_32 = src32
      ones_32 = 1.0_real32
      g_32 = 0.0_real32
      q_32 = 0.0_real32
      call torch_tensor_from_array(a, a_32, torch_kCPU, requires_grad=grad)
      call torch_tensor_from_array(b, b_32, torch_kCPU)
      call torch_tensor_from_array(ones, ones_32, torch_kCPU)
      call torch_tensor_from_array(g, g_32, torch_kCPU)
      call torch_tensor_from_array(t, a_32, torch_kCPU)
      call torch_tensor_from_array(o, o_32, torch_kCPU)
      call torch_tensor_from_array(qv, q_32, torch_kCPU)
    case (torch_kFloat64)
      allocate (a_64(size), b_64(size), ones_64(size), g_64(size), o_64(size), q_64(size))
      call c_f_pointer(pa, src64, [size])
      a_64 = src64
      call c_f_pointer(pb, src64, [size])
      b_64 = src64
      ones_64 = 1.0_real64
      g_64 = 0.0_real64
      q_64 = 0.0_real64
      call torch_tensor_from_array(a, a_64, torch_kCPU, requires_grad=grad)
      call torch_tensor_from_array(b, b_64, torch_kCPU)
      call torch_tensor_from_array(ones, ones_64, torch_kCPU)
      call torch_tensor_from_array(g, g_64, torch_kCPU)
      call torch_tensor_from_array(t, a_64, torch_kCPU)
      call torch_tensor_from_array(o, o_64, torch_kCPU)
      call torch_tensor_from_array(qv, q_64, torch_kCPU)
    case default
      bench_f_setup = stat_invalid
      return
    end select
    if (grad) q = a * b + a / b
    if (grad_mode > 1) call torch_tensor_backward(q, ones, retain_graph=.true.)
    bench_f_setup = last_status()
  end function bench_f_setup

  subroutine release_all()
    call torch_delete(a)
    call torch_delete(b)
    call torch_delete(c)
    call torch_delete(q)
    call torch_delete(ones)
    call torch_delete(g)
    call torch_delete(t)
    call torch_delete(o)
    call torch_delete(qv)
    if (allocated(a_32)) deallocate (a_32, b_32, ones_32, g_32, o_32, q_32)
    if (allocated(a_64)) deallocate (a_64, b_64, ones_64, g_64, o_64, q_64)
    call torch_delete(optim)
    call torch_delete(model)
    if (allocated(params)) then
      call torch_delete(params)
      deallocate (params)
    end if
    call torch_delete(inputs)
    call torch_delete(outputs)
    call torch_delete(target)
    call torch_delete(loss)
    call torch_delete(weight)
    if (allocated(x_32)) deallocate (x_32, y_32)
    if (allocated(x_64)) deallocate (x_64, y_64)
    if (allocated(w_32)) deallocate (w_32)
    if (allocated(w_64)) deallocate (w_64)
  end subroutine release_all

  integer(c_int) function bench_f_train_setup(path, path_len, batch, n_in, n_out, dtype_code, px, py, lr) &
      bind(c, name='bench_f_train_setup')
    integer(c_int), value :: path_len, batch, n_in, n_out, dtype_code
    character(kind=c_char), intent(in) :: path(path_len)
    type(c_ptr), value :: px, py
    real(c_double), value :: lr
    character(len=path_len) :: filename
    real(real32), pointer :: src32(:, :)
    real(real64), pointer :: src64(:, :)
    integer(c_int64_t), pointer :: shape(:)
    integer :: i

    call torch_set_stop_on_error(.false.)
    call torch_set_num_threads(1)
    call release_all()
    do i = 1, path_len
      filename(i:i) = path(i)
    end do
    dtype = dtype_code
    ! The batch, as a Fortran program holds it: one row per sample.
    select case (dtype)
    case (torch_kFloat32)
      allocate (x_32(batch, n_in), y_32(batch, n_out))
      call c_f_pointer(px, src32, [n_in, batch])
      x_32 = transpose(src32)
      call c_f_pointer(py, src32, [n_out, batch])
      y_32 = transpose(src32)
      call torch_tensor_from_array(inputs(1), x_32, torch_kCPU)
      call torch_tensor_from_array(target, y_32, torch_kCPU)
    case (torch_kFloat64)
      allocate (x_64(batch, n_in), y_64(batch, n_out))
      call c_f_pointer(px, src64, [n_in, batch])
      x_64 = transpose(src64)
      call c_f_pointer(py, src64, [n_out, batch])
      y_64 = transpose(src64)
      call torch_tensor_from_array(inputs(1), x_64, torch_kCPU)
      call torch_tensor_from_array(target, y_64, torch_kCPU)
    case default
      bench_f_train_setup = stat_invalid
      return
    end select

    call torch_model_load(model, filename, torch_kCPU, requires_grad=.true., is_training=.true.)
    allocate (params(torch_model_num_parameters(model)))
    call torch_model_parameters(model, params)
    call torch_optim_Adam(optim, params, learning_rate=real(lr, real64))
    bench_f_train_setup = last_status()
    if (bench_f_train_setup /= 0 .or. size(params) == 0) return

    ! The holder of the first layer's weight (read back by bench_f_result).
    shape => torch_tensor_get_shape(params(1))
    n_elem = product(shape)
    if (dtype == torch_kFloat32) then
      allocate (w_32(shape(1), shape(2)))
      call torch_tensor_from_array(weight, w_32, torch_kCPU)
    else
      allocate (w_64(shape(1), shape(2)))
      call torch_tensor_from_array(weight, w_64, torch_kCPU)
    end if
    bench_f_train_setup = last_status()
  end function bench_f_train_setup

  integer(c_int) function bench_f_teardown() bind(c, name='bench_f_teardown')
    call release_all()
    bench_f_teardown = last_status()
    call torch_set_stop_on_error(.true.)
  end function bench_f_teardown

  integer(c_int) function bench_f_result(what, buf) bind(c, name='bench_f_result')
    integer(c_int), value :: what
    real(c_double), intent(out) :: buf(n_elem)
    select case (what)
    case (out_c)
      o = c
    case (out_t)
      o = t
    case (out_grad)
      call torch_tensor_get_gradient(o, a)
    case (out_holder, out_q)
      continue
    case (out_weight)
      weight = params(1)
      if (dtype == torch_kFloat32) then
        buf = reshape(real(transpose(w_32), c_double), [n_elem])
      else
        buf = reshape(transpose(w_64), [n_elem])
      end if
      bench_f_result = last_status()
      return
    case default
      bench_f_result = stat_invalid
      return
    end select
    if (dtype == torch_kFloat32) then
      if (what == out_holder) then
        buf = real(g_32, c_double)
      else if (what == out_q) then
        buf = real(q_32, c_double)
      else
        buf = real(o_32, c_double)
      end if
    else
      if (what == out_holder) then
        buf = g_64
      else if (what == out_q) then
        buf = q_64
      else
        buf = o_64
      end if
    end if
    bench_f_result = last_status()
  end function bench_f_result

  ! ======================================================================================
  ! The measured loops
  ! ======================================================================================

  integer(c_int) function bench_f_add(n) bind(c, name='bench_f_add')
    integer(c_int64_t), value :: n
    integer(c_int64_t) :: i
    do i = 1, n
      c = a + b
    end do
    bench_f_add = last_status()
  end function bench_f_add

  integer(c_int) function bench_f_sub(n) bind(c, name='bench_f_sub')
    integer(c_int64_t), value :: n
    integer(c_int64_t) :: i
    do i = 1, n
      c = a - b
    end do
    bench_f_sub = last_status()
  end function bench_f_sub

  integer(c_int) function bench_f_mul(n) bind(c, name='bench_f_mul')
    integer(c_int64_t), value :: n
    integer(c_int64_t) :: i
    do i = 1, n
      c = a * b
    end do
    bench_f_mul = last_status()
  end function bench_f_mul

  integer(c_int) function bench_f_div(n) bind(c, name='bench_f_div')
    integer(c_int64_t), value :: n
    integer(c_int64_t) :: i
    do i = 1, n
      c = a / b
    end do
    bench_f_div = last_status()
  end function bench_f_div

  integer(c_int) function bench_f_expr(n) bind(c, name='bench_f_expr')
    integer(c_int64_t), value :: n
    integer(c_int64_t) :: i
    do i = 1, n
      c = a * b + a / b
    end do
    bench_f_expr = last_status()
  end function bench_f_expr

  !> Construct a tensor over a Fortran array and delete it (t is deleted first, so the last
  !> one built stays readable).
  integer(c_int) function bench_f_from_array(n) bind(c, name='bench_f_from_array')
    integer(c_int64_t), value :: n
    integer(c_int64_t) :: i
    if (dtype == torch_kFloat32) then
      do i = 1, n
        call torch_delete(t)
        call torch_tensor_from_array(t, a_32, torch_kCPU)
      end do
    else
      do i = 1, n
        call torch_delete(t)
        call torch_tensor_from_array(t, a_64, torch_kCPU)
      end do
    end if
    bench_f_from_array = last_status()
  end function bench_f_from_array

  !> Back-propagate through q = a*b + a/b (built once; the graph is retained).
  integer(c_int) function bench_f_backward(n) bind(c, name='bench_f_backward')
    integer(c_int64_t), value :: n
    integer(c_int64_t) :: i
    do i = 1, n
      call torch_tensor_backward(q, ones, retain_graph=.true.)
    end do
    bench_f_backward = last_status()
  end function bench_f_backward

  !> Copy a's gradient into a holder that views a Fortran array.
  integer(c_int) function bench_f_get_gradient(n) bind(c, name='bench_f_get_gradient')
    integer(c_int64_t), value :: n
    integer(c_int64_t) :: i
    do i = 1, n
      call torch_tensor_get_gradient(g, a)
    end do
    bench_f_get_gradient = last_status()
  end function bench_f_get_gradient

  integer(c_int) function bench_f_zero_grad(n) bind(c, name='bench_f_zero_grad')
    integer(c_int64_t), value :: n
    integer(c_int64_t) :: i
    do i = 1, n
      call torch_tensor_zero_grad(a)
    end do
    bench_f_zero_grad = last_status()
  end function bench_f_zero_grad

  !> One training step: forward, MSE loss, backward, Adam step, zero_grad.
  integer(c_int) function bench_f_train_step(n) bind(c, name='bench_f_train_step')
    integer(c_int64_t), value :: n
    integer(c_int64_t) :: i
    do i = 1, n
      call torch_model_forward(model, inputs, outputs, requires_grad=.true.)
      call torch_loss_mse(loss, outputs(1), target)
      call torch_tensor_backward(loss)
      call optim%step()
      call optim%zero_grad()
    end do
    bench_f_train_step = last_status()
  end function bench_f_train_step

  ! ======================================================================================
  ! Assignment into a tensor that views the simulation's array q_* (the specification's
  ! pattern).  The *_grad cases run the same statements with `a` requiring gradients.
  ! ======================================================================================

  integer(c_int) function bench_f_view_mul(n) bind(c, name='bench_f_view_mul')
    integer(c_int64_t), value :: n
    integer(c_int64_t) :: i
    do i = 1, n
      qv = a * b
    end do
    bench_f_view_mul = last_status()
  end function bench_f_view_mul

  integer(c_int) function bench_f_view_muladd(n) bind(c, name='bench_f_view_muladd')
    integer(c_int64_t), value :: n
    integer(c_int64_t) :: i
    do i = 1, n
      qv = a * b + a
    end do
    bench_f_view_muladd = last_status()
  end function bench_f_view_muladd

  integer(c_int) function bench_f_view_scale(n) bind(c, name='bench_f_view_scale')
    integer(c_int64_t), value :: n
    integer(c_int64_t) :: i
    do i = 1, n
      qv = 2.0_real64 * a
    end do
    bench_f_view_scale = last_status()
  end function bench_f_view_scale

  integer(c_int) function bench_f_view_mul_grad(n) bind(c, name='bench_f_view_mul_grad')
    integer(c_int64_t), value :: n
    bench_f_view_mul_grad = bench_f_view_mul(n)
  end function bench_f_view_mul_grad

  integer(c_int) function bench_f_view_muladd_grad(n) bind(c, name='bench_f_view_muladd_grad')
    integer(c_int64_t), value :: n
    bench_f_view_muladd_grad = bench_f_view_muladd(n)
  end function bench_f_view_muladd_grad

  integer(c_int) function bench_f_view_scale_grad(n) bind(c, name='bench_f_view_scale_grad')
    integer(c_int64_t), value :: n
    bench_f_view_scale_grad = bench_f_view_scale(n)
  end function bench_f_view_scale_grad

end module bench_kernels_fortran
