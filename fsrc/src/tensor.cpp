// Tensors: construction, queries, arithmetic and assignment.
#include <ATen/ATen.h>
#include <c10/core/GradMode.h>

#include <cstring>
#include <iostream>
#include <utility>
#include <vector>

#include "internal.h"

namespace ft {

namespace {

// The caller's shape, validated.  It is viewed, not copied: it is only read during the call
// (LibTorch copies the extents into the tensor), and a copy would cost a heap allocation
// on every construction, which time loops do once per step.
at::IntArrayRef checked_shape(int ndim, const int64_t *shape, const char *what) {
  if (ndim < 0 || ndim > 64) fail(FT_ERR_INVALID_ARGUMENT, std::string(what) + ": invalid rank " + std::to_string(ndim));
  if (ndim > 0 && shape == nullptr) fail(FT_ERR_INVALID_ARGUMENT, std::string(what) + ": shape is NULL");
  at::IntArrayRef v(shape, static_cast<size_t>(ndim));
  for (int i = 0; i < ndim; ++i)
    if (v[i] < 0) fail(FT_ERR_INVALID_ARGUMENT, std::string(what) + ": negative extent in shape " + describe_shape(v));
  return v;
}

at::TensorOptions options(int dtype, const at::Device &device) {
  return at::TensorOptions().dtype(to_scalar_type(dtype)).device(device);
}

// Checks shared by every tensor-tensor operator, with messages that name both operands.
// Devices and dtypes are checked before the operation, because LibTorch would accept some
// mismatches (type promotion, CPU scalars with CUDA tensors) that the API refuses.
[[noreturn, gnu::cold, gnu::noinline]] void fail_device(const at::Tensor &a, const at::Tensor &b, const char *op) {
  fail(FT_ERR_DEVICE, std::string("operands of ") + op + " live on different devices (" + describe_device(a.device()) +
                          " and " + describe_device(b.device()) + "); move one with torch_tensor_to");
}

[[noreturn, gnu::cold, gnu::noinline]] void fail_dtype(const at::Tensor &a, const at::Tensor &b, const char *op) {
  fail(FT_ERR_DTYPE, std::string("operands of ") + op + " have different dtypes (" + describe_dtype(a.scalar_type()) +
                         " and " + describe_dtype(b.scalar_type()) + "); convert one with torch_tensor_to");
}

inline void check_device_and_dtype(const at::Tensor &a, const at::Tensor &b, const char *op) {
  if (C10_UNLIKELY(a.device() != b.device())) fail_device(a, b, op);
  if (C10_UNLIKELY(a.scalar_type() != b.scalar_type())) fail_dtype(a, b, op);
}

// Broadcasting: from the trailing dimension, extents must be equal or one of them 1.
// LibTorch applies the same rule and refuses shapes that break it, so this check runs
// only after LibTorch refused an operation, to replace its message with one naming the
// operator: the outcome is the same as checking first, without the cost on every call.
[[gnu::cold, gnu::noinline]] void check_broadcast(const at::Tensor &a, const at::Tensor &b, const char *op) {
  auto sa = a.sizes(), sb = b.sizes();
  size_t na = sa.size(), nb = sb.size();
  for (size_t i = 0; i < std::min(na, nb); ++i) {
    int64_t x = sa[na - 1 - i], y = sb[nb - 1 - i];
    if (x != y && x != 1 && y != 1)
      fail(FT_ERR_SHAPE, std::string("operands of ") + op + " have shapes " + describe_shape(sa) + " and " +
                             describe_shape(sb) + ", which do not broadcast");
  }
}

const char *op_name(int op) {
  switch (op) {
    case FT_ADD: return "operator(+)";
    case FT_SUB: return "operator(-)";
    case FT_MUL: return "operator(*)";
    case FT_DIV: return "operator(/)";
    case FT_POW: return "operator(**)";
    default: fail(FT_ERR_INVALID_ARGUMENT, "unknown binary operator code " + std::to_string(op));
  }
}

at::Tensor apply_binary(int op, const at::Tensor &a, const at::Tensor &b) {
  switch (op) {
    case FT_ADD: return at::add(a, b);
    case FT_SUB: return at::sub(a, b);
    case FT_MUL: return at::mul(a, b);
    case FT_DIV: return at::div(a, b);
    case FT_POW: return at::pow(a, b);
  }
  fail(FT_ERR_INVALID_ARGUMENT, "unknown binary operator code " + std::to_string(op));
}

at::Tensor apply_scalar(int op, const at::Tensor &a, const at::Scalar &s, bool scalar_first) {
  if (!scalar_first) {
    switch (op) {
      case FT_ADD: return at::add(a, s);
      case FT_SUB: return at::sub(a, s);
      case FT_MUL: return at::mul(a, s);
      case FT_DIV: return at::div(a, s);
      case FT_POW: return at::pow(a, s);
    }
  } else {
    switch (op) {
      case FT_ADD: return at::add(a, s);
      case FT_SUB: return at::rsub(a, s);  // s - a
      case FT_MUL: return at::mul(a, s);
      case FT_DIV: return at::mul(at::reciprocal(a), s);  // s / a, as torch's __rtruediv__
      case FT_POW: return at::pow(s, a);
    }
  }
  fail(FT_ERR_INVALID_ARGUMENT, "unknown binary operator code " + std::to_string(op));
}

// Publish an operator result.  Temporary inputs are consumed by the caller's ConsumeTemps
// when it returns, on success and failure alike.
void finish(at::Tensor result, unsigned flags, ft_tensor *out) {
  if (out == nullptr) fail(FT_ERR_INVALID_ARGUMENT, "output handle pointer is NULL");
  if (flags & FT_FLAG_TEMP) forget_assigned_temp();  // a new Fortran expression begins
  *out = static_cast<ft_tensor>(tensors().insert(std::move(result), result_flags(flags)));
}

// Shape and strides share one buffer per slot; it only grows, for ranks above 16, so a
// pointer handed out earlier stays valid while the handle lives.
int64_t *meta_buffer(TensorSlot &s, int n) {
  if (n < 32) n = 32;
  if (s.meta_cap < n) {
    s.meta.reset(new int64_t[static_cast<size_t>(n)]);
    s.meta_cap = n;
  }
  return s.meta.get();
}

// Shape and strides of an expression temporary, which the query consumes: they are copied
// to a per-thread buffer, valid until the next such query of a temporary on this thread.
thread_local std::vector<int64_t> t_temp_meta;

// Copy sizes and strides of s into a buffer that outlives the call; returns its two halves.
std::pair<const int64_t *, const int64_t *> publish_meta(TensorSlot &s) {
  auto sizes = s.value.sizes();
  auto strides = s.value.strides();
  size_t n = sizes.size();
  int64_t *buf;
  size_t half;
  if (s.flags & kTemp) {
    t_temp_meta.assign(2 * (n > 0 ? n : 1), 0);
    buf = t_temp_meta.data();
    half = t_temp_meta.size() / 2;
  } else {
    buf = meta_buffer(s, 2 * (n > 0 ? static_cast<int>(n) : 1));
    half = static_cast<size_t>(s.meta_cap / 2);
  }
  std::copy(sizes.begin(), sizes.end(), buf);
  std::copy(strides.begin(), strides.end(), buf + half);
  return {buf, buf + half};
}

}  // namespace

void assign_value(ft_tensor *lhs, at::Tensor value, bool clone_if_named) {
  if (lhs == nullptr) fail(FT_ERR_INVALID_ARGUMENT, "assignment target pointer is NULL");
  if (*lhs == nullptr) {
    *lhs = new_handle(clone_if_named ? value.clone() : std::move(value));
    return;
  }
  TensorSlot &dst = slot_of(*lhs, "assignment target");
  if (dst.flags & kView) {
    at::Tensor &target = dst.value;
    if (target.scalar_type() != value.scalar_type())
      fail(FT_ERR_DTYPE, "cannot assign a " + describe_dtype(value.scalar_type()) + " value to a " +
                             describe_dtype(target.scalar_type()) + " tensor that views a Fortran array");
    if (target.sizes() != value.sizes() && value.numel() != 1)
      fail(FT_ERR_SHAPE, "cannot assign a value of shape " + describe_shape(value.sizes()) +
                             " to a tensor of shape " + describe_shape(target.sizes()) + " that views a Fortran array");
    // The view's earlier history is cut before writing: the new value replaces all of its
    // elements, so back-propagation must not reach (possibly already freed) old graphs.
    // A leaf that requires grad keeps its identity and LibTorch refuses the in-place write.
    if (!(target.is_leaf() && target.requires_grad())) target = target.detach();
    target.copy_(value);
    return;
  }
  dst.value = clone_if_named ? value.clone() : std::move(value);
  dst.flags &= ~kTemp;
}

}  // namespace ft

using namespace ft;

extern "C" {

// ---------------------------------------------------------------------------------------
// Construction and destruction
// ---------------------------------------------------------------------------------------

int ft_tensor_from_blob(void *data, int ndim, const int64_t *shape, const int64_t *strides, int dtype,
                        int device_type, int device_index, int requires_grad, unsigned flags, ft_tensor *out) {
  FT_GUARD({
    if (out == nullptr) fail(FT_ERR_INVALID_ARGUMENT, "output handle pointer is NULL");
    auto sizes = checked_shape(ndim, shape, "from_blob");
    int64_t numel = 1;
    for (auto s : sizes) numel *= s;
    if (data == nullptr && numel > 0) fail(FT_ERR_INVALID_ARGUMENT, "data pointer is NULL");
    at::Device device = to_device(device_type, device_index);
    auto host = at::TensorOptions().dtype(to_scalar_type(dtype));
    at::Tensor view = strides ? at::from_blob(data, sizes, at::IntArrayRef(strides, ndim), host)
                              : at::from_blob(data, sizes, host);
    at::Tensor t;
    uint32_t slot_flags = 0;
    if (device.is_cpu() && !(flags & FT_FLAG_COPY)) {
      t = std::move(view);
      slot_flags = kView;
    } else {
      // A fresh tensor on the target device holds the values, so that with requires_grad
      // it is itself the leaf (the caller's handle is what receives .grad).
      c10::AutoGradMode no_grad(false);
      t = at::empty(sizes, host.device(device));
      t.copy_(view);
    }
    if (requires_grad) t.set_requires_grad(true);
    *out = new_handle(std::move(t), slot_flags);
  });
}

int ft_tensor_new(int fill, int ndim, const int64_t *shape, int dtype, int device_type, int device_index,
                  int requires_grad, ft_tensor *out) {
  FT_GUARD({
    if (out == nullptr) fail(FT_ERR_INVALID_ARGUMENT, "output handle pointer is NULL");
    auto sizes = checked_shape(ndim, shape, "tensor constructor");
    auto opts = options(dtype, to_device(device_type, device_index));
    at::Tensor t;
    switch (fill) {
      case FT_FILL_EMPTY: t = at::empty(sizes, opts); break;
      case FT_FILL_ZEROS: t = at::zeros(sizes, opts); break;
      case FT_FILL_ONES: t = at::ones(sizes, opts); break;
      default: fail(FT_ERR_INVALID_ARGUMENT, "unknown fill code " + std::to_string(fill));
    }
    if (requires_grad) t.set_requires_grad(true);
    *out = new_handle(std::move(t));
  });
}

int ft_tensor_delete(ft_tensor t) {
  FT_GUARD({
    if (t == nullptr) return;
    if (!tensors().erase(t))
      fail(FT_ERR_STALE_HANDLE,
           "tensor was already deleted (double delete), or it was an expression temporary that has been consumed");
  });
}

int ft_tensor_release(ft_tensor t) {
  if (t != nullptr) tensors().erase(t);
  return FT_OK;
}

int ft_tensor_consume_temp(ft_tensor t) {
  consume_if_temp(t);
  return FT_OK;
}

int ft_tensor_share(ft_tensor t, ft_tensor *out) {
  ConsumeTemps consumed(t);
  FT_GUARD({
    if (out == nullptr) fail(FT_ERR_INVALID_ARGUMENT, "output handle pointer is NULL");
    TensorSlot &s = slot_of(t, "tensor");
    *out = new_handle(s.value, s.flags & kView);
  });
}

// ---------------------------------------------------------------------------------------
// Queries
// ---------------------------------------------------------------------------------------

int ft_tensor_ndim(ft_tensor t, int *ndim) {
  ConsumeTemps consumed(t);
  FT_GUARD({ *ndim = static_cast<int>(tensor_of(t, "tensor").dim()); });
}

int ft_tensor_shape(ft_tensor t, const int64_t **shape) {
  ConsumeTemps consumed(t);
  FT_GUARD({ *shape = publish_meta(slot_of(t, "tensor")).first; });
}

int ft_tensor_strides(ft_tensor t, const int64_t **strides) {
  ConsumeTemps consumed(t);
  FT_GUARD({ *strides = publish_meta(slot_of(t, "tensor")).second; });
}

int ft_tensor_dims(ft_tensor t, int *ndim, const int64_t **shape, const int64_t **strides) {
  ConsumeTemps consumed(t);
  FT_GUARD({
    if (ndim == nullptr) fail(FT_ERR_INVALID_ARGUMENT, "ndim pointer is NULL");
    TensorSlot &s = slot_of(t, "tensor");
    auto meta = publish_meta(s);
    *ndim = static_cast<int>(s.value.dim());
    if (shape != nullptr) *shape = meta.first;
    if (strides != nullptr) *strides = meta.second;
  });
}

int ft_tensor_numel(ft_tensor t, int64_t *numel) {
  ConsumeTemps consumed(t);
  FT_GUARD({ *numel = tensor_of(t, "tensor").numel(); });
}

int ft_tensor_dtype(ft_tensor t, int *dtype) {
  ConsumeTemps consumed(t);
  FT_GUARD({ *dtype = from_scalar_type(tensor_of(t, "tensor").scalar_type()); });
}

int ft_tensor_device(ft_tensor t, int *device_type, int *device_index) {
  ConsumeTemps consumed(t);
  FT_GUARD({
    const at::Tensor &x = tensor_of(t, "tensor");
    if (device_type) *device_type = from_device_type(x.device().type());
    if (device_index) *device_index = x.device().is_cpu() ? -1 : x.device().index();
  });
}

int ft_tensor_requires_grad(ft_tensor t, int *flag) {
  ConsumeTemps consumed(t);
  FT_GUARD({ *flag = tensor_of(t, "tensor").requires_grad() ? 1 : 0; });
}

int ft_tensor_is_leaf(ft_tensor t, int *flag) {
  ConsumeTemps consumed(t);
  FT_GUARD({ *flag = tensor_of(t, "tensor").is_leaf() ? 1 : 0; });
}

int ft_tensor_is_view(ft_tensor t, int *flag) {
  ConsumeTemps consumed(t);
  FT_GUARD({ *flag = (slot_of(t, "tensor").flags & kView) ? 1 : 0; });
}

// Not consuming: the address of a consumed temporary would dangle.  Only Python calls it.
int ft_tensor_data_ptr(ft_tensor t, void **ptr) { FT_GUARD({ *ptr = tensor_of(t, "tensor").data_ptr(); }); }

int ft_tensor_print(ft_tensor t) {
  ConsumeTemps consumed(t);
  FT_GUARD({
    std::cout << tensor_of(t, "tensor") << std::endl;
  });
}

int ft_tensor_copy_to(ft_tensor t, void *data, int ndim, const int64_t *shape, const int64_t *strides, int dtype) {
  ConsumeTemps consumed(t);
  FT_GUARD({
    const at::Tensor &src = tensor_of(t, "tensor");
    auto sizes = checked_shape(ndim, shape, "copy_to");
    if (src.sizes() != at::IntArrayRef(sizes))
      fail(FT_ERR_SHAPE, "cannot copy a tensor of shape " + describe_shape(src.sizes()) + " into a buffer of shape " +
                             describe_shape(sizes));
    if (data == nullptr && src.numel() > 0) fail(FT_ERR_INVALID_ARGUMENT, "destination pointer is NULL");
    auto host = at::TensorOptions().dtype(to_scalar_type(dtype));
    at::Tensor dst = strides ? at::from_blob(data, sizes, at::IntArrayRef(strides, ndim), host)
                             : at::from_blob(data, sizes, host);
    c10::AutoGradMode no_grad(false);
    dst.copy_(src);
  });
}

// ---------------------------------------------------------------------------------------
// Arithmetic
// ---------------------------------------------------------------------------------------

int ft_tensor_binary(int op, ft_tensor a, ft_tensor b, unsigned flags, ft_tensor *out) {
  ConsumeTemps consumed(a, b);
  FT_GUARD({
    const char *name = op_name(op);
    const TensorSlot &sa = slot_of(a, "left operand");
    const TensorSlot &sb = slot_of(b, "right operand");
    const at::Tensor &x = sa.value, &y = sb.value;
    check_device_and_dtype(x, y, name);
    at::Tensor result;
    try {
      result = apply_binary(op, x, y);
    } catch (...) {
      check_broadcast(x, y, name);  // the operator's own message for shapes that do not broadcast
      throw;
    }
    finish(std::move(result), flags, out);
  });
}

int ft_tensor_binary_scalar(int op, ft_tensor a, double s, int scalar_first, unsigned flags, ft_tensor *out) {
  ConsumeTemps consumed(a);
  FT_GUARD({
    op_name(op);
    const TensorSlot &sa = slot_of(a, "tensor operand");
    finish(apply_scalar(op, sa.value, at::Scalar(s), scalar_first != 0), flags, out);
  });
}

int ft_tensor_binary_iscalar(int op, ft_tensor a, int64_t s, int scalar_first, unsigned flags, ft_tensor *out) {
  ConsumeTemps consumed(a);
  FT_GUARD({
    op_name(op);
    const TensorSlot &sa = slot_of(a, "tensor operand");
    finish(apply_scalar(op, sa.value, at::Scalar(s), scalar_first != 0), flags, out);
  });
}

int ft_tensor_neg(ft_tensor a, unsigned flags, ft_tensor *out) {
  ConsumeTemps consumed(a);
  FT_GUARD({
    const TensorSlot &sa = slot_of(a, "operand of unary -");
    finish(at::neg(sa.value), flags, out);
  });
}

int ft_tensor_sum(ft_tensor a, unsigned flags, ft_tensor *out) {
  ConsumeTemps consumed(a);
  FT_GUARD({
    const TensorSlot &sa = slot_of(a, "tensor");
    finish(at::sum(sa.value).reshape({1}), flags, out);
  });
}

int ft_tensor_mean(ft_tensor a, unsigned flags, ft_tensor *out) {
  ConsumeTemps consumed(a);
  FT_GUARD({
    const TensorSlot &sa = slot_of(a, "tensor");
    const at::Tensor &x = sa.value;
    if (!at::isFloatingType(x.scalar_type()))
      fail(FT_ERR_DTYPE, "mean needs a floating-point tensor, got " + describe_dtype(x.scalar_type()));
    finish(at::mean(x).reshape({1}), flags, out);
  });
}

int ft_tensor_to_new(ft_tensor a, int device_type, int device_index, int dtype, unsigned flags, ft_tensor *out) {
  ConsumeTemps consumed(a);
  FT_GUARD({
    const TensorSlot &sa = slot_of(a, "tensor");
    const at::Tensor &x = sa.value;
    at::Device device = to_device(device_type, device_index);
    at::ScalarType st = dtype < 0 ? x.scalar_type() : to_scalar_type(dtype);
    finish(x.to(device, st, /*non_blocking=*/false, /*copy=*/true), flags, out);
  });
}

int ft_tensor_detach(ft_tensor a, unsigned flags, ft_tensor *out) {
  ConsumeTemps consumed(a);
  FT_GUARD({
    const TensorSlot &sa = slot_of(a, "tensor");
    finish(sa.value.detach(), flags, out);
  });
}

// ---------------------------------------------------------------------------------------
// Assignment and in-place updates
// ---------------------------------------------------------------------------------------

int ft_tensor_assign(ft_tensor *lhs, ft_tensor rhs) {
  FT_GUARD({
    TensorSlot *found = tensors().find(rhs);
    if (C10_UNLIKELY(found == nullptr)) {
      // An elemental assignment of one temporary to an array (`arr = t * 2.0`) passes the
      // same handle once per element, and the first element consumed it: every further
      // element receives its own copy of the value.
      if (const at::Tensor *value = recall_assigned_temp(rhs)) {
        assign_value(lhs, *value, /*clone_if_named=*/true);
        return;
      }
      found = &slot_of(rhs, "right-hand side of the assignment");  // fails, naming the problem
    }
    TensorSlot &src = *found;
    if (lhs != nullptr && *lhs == rhs) return;  // x = x
    bool temp = (src.flags & kTemp) != 0;
    if (temp) {
      // Take the value out of the temporary's slot (a move: no reference-count traffic),
      // then free the slot, which now holds an undefined tensor.
      at::Tensor value = std::move(src.value);
      tensors().erase(rhs);
      remember_assigned_temp(rhs, value);
      assign_value(lhs, std::move(value), /*clone_if_named=*/false);
    } else {
      assign_value(lhs, src.value, /*clone_if_named=*/true);
    }
  });
}

int ft_tensor_copy(ft_tensor src, ft_tensor dst, int non_blocking) {
  ConsumeTemps consumed(src, dst);
  FT_GUARD({
    const at::Tensor &s = tensor_of(src, "source tensor");
    at::Tensor &d = tensor_of(dst, "target tensor");
    if (s.sizes() != d.sizes())
      fail(FT_ERR_SHAPE, "source shape " + describe_shape(s.sizes()) + " differs from target shape " +
                             describe_shape(d.sizes()));
    c10::AutoGradMode no_grad(false);
    d.copy_(s, non_blocking != 0);
  });
}

int ft_tensor_zero(ft_tensor t) {
  ConsumeTemps consumed(t);
  FT_GUARD({
    c10::AutoGradMode no_grad(false);
    tensor_of(t, "tensor").zero_();
  });
}

}  // extern "C"
