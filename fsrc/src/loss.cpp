// Losses: the functions of torch.nn.functional, with their reductions.
#include <ATen/ATen.h>

#include "training.h"

using namespace ft;

namespace {

const char *loss_name(int kind) {
  switch (kind) {
    case FT_LOSS_MSE: return "MSE loss";
    case FT_LOSS_L1: return "L1 loss";
    case FT_LOSS_SMOOTH_L1: return "smooth L1 loss";
    case FT_LOSS_HUBER: return "Huber loss";
    case FT_LOSS_CROSS_ENTROPY: return "cross-entropy loss";
    case FT_LOSS_BCE_WITH_LOGITS: return "BCE-with-logits loss";
    default: fail(FT_ERR_INVALID_ARGUMENT, "unknown loss code " + std::to_string(kind));
  }
}

void require_same(const at::Tensor &input, const at::Tensor &target, const char *name) {
  if (input.sizes() != target.sizes())
    fail(FT_ERR_SHAPE, std::string(name) + ": input has shape " + describe_shape(input.sizes()) +
                           " but target has shape " + describe_shape(target.sizes()));
  if (input.scalar_type() != target.scalar_type())
    fail(FT_ERR_DTYPE, std::string(name) + ": input is " + describe_dtype(input.scalar_type()) + " but target is " +
                           describe_dtype(target.scalar_type()));
}

void require_device(const at::Tensor &input, const at::Tensor &target, const char *name) {
  if (input.device() != target.device())
    fail(FT_ERR_DEVICE, std::string(name) + ": input lives on " + describe_device(input.device()) + " but target on " +
                            describe_device(target.device()));
}

at::Tensor cross_entropy(const at::Tensor &input, const at::Tensor &target, int64_t reduction, double smoothing) {
  const char *name = "cross-entropy loss";
  if (input.dim() < 1) fail(FT_ERR_SHAPE, "cross-entropy loss: input must have a class dimension");
  if (!at::isFloatingType(target.scalar_type())) {
    // Class indices: the target has the input's shape without the class dimension (1, or 0
    // for an unbatched input).
    std::vector<int64_t> expected(input.sizes().begin(), input.sizes().end());
    expected.erase(expected.begin() + (input.dim() == 1 ? 0 : 1));
    if (target.sizes() != at::IntArrayRef(expected))
      fail(FT_ERR_SHAPE, "cross-entropy loss: class-index target has shape " + describe_shape(target.sizes()) +
                             " but input of shape " + describe_shape(input.sizes()) + " needs " +
                             describe_shape(expected));
    if (target.scalar_type() != at::kLong)
      fail(FT_ERR_DTYPE, "cross-entropy loss: class indices must be int64 (torch_kInt64), got " +
                             describe_dtype(target.scalar_type()));
  } else {
    require_same(input, target, name);
  }
  return at::cross_entropy_loss(input, target, /*weight=*/{}, reduction, /*ignore_index=*/-100, smoothing);
}

}  // namespace

extern "C" {

int ft_loss(int kind, ft_tensor input, ft_tensor target, int reduction, double param, ft_tensor *out) {
  ConsumeTemps consumed(input, target);
  FT_GUARD({
    const char *name = loss_name(kind);
    const at::Tensor &x = tensor_of(input, "input tensor");
    const at::Tensor &y = tensor_of(target, "target tensor");
    if (reduction < FT_REDUCTION_NONE || reduction > FT_REDUCTION_SUM)
      fail(FT_ERR_INVALID_ARGUMENT, "unknown reduction code " + std::to_string(reduction));
    if (!at::isFloatingType(x.scalar_type()))
      fail(FT_ERR_DTYPE, std::string(name) + ": input must be floating point, got " + describe_dtype(x.scalar_type()));
    require_device(x, y, name);
    int64_t r = reduction;  // same values as at::Reduction
    at::Tensor loss;
    switch (kind) {
      case FT_LOSS_MSE:
        require_same(x, y, name);
        loss = at::mse_loss(x, y, r);
        break;
      case FT_LOSS_L1:
        require_same(x, y, name);
        loss = at::l1_loss(x, y, r);
        break;
      case FT_LOSS_SMOOTH_L1:
        require_same(x, y, name);
        loss = at::smooth_l1_loss(x, y, r, param);
        break;
      case FT_LOSS_HUBER:
        require_same(x, y, name);
        loss = at::huber_loss(x, y, r, param);
        break;
      case FT_LOSS_CROSS_ENTROPY: loss = cross_entropy(x, y, r, param); break;
      case FT_LOSS_BCE_WITH_LOGITS:
        require_same(x, y, name);
        loss = at::binary_cross_entropy_with_logits(x, y, /*weight=*/{}, /*pos_weight=*/{}, r);
        break;
    }
    if (reduction != FT_REDUCTION_NONE) loss = loss.reshape({1});
    assign_value(out, std::move(loss), /*clone_if_named=*/false);
  });
}

}  // extern "C"
