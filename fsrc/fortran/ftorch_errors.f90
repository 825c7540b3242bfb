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
!>
!> Threads: this module keeps no state of its own.  The recorded failure lives in the C
!> library, per thread, so each OpenMP thread reads its own failures and never another
!> thread's; the stop-on-error setting is one process-wide flag (set it before the parallel
!> region; every thread obeys it).  Every procedure here is re-entrant.
module ftorch_errors
  use, intrinsic :: iso_c_binding, only: c_char, c_int, c_null_char
  use, intrinsic :: iso_fortran_env, only: error_unit, int64, output_unit
  use ftorch_types, only: torch_stat_invalid_argument
  use ftorch_cbind, only: ft_clear_error, ft_last_error_copy, ft_set_stop_on_error, ft_get_stop_on_error, &
                          ft_pending_error_record, ft_pending_error_take
  implicit none
  private

  public :: ft_check, ft_raise, ft_fail, ft_fits_c_int
  public :: torch_set_stop_on_error, torch_get_last_error

contains

  ! gfortran (12 at least) keeps the length of a deferred-length character function result
  ! in a static variable even with -frecursive, so two threads building such a result race
  ! (the cause of empty `errmsg` under OpenMP).  No procedure of this library returns a
  ! deferred-length string: messages are written straight into the caller's variable.

  !> errmsg = "procname: <this thread's last error message>"; never empty.
  subroutine write_message(procname, status, errmsg)
    character(len=*), intent(in) :: procname  !! the public procedure that failed
    integer(c_int), intent(in) :: status  !! the failed call's status, for the fallback text
    character(len=*), intent(inout) :: errmsg  !! receives the message (truncated to its length)
    character(kind=c_char) :: buf(len(errmsg) + 1)
    integer(c_int) :: n
    integer :: i, p, m
    n = ft_last_error_copy(buf, int(size(buf), c_int))
    errmsg = procname//': '
    p = len(procname) + 2
    if (p >= len(errmsg)) return
    m = min(max(int(n), 0), len(errmsg) - p)
    if (m == 0) then
      call write_fallback(status, errmsg(p + 1:))
      return
    end if
    do i = 1, m
      errmsg(p + i:p + i) = buf(i)
    end do
  end subroutine write_message

  !> The text for a failure whose message is empty (it never should be).
  subroutine write_fallback(status, text)
    integer(c_int), intent(in) :: status  !! the failed call's status
    character(len=*), intent(out) :: text  !! receives the text
    integer :: ios
    write (text, '(a, i0, a)', iostat=ios) 'failed with status ', status, ' (no message was recorded)'
    if (ios /= 0) text = 'failed (no message was recorded)'
  end subroutine write_fallback

  !> Print "ftorch: procname: <this thread's last error message>" on standard error.
  subroutine print_message(procname, status)
    character(len=*), intent(in) :: procname  !! the public procedure that failed
    integer(c_int), intent(in) :: status  !! the failed call's status
    character(kind=c_char) :: probe(1)
    call print_with_length(procname, status, int(ft_last_error_copy(probe, 1_c_int)))
  end subroutine print_message

  subroutine print_with_length(procname, status, n)
    character(len=*), intent(in) :: procname  !! the public procedure that failed
    integer(c_int), intent(in) :: status  !! the failed call's status
    integer, intent(in) :: n  !! the length of the library's message
    character(kind=c_char) :: buf(max(n, 0) + 1)
    character(len=80) :: fallback
    integer(c_int) :: m
    m = ft_last_error_copy(buf, int(size(buf), c_int))
    if (m <= 0) then
      call write_fallback(status, fallback)
      write (error_unit, '(a)') 'ftorch: '//procname//': '//trim(fallback)
    else
      write (error_unit, '(*(a))') 'ftorch: '//procname//': ', buf(1:min(int(m), size(buf) - 1))
    end if
  end subroutine print_with_length

  !> Handle the status of a C call made on behalf of `procname`.
  subroutine ft_check(status, procname, stat, errmsg)
    integer(c_int), intent(in) :: status  !! the C call's status
    character(len=*), intent(in) :: procname  !! the public procedure that made the call
    integer, intent(out), optional :: stat  !! receives the status
    character(len=*), intent(inout), optional :: errmsg  !! receives the message on failure
    if (present(stat)) stat = int(status)
    if (status == 0) return
    if (present(stat)) then
      if (present(errmsg)) call write_message(procname, status, errmsg)
      call ft_clear_error()
      return
    end if
    call ft_raise(status, procname)
  end subroutine ft_check

  !> Report a failure detected on the Fortran side (no C call involved).
  subroutine ft_fail(status, procname, message, stat, errmsg)
    integer, intent(in) :: status  !! a torch_stat_* code
    character(len=*), intent(in) :: procname  !! the public procedure that failed
    character(len=*), intent(in) :: message  !! what went wrong
    integer, intent(out), optional :: stat  !! receives the status
    character(len=*), intent(inout), optional :: errmsg  !! receives the message
    if (present(stat)) then
      stat = int(status)
      if (present(errmsg)) errmsg = procname//': '//message
      return
    end if
    call ft_raise(int(status, c_int), procname, message)
  end subroutine ft_fail

  !> .true. if the integer argument `argname` of `procname` fits a C `int`; otherwise the
  !> failure (torch_stat_invalid_argument, naming the argument, its value and the call) is
  !> reported like any other, instead of the value silently wrapping around on its way to C.
  !> (With a default integer wider than C's -- e.g. -fdefault-integer-8 -- this matters.)
  logical function ft_fits_c_int(value, argname, procname, stat, errmsg) result(ok)
    integer, intent(in) :: value  !! the argument's value
    character(len=*), intent(in) :: argname  !! the argument's name
    character(len=*), intent(in) :: procname  !! the public procedure it was given to
    integer, intent(out), optional :: stat  !! receives the status
    character(len=*), intent(inout), optional :: errmsg  !! receives the message
    character(len=160) :: text
    integer :: ios
    ok = int(value, int64) >= -int(huge(0_c_int), int64) - 1 .and. int(value, int64) <= int(huge(0_c_int), int64)
    if (ok) return
    write (text, '(a, " = ", i0, " is out of range: the library takes a C int (", i0, " to ", i0, ")")', &
           iostat=ios) argname, int(value, int64), -int(huge(0_c_int), int64) - 1, int(huge(0_c_int), int64)
    if (ios /= 0) text = argname//' is out of the range of a C int'
    call ft_fail(torch_stat_invalid_argument, procname, trim(text), stat, errmsg)
  end function ft_fits_c_int

  !> Report a failure that no `stat` argument can receive: stop, or record it for this
  !> thread's next torch_get_last_error.
  subroutine ft_raise(status, procname, message)
    integer(c_int), intent(in) :: status  !! a torch_stat_* code
    character(len=*), intent(in) :: procname  !! the public procedure that failed
    character(len=*), intent(in), optional :: message  !! what went wrong (default: the library's message)
    integer(c_int) :: recorded
    if (ft_get_stop_on_error() /= 0) then
      flush (output_unit)
      if (present(message)) then
        write (error_unit, '(a)') 'ftorch: '//procname//': '//message
      else
        call print_message(procname, status)
      end if
      flush (error_unit)
      error stop 1
    end if
    if (present(message)) then
      recorded = ft_pending_error_record(status, procname, len(procname, c_int), message, len(message, c_int))
    else
      ! A negative message length: the C side uses this thread's last error message.
      recorded = ft_pending_error_record(status, procname, len(procname, c_int), c_null_char, -1_c_int)
    end if
  end subroutine ft_raise

  !> Choose whether failures without a `stat` argument stop the program (the default).
  !> The setting is process-wide: it applies to every thread.
  subroutine torch_set_stop_on_error(flag)
    logical, intent(in) :: flag  !! .true.: stop on failure; .false.: record it for torch_get_last_error
    integer(c_int) :: ignored
    ignored = ft_set_stop_on_error(merge(1_c_int, 0_c_int, flag))
  end subroutine torch_set_stop_on_error

  !> Return, and clear, the first failure recorded on this thread since its last call
  !> (stat = 0: none).  Each thread has its own record.
  subroutine torch_get_last_error(stat, errmsg)
    integer, intent(out) :: stat  !! the recorded status, or 0
    character(len=*), intent(inout), optional :: errmsg  !! the recorded message ('' when stat = 0)
    character(kind=c_char) :: none(1)
    integer(c_int) :: status, n
    if (present(errmsg)) then
      call take_into(stat, errmsg)
    else
      n = ft_pending_error_take(status, none, 0_c_int)
      stat = int(status)
    end if
  end subroutine torch_get_last_error

  subroutine take_into(stat, errmsg)
    integer, intent(out) :: stat  !! the recorded status, or 0
    character(len=*), intent(inout) :: errmsg  !! the recorded message ('' when stat = 0)
    character(kind=c_char) :: buf(len(errmsg) + 1)
    integer(c_int) :: status, n
    integer :: i, m
    n = ft_pending_error_take(status, buf, int(size(buf), c_int))
    stat = int(status)
    if (status == 0) then
      errmsg = ''
      return
    end if
    m = min(max(int(n), 0), len(errmsg))
    if (m == 0) then
      call write_fallback(status, errmsg)
      return
    end if
    errmsg = ''
    do i = 1, m
      errmsg(i:i) = buf(i)
    end do
  end subroutine take_into

end module ftorch_errors
