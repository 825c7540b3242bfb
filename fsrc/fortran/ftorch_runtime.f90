!> Library-wide settings and introspection: live handles, devices, threads, seeds.
module ftorch_runtime
  use, intrinsic :: iso_c_binding, only: c_int, c_int64_t
  use, intrinsic :: iso_fortran_env, only: int64
  use ftorch_cbind, only: ft_cuda_available, ft_cuda_device_count, ft_live_handles, ft_live_tensors, &
                          ft_manual_seed, ft_set_grad_enabled, ft_set_num_threads
  use ftorch_errors, only: ft_check, ft_fits_c_int
  implicit none
  private

  public :: torch_live_handles, torch_live_tensors
  public :: torch_cuda_is_available, torch_cuda_device_count
  public :: torch_set_num_threads, torch_manual_seed, torch_set_grad_enabled

contains

  !> Number of live library handles (tensors, models, optimisers, schedulers).  A loop that
  !> releases everything it creates leaves this unchanged.
  function torch_live_handles() result(n)
    integer(int64) :: n
    n = int(ft_live_handles(), int64)
  end function torch_live_handles

  !> Number of live tensor handles.
  function torch_live_tensors() result(n)
    integer(int64) :: n
    n = int(ft_live_tensors(), int64)
  end function torch_live_tensors

  !> Whether a CUDA device can be used by this build of LibTorch.
  logical function torch_cuda_is_available()
    torch_cuda_is_available = ft_cuda_available() /= 0
  end function torch_cuda_is_available

  !> Number of CUDA devices visible to LibTorch (0 without CUDA).
  integer function torch_cuda_device_count()
    torch_cuda_device_count = int(ft_cuda_device_count())
  end function torch_cuda_device_count

  !> Number of threads LibTorch uses inside one operation.
  subroutine torch_set_num_threads(n, stat, errmsg)
    integer, intent(in) :: n
    !! Number of intra-op threads LibTorch uses (positive; `torch_stat_invalid_argument` otherwise).
    integer, intent(out), optional :: stat
    !! Receives `torch_stat_ok` (0) on success, else the `torch_stat_*` code of the failure; when
    !! absent, a failure prints `ftorch: <procedure>: <cause>` and stops the program.
    character(len=*), intent(inout), optional :: errmsg
    !! Receives the description of a failure (unchanged on success); any length, truncated to fit.
    if (.not. ft_fits_c_int(n, 'n', 'torch_set_num_threads', stat, errmsg)) return
    call ft_check(ft_set_num_threads(int(n, c_int)), 'torch_set_num_threads', stat, errmsg)
  end subroutine torch_set_num_threads

  !> Seed LibTorch's random number generators.
  subroutine torch_manual_seed(seed, stat, errmsg)
    integer, intent(in) :: seed
    !! Seed of LibTorch's random number generators (as `torch.manual_seed`).
    integer, intent(out), optional :: stat
    !! Receives `torch_stat_ok` (0) on success, else the `torch_stat_*` code of the failure; when
    !! absent, a failure prints `ftorch: <procedure>: <cause>` and stops the program.
    character(len=*), intent(inout), optional :: errmsg
    !! Receives the description of a failure (unchanged on success); any length, truncated to fit.
    call ft_check(ft_manual_seed(int(seed, c_int64_t)), 'torch_manual_seed', stat, errmsg)
  end subroutine torch_manual_seed

  !> Switch gradient recording on or off for this thread (like torch.set_grad_enabled);
  !> `previous` receives the former setting.
  subroutine torch_set_grad_enabled(enabled, previous, stat, errmsg)
    logical, intent(in) :: enabled
    !! Record operations for autograd (`.true.`) or not, on this thread.
    logical, intent(out), optional :: previous
    !! Receives the setting before the call.
    integer, intent(out), optional :: stat
    !! Receives `torch_stat_ok` (0) on success, else the `torch_stat_*` code of the failure; when
    !! absent, a failure prints `ftorch: <procedure>: <cause>` and stops the program.
    character(len=*), intent(inout), optional :: errmsg
    !! Receives the description of a failure (unchanged on success); any length, truncated to fit.
    integer(c_int) :: old
    old = 1
    call ft_check(ft_set_grad_enabled(merge(1_c_int, 0_c_int, enabled), old), 'torch_set_grad_enabled', &
                  stat, errmsg)
    if (present(previous)) previous = old /= 0
  end subroutine torch_set_grad_enabled

end module ftorch_runtime
