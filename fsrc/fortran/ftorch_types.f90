!> Named constants of the ftorch API: data types, devices, reductions and status codes.
!>
!> The values equal FTorch's (and c10's), so programs written for FTorch compile and
!> behave unchanged.  Status codes equal those of the C header `ftorch.h`.
module ftorch_types
  use, intrinsic :: iso_c_binding, only: c_int
  implicit none
  private

  !> Integer kind of FTorch's enumerators.
  integer, parameter, public :: ftorch_int = c_int

  ! Data types.
  integer(c_int), parameter, public :: torch_kUInt8 = 0
  integer(c_int), parameter, public :: torch_kInt8 = 1
  integer(c_int), parameter, public :: torch_kInt16 = 2
  integer(c_int), parameter, public :: torch_kInt32 = 3
  integer(c_int), parameter, public :: torch_kInt64 = 4
  integer(c_int), parameter, public :: torch_kFloat16 = 5
  integer(c_int), parameter, public :: torch_kFloat32 = 6
  integer(c_int), parameter, public :: torch_kFloat64 = 7

  ! Devices.  HIP is exposed through LibTorch's CUDA backend, as in FTorch.
  integer(c_int), parameter, public :: torch_kCPU = 0
  integer(c_int), parameter, public :: torch_kCUDA = 1
  integer(c_int), parameter, public :: torch_kHIP = 1
  integer(c_int), parameter, public :: torch_kXPU = 12
  integer(c_int), parameter, public :: torch_kMPS = 13

  ! Loss reductions.
  integer(c_int), parameter, public :: torch_kNone = 0
  integer(c_int), parameter, public :: torch_kMean = 1
  integer(c_int), parameter, public :: torch_kSum = 2

  ! Status codes returned through `stat` arguments (0 means success).
  integer, parameter, public :: torch_stat_ok = 0
  integer, parameter, public :: torch_stat_null_handle = 1
  integer, parameter, public :: torch_stat_stale_handle = 2
  integer, parameter, public :: torch_stat_shape = 3
  integer, parameter, public :: torch_stat_dtype = 4
  integer, parameter, public :: torch_stat_device = 5
  integer, parameter, public :: torch_stat_autograd = 6
  integer, parameter, public :: torch_stat_no_gradient = 7
  integer, parameter, public :: torch_stat_invalid_argument = 8
  integer, parameter, public :: torch_stat_device_unavailable = 9
  integer, parameter, public :: torch_stat_io = 10
  integer, parameter, public :: torch_stat_model = 11
  integer, parameter, public :: torch_stat_torch = 12
  integer, parameter, public :: torch_stat_out_of_memory = 13
  integer, parameter, public :: torch_stat_internal = 14

end module ftorch_types
