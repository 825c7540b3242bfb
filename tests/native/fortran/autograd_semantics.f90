!> Accumulation, zero_grad, retain_graph, external gradients and gradient snapshots.
!> Prints "label v1 v2 ..." lines; tests/native/test_autograd.py recomputes each with PyTorch.
program autograd_semantics
  use, intrinsic :: iso_fortran_env, only: real64
  use ftorch, only: assignment(=), operator(+), operator(*), operator(-), operator(**), &
                    torch_kCPU, torch_tensor, torch_tensor_from_array, torch_tensor_backward, &
                    torch_tensor_get_gradient, torch_tensor_zero_grad, torch_delete
  implicit none
  real(real64), target :: xa(3), xb(3), xg(3), ga(3), gb(3), snap(3)
  type(torch_tensor) :: a, b, q, p, g, tga, tgb, tsnap
  integer :: st
  character(len=256) :: msg

  xa = [0.5_real64, -1.25_real64, 2.0_real64]
  xb = [3.0_real64, 0.75_real64, -1.5_real64]
  xg = [1.0_real64, -2.0_real64, 0.5_real64]
  call torch_tensor_from_array(a, xa, torch_kCPU, requires_grad=.true.)
  call torch_tensor_from_array(b, xb, torch_kCPU, requires_grad=.true.)
  call torch_tensor_from_array(tga, ga, torch_kCPU)
  call torch_tensor_from_array(tgb, gb, torch_kCPU)

  ! Two backward calls through one retained graph accumulate.
  q = a * b * a
  call torch_tensor_backward(q, retain_graph=.true.)
  call torch_tensor_backward(q, retain_graph=.true.)
  call show('accumulate_2')
  ! A third call (graph still retained) accumulates again; this one frees the graph.
  call torch_tensor_backward(q)
  call show('accumulate_3')
  ! A fourth backward through the freed graph is an error.
  call torch_tensor_backward(q, stat=st, errmsg=msg)
  write (*, '(a, 1x, i0, 1x, a)') 'freed_graph_stat', st, trim(msg)

  ! zero_grad, then the gradient of another expression.
  call torch_tensor_zero_grad(a)
  call torch_tensor_zero_grad(b)
  call show('zeroed')
  p = a + b ** 2
  call torch_tensor_backward(p)
  call show('after_zero_grad')

  ! An external gradient.
  call torch_tensor_zero_grad(a)
  call torch_tensor_zero_grad(b)
  call torch_tensor_from_array(g, xg, torch_kCPU)
  q = (a - b) * a
  call torch_tensor_backward(q, g)
  call show('external_gradient')

  ! get_gradient is a snapshot: the holder keeps its values until it is read again.
  call torch_tensor_from_array(tsnap, snap, torch_kCPU)
  call torch_tensor_get_gradient(tsnap, a)
  q = a * a
  call torch_tensor_backward(q)
  write (*, '(a, 3(1x, es24.16))') 'snapshot_before_refresh', snap
  call torch_tensor_get_gradient(tsnap, a)
  write (*, '(a, 3(1x, es24.16))') 'snapshot_after_refresh', snap

  ! zero_grad on a tensor that has no gradient yet does nothing and succeeds.
  call torch_tensor_zero_grad(g, stat=st)
  write (*, '(a, 1x, i0)') 'zero_grad_without_gradient_stat', st

  call torch_delete(q)
  call torch_delete(p)

contains

  subroutine show(label)
    character(len=*), intent(in) :: label
    call torch_tensor_get_gradient(tga, a)
    call torch_tensor_get_gradient(tgb, b)
    write (*, '(a, 6(1x, es24.16))') label, ga, gb
  end subroutine show

end program autograd_semantics
