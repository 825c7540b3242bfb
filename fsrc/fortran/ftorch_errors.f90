!> Error handling of the ftorch API.
!>
!> Every fallible procedure takes optional `stat` and `errmsg` arguments, in the manner of
!> `allocate`: with `stat` present a failure is returned there (and described in `errmsg`
!> when present); without it the failure is reported on standard error, naming the
!> procedure and the cause, and the program stops with `error stop`.
!>
!> Operators and functions cannot take `stat`.  By default their failures stop the program
!> too.  After `call torch_set_stop_on_error(.false.)` failures without `stat` are recorded
!> instead (the first one is kept until read) and the program goes on; a failed operator
!> then yields an unconstructed tensor.  `torch_get_last_error(stat, errmsg)` returns and
!> clears the recorded failure.  This is the analogue of MPI's MPI_ERRORS_RETURN.
module ftorch_errors
  use, intrinsic :: iso_c_binding, only: c_char, c_int
  use, intrinsic :: iso_fortran_env, only: error_unit, output_unit
  use ftorch_cbind, only: ft_clear_error, ft_last_error_copy
  implicit none
  private

  public :: ft_check, ft_raise, ft_fail, ft_message
  public :: torch_set_stop_on_error, torch_get_last_error

  logical, save :: stop_on_error = .true.
  integer, save :: pending_stat = 0
  character(len=:), allocatable, save :: pending_message

contains

  !> The library's last error message (of this thread).
  function ft_message() result(message)
    character(len=:), allocatable :: message
    character(kind=c_char) :: buf(1024)
    integer(c_int) :: n
    integer :: i, m
    n = ft_last_error_copy(buf, int(size(buf), c_int))
    m = min(int(n), size(buf) - 1)
    allocate (character(len=m) :: message)
    do i = 1, m
      message(i:i) = buf(i)
    end do
  end function ft_message

  !> Handle the status of a C call made on behalf of `procname`.
  subroutine ft_check(status, procname, stat, errmsg)
    integer(c_int), intent(in) :: status
    character(len=*), intent(in) :: procname
    integer, intent(out), optional :: stat
    character(len=*), intent(inout), optional :: errmsg
    if (present(stat)) stat = int(status)
    if (status == 0) return
    if (present(stat)) then
      if (present(errmsg)) errmsg = procname//': '//ft_message()
      call ft_clear_error()
      return
    end if
    call ft_raise(status, procname)
  end subroutine ft_check

  !> Report a failure detected on the Fortran side (no C call involved).
  subroutine ft_fail(status, procname, message, stat, errmsg)
    integer(c_int), intent(in) :: status
    character(len=*), intent(in) :: procname, message
    integer, intent(out), optional :: stat
    character(len=*), intent(inout), optional :: errmsg
    if (present(stat)) then
      stat = int(status)
      if (present(errmsg)) errmsg = procname//': '//message
      return
    end if
    call ft_raise(status, procname, message)
  end subroutine ft_fail

  !> Report a failure that no `stat` argument can receive.
  subroutine ft_raise(status, procname, message)
    integer(c_int), intent(in) :: status
    character(len=*), intent(in) :: procname
    character(len=*), intent(in), optional :: message
    character(len=:), allocatable :: text
    if (present(message)) then
      text = procname//': '//message
    else
      text = procname//': '//ft_message()
    end if
    if (stop_on_error) then
      flush (output_unit)
      write (error_unit, '(a)') 'ftorch: '//text
      flush (error_unit)
      error stop 1
    end if
    if (pending_stat == 0) then
      pending_stat = int(status)
      pending_message = text
    end if
  end subroutine ft_raise

  !> Choose whether failures without a `stat` argument stop the program (the default).
  subroutine torch_set_stop_on_error(flag)
    logical, intent(in) :: flag
    !! `.true.` (the default behaviour): a failure without `stat` stops the program; `.false.`: it
    !! is recorded for `torch_get_last_error` and the program goes on.
    stop_on_error = flag
  end subroutine torch_set_stop_on_error

  !> Return, and clear, the first failure recorded since the last call (stat = 0: none).
  subroutine torch_get_last_error(stat, errmsg)
    integer, intent(out) :: stat
    !! Receives the status of the first failure recorded since the last call (`torch_stat_ok` when
    !! none); the record is cleared.
    character(len=*), intent(inout), optional :: errmsg
    !! Receives the description of that failure.
    stat = pending_stat
    if (present(errmsg)) then
      if (pending_stat /= 0) then
        errmsg = pending_message
      else
        errmsg = ''
      end if
    end if
    pending_stat = 0
    if (allocated(pending_message)) deallocate (pending_message)
    call ft_clear_error()
  end subroutine torch_get_last_error

end module ftorch_errors
