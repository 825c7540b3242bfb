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
  use ftorch_model
  use ftorch_loss
  use ftorch_optim
  use ftorch_checkpoint
  use ftorch_distributed, only: torch_distributed_init, torch_distributed_rank, torch_distributed_world_size, &
                                torch_distributed_is_initialized, torch_distributed_barrier, &
                                torch_distributed_finalize, torch_distributed_all_reduce, &
                                torch_distributed_broadcast, torch_distributed_average_gradients, &
                                torch_model_distribute, torch_distributed_available, &
                                torch_distributed_checkpoint_save, torch_distributed_checkpoint_load, &
                                torch_reduce_sum, torch_reduce_avg, torch_reduce_max, torch_reduce_min, &
                                torch_stat_distributed
  implicit none
  private

  ! Re-exported names (everything the submodules make public, plus torch_delete).
  public :: ftorch_int, ftorch_version, ftorch_version_major, ftorch_version_minor, ftorch_version_patch
  public :: ftorch_api_version
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
  public :: torch_model, torch_model_load, torch_model_forward, torch_model_parameters
  public :: torch_model_num_parameters, torch_model_save, torch_model_delete
  public :: torch_model_train, torch_model_eval, torch_model_is_training, torch_model_print_parameters
  public :: torch_loss_mse, torch_loss_l1, torch_loss_smooth_l1, torch_loss_huber
  public :: torch_loss_cross_entropy, torch_loss_bce_with_logits
  public :: torch_optim, torch_optim_SGD, torch_optim_Adam, torch_optim_AdamW, torch_optim_RMSprop
  public :: torch_optim_Adagrad, torch_optim_delete, torch_optim_step, torch_optim_zero_grad
  public :: torch_optim_get_lr, torch_optim_set_lr
  public :: torch_lr_scheduler, torch_lr_scheduler_step, torch_lr_scheduler_exponential
  public :: torch_lr_scheduler_cosine_annealing, torch_lr_scheduler_delete
  public :: torch_clip_grad_norm, torch_clip_grad_value
  public :: torch_checkpoint_save, torch_checkpoint_load
  public :: torch_delete
  ! Distributed data-parallel training (ftorch_distributed).
  public :: torch_distributed_init, torch_distributed_rank, torch_distributed_world_size
  public :: torch_distributed_is_initialized, torch_distributed_barrier, torch_distributed_finalize
  public :: torch_distributed_all_reduce, torch_distributed_broadcast, torch_distributed_average_gradients
  public :: torch_model_distribute, torch_distributed_available
  public :: torch_distributed_checkpoint_save, torch_distributed_checkpoint_load
  public :: torch_reduce_sum, torch_reduce_avg, torch_reduce_max, torch_reduce_min, torch_stat_distributed

  !> Release any ftorch object (tensors, arrays of them, models, optimisers, schedulers).
  interface torch_delete
    module procedure torch_tensor_delete
    module procedure torch_model_delete
    module procedure torch_optim_delete
    module procedure torch_lr_scheduler_delete
  end interface

end module ftorch
