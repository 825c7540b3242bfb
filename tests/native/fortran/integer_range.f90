!> Integer arguments that do not fit a C int are refused with a message naming the call,
!> never wrapped around.  Built with -fdefault-integer-8 (modules and program), so that a
!> default integer can hold such values.  Prints "case stat message" lines.
program integer_range
  use, intrinsic :: iso_c_binding, only: c_int, c_int64_t
  use ftorch, only: torch_tensor, torch_kCPU, torch_kFloat32, torch_set_num_threads, torch_tensor_zeros, &
                    torch_tensor_is_constructed
  implicit none
  type(torch_tensor) :: t
  integer :: st
  character(len=256) :: msg

  msg = ''
  call torch_set_num_threads(2**32 + 2, stat=st, errmsg=msg)
  write (*, '(a, 1x, i0, 1x, a)') 'set_num_threads', st, trim(msg)
  msg = ''
  call torch_tensor_zeros(t, 1_c_int, [2_c_int64_t], torch_kFloat32, torch_kCPU, device_index=-2**31 - 1, &
                          stat=st, errmsg=msg)
  write (*, '(a, 1x, i0, 1x, a)') 'device_index', st, trim(msg)
  write (*, '(a, 1x, l1)') 'constructed', torch_tensor_is_constructed(t)
  call torch_set_num_threads(1, stat=st, errmsg=msg)
  write (*, '(a, 1x, i0)') 'in_range', st
end program integer_range
