!> OpenMP stress of the error state and of concurrent autograd.
!> Usage: threads NTHREADS N_OPS REPEATS N_STAT N_BACKWARD
!>  * errors:   every thread runs N_OPS failing operators (a float64/float32 dtype error; the
!>              operator and operand order differ per thread, so each thread has its own
!>              message), each followed by torch_get_last_error; the whole phase REPEATS times;
!>  * stat:     every thread makes N_STAT failing calls through stat=/errmsg= (a shape
!>              mismatch with shapes that differ per thread);
!>  * backward: every thread runs N_BACKWARD forward/backward/get_gradient cycles on its own
!>              tensors and checks the gradient against the derivative.
!> Expected messages are taken from one serial call per thread before the parallel phases.
!> Prints counts: "phase calls lost foreign empty bad" and the libgomp copies mapped.
program threads
  use, intrinsic :: iso_c_binding, only: c_int64_t
  use, intrinsic :: iso_fortran_env, only: int64, real32, real64
  use omp_lib, only: omp_get_thread_num
  use ftorch, only: torch_tensor, torch_kCPU, torch_tensor_from_array, torch_tensor_to, torch_tensor_delete, &
                    torch_tensor_is_constructed, torch_tensor_sum, torch_tensor_backward, torch_tensor_get_gradient, &
                    torch_tensor_zero_grad, torch_set_stop_on_error, torch_get_last_error, torch_live_handles
  implicit none
  integer, parameter :: msg_len = 512
  integer :: nthreads, n_ops, repeats, n_stat, n_backward, r, t
  integer(int64) :: h0
  character(len=msg_len), allocatable :: op_expected(:), stat_expected(:)
  integer(int64), allocatable :: lost(:), foreign(:), empty(:), bad(:)

  nthreads = int_arg(1)
  n_ops = int_arg(2)
  repeats = int_arg(3)
  n_stat = int_arg(4)
  n_backward = int_arg(5)
  allocate (op_expected(0:nthreads - 1), stat_expected(0:nthreads - 1))
  allocate (lost(0:nthreads - 1), foreign(0:nthreads - 1), empty(0:nthreads - 1), bad(0:nthreads - 1))
  h0 = torch_live_handles()
  call torch_set_stop_on_error(.false.)

  ! The message of each thread's failure, from one serial call.
  do t = 0, nthreads - 1
    call failing_operators(t, 1, '', lost(t), foreign(t), empty(t), bad(t), op_expected(t))
    call failing_stat_calls(t, 1, '', lost(t), foreign(t), empty(t), bad(t), stat_expected(t))
  end do
  do t = 0, nthreads - 1
    if (count(op_expected == op_expected(t)) /= 1 .or. count(stat_expected == stat_expected(t)) /= 1) &
      error stop 'the per-thread messages are not distinct'
    if (len_trim(op_expected(t)) == 0 .or. len_trim(stat_expected(t)) == 0) error stop 'no serial message'
  end do

  lost = 0; foreign = 0; empty = 0; bad = 0
  do r = 1, repeats
    !$omp parallel num_threads(nthreads) private(t)
    t = omp_get_thread_num()
    call failing_operators(t, n_ops, op_expected(t), lost(t), foreign(t), empty(t), bad(t))
    !$omp end parallel
  end do
  call show('errors', int(nthreads, int64) * n_ops * repeats)

  lost = 0; foreign = 0; empty = 0; bad = 0
  !$omp parallel num_threads(nthreads) private(t)
  t = omp_get_thread_num()
  call failing_stat_calls(t, n_stat, stat_expected(t), lost(t), foreign(t), empty(t), bad(t))
  !$omp end parallel
  call show('stat', int(nthreads, int64) * n_stat)

  lost = 0; foreign = 0; empty = 0; bad = 0
  call torch_set_stop_on_error(.true.)
  !$omp parallel num_threads(nthreads) private(t)
  t = omp_get_thread_num()
  call backward_cycles(t, n_backward, bad(t))
  !$omp end parallel
  call show('backward', int(nthreads, int64) * n_backward)

  call show_libgomp()
  write (*, '(a, 2(1x, i0))') 'handles', h0, torch_live_handles()

contains

  integer function int_arg(i)
    integer, intent(in) :: i
    character(len=32) :: text
    call get_command_argument(i, text)
    read (text, *) int_arg
  end function int_arg

  subroutine show(phase, calls)
    character(len=*), intent(in) :: phase
    integer(int64), intent(in) :: calls
    write (*, '(a, 5(1x, i0))') phase, calls, sum(lost), sum(foreign), sum(empty), sum(bad)
  end subroutine show

  !> n failing operators, each followed by torch_get_last_error.
  subroutine failing_operators(t, n, expected, lost, foreign, empty, bad, first)
    integer, intent(in) :: t, n
    character(len=*), intent(in) :: expected
    integer(int64), intent(inout) :: lost, foreign, empty, bad
    character(len=msg_len), intent(out), optional :: first
    real(real64), target :: x64(2)
    real(real32), target :: x32(2)
    type(torch_tensor) :: d, s, c
    character(len=msg_len) :: msg
    integer :: k, st
    x64 = t
    x32 = t
    call torch_tensor_from_array(d, x64, torch_kCPU)
    call torch_tensor_from_array(s, x32, torch_kCPU)
    do k = 1, n
      ! Operator and operand order depend on the thread: eight distinct messages.
      select case (mod(t, 8))
      case (0); c = d * s
      case (1); c = s * d
      case (2); c = d + s
      case (3); c = s + d
      case (4); c = d - s
      case (5); c = s - d
      case (6); c = d / s
      case default; c = s / d
      end select
      msg = ''
      call torch_get_last_error(st, msg)
      if (st == 0) then
        lost = lost + 1
      else if (len_trim(msg) <= index(msg, ':')) then   ! nothing after "procedure:"
        empty = empty + 1
      else if (present(first)) then
        first = msg
      else if (msg /= expected) then
        foreign = foreign + 1
      end if
      if (torch_tensor_is_constructed(c)) bad = bad + 1
    end do
    call torch_tensor_delete(d)
    call torch_tensor_delete(s)
  end subroutine failing_operators

  !> n failing calls with stat= and errmsg= (a shape mismatch, shapes [t+1] and [t+2]).
  subroutine failing_stat_calls(t, n, expected, lost, foreign, empty, bad, first)
    integer, intent(in) :: t, n
    character(len=*), intent(in) :: expected
    integer(int64), intent(inout) :: lost, foreign, empty, bad
    character(len=msg_len), intent(out), optional :: first
    real(real64), target :: src(t + 1), dst(t + 2)
    type(torch_tensor) :: a, b
    character(len=msg_len) :: msg
    integer :: k, st
    src = 1
    dst = 0
    call torch_tensor_from_array(a, src, torch_kCPU)
    call torch_tensor_from_array(b, dst, torch_kCPU)
    do k = 1, n
      msg = ''
      call torch_tensor_to(a, b, stat=st, errmsg=msg)
      if (st == 0) then
        lost = lost + 1
      else if (len_trim(msg) <= index(msg, ':')) then   ! nothing after "procedure:"
        empty = empty + 1
      else if (present(first)) then
        first = msg
      else if (msg /= expected) then
        foreign = foreign + 1
      end if
    end do
    if (any(dst /= 0)) bad = bad + 1
    call torch_tensor_delete(a)
    call torch_tensor_delete(b)
  end subroutine failing_stat_calls

  !> y = c*x*x + x on this thread's own x; d(sum y)/dx = 2*c*x + 1, exact in float64.
  subroutine backward_cycles(t, n, bad)
    integer, intent(in) :: t, n
    integer(int64), intent(inout) :: bad
    real(real64), target :: xv(3), gv(3)
    real(real64) :: cst
    type(torch_tensor) :: x, y, l, g
    integer :: k
    xv = [1, 2, 3] + t
    cst = t + 1
    call torch_tensor_from_array(x, xv, torch_kCPU, requires_grad=.true.)
    call torch_tensor_from_array(g, gv, torch_kCPU)
    do k = 1, n
      y = cst * x * x + x
      call torch_tensor_sum(l, y)
      call torch_tensor_backward(l)
      gv = -1
      call torch_tensor_get_gradient(g, x)
      if (any(gv /= 2 * cst * xv + 1)) bad = bad + 1
      call torch_tensor_zero_grad(x)
    end do
    call torch_tensor_delete(x)
    call torch_tensor_delete(y)
    call torch_tensor_delete(l)
    call torch_tensor_delete(g)
  end subroutine backward_cycles

  !> The libgomp files mapped into this process (one copy must be loaded).
  subroutine show_libgomp()
    character(len=1024) :: line, seen(8)
    integer :: u, ios, i, n, p
    n = 0
    open (newunit=u, file='/proc/self/maps', action='read', iostat=ios)
    if (ios /= 0) return
    do
      read (u, '(a)', iostat=ios) line
      if (ios /= 0) exit
      if (index(line, 'libgomp') == 0) cycle
      p = index(line, '/')
      if (p == 0) cycle
      if (any(seen(1:n) == line(p:))) cycle
      if (n == size(seen)) exit
      n = n + 1
      seen(n) = line(p:)
    end do
    close (u)
    do i = 1, n
      write (*, '(a, 1x, a)') 'libgomp', trim(seen(i))
    end do
  end subroutine show_libgomp

end program threads
