!> A program written against FTorch's documented API only (FTorch 1.1 plus its online-training
!> procedures): every public name of module ftorch through `use ftorch, only:`, every module
!> FTorch installs by name, and keyword calls with FTorch's dummy-argument names.  It trains a
!> TorchScript Linear(3, 2) for one SGD step and prints what tests/native/test_ftorch_compat.py
!> compares with PyTorch.
program ftorch_compat
  use, intrinsic :: iso_c_binding, only: c_int64_t, c_loc
  use, intrinsic :: iso_fortran_env, only: int32, real32, real64
  use ftorch, only: ftorch_int, &
                    torch_kUInt8, torch_kInt8, torch_kInt16, torch_kInt32, torch_kInt64, &
                    torch_kFloat16, torch_kFloat32, torch_kFloat64, &
                    torch_kCPU, torch_kCUDA, torch_kHIP, torch_kXPU, torch_kMPS, &
                    torch_kNone, torch_kMean, torch_kSum, &
                    torch_tensor, torch_tensor_from_array, torch_tensor_from_blob, torch_tensor_empty, &
                    torch_tensor_zeros, torch_tensor_ones, torch_tensor_delete, torch_tensor_print, &
                    torch_tensor_get_rank, torch_tensor_get_shape, torch_tensor_get_stride, &
                    torch_tensor_get_dtype, torch_tensor_get_device_type, torch_tensor_get_device_index, &
                    torch_tensor_requires_grad, torch_tensor_zero, torch_tensor_zero_grad, torch_tensor_to, &
                    torch_tensor_sum, torch_tensor_mean, torch_tensor_backward, torch_tensor_get_gradient, &
                    assignment(=), operator(+), operator(-), operator(*), operator(/), operator(**), &
                    torch_model, torch_model_load, torch_model_forward, torch_model_parameters, &
                    torch_model_save, torch_model_delete, torch_model_is_training, &
                    torch_model_print_parameters, &
                    torch_optim, torch_optim_SGD, torch_optim_Adam, torch_optim_AdamW, torch_optim_step, &
                    torch_optim_zero_grad, torch_optim_delete, &
                    torch_loss_mse, torch_loss_cross_entropy, torch_delete
  ! Each module FTorch installs, by name, with the constants FTorch re-exports through it.
  use ftorch_devices, only: dev_cpu => torch_kCPU, dev_cuda => torch_kCUDA, dev_hip => torch_kHIP, &
                            dev_xpu => torch_kXPU, dev_mps => torch_kMPS
  use ftorch_types, only: types_int => ftorch_int, types_f32 => torch_kFloat32, types_mean => torch_kMean
  use ftorch_tensor, only: tensor_t => torch_tensor, tensor_f64 => torch_kFloat64, tensor_cpu => torch_kCPU
  use ftorch_model, only: model_t => torch_model, model_cpu => torch_kCPU
  use ftorch_optim, only: optim_t => torch_optim, optim_tensor => torch_tensor
  use ftorch_loss, only: loss_none => torch_kNone, loss_mean => torch_kMean, loss_sum => torch_kSum
  use ftorch_test_utils, only: assert_allclose, assert_isclose, allclose, isclose, test_print
  implicit none

  character(len=256) :: model_file, saved_file
  real(real32), target :: x_data(3), g_data(3), s_data(1), blob(2, 3), d_data(3)
  real(real64), target :: in_data(3), out_data(2), target_data(2), loss_data(1), x64(3)
  real(real64), target :: ce_in(2, 3), ce_target(2, 3), ce_loss(1), none_loss(2), sum_loss(1)
  integer(c_int64_t) :: shape2(2)
  integer(c_int64_t), pointer :: sizes(:), strides(:)
  type(torch_tensor) :: x, y, s, g, b, e, z, o, d, t64
  type(torch_tensor) :: inputs(1), outputs(1), tgt, loss, params(2), ce_a, ce_b, ce_l, nl, sl
  type(tensor_t) :: twice
  type(optim_tensor) :: ext
  type(torch_model) :: model
  type(model_t) :: reloaded
  type(torch_optim) :: sgd, adam
  type(optim_t) :: adamw
  logical :: ok
  integer :: failures, i

  failures = 0
  call get_command_argument(1, model_file)
  call get_command_argument(2, saved_file)

  ! --- constants: FTorch's values, through every module that gives them ------------------------
  ok = torch_kCPU == 0 .and. torch_kCUDA == 1 .and. torch_kHIP == torch_kCUDA .and. torch_kXPU == 12 &
       .and. torch_kMPS == 13 .and. dev_cpu == torch_kCPU .and. dev_cuda == torch_kCUDA .and. &
       dev_hip == torch_kHIP .and. dev_xpu == torch_kXPU .and. dev_mps == torch_kMPS .and. &
       tensor_cpu == torch_kCPU .and. model_cpu == torch_kCPU
  call check(ok, "device constants")
  ok = torch_kUInt8 == 0 .and. torch_kInt8 == 1 .and. torch_kInt16 == 2 .and. torch_kInt32 == 3 .and. &
       torch_kInt64 == 4 .and. torch_kFloat16 == 5 .and. torch_kFloat32 == 6 .and. torch_kFloat64 == 7 .and. &
       types_f32 == torch_kFloat32 .and. tensor_f64 == torch_kFloat64
  call check(ok, "dtype constants")
  ok = torch_kNone == 0 .and. torch_kMean == 1 .and. torch_kSum == 2 .and. loss_none == torch_kNone .and. &
       loss_mean == torch_kMean .and. loss_sum == torch_kSum .and. types_mean == torch_kMean .and. &
       kind(1_ftorch_int) == kind(1_int32) .and. types_int == ftorch_int
  call check(ok, "reduction constants and ftorch_int")

  ! --- tensors, operators and autograd, with FTorch's keywords ---------------------------------
  x_data = [1.0, 2.0, 3.0]
  g_data = 0.0
  s_data = 0.0
  call torch_tensor_from_array(tensor=x, data_in=x_data, device_type=torch_kCPU, requires_grad=.true.)
  call torch_tensor_from_array(tensor=g, data_in=g_data, layout=[1], device_type=torch_kCPU)
  call torch_tensor_from_array(tensor=s, data_in=s_data, device_type=torch_kCPU)
  y = (x * x + x - x / x) ** 2
  call torch_tensor_sum(output=s, tensor=y)
  call torch_tensor_backward(tensor=s, retain_graph=.false.)
  call torch_tensor_get_gradient(gradient=g, tensor=x)
  ! d/dx sum((x^2 + x - 1)^2) = 2 (x^2 + x - 1)(2x + 1)
  call check(assert_allclose(got=g_data, expect=2 * (x_data**2 + x_data - 1) * (2 * x_data + 1), &
                             test_name="autograd gradient", rtol=1.0e-6, print_result=.true.), "gradient")
  call check(assert_isclose(got=s_data(1), expect=sum((x_data**2 + x_data - 1)**2), test_name="sum", &
                            rtol=1.0e-6), "sum")
  call torch_tensor_zero_grad(tensor=x)
  call torch_tensor_get_gradient(gradient=g, tensor=x)
  call check(all(g_data == 0.0), "zero_grad")
  call torch_tensor_mean(output=s, tensor=x)
  call check(isclose(s_data(1), 2.0, "mean", print_result=.false.), "mean")
  call torch_tensor_ones(tensor=ext, ndims=1, tensor_shape=[1_c_int64_t], dtype=torch_kFloat32, &
                         device_type=torch_kCPU)
  call torch_tensor_backward(tensor=s, external_gradient=ext, retain_graph=.true.)
  call torch_tensor_get_gradient(gradient=g, tensor=x)
  call check(assert_allclose(g_data, [1.0, 1.0, 1.0] / 3, "mean gradient", print_result=.false.), "mean grad")

  ! interrogation
  sizes => torch_tensor_get_shape(self=x)
  strides => torch_tensor_get_stride(self=x)
  ok = torch_tensor_get_rank(self=x) == 1 .and. sizes(1) == 3 .and. strides(1) == 1 .and. &
       torch_tensor_get_dtype(self=x) == torch_kFloat32 .and. torch_tensor_get_device_type(self=x) == torch_kCPU &
       .and. torch_tensor_requires_grad(self=x) .and. torch_tensor_get_device_index(self=x) == -1 .and. &
       x%get_rank() == 1 .and. x%requires_grad()
  call check(ok, "interrogation")

  ! constructors
  shape2 = [2_c_int64_t, 3_c_int64_t]
  call torch_tensor_empty(tensor=e, ndims=2, tensor_shape=shape2, dtype=torch_kFloat32, device_type=torch_kCPU, &
                          device_index=-1, requires_grad=.false.)
  call torch_tensor_zeros(tensor=z, ndims=2, tensor_shape=shape2, dtype=torch_kFloat64, device_type=torch_kCPU)
  call torch_tensor_ones(tensor=o, ndims=2, tensor_shape=shape2, dtype=torch_kFloat64, device_type=torch_kCPU)
  blob = reshape([(real(i, real32), i = 1, 6)], [2, 3])
  call torch_tensor_from_blob(tensor=b, data=c_loc(blob), ndims=2, tensor_shape=shape2, layout=[1, 2], &
                              dtype=torch_kFloat32, device_type=torch_kCPU)
  twice = b + b
  call torch_tensor_print(self=twice)
  call torch_tensor_zero(tensor=b)
  call check(all(blob == 0.0), "torch_tensor_zero")
  ok = torch_tensor_get_rank(e) == 2 .and. z%get_dtype() == torch_kFloat64 .and. o%get_rank() == 2
  call check(ok, "empty/zeros/ones")
  x64 = 0
  call torch_tensor_from_array(t64, x64, torch_kCPU)
  d_data = [4.0, 5.0, 6.0]
  call torch_tensor_from_array(d, d_data, torch_kCPU)
  call torch_tensor_to(source_tensor=d, target_tensor=t64, non_blocking=.false.)
  call check(all(x64 == [4.0_real64, 5.0_real64, 6.0_real64]), "torch_tensor_to")
  d = -d
  call check(all(d_data == [-4.0, -5.0, -6.0]), "unary minus into a view")

  ! --- a model: load, forward, parameters, loss, optimiser step, save ------------------------
  call torch_model_load(model=model, filename=trim(model_file), device_type=torch_kCPU, device_index=-1, &
                        requires_grad=.true., is_training=.true.)
  call check(torch_model_is_training(self=model) .and. model%is_training(), "is_training")
  call torch_model_parameters(model=model, output_tensors=params)
  call torch_optim_SGD(optim=sgd, parameters=params, learning_rate=0.1_real64, momentum=0.0_real64, &
                       weight_decay=0.0_real64, dampening=0.0_real64, nesterov=.false.)
  call torch_optim_Adam(optim=adam, parameters=params, learning_rate=1.0e-3_real64, beta_1=0.9_real64, &
                        beta_2=0.999_real64, eps=1.0e-8_real64, weight_decay=0.0_real64, amsgrad=.false.)
  call torch_optim_AdamW(optim=adamw, parameters=params, learning_rate=1.0e-3_real64, beta_1=0.9_real64, &
                         beta_2=0.999_real64, eps=1.0e-8_real64, weight_decay=0.01_real64, amsgrad=.false.)
  in_data = [1.0_real64, 2.0_real64, 3.0_real64]
  target_data = [0.5_real64, -0.5_real64]
  out_data = 0
  loss_data = 0
  call torch_tensor_from_array(inputs(1), in_data, torch_kCPU)
  call torch_tensor_from_array(outputs(1), out_data, torch_kCPU)
  call torch_tensor_from_array(tgt, target_data, torch_kCPU)
  call torch_tensor_from_array(loss, loss_data, torch_kCPU)
  call torch_optim_zero_grad(optim=sgd)
  call torch_model_forward(model=model, input_tensors=inputs, output_tensors=outputs, requires_grad=.true.)
  call torch_loss_mse(loss_tensor=loss, input_tensor=outputs(1), target_tensor=tgt, reduction_type=torch_kMean)
  write (*, '("loss ", es24.16)') loss_data(1)
  call torch_tensor_backward(loss)
  call torch_optim_step(optim=sgd)
  call sgd%zero_grad()
  call torch_model_save(model=model, filename=trim(saved_file))
  call torch_model_print_parameters(self=model)

  ! cross entropy with class probabilities, and the other reductions
  ce_in = reshape([0.1_real64, 0.4_real64, 0.2_real64, 0.3_real64, 0.7_real64, 0.5_real64], [2, 3])
  ce_target = reshape([1.0_real64, 0.0_real64, 0.0_real64, 1.0_real64, 0.0_real64, 0.0_real64], [2, 3])
  ce_loss = 0
  none_loss = 0
  sum_loss = 0
  call torch_tensor_from_array(ce_a, ce_in, torch_kCPU)
  call torch_tensor_from_array(ce_b, ce_target, torch_kCPU)
  call torch_tensor_from_array(ce_l, ce_loss, torch_kCPU)
  call torch_tensor_from_array(nl, none_loss, torch_kCPU)
  call torch_tensor_from_array(sl, sum_loss, torch_kCPU)
  call torch_loss_cross_entropy(loss_tensor=ce_l, input_tensor=ce_a, target_tensor=ce_b, reduction_type=torch_kMean)
  call torch_loss_mse(loss_tensor=nl, input_tensor=outputs(1), target_tensor=tgt, reduction_type=torch_kNone)
  call torch_loss_mse(loss_tensor=sl, input_tensor=outputs(1), target_tensor=tgt, reduction_type=torch_kSum)
  write (*, '("cross_entropy ", es24.16)') ce_loss(1)
  call check(allclose(none_loss, (out_data - target_data)**2, "mse none", print_result=.false.), "mse none")
  call check(isclose(sum_loss(1), sum((out_data - target_data)**2), "mse sum", print_result=.false.), "mse sum")

  ! reload the saved model: the trained weights
  call torch_model_load(reloaded, trim(saved_file), torch_kCPU)
  call torch_model_forward(reloaded, inputs, outputs)
  write (*, '("trained_output ", 2es24.16)') out_data

  call test_print("ftorch_compat", "all checks", failures == 0)

  ! --- deletion under FTorch's names ----------------------------------------------------------
  call torch_optim_delete(optim=adam)
  call torch_delete(adamw)
  call torch_delete(sgd)
  call torch_model_delete(model=model)
  call torch_delete(reloaded)
  call torch_tensor_delete(tensor=x)
  call torch_delete(params)
  call torch_delete(inputs)
  call torch_delete(outputs)
  call torch_delete(y)
  call torch_delete(s)
  call torch_delete(g)
  call torch_delete(b)
  call torch_delete(e)
  call torch_delete(z)
  call torch_delete(o)
  call torch_delete(d)
  call torch_delete(t64)
  call torch_delete(twice)
  call torch_delete(ext)
  call torch_delete(tgt)
  call torch_delete(loss)
  call torch_delete(ce_a)
  call torch_delete(ce_b)
  call torch_delete(ce_l)
  call torch_delete(nl)
  call torch_delete(sl)
  if (failures /= 0) stop 1

contains

  subroutine check(condition, what)
    logical, intent(in) :: condition
    character(len=*), intent(in) :: what
    if (.not. condition) then
      write (*, '("CHECK FAILED: ", a)') what
      failures = failures + 1
    end if
  end subroutine check

end program ftorch_compat
