!> Expression temporaries handed to procedures and to failing operators are released, on
!> success and on error, and one temporary can be assigned to a whole array of tensors.
!> Usage: temporaries N.  Prints "case handles_before handles_after values_ok" lines.
program temporaries
  use, intrinsic :: iso_c_binding, only: c_int64_t
  use, intrinsic :: iso_fortran_env, only: int64, real32, real64
  use ftorch, only: torch_tensor, torch_kCPU, torch_kFloat32, torch_tensor_from_array, torch_tensor_ones, &
                    torch_tensor_get_shape, torch_tensor_zero, torch_tensor_zero_grad, torch_tensor_to, &
                    torch_tensor_backward, torch_tensor_get_gradient, torch_tensor_sum, torch_tensor_delete, &
                    torch_tensor_is_constructed, torch_loss_mse, torch_set_stop_on_error, torch_get_last_error, &
                    torch_live_handles
  implicit none
  real(real32), target :: xa(3), xb(3), xs(2), out3(3), g3(3)
  real(real64), target :: xf(3)
  type(torch_tensor) :: a, b, f, s, c, one, loss, holder, arr(3), grid(2, 2)
  integer(c_int64_t), allocatable :: sizes(:)
  integer :: n, i, st, lost
  integer(int64) :: h0
  logical :: ok
  character(len=32) :: arg
  character(len=256) :: msg

  call get_command_argument(1, arg)
  read (arg, *) n
  xa = [1.0, 2.0, 3.0]
  xb = [4.0, 5.0, 6.0]
  xs = [1.0, 1.0]
  xf = 1.0_real64
  call torch_tensor_from_array(a, xa, torch_kCPU, requires_grad=.true.)
  call torch_tensor_from_array(b, xb, torch_kCPU)
  call torch_tensor_from_array(f, xf, torch_kCPU)   ! float64: a*f is a dtype error
  call torch_tensor_from_array(s, xs, torch_kCPU)   ! shape [2]: a*s does not broadcast
  call torch_tensor_ones(one, 1, [3_c_int64_t], torch_kFloat32, torch_kCPU)
  call torch_set_stop_on_error(.false.)

  ! c = a*b + a*f + b/a with a failing a*f: every operand temporary is released.
  h0 = torch_live_handles()
  lost = 0
  do i = 1, n
    c = a * b + a * f + b / a
    call torch_get_last_error(st, msg)
    if (st == 0) lost = lost + 1
  end do
  call report('failed_operator_in_sum', h0, lost == 0 .and. .not. torch_tensor_is_constructed(c))

  ! c = (a*b)*f: the failing operator releases its temporary operand.
  h0 = torch_live_handles()
  lost = 0
  do i = 1, n
    c = (a * b) * f
    call torch_get_last_error(st, msg)
    if (st == 0) lost = lost + 1
  end do
  call report('failed_operator_of_temporary', h0, lost == 0)

  ! An operator whose other operand is the unconstructed result of an earlier failure.
  h0 = torch_live_handles()
  do i = 1, n
    c = (a * f) + (a * b)
    call torch_get_last_error(st, msg)
    c = (a * b) - (a * s)
    call torch_get_last_error(st, msg)
  end do
  call report('unconstructed_operand', h0, .true.)

  ! Queries and in-place updates of a temporary.
  h0 = torch_live_handles()
  ok = .true.
  do i = 1, n
    sizes = torch_tensor_get_shape(a * b)
    ok = ok .and. size(sizes) == 1
    if (ok) ok = sizes(1) == 3
  end do
  call report('get_shape_of_temporary', h0, ok)

  h0 = torch_live_handles()
  do i = 1, n
    call torch_tensor_zero(a * b)
  end do
  call report('zero_of_temporary', h0, .true.)

  h0 = torch_live_handles()
  do i = 1, n
    call torch_tensor_zero_grad(a * b)
  end do
  call report('zero_grad_of_temporary', h0, .true.)

  ! Procedures given a temporary that fail (stat present) still release it.
  h0 = torch_live_handles()
  ok = .true.
  call torch_tensor_from_array(c, out3, torch_kCPU)
  do i = 1, n
    call torch_tensor_zero(a * f, stat=st)               ! unconstructed (failed) operand
    call torch_get_last_error(st)
    call torch_tensor_to(a * b, s, stat=st)              ! shape mismatch
    ok = ok .and. st /= 0
    call torch_tensor_backward(b * b, stat=st)           ! nothing requires grad
    ok = ok .and. st /= 0
    call torch_tensor_backward(a * b, s * 1.0, stat=st)  ! external gradient of the wrong shape
    ok = ok .and. st /= 0
    call torch_loss_mse(loss, a * b, s * 2.0, stat=st)   ! shapes differ
    ok = ok .and. st /= 0
    call torch_tensor_get_gradient(holder, b * 2.0, stat=st)   ! not a leaf
    ok = ok .and. st /= 0
    call torch_tensor_sum(c, a * s, stat=st)             ! a*s fails: recorded, sum of nothing
    call torch_get_last_error(st)
  end do
  call torch_tensor_delete(c)
  call torch_tensor_delete(loss)
  call report('failing_procedures_given_temporaries', h0, ok)

  ! Elemental assignment of one temporary to an array: every element gets the value, the
  ! elements are independent, and the temporary is released once.
  call torch_set_stop_on_error(.true.)
  h0 = torch_live_handles()
  ok = .true.
  do i = 1, n
    arr = one * 2.0_real64
    grid = one + one + one
    arr(2:3) = a * b
    call torch_tensor_zero(arr(3))
    ok = ok .and. values_are(arr(1), [2.0, 2.0, 2.0]) .and. values_are(arr(2), xa * xb) &
         .and. values_are(arr(3), [0.0, 0.0, 0.0]) .and. values_are(grid(2, 1), [3.0, 3.0, 3.0])
  end do
  call torch_tensor_delete(arr)
  call torch_tensor_delete(grid)
  call report('elemental_assignment_of_temporary', h0, ok)

  call torch_tensor_delete(a)
  call torch_tensor_delete(b)
  call torch_tensor_delete(f)
  call torch_tensor_delete(s)
  call torch_tensor_delete(one)
  call torch_tensor_delete(holder)
  write (*, '(a, 1x, i0)') 'final', torch_live_handles()

contains

  subroutine report(name, before, values_ok)
    character(len=*), intent(in) :: name
    integer(int64), intent(in) :: before
    logical, intent(in) :: values_ok
    write (*, '(a, 2(1x, i0), 1x, l1)') name, before, torch_live_handles(), values_ok
  end subroutine report

  logical function values_are(t, expected)
    type(torch_tensor), intent(in) :: t
    real(real32), intent(in) :: expected(:)
    real(real32), target :: buf(size(expected))
    type(torch_tensor) :: view
    buf = -1
    call torch_tensor_from_array(view, buf, torch_kCPU)
    call torch_tensor_to(t, view)
    call torch_tensor_delete(view)
    values_are = all(buf == expected)
  end function values_are

end program temporaries
