!> Device types (FTorch's module `ftorch_devices`).
!>
!> The values are c10's `DeviceType` codes, as in FTorch and in `enum ft_device` of ftorch.h.
!> HIP devices are driven through LibTorch's CUDA backend, so `torch_kHIP` equals
!> `torch_kCUDA`, as in FTorch.
module ftorch_devices
  use, intrinsic :: iso_c_binding, only: c_int
  use ftorch_cbind, only: ft_cpu, ft_cuda, ft_xpu, ft_mps
  implicit none
  private

  integer(c_int), parameter, public :: torch_kCPU = ft_cpu    !! the CPU
  integer(c_int), parameter, public :: torch_kCUDA = ft_cuda  !! an NVIDIA GPU (CUDA)
  integer(c_int), parameter, public :: torch_kHIP = ft_cuda   !! an AMD GPU (HIP, through the CUDA backend)
  integer(c_int), parameter, public :: torch_kXPU = ft_xpu    !! an Intel GPU
  integer(c_int), parameter, public :: torch_kMPS = ft_mps    !! an Apple GPU (Metal)

end module ftorch_devices
