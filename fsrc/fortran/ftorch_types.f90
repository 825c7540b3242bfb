!> Named constants of the ftorch API: data types, devices, reductions, status codes and the
!> library version.
!>
!> The values come from the C header `ftorch.h` (through the generated module ftorch_cbind)
!> and equal FTorch's (and c10's), so programs written for FTorch compile and behave
!> unchanged.
module ftorch_types
  use, intrinsic :: iso_c_binding, only: c_int
  use ftorch_cbind, only: ft_uint8, ft_int8, ft_int16, ft_int32, ft_int64, ft_float16, ft_float32, &
                          ft_float64, ft_reduction_none, ft_reduction_mean, ft_reduction_sum, ft_ok, &
                          ft_err_null_handle, ft_err_stale_handle, ft_err_shape, ft_err_dtype, &
                          ft_err_device, ft_err_autograd, ft_err_no_gradient, ft_err_invalid_argument, &
                          ft_err_device_unavailable, ft_err_io, ft_err_model, ft_err_torch, &
                          ft_err_out_of_memory, ft_err_internal, ft_version_major, ft_version_minor, &
                          ft_version_patch, ft_version_string, ft_ftorch_api_version_string
  ! Devices live in ftorch_devices, as in FTorch; re-exported here for code that took them
  ! from ftorch_types.
  use ftorch_devices, only: torch_kCPU, torch_kCUDA, torch_kHIP, torch_kXPU, torch_kMPS
  implicit none
  private

  public :: torch_kCPU, torch_kCUDA, torch_kHIP, torch_kXPU, torch_kMPS

  !> Integer kind of FTorch's enumerators.
  integer, parameter, public :: ftorch_int = c_int

  ! Data types.
  integer(c_int), parameter, public :: torch_kUInt8 = ft_uint8
  integer(c_int), parameter, public :: torch_kInt8 = ft_int8
  integer(c_int), parameter, public :: torch_kInt16 = ft_int16
  integer(c_int), parameter, public :: torch_kInt32 = ft_int32
  integer(c_int), parameter, public :: torch_kInt64 = ft_int64
  integer(c_int), parameter, public :: torch_kFloat16 = ft_float16
  integer(c_int), parameter, public :: torch_kFloat32 = ft_float32
  integer(c_int), parameter, public :: torch_kFloat64 = ft_float64

  ! Loss reductions.
  integer(c_int), parameter, public :: torch_kNone = ft_reduction_none
  integer(c_int), parameter, public :: torch_kMean = ft_reduction_mean
  integer(c_int), parameter, public :: torch_kSum = ft_reduction_sum

  ! Status codes returned through `stat` arguments (0 means success).
  integer, parameter, public :: torch_stat_ok = ft_ok
  integer, parameter, public :: torch_stat_null_handle = ft_err_null_handle
  integer, parameter, public :: torch_stat_stale_handle = ft_err_stale_handle
  integer, parameter, public :: torch_stat_shape = ft_err_shape
  integer, parameter, public :: torch_stat_dtype = ft_err_dtype
  integer, parameter, public :: torch_stat_device = ft_err_device
  integer, parameter, public :: torch_stat_autograd = ft_err_autograd
  integer, parameter, public :: torch_stat_no_gradient = ft_err_no_gradient
  integer, parameter, public :: torch_stat_invalid_argument = ft_err_invalid_argument
  integer, parameter, public :: torch_stat_device_unavailable = ft_err_device_unavailable
  integer, parameter, public :: torch_stat_io = ft_err_io
  integer, parameter, public :: torch_stat_model = ft_err_model
  integer, parameter, public :: torch_stat_torch = ft_err_torch
  integer, parameter, public :: torch_stat_out_of_memory = ft_err_out_of_memory
  integer, parameter, public :: torch_stat_internal = ft_err_internal

  ! Version of the library (the repository's VERSION file, through ftorch_version.h) and
  ! the FTorch API level it implements.
  character(len=*), parameter, public :: ftorch_version = ft_version_string  !! e.g. "0.2.0"
  integer, parameter, public :: ftorch_version_major = ft_version_major
  integer, parameter, public :: ftorch_version_minor = ft_version_minor
  integer, parameter, public :: ftorch_version_patch = ft_version_patch
  character(len=*), parameter, public :: ftorch_api_version = ft_ftorch_api_version_string  !! "1.1"

end module ftorch_types
