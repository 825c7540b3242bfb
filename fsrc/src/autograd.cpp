// Autograd: backward, gradient access and zeroing.
#include <ATen/ATen.h>
#include <c10/core/GradMode.h>
#include <c10/util/Exception.h>
#include <torch/csrc/autograd/variable.h>

#include "internal.h"

namespace ft {

// What VariableType's detach_ does to a tensor that is not a view (its caller checked),
// called directly: through the dispatcher, detach_() also passes a profiler hook and two
// dispatch layers, which cost more than the rest of a small assignment into a view.  The
// tensor keeps its autograd metadata, as with detach_(), so that the next copy_ into it
// reuses it instead of allocating a new one.
void detach_in_place(at::Tensor &t) {
  torch::autograd::AutogradMeta *meta = torch::autograd::impl::get_autograd_meta(t);
  if (meta == nullptr) return;  // no history, no gradient requirement: already detached
  meta->set_requires_grad(false, t.unsafeGetTensorImpl());
  meta->grad_fn_.reset();
  meta->output_nr_ = 0;
  meta->fw_grad_.reset();
}

}  // namespace ft

using namespace ft;

namespace {

// The gradient of a tensor without tripping c10's "non-leaf .grad" warning.
const at::Tensor &gradient_of(const at::Tensor &t) { return t.mutable_grad(); }

}  // namespace

extern "C" {

int ft_tensor_backward(ft_tensor t, ft_tensor grad, int retain_graph) {
  ConsumeTemps consumed(t, grad);
  FT_GUARD({
    const at::Tensor &out = tensor_of(t, "tensor");
    if (!out.requires_grad())
      fail(FT_ERR_AUTOGRAD,
           "the tensor does not require gradients: none of the tensors it was computed from was constructed "
           "with requires_grad=.true.");
    at::Tensor seed;
    if (grad == nullptr) {
      seed = at::ones_like(out);
    } else {
      const at::Tensor &g = tensor_of(grad, "external gradient");
      if (g.sizes() != out.sizes())
        fail(FT_ERR_SHAPE, "external gradient has shape " + describe_shape(g.sizes()) + " but the tensor has shape " +
                               describe_shape(out.sizes()));
      if (g.scalar_type() != out.scalar_type())
        fail(FT_ERR_DTYPE, "external gradient has dtype " + describe_dtype(g.scalar_type()) +
                               " but the tensor has dtype " + describe_dtype(out.scalar_type()));
      if (g.device() != out.device())
        fail(FT_ERR_DEVICE, "external gradient lives on " + describe_device(g.device()) + " but the tensor on " +
                                describe_device(out.device()));
      seed = g;
    }
    try {
      out.backward(seed, /*retain_graph=*/retain_graph != 0, /*create_graph=*/false);
    } catch (const c10::Error &e) {
      std::string msg = e.what_without_backtrace();
      if (msg.find("second time") != std::string::npos)
        fail(FT_ERR_AUTOGRAD,
             "the autograd graph of this tensor was already freed by an earlier backward; pass "
             "retain_graph=.true. to the earlier torch_tensor_backward to back-propagate through it again "
             "(LibTorch: " +
                 msg.substr(0, msg.find('.') + 1) + ")");
      throw;
    }
  });
}

int ft_tensor_get_gradient(ft_tensor t, ft_tensor *holder) {
  ConsumeTemps consumed(t);
  FT_GUARD({
    if (holder == nullptr) fail(FT_ERR_INVALID_ARGUMENT, "gradient holder pointer is NULL");
    const at::Tensor &x = tensor_of(t, "tensor");
    if (!x.is_leaf() && !x.retains_grad())
      fail(FT_ERR_NO_GRADIENT,
           "the tensor is not a leaf of the autograd graph, so LibTorch keeps no gradient for it; gradients "
           "are available for tensors constructed with requires_grad=.true.");
    const at::Tensor &g = gradient_of(x);
    if (!g.defined())
      fail(FT_ERR_NO_GRADIENT, x.requires_grad()
                                   ? "the tensor has no gradient yet: call torch_tensor_backward on a result "
                                     "computed from it first (an optimiser's zero_grad also removes gradients)"
                                   : "the tensor has no gradient: it was not constructed with requires_grad=.true.");
    c10::AutoGradMode no_grad(false);
    if (*holder == nullptr) {
      *holder = new_handle(g.clone());
      return;
    }
    at::Tensor dst = tensor_of(*holder, "gradient holder");
    if (dst.sizes() != g.sizes())
      fail(FT_ERR_SHAPE, "gradient holder has shape " + describe_shape(dst.sizes()) + " but the gradient has shape " +
                             describe_shape(g.sizes()));
    if (dst.scalar_type() != g.scalar_type())
      fail(FT_ERR_DTYPE, "gradient holder has dtype " + describe_dtype(dst.scalar_type()) +
                             " but the gradient has dtype " + describe_dtype(g.scalar_type()));
    dst.copy_(g);
  });
}

int ft_tensor_has_gradient(ft_tensor t, int *flag) {
  ConsumeTemps consumed(t);
  FT_GUARD({ *flag = gradient_of(tensor_of(t, "tensor")).defined() ? 1 : 0; });
}

int ft_tensor_zero_grad(ft_tensor t) {
  ConsumeTemps consumed(t);
  FT_GUARD({
    at::Tensor x = tensor_of(t, "tensor");
    at::Tensor &g = x.mutable_grad();
    if (g.defined()) {
      c10::AutoGradMode no_grad(false);
      g.zero_();
    }
  });
}

int ft_tensor_set_requires_grad(ft_tensor t, int flag) {
  ConsumeTemps consumed(t);
  FT_GUARD({
    at::Tensor x = tensor_of(t, "tensor");
    if (!x.is_leaf())
      fail(FT_ERR_AUTOGRAD, "requires_grad can only be changed on a leaf tensor (one not computed from others)");
    x.set_requires_grad(flag != 0);
  });
}

}  // extern "C"
