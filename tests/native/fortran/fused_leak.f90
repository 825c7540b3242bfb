!> Leak check of assignments into array views (the deferred, fused path): N evaluations of
!> each statement, then the live-handle count and the resident memory before and after.
!>
!> usage: fused_leak N
!> Output lines: "<statement> handles_before handles_after rss_kb_before rss_kb_after"
program fused_leak
  use, intrinsic :: iso_fortran_env, only: int64, real64
  use ftorch, only: assignment(=), operator(+), operator(*), torch_kCPU, torch_tensor, &
                    torch_tensor_from_array, torch_tensor_sum, torch_live_handles, torch_delete
  implicit none

  integer, parameter :: n = 16
  real(real64), target :: xa(n), xb(n), xq(n), xs(1)
  type(torch_tensor) :: a, b, q, s
  integer(int64) :: iterations
  character(len=32) :: arg
  integer :: k

  call get_command_argument(1, arg)
  read (arg, *) iterations
  xa = [(1.0_real64 + k / 16.0_real64, k = 1, n)]
  xb = 2.0_real64
  call torch_tensor_from_array(a, xa, torch_kCPU)
  call torch_tensor_from_array(b, xb, torch_kCPU)
  call torch_tensor_from_array(q, xq, torch_kCPU)
  call torch_tensor_from_array(s, xs, torch_kCPU)
  do k = 1, 4
    call phase(k)
  end do
  call torch_delete(a)
  call torch_delete(b)
  call torch_delete(q)
  call torch_delete(s)
  write (*, '(a, 4(1x, i0))') 'end', 0, torch_live_handles(), 0, 0

contains

  subroutine phase(which)
    integer, intent(in) :: which
    integer(int64) :: h0, h1, r0, r1
    character(len=16), parameter :: names(4) = [character(len=16) :: 'mul', 'muladd', 'scale', 'sum_of_temp']
    call body(which, max(iterations / 100, 1_int64))  ! warm-up
    h0 = torch_live_handles()
    r0 = rss_kb()
    call body(which, iterations)
    h1 = torch_live_handles()
    r1 = rss_kb()
    write (*, '(a, 4(1x, i0))') trim(names(which)), h0, h1, r0, r1
  end subroutine phase

  subroutine body(which, count)
    integer, intent(in) :: which
    integer(int64), intent(in) :: count
    integer(int64) :: i
    select case (which)
    case (1)
      do i = 1, count
        q = a * b
      end do
    case (2)
      do i = 1, count
        q = a * b + a
      end do
    case (3)
      do i = 1, count
        q = 2.0_real64 * a
      end do
    case (4)
      do i = 1, count
        call torch_tensor_sum(s, a * b)
      end do
    end select
  end subroutine body

  integer(int64) function rss_kb()
    character(len=256) :: line
    integer :: unit, ios
    rss_kb = -1
    open (newunit=unit, file='/proc/self/status', action='read', iostat=ios)
    if (ios /= 0) return
    do
      read (unit, '(a)', iostat=ios) line
      if (ios /= 0) exit
      if (line(1:6) == 'VmRSS:') then
        read (line(7:), *) rss_kb
        exit
      end if
    end do
    close (unit)
  end function rss_kb

end program fused_leak
