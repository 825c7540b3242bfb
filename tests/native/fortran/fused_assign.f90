!> Assignment of operator results into tensors that view Fortran arrays (the deferred
!> path: such results are computed straight into the array with LibTorch's out= kernels).
!> Each case prints one line: `name status v1 v2 ...` (the values of the array written, or
!> of the result for the procedure cases), or `name status message` for the error cases.
!> tests/native/test_fused_assign.py recomputes every value with PyTorch.
!>
!> Inputs: x(i) = 1 + i/8, y(i) = 2 - i/16 (i = 1..12), and w = 0.5, as real64 and real32.
program fused_assign
  use, intrinsic :: iso_fortran_env, only: int64, real32, real64
  use ftorch, only: assignment(=), operator(+), operator(-), operator(*), operator(/), operator(**), &
                    torch_kCPU, torch_tensor, torch_tensor_from_array, torch_tensor_backward, &
                    torch_tensor_get_gradient, torch_tensor_sum, torch_tensor_to, torch_delete, &
                    torch_set_stop_on_error, torch_get_last_error, torch_tensor_get_rank, torch_live_handles
  implicit none

  integer, parameter :: n = 12
  real(real64), target :: x(n), y(n), q(n), q2(3, 4), x2(3, 4), m(1), z(n), grad(n), s(1), big(2 * n)
  real(real64), target :: e1(n), e2(n), e3(3)
  real(real32), target :: q32(n), x32(n), y32(n)
  type(torch_tensor) :: ev(2)
  type(torch_tensor) :: a, b, qv, q2v, mv, a2, zv, gv, sv, lo, hi, owned, a32, b32, q32v
  integer :: i, stat
  integer(int64) :: h1
  character(len=512) :: msg

  call torch_set_stop_on_error(.false.)
  do i = 1, n
    x(i) = 1.0_real64 + i / 8.0_real64
    y(i) = 2.0_real64 - i / 16.0_real64
  end do
  x32 = real(x, real32)
  y32 = real(y, real32)
  m = 0.5_real64
  call torch_tensor_from_array(a, x, torch_kCPU)
  call torch_tensor_from_array(b, y, torch_kCPU)
  call torch_tensor_from_array(qv, q, torch_kCPU)
  call torch_tensor_from_array(mv, m, torch_kCPU)
  call torch_tensor_from_array(a32, x32, torch_kCPU)
  call torch_tensor_from_array(b32, y32, torch_kCPU)
  call torch_tensor_from_array(q32v, q32, torch_kCPU)

  ! Every operator form, into a view.
  q = -1; qv = a * b;           call put('mul', q)
  q = -1; qv = a + b;           call put('add', q)
  q = -1; qv = a - b;           call put('sub', q)
  q = -1; qv = a / b;           call put('div', q)
  q = -1; qv = a ** b;          call put('pow', q)
  q = -1; qv = a * b + a;       call put('muladd', q)
  q = -1; qv = 2.0_real64 * a;  call put('scale', q)
  q = -1; qv = a * 3;           call put('times_int', q)
  q = -1; qv = a + 1.5_real64;  call put('plus_real', q)
  q = -1; qv = 1.5_real64 - a;  call put('real_minus', q)
  q = -1; qv = 4.0_real64 / a;  call put('real_over', q)
  q = -1; qv = a / 4.0_real64;  call put('over_real', q)
  q = -1; qv = a ** 2;          call put('pow_int', q)
  q = -1; qv = a ** 1.5_real64; call put('pow_real', q)
  q = -1; qv = 2.0_real64 ** a; call put('real_pow', q)
  q = -1; qv = -a;              call put('neg', q)
  q = -1; qv = (a - b) * (a + b) / (b * b); call put('chain', q)
  q32 = -1; q32v = a32 * b32;   call put32('mul32', q32)
  q32 = -1; q32v = 2.0_real64 * a32 + b32; call put32('scale32', q32)

  ! Aliasing: the view is an operand (exact alias).
  z = x
  call torch_tensor_from_array(zv, z, torch_kCPU)
  zv = zv * b;                  call put('self_mul', z)          ! a = a*b
  z = x
  zv = b - zv;                  call put('self_rsub', z)
  z = x
  zv = zv * zv + zv;            call put('self_square_plus', z)
  ! Partial overlap: two views of one array, shifted by one element (either direction).
  big = [(real(i, real64), i = 1, 2 * n)]
  call torch_tensor_from_array(lo, big(1:n), torch_kCPU)
  call torch_tensor_from_array(hi, big(2:n + 1), torch_kCPU)
  lo = hi * b;                  call put('overlap_down', big(1:n + 1))
  big = [(real(i, real64), i = 1, 2 * n)]
  hi = lo * b;                  call put('overlap_up', big(1:n + 1))
  big = [(real(i, real64), i = 1, 2 * n)]
  hi = lo + 1.0_real64;         call put('overlap_up_scalar', big(1:n + 1))

  ! Broadcasting into a view: a one-element operand, and a one-element result.
  call torch_tensor_from_array(q2v, q2, torch_kCPU)
  x2 = reshape(x, [3, 4])
  call torch_tensor_from_array(a2, x2, torch_kCPU)
  q2v = a2 * mv;                call put('broadcast_one', reshape(q2, [n]))
  q = -1; qv = mv * mv;         call put('broadcast_scalar_result', q)
  q = -1; qv = mv * a;          call put('broadcast_left', q)

  ! Errors: unchanged messages, nothing written, no handle left behind.
  h1 = torch_live_handles()
  q2 = -1
  q2v = a * b;                  call put_error('shape_error')
  call put('shape_error_untouched', reshape(q2, [n]))
  q = -1
  qv = a * a2;                  call put_error('broadcast_error')
  q32 = -1
  q32v = a * b;                 call put_error('dtype_error')
  call put32('dtype_error_untouched', q32)
  qv = a * a32;                 call put_error('operand_dtype_error')
  call put('handles_after_errors', [real(torch_live_handles() - h1, real64)])

  ! A deferred temporary handed to procedures, and to assignments that are not into a view.
  call torch_tensor_from_array(sv, s, torch_kCPU)
  call torch_tensor_sum(sv, a * b);                     call put('sum_of_product', s)
  call torch_tensor_to(a * b + 1.0_real64, qv);         call put('to_from_product', q)
  i = torch_tensor_get_rank(a * b);                     call put('rank_of_product', [real(i, real64)])
  owned = a * b
  qv = owned;                                           call put('owned_then_view', q)
  owned = owned * owned
  qv = owned + 0.0_real64;                              call put('owned_chain', q)
  q = -1; call twice_into(qv, a * b);                   call put('through_procedure', q)
  call torch_delete(owned)

  ! Autograd: the view carries the graph when an operand requires gradients.
  call torch_delete(a)
  call torch_tensor_from_array(a, x, torch_kCPU, requires_grad=.true.)
  call torch_tensor_from_array(gv, grad, torch_kCPU)
  q = -1; qv = a * b + a
  call torch_tensor_backward(qv)
  call torch_tensor_get_gradient(gv, a)
  call put('grad_value', q)
  call put('grad_of_a', grad)
  ! A view saved for backward, then overwritten by a fused assignment: LibTorch's version
  ! check reports it at backward, as for any in-place write.
  call torch_delete(a)
  call torch_tensor_from_array(a, x, torch_kCPU, requires_grad=.true.)
  call torch_delete(owned)
  zv = b * 1.0_real64
  owned = a * zv
  zv = b * b
  call torch_tensor_backward(owned)
  call put_error('saved_then_overwritten')
  ! Repeated assignments into a view with gradients: each one cuts the view's earlier
  ! history, so backward reaches only the last value's graph.
  call torch_delete(a)
  call torch_tensor_from_array(a, x, torch_kCPU, requires_grad=.true.)
  qv = a * b + a
  qv = 2.0_real64 * a
  qv = a * b
  call torch_tensor_backward(qv)
  call torch_tensor_get_gradient(gv, a)
  call put('grad_after_reassign', grad)
  ! A view with a graph, saved for backward by another operation, then reassigned: the
  ! saved view keeps its graph (only the view's handle is cut), and LibTorch's version
  ! check reports the overwrite at backward; the new value's graph is intact.
  call torch_delete(a)
  call torch_tensor_from_array(a, x, torch_kCPU, requires_grad=.true.)
  call torch_delete(owned)
  qv = a * b
  owned = qv * qv
  qv = a * a
  call torch_tensor_backward(owned)
  call put_error('grad_view_saved_then_reassigned')
  call torch_tensor_backward(qv)
  call torch_tensor_get_gradient(gv, a)
  call put('grad_after_saved_reassign', grad)
  ! Elemental assignment of one temporary to an array of views: the second element gets
  ! the value (and a graph reaching the operands) from what the first one was given.
  call torch_delete(a)
  call torch_tensor_from_array(a, x, torch_kCPU, requires_grad=.true.)
  e1 = -1; e2 = -1
  call torch_tensor_from_array(ev(1), e1, torch_kCPU)
  call torch_tensor_from_array(ev(2), e2, torch_kCPU)
  ev = a * b
  call put('elemental_views_first', e1)
  call put('elemental_views_second', e2)
  call torch_tensor_backward(ev(2))
  call torch_tensor_get_gradient(gv, a)
  call put('elemental_views_grad', grad)
  ! A one-element value broadcast into views of different shapes, element by element.
  call torch_delete(ev(2))
  e3 = -1
  call torch_tensor_from_array(ev(2), e3, torch_kCPU)
  ev = mv * mv
  call put('elemental_broadcast', [e1, e3])
  call torch_delete(ev)

  call torch_delete(a)
  call torch_delete(b)
  call torch_delete(qv)
  call torch_delete(q2v)
  call torch_delete(mv)
  call torch_delete(a2)
  call torch_delete(zv)
  call torch_delete(gv)
  call torch_delete(sv)
  call torch_delete(lo)
  call torch_delete(hi)
  call torch_delete(owned)
  call torch_delete(a32)
  call torch_delete(b32)
  call torch_delete(q32v)
  write (*, '(a, i0)') 'live_at_end 0 ', torch_live_handles()

contains

  !> A user procedure that receives an operator result.
  subroutine twice_into(out, t)
    type(torch_tensor), intent(inout) :: out
    type(torch_tensor), intent(in) :: t
    out = t * 2.0_real64
  end subroutine twice_into

  subroutine put(name, values)
    character(len=*), intent(in) :: name
    real(real64), intent(in) :: values(:)
    call torch_get_last_error(stat, msg)
    write (*, '(a, 1x, i0, *(1x, es24.16e3))') name, stat, values
  end subroutine put

  subroutine put32(name, values)
    character(len=*), intent(in) :: name
    real(real32), intent(in) :: values(:)
    call torch_get_last_error(stat, msg)
    write (*, '(a, 1x, i0, *(1x, es16.8e3))') name, stat, values
  end subroutine put32

  subroutine put_error(name)
    character(len=*), intent(in) :: name
    call torch_get_last_error(stat, msg)
    write (*, '(a, 1x, i0, 1x, a)') name, stat, trim(msg)
  end subroutine put_error

end program fused_assign
