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
  !! Unsigned 8-bit integers (`uint8`).
  integer(c_int), parameter, public :: torch_kInt8 = 1
  !! 8-bit integers, `integer(int8)` arrays.
  integer(c_int), parameter, public :: torch_kInt16 = 2
  !! 16-bit integers, `integer(int16)` arrays.
  integer(c_int), parameter, public :: torch_kInt32 = 3
  !! 32-bit integers, `integer(int32)` arrays.
  integer(c_int), parameter, public :: torch_kInt64 = 4
  !! 64-bit integers, `integer(int64)` arrays (class indices of `torch_loss_cross_entropy`).
  integer(c_int), parameter, public :: torch_kFloat16 = 5
  !! Half precision (no Fortran array kind: device tensors and conversions only).
  integer(c_int), parameter, public :: torch_kFloat32 = 6
  !! Single precision, `real(real32)` arrays.
  integer(c_int), parameter, public :: torch_kFloat64 = 7
  !! Double precision, `real(real64)` arrays.

  ! Devices.  HIP is exposed through LibTorch's CUDA backend, as in FTorch.
  integer(c_int), parameter, public :: torch_kCPU = 0
  !! The CPU.
  integer(c_int), parameter, public :: torch_kCUDA = 1
  !! An NVIDIA GPU through CUDA (`device_index` selects which).
  integer(c_int), parameter, public :: torch_kHIP = 1
  !! An AMD GPU: the same value as `torch_kCUDA`, as in FTorch (ROCm builds of LibTorch).
  integer(c_int), parameter, public :: torch_kXPU = 12
  !! An Intel GPU (not supported by this build: `torch_stat_device_unavailable`).
  integer(c_int), parameter, public :: torch_kMPS = 13
  !! An Apple GPU (not supported by this build: `torch_stat_device_unavailable`).

  ! Loss reductions.
  integer(c_int), parameter, public :: torch_kNone = 0
  !! No reduction: the loss of every element.
  integer(c_int), parameter, public :: torch_kMean = 1
  !! The mean of the elements' losses (the default).
  integer(c_int), parameter, public :: torch_kSum = 2
  !! The sum of the elements' losses.

  ! Status codes returned through `stat` arguments (0 means success).
  integer, parameter, public :: torch_stat_ok = 0
  !! Success.
  integer, parameter, public :: torch_stat_null_handle = 1
  !! The tensor, model, optimiser or scheduler was never constructed.
  integer, parameter, public :: torch_stat_stale_handle = 2
  !! The object was already deleted (a double delete, or use after delete).
  integer, parameter, public :: torch_stat_shape = 3
  !! Shapes do not match or do not broadcast.
  integer, parameter, public :: torch_stat_dtype = 4
  !! Data types differ where they must agree.
  integer, parameter, public :: torch_stat_device = 5
  !! The tensors live on different devices.
  integer, parameter, public :: torch_stat_autograd = 6
  !! Autograd refused: a graph freed by an earlier backward, nothing that requires gradients, or a write to a leaf that requires them.
  integer, parameter, public :: torch_stat_no_gradient = 7
  !! A gradient was requested where none exists.
  integer, parameter, public :: torch_stat_invalid_argument = 8
  !! An argument is out of range or inconsistent with the others.
  integer, parameter, public :: torch_stat_device_unavailable = 9
  !! The requested device (CUDA, ...) is not available.
  integer, parameter, public :: torch_stat_io = 10
  !! A file could not be read or written.
  integer, parameter, public :: torch_stat_model = 11
  !! Not a TorchScript file or checkpoint, or a model returned something other than tensors.
  integer, parameter, public :: torch_stat_torch = 12
  !! Any other error raised by LibTorch (the message gives its text).
  integer, parameter, public :: torch_stat_out_of_memory = 13
  !! Out of memory (host or device).
  integer, parameter, public :: torch_stat_internal = 14
  !! An internal error of pyftorch: please report it.

end module ftorch_types
