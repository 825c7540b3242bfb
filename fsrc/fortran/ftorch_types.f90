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
  !! Unsigned 8-bit integers (`uint8`).
  integer(c_int), parameter, public :: torch_kInt8 = ft_int8
  !! 8-bit integers, `integer(int8)` arrays.
  integer(c_int), parameter, public :: torch_kInt16 = ft_int16
  !! 16-bit integers, `integer(int16)` arrays.
  integer(c_int), parameter, public :: torch_kInt32 = ft_int32
  !! 32-bit integers, `integer(int32)` arrays.
  integer(c_int), parameter, public :: torch_kInt64 = ft_int64
  !! 64-bit integers, `integer(int64)` arrays (class indices of `torch_loss_cross_entropy`).
  integer(c_int), parameter, public :: torch_kFloat16 = ft_float16
  !! Half precision (no Fortran array kind: device tensors and conversions only).
  integer(c_int), parameter, public :: torch_kFloat32 = ft_float32
  !! Single precision, `real(real32)` arrays.
  integer(c_int), parameter, public :: torch_kFloat64 = ft_float64
  !! Double precision, `real(real64)` arrays.

  ! Loss reductions.
  integer(c_int), parameter, public :: torch_kNone = ft_reduction_none
  !! No reduction: the loss of every element.
  integer(c_int), parameter, public :: torch_kMean = ft_reduction_mean
  !! The mean of the elements' losses (the default).
  integer(c_int), parameter, public :: torch_kSum = ft_reduction_sum
  !! The sum of the elements' losses.

  ! Status codes returned through `stat` arguments (0 means success).
  integer, parameter, public :: torch_stat_ok = ft_ok
  !! Success.
  integer, parameter, public :: torch_stat_null_handle = ft_err_null_handle
  !! The tensor, model, optimiser or scheduler was never constructed.
  integer, parameter, public :: torch_stat_stale_handle = ft_err_stale_handle
  !! The object was already deleted (a double delete, or use after delete).
  integer, parameter, public :: torch_stat_shape = ft_err_shape
  !! Shapes do not match or do not broadcast.
  integer, parameter, public :: torch_stat_dtype = ft_err_dtype
  !! Data types differ where they must agree.
  integer, parameter, public :: torch_stat_device = ft_err_device
  !! The tensors live on different devices.
  integer, parameter, public :: torch_stat_autograd = ft_err_autograd
  !! Autograd refused: a graph freed by an earlier backward, nothing that requires gradients,
  !! or a write to a leaf that requires them.
  integer, parameter, public :: torch_stat_no_gradient = ft_err_no_gradient
  !! A gradient was requested where none exists.
  integer, parameter, public :: torch_stat_invalid_argument = ft_err_invalid_argument
  !! An argument is out of range or inconsistent with the others.
  integer, parameter, public :: torch_stat_device_unavailable = ft_err_device_unavailable
  !! The requested device (CUDA, ...) is not available.
  integer, parameter, public :: torch_stat_io = ft_err_io
  !! A file could not be read or written.
  integer, parameter, public :: torch_stat_model = ft_err_model
  !! Not a TorchScript file or checkpoint, or a model returned something other than tensors.
  integer, parameter, public :: torch_stat_torch = ft_err_torch
  !! Any other error raised by LibTorch (the message gives its text).
  integer, parameter, public :: torch_stat_out_of_memory = ft_err_out_of_memory
  !! Out of memory (host or device).
  integer, parameter, public :: torch_stat_internal = ft_err_internal
  !! An internal error of pyftorch: please report it.

  ! Version of the library (the repository's VERSION file, through ftorch_version.h) and
  ! the FTorch API level it implements.
  character(len=*), parameter, public :: ftorch_version = ft_version_string  !! e.g. "0.2.0"
  integer, parameter, public :: ftorch_version_major = ft_version_major
  !! Major version of the library.
  integer, parameter, public :: ftorch_version_minor = ft_version_minor
  !! Minor version of the library.
  integer, parameter, public :: ftorch_version_patch = ft_version_patch
  !! Patch version of the library.
  character(len=*), parameter, public :: ftorch_api_version = ft_ftorch_api_version_string  !! "1.1"

end module ftorch_types
