!> The ftorch module: PyTorch tensors, autograd and online training for Fortran.
!>
!> Source-compatible with FTorch's public API.  Import what you use, as the FTorch
!> documentation recommends:
!>
!>     use ftorch, only: torch_tensor, torch_tensor_from_array, torch_kCPU, &
!>                       assignment(=), operator(+), operator(*)
module ftorch
  use ftorch_types
  use ftorch_errors, only: torch_get_last_error, torch_set_stop_on_error
  use ftorch_runtime
  use ftorch_tensor
  implicit none
  private

  ! Re-exported names (everything the submodules make public, plus torch_delete).
  public :: ftorch_int
  public :: torch_kUInt8, torch_kInt8, torch_kInt16, torch_kInt32, torch_kInt64
  public :: torch_kFloat16, torch_kFloat32, torch_kFloat64
  public :: torch_kCPU, torch_kCUDA, torch_kHIP, torch_kXPU, torch_kMPS
  public :: torch_kNone, torch_kMean, torch_kSum
  public :: torch_stat_ok, torch_stat_null_handle, torch_stat_stale_handle, torch_stat_shape
  public :: torch_stat_dtype, torch_stat_device, torch_stat_autograd, torch_stat_no_gradient
  public :: torch_stat_invalid_argument, torch_stat_device_unavailable, torch_stat_io
  public :: torch_stat_model, torch_stat_torch, torch_stat_out_of_memory, torch_stat_internal
  public :: torch_get_last_error, torch_set_stop_on_error
  public :: torch_live_handles, torch_live_tensors, torch_cuda_is_available, torch_cuda_device_count
  public :: torch_set_num_threads, torch_manual_seed, torch_set_grad_enabled
  public :: torch_tensor
  public :: torch_tensor_from_array, torch_tensor_from_blob
  public :: torch_tensor_empty, torch_tensor_zeros, torch_tensor_ones
  public :: torch_tensor_delete, torch_tensor_print
  public :: torch_tensor_get_rank, torch_tensor_get_shape, torch_tensor_get_stride
  public :: torch_tensor_get_dtype, torch_tensor_get_device_type, torch_tensor_get_device_index
  public :: torch_tensor_requires_grad, torch_tensor_is_constructed
  public :: torch_tensor_to, torch_tensor_sum, torch_tensor_mean, torch_tensor_zero
  public :: torch_tensor_detach, torch_tensor_set_requires_grad
  public :: torch_tensor_backward, torch_tensor_get_gradient, torch_tensor_zero_grad
  public :: assignment(=), operator(+), operator(-), operator(*), operator(/), operator(**)
  public :: torch_delete

  !> Release any ftorch object (tensors, arrays of tensors, models, optimisers).
  interface torch_delete
    module procedure torch_tensor_delete
  end interface

end module ftorch
