!> Leak check: evaluates tensor expressions in long loops and reports the live-handle count
!> and the resident memory before and after each phase (after a warm-up).
!>
!> usage: leak_loop N_EXPR N_STEP
!> Output lines: "<phase> handles_before handles_after rss_kb_before rss_kb_after"
program leak_loop
  use, intrinsic :: iso_fortran_env, only: int64, real64
  use ftorch, only: assignment(=), operator(+), operator(*), operator(/), operator(-), &
                    torch_kCPU, torch_tensor, torch_tensor_from_array, torch_tensor_backward, &
                    torch_tensor_get_gradient, torch_tensor_zero_grad, torch_tensor_mean, &
                    torch_live_handles
  implicit none

  integer, parameter :: n = 16
  real(real64), target :: xa(n), xb(n), xc(n), grad(n), loss_value(1)
  type(torch_tensor) :: a, b, c, g, loss
  integer(int64) :: n_expr, n_step
  character(len=32) :: arg
  integer :: i

  call get_command_argument(1, arg)
  read (arg, *) n_expr
  call get_command_argument(2, arg)
  read (arg, *) n_step

  call random_number(xa)
  call random_number(xb)
  xa = xa + 0.5_real64
  xb = xb + 0.5_real64
  call torch_tensor_from_array(a, xa, torch_kCPU, requires_grad=.true.)
  call torch_tensor_from_array(b, xb, torch_kCPU, requires_grad=.true.)
  call torch_tensor_from_array(c, xc, torch_kCPU)
  call torch_tensor_from_array(g, grad, torch_kCPU)

  ! Phase 1: an expression with three operators, assigned into a tensor that views xc.
  call expression_phase('view', n_expr)
  ! Phase 2: the same into a tensor the library owns (rebinding assignment).
  call torch_delete_into_owned()
  call expression_phase('owned', n_expr)
  ! Phase 3: a training-like step that re-constructs tensors every iteration (FTorch #540),
  ! passes an expression temporary to a library procedure and back-propagates.
  call step_phase(n_step)

contains

  subroutine torch_delete_into_owned()
    use ftorch, only: torch_delete
    call torch_delete(c)
    c = a * b   ! c now owns its storage
  end subroutine torch_delete_into_owned

  subroutine expression_phase(name, iterations)
    character(len=*), intent(in) :: name
    integer(int64), intent(in) :: iterations
    integer(int64) :: h0, h1, r0, r1, k
    do k = 1, max(iterations / 100, 1_int64)   ! warm-up
      c = a * b + a / b
    end do
    h0 = torch_live_handles()
    r0 = rss_kb()
    do k = 1, iterations
      c = a * b + a / b
    end do
    h1 = torch_live_handles()
    r1 = rss_kb()
    write (*, '(a, 4(1x, i0))') name, h0, h1, r0, r1
  end subroutine expression_phase

  subroutine step_phase(iterations)
    integer(int64), intent(in) :: iterations
    integer(int64) :: h0, h1, r0, r1, k
    do k = 1, iterations + max(iterations / 10, 1_int64)
      if (k == max(iterations / 10, 1_int64) + 1) then
        h0 = torch_live_handles()
        r0 = rss_kb()
      end if
      call torch_tensor_from_array(loss, loss_value, torch_kCPU)
      call torch_tensor_mean(loss, (a * b - a) * b)
      call torch_tensor_backward(loss)
      call torch_tensor_get_gradient(g, a)
      call torch_tensor_zero_grad(a)
      call torch_tensor_zero_grad(b)
    end do
    h1 = torch_live_handles()
    r1 = rss_kb()
    write (*, '(a, 4(1x, i0))') 'step', h0, h1, r0, r1
  end subroutine step_phase

  !> Resident set size in kB, from /proc/self/statm.
  function rss_kb() result(kb)
    integer(int64) :: kb, pages_total, pages_resident
    integer :: unit
    open (newunit=unit, file='/proc/self/statm', action='read')
    read (unit, *) pages_total, pages_resident
    close (unit)
    kb = pages_resident * 4
  end function rss_kb

end program leak_loop
