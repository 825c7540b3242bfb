// Tensors: construction, queries, arithmetic and assignment.
#include <ATen/ATen.h>
#include <ATen/CPUFunctions.h>
#include <ATen/ExpandUtils.h>
#include <ATen/ScalarOps.h>
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
  if (ndim < 0 || ndim > 64)
    fail(FT_ERR_INVALID_ARGUMENT, std::string(what) + ": invalid rank " + std::to_string(ndim));
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

// a.sizes() == b.sizes(), without the out-of-line calls.
inline bool same_sizes(const at::Tensor &a, const at::Tensor &b) {
  auto sa = a.unsafeGetTensorImpl()->sizes(), sb = b.unsafeGetTensorImpl()->sizes();
  if (sa.size() != sb.size()) return false;
  for (size_t i = 0; i < sa.size(); ++i)
    if (sa[i] != sb[i]) return false;
  return true;
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

// The last expression temporary that ft_tensor_assign consumed on this thread, kept so that
// an elemental assignment of one temporary to an array of tensors (`arr = t * 2.0`, one
// assign call per element with the same, by then consumed, handle) gives every element the
// value.  Dropped when this thread creates its next operator result.
// remember_assigned_temp keeps the value (it was copied into a view's array);
// remember_assigned_target keeps the handle that now holds it (a rebound handle holds the
// temporary's own tensor; a fused assignment computed it into the target's array), read
// when recalled, with no reference held meanwhile.  Kept here, next to their only users, so
// that the hot paths reach the thread-local state inline.  The state is split in two: every
// operator call and assignment touch the trivially destructible part (one TLS access, no
// initialisation wrapper); the value, which needs a destructor, only when has_value says
// it holds one.
struct AssignedTemp {
  ft_tensor handle = nullptr;
  ft_tensor target = nullptr;  // see remember_assigned_target()
  bool has_value = false;
};
thread_local AssignedTemp g_assigned_temp;
thread_local at::Tensor g_assigned_value;

inline void remember_assigned_temp(ft_tensor handle, const at::Tensor &value) {
  g_assigned_value = value;
  AssignedTemp &a = g_assigned_temp;
  a.handle = handle;
  a.target = nullptr;
  a.has_value = true;
}

inline void remember_assigned_target(ft_tensor handle, ft_tensor target) noexcept {
  AssignedTemp &a = g_assigned_temp;
  if (a.has_value) {
    g_assigned_value.reset();
    a.has_value = false;
  }
  a.handle = handle;
  a.target = target;
}

at::Tensor recall_assigned_temp(ft_tensor handle) {
  const AssignedTemp &a = g_assigned_temp;
  if (handle == nullptr || a.handle != handle) return at::Tensor();
  if (a.target != nullptr) {
    TensorSlot *s = tensors().find(a.target);
    return s != nullptr ? tensor_of(a.target, "assignment target") : at::Tensor();
  }
  return a.has_value ? g_assigned_value : at::Tensor();
}

inline void forget_assigned_temp() noexcept {
  AssignedTemp &a = g_assigned_temp;
  if (a.handle != nullptr) {
    if (a.has_value) {
      g_assigned_value.reset();
      a.has_value = false;
    }
    a.handle = nullptr;
    a.target = nullptr;
  }
}

// Publish an operator result.  Temporary inputs are consumed by the caller's ConsumeTemps
// when it returns, on success and failure alike.
void finish(at::Tensor result, unsigned flags, ft_tensor *out) {
  if (out == nullptr) fail(FT_ERR_INVALID_ARGUMENT, "output handle pointer is NULL");
  if (flags & FT_FLAG_TEMP) forget_assigned_temp();  // a new Fortran expression begins
  *out = static_cast<ft_tensor>(tensors().insert(std::move(result), result_flags(flags)));
}

// Publish the result of a deferrable operation: an expression temporary stays deferred
// (only those are); any other result is computed now.
void finish_deferrable(Deferred &&deferred, unsigned flags, ft_tensor *out) {
  if (!(flags & FT_FLAG_TEMP)) return finish(materialise(deferred), flags, out);
  if (out == nullptr) fail(FT_ERR_INVALID_ARGUMENT, "output handle pointer is NULL");
  forget_assigned_temp();  // a new Fortran expression begins
  *out = static_cast<ft_tensor>(tensors().insert(at::Tensor(), kTemp, std::move(deferred)));
}

// Deferral (see Deferred) is limited to what cannot fail later: CPU floating-point operands
// that need no gradient, whose only possible errors (device, dtype, shape) are checked
// when the operator runs.  Materialising then runs exactly the operation that the operator
// would have run, and the out= kernel computes the same values.  Results that are not
// deferred (named results, Python's operators) of such operands are computed by
// materialise() at once: the CPU kernel without the dispatcher's layers.
inline bool deferrable(const at::Tensor &t) {
  auto st = t.scalar_type();
  // A tensor without autograd metadata (the usual case) cannot require gradients.
  const c10::TensorImpl *impl = t.unsafeGetTensorImpl();
  return (st == at::kFloat || st == at::kDouble) && t.device().is_cpu() &&
         (impl->autograd_meta() == nullptr || !t.requires_grad());
}

// Operators with one tensor operand and a scalar.
void finish_scalar(int op, ft_tensor a, const at::Scalar &s, bool scalar_first, unsigned flags, ft_tensor *out) {
  op_name(op);
  at::Tensor x = tensor_of(a, "tensor operand");
  // s / a is two operations (as torch's __rtruediv__), computed now.
  if (deferrable(x) && !(scalar_first && op == FT_DIV)) {
    Deferred d;
    d.x = std::move(x);
    d.set_scalar(s);
    d.op = static_cast<int8_t>(op);
    d.form = scalar_first ? Deferred::kScalarTensor : Deferred::kTensorScalar;
    finish_deferrable(std::move(d), flags, out);
    return;
  }
  finish(apply_scalar(op, x, s, scalar_first), flags, out);
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
// The caller holds the slot's guard.
std::pair<const int64_t *, const int64_t *> publish_meta(TensorSlot &s) {
  const at::Tensor &value = value_of(s);
  auto sizes = value.sizes();
  auto strides = value.strides();
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

namespace {

// The one table of a deferred operation's kernels.  Its operands are CPU floating-point
// tensors that need no gradient (see deferrable()), so LibTorch's CPU kernels are called
// directly: the dispatcher and the autograd layer would only pass the call through to them.
// The operator wrappers (mul.Scalar, rsub.Scalar, ...) build the same wrapped-number scalar
// tensors, so the values and dtypes are the operator's.  With `out` (a view of the caller's
// array, of the result's shape and dtype), the out= kernel writes into it and nothing is
// returned; without, the functional kernel returns a new tensor.
#define FT_CPU_KERNEL(name, ...)                                                                    \
  return out != nullptr ? (static_cast<void>(at::cpu::name##_out(*out, __VA_ARGS__)), at::Tensor()) \
                        : at::cpu::name(__VA_ARGS__)
at::Tensor run_deferred(const Deferred &d, at::Tensor *out) {
  const at::Tensor &x = d.x;
  switch (d.form) {
    case Deferred::kTensorTensor:
      switch (d.op) {
        case FT_ADD: FT_CPU_KERNEL(add, x, d.y);
        case FT_SUB: FT_CPU_KERNEL(sub, x, d.y);
        case FT_MUL: FT_CPU_KERNEL(mul, x, d.y);
        case FT_DIV: FT_CPU_KERNEL(div, x, d.y);
        case FT_POW: FT_CPU_KERNEL(pow, x, d.y);
      }
      break;
    case Deferred::kTensorScalar:
      switch (d.op) {
        case FT_ADD: FT_CPU_KERNEL(add, x, at::native::wrapped_scalar_tensor(d.scalar()));
        case FT_SUB: FT_CPU_KERNEL(sub, x, at::native::wrapped_scalar_tensor(d.scalar()));
        case FT_MUL: FT_CPU_KERNEL(mul, x, at::native::wrapped_scalar_tensor(d.scalar()));
        case FT_DIV: FT_CPU_KERNEL(div, x, at::native::wrapped_scalar_tensor(d.scalar()));
        case FT_POW: FT_CPU_KERNEL(pow, x, d.scalar());
      }
      break;
    case Deferred::kScalarTensor:
      switch (d.op) {
        case FT_ADD: FT_CPU_KERNEL(add, x, at::native::wrapped_scalar_tensor(d.scalar()));
        case FT_SUB: FT_CPU_KERNEL(sub, at::native::wrapped_scalar_tensor(d.scalar()), x);  // s - a
        case FT_MUL: FT_CPU_KERNEL(mul, x, at::native::wrapped_scalar_tensor(d.scalar()));
        case FT_POW: FT_CPU_KERNEL(pow, d.scalar(), x);
      }
      break;
    case Deferred::kNone: break;
  }
  fail(FT_ERR_INTERNAL, "unsupported deferred operation");
}
#undef FT_CPU_KERNEL

}  // namespace

at::Tensor materialise(const Deferred &d) { return run_deferred(d, nullptr); }

namespace {

[[noreturn, gnu::cold, gnu::noinline]] void fail_view_dtype(at::ScalarType value, at::ScalarType target) {
  fail(FT_ERR_DTYPE, "cannot assign a " + describe_dtype(value) + " value to a " + describe_dtype(target) +
                         " tensor that views a Fortran array");
}

[[noreturn, gnu::cold, gnu::noinline]] void fail_view_shape(at::IntArrayRef value, at::IntArrayRef target) {
  fail(FT_ERR_SHAPE, "cannot assign a value of shape " + describe_shape(value) + " to a tensor of shape " +
                         describe_shape(target) + " that views a Fortran array");
}

// Cut the autograd history of a slot's non-leaf tensor (the caller holds the slot's guard).
// When the slot holds the only reference, nothing else can tell the tensor from a detached
// copy of it, so it is detached in place: no new TensorImpl is allocated and the old one
// is not freed.  Otherwise (another handle shares it) the slot gets a detached copy, and
// the sharers keep theirs.
void cut_history(at::Tensor &t) {
  if (t.use_count() == 1 && !t.is_view()) detach_in_place(t);
  else t = t.detach();
}

// The bytes [first, last) that a strided CPU tensor's elements span.
std::pair<uintptr_t, uintptr_t> byte_span(const at::Tensor &t) {
  auto first = reinterpret_cast<uintptr_t>(t.const_data_ptr());
  int64_t hi = 0;
  auto sizes = t.sizes(), strides = t.strides();
  for (size_t i = 0; i < sizes.size(); ++i) hi += (sizes[i] - 1) * (strides[i] < 0 ? -strides[i] : strides[i]);
  return {first, first + static_cast<uintptr_t>((hi + 1) * static_cast<int64_t>(t.itemsize()))};
}

// True if writing `out` element-wise while reading `in` could read an element already
// written: their memory overlaps and they are not the very same elements.  Views of one
// Fortran array built separately have distinct LibTorch storages, so LibTorch's own
// overlap check does not see them; the addresses do.
bool overlaps_partially(const at::Tensor &out, const at::Tensor &in) {
  if (!in.defined()) return false;
  // Storages span at least their tensors' elements: disjoint storages (the usual case)
  // need no look at shapes.
  const c10::StorageImpl *so = out.unsafeGetTensorImpl()->unsafe_storage().unsafeGetStorageImpl();
  const c10::StorageImpl *si = in.unsafeGetTensorImpl()->unsafe_storage().unsafeGetStorageImpl();
  if (so != nullptr && si != nullptr && so != si) {
    auto o0 = reinterpret_cast<uintptr_t>(so->data()), i0 = reinterpret_cast<uintptr_t>(si->data());
    if (o0 + so->nbytes() <= i0 || i0 + si->nbytes() <= o0) return false;
  }
  if (in.numel() == 0 || out.numel() == 0) return false;
  auto o = byte_span(out), i = byte_span(in);
  if (o.second <= i.first || i.second <= o.first) return false;
  return !(o.first == i.first && out.sizes() == in.sizes() && out.strides() == in.strides() &&
           out.scalar_type() == in.scalar_type());
}

// Compute a deferred operation straight into `out` (a view of the caller's array, same
// shape and dtype as the result) with the CPU out= kernels.  Autograd is not involved: no
// operand requires gradients and neither does `out`.
void compute_into(at::Tensor &out, const Deferred &d) { run_deferred(d, &out); }

// The shape of a deferred operation's result, if it is `target` (the common case, checked
// without building a shape); false otherwise.
bool result_has_shape(const Deferred &d, at::IntArrayRef target) {
  if (d.form != Deferred::kTensorTensor || d.x.sizes() == d.y.sizes()) return d.x.sizes() == target;
  return at::infer_size(d.x.sizes(), d.y.sizes()) == target;
}

// Elements up to which an out= kernel runs under the target slot's guard (microseconds).
constexpr int64_t kKernelUnderGuard = 4096;

// Compute a deferred operation straight into the array that *lhs views, when its shape,
// dtype and memory allow; returns false (nothing written) otherwise.
bool assign_deferred(ft_tensor *lhs, const Deferred &d) {
  if (lhs != nullptr && *lhs != nullptr) {
    at::Tensor out;  // the view, when the kernel runs outside the guard
    bool fused = tensors().with_slot(*lhs, "assignment target", [&](TensorSlot &dst) {
      if (!(dst.flags & kView)) return false;
      at::Tensor &target = dst.value;
      if (target.scalar_type() != d.x.scalar_type() || !result_has_shape(d, target.sizes())) return false;
      if (target.requires_grad()) {
        // A leaf that requires grad keeps its identity: LibTorch refuses the write (below).
        if (target.is_leaf()) return false;
        // The view's earlier history is cut: the new value replaces all of its elements.
        cut_history(target);
      }
      if (overlaps_partially(target, d.x) || overlaps_partially(target, d.y)) return false;
      // A small kernel runs under the guard (no reference taken); a large one on a
      // reference, so that other threads never wait for it.
      if (target.numel() <= kKernelUnderGuard) {
        compute_into(target, d);
        target.unsafeGetTensorImpl()->bump_version();
      } else {
        out = target;
      }
      return true;
    });
    if (fused) {
      if (out.defined()) {
        compute_into(out, d);
        // As the in-place write through the dispatcher would: autograd's checks on tensors
        // saved for backward rely on the version counter.
        out.unsafeGetTensorImpl()->bump_version();
      }
      return true;
    }
  }
  return false;
}

}  // namespace

Assigned assign_value(ft_tensor *lhs, at::Tensor &&value, bool clone_if_named) {
  if (lhs == nullptr) fail(FT_ERR_INVALID_ARGUMENT, "assignment target pointer is NULL");
  if (*lhs == nullptr) {
    *lhs = new_handle(clone_if_named ? value.clone() : std::move(value));
    return Assigned::kRebound;
  }
  at::Tensor target;  // the view to write into outside the guard (a large one)
  at::Tensor old;     // the value a rebound handle held: released after the guard
  Assigned how = tensors().with_slot(*lhs, "assignment target", [&](TensorSlot &dst) {
    uint32_t flags = dst.flags.load(std::memory_order_relaxed);
    if (!(flags & kView)) {
      old = std::move(dst.value);
      dst.value = clone_if_named ? value.clone() : std::move(value);
      if (C10_UNLIKELY(static_cast<bool>(dst.extra))) dst.extra = Deferred();
      if (flags & kTemp) dst.flags.store(flags & ~uint32_t{kTemp}, std::memory_order_relaxed);
      return Assigned::kRebound;
    }
    at::Tensor &t = dst.value;
    if (t.scalar_type() != value.scalar_type()) fail_view_dtype(value.scalar_type(), t.scalar_type());
    Assigned copied = same_sizes(t, value) ? Assigned::kCopied : Assigned::kBroadcast;
    if (copied == Assigned::kBroadcast && value.numel() != 1) fail_view_shape(value.sizes(), t.sizes());
    // The view's earlier history is cut before writing: the new value replaces all of its
    // elements, so back-propagation must not reach (possibly already freed) old graphs.
    // A view without history needs no cut.  A leaf that requires grad keeps its identity
    // and LibTorch refuses the in-place write.
    if (t.requires_grad() && !t.is_leaf()) cut_history(t);
    // A small copy runs under the guard (no reference taken), as a fused assignment's
    // kernel does; a large one on a reference, so that other threads never wait for it.
    if (t.numel() <= kKernelUnderGuard) t.copy_(value);
    else target = t;
    return copied;
  });
  if (target.defined()) target.copy_(value);
  return how;
}

}  // namespace ft

using namespace ft;

extern "C" {

// ---------------------------------------------------------------------------------------
// Construction and destruction
// ---------------------------------------------------------------------------------------

int ft_tensor_from_blob(void *data, int ndim, const int64_t *shape, const int64_t *strides, int dtype, int device_type,
                        int device_index, int requires_grad, unsigned flags, ft_tensor *out) {
  FT_GUARD({
    if (out == nullptr) fail(FT_ERR_INVALID_ARGUMENT, "output handle pointer is NULL");
    auto sizes = checked_shape(ndim, shape, "from_blob");
    int64_t numel = 1;
    for (auto s : sizes) numel *= s;
    if (data == nullptr && numel > 0) fail(FT_ERR_INVALID_ARGUMENT, "data pointer is NULL");
    at::Device device = to_device(device_type, device_index);
    auto host = at::TensorOptions().dtype(to_scalar_type(dtype));
    at::Tensor view =
        strides ? at::from_blob(data, sizes, at::IntArrayRef(strides, ndim), host) : at::from_blob(data, sizes, host);
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
    TensorRef r = lookup(t, "tensor");
    *out = new_handle(std::move(r.value), r.flags & kView);
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
  FT_GUARD({ *shape = tensors().with_slot(t, "tensor", [](TensorSlot &s) { return publish_meta(s).first; }); });
}

int ft_tensor_strides(ft_tensor t, const int64_t **strides) {
  ConsumeTemps consumed(t);
  FT_GUARD({ *strides = tensors().with_slot(t, "tensor", [](TensorSlot &s) { return publish_meta(s).second; }); });
}

int ft_tensor_dims(ft_tensor t, int *ndim, const int64_t **shape, const int64_t **strides) {
  ConsumeTemps consumed(t);
  FT_GUARD({
    if (ndim == nullptr) fail(FT_ERR_INVALID_ARGUMENT, "ndim pointer is NULL");
    auto meta = tensors().with_slot(t, "tensor", [&](TensorSlot &s) {
      *ndim = static_cast<int>(value_of(s).dim());
      return publish_meta(s);
    });
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
  FT_GUARD({ *flag = (lookup(t, "tensor").flags & kView) ? 1 : 0; });
}

// Not consuming: the address of a consumed temporary would dangle.  Only Python calls it.
int ft_tensor_data_ptr(ft_tensor t, void **ptr) {
  FT_GUARD({ *ptr = tensor_of(t, "tensor").data_ptr(); });
}

int ft_tensor_print(ft_tensor t) {
  ConsumeTemps consumed(t);
  FT_GUARD({ std::cout << tensor_of(t, "tensor") << std::endl; });
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
    at::Tensor dst =
        strides ? at::from_blob(data, sizes, at::IntArrayRef(strides, ndim), host) : at::from_blob(data, sizes, host);
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
    TensorRef ra = lookup(a, "left operand");
    TensorRef rb = lookup(b, "right operand");
    consumed.named(!(ra.flags & kTemp), !(rb.flags & kTemp));
    at::Tensor x = std::move(ra.value);
    at::Tensor y = std::move(rb.value);
    check_device_and_dtype(x, y, name);
    if (deferrable(x) && deferrable(y)) {
      if (!same_sizes(x, y)) check_broadcast(x, y, name);
      Deferred d;
      d.x = std::move(x);
      d.y = std::move(y);
      d.op = static_cast<int8_t>(op);
      d.form = Deferred::kTensorTensor;
      finish_deferrable(std::move(d), flags, out);
      return;
    }
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
  FT_GUARD({ finish_scalar(op, a, at::Scalar(s), scalar_first != 0, flags, out); });
}

int ft_tensor_binary_iscalar(int op, ft_tensor a, int64_t s, int scalar_first, unsigned flags, ft_tensor *out) {
  ConsumeTemps consumed(a);
  FT_GUARD({ finish_scalar(op, a, at::Scalar(s), scalar_first != 0, flags, out); });
}

int ft_tensor_neg(ft_tensor a, unsigned flags, ft_tensor *out) {
  ConsumeTemps consumed(a);
  FT_GUARD({ finish(at::neg(tensor_of(a, "operand of unary -")), flags, out); });
}

int ft_tensor_sum(ft_tensor a, unsigned flags, ft_tensor *out) {
  ConsumeTemps consumed(a);
  FT_GUARD({ finish(at::sum(tensor_of(a, "tensor")).reshape({1}), flags, out); });
}

int ft_tensor_mean(ft_tensor a, unsigned flags, ft_tensor *out) {
  ConsumeTemps consumed(a);
  FT_GUARD({
    at::Tensor x = tensor_of(a, "tensor");
    if (!at::isFloatingType(x.scalar_type()))
      fail(FT_ERR_DTYPE, "mean needs a floating-point tensor, got " + describe_dtype(x.scalar_type()));
    finish(at::mean(x).reshape({1}), flags, out);
  });
}

int ft_tensor_to_new(ft_tensor a, int device_type, int device_index, int dtype, unsigned flags, ft_tensor *out) {
  ConsumeTemps consumed(a);
  FT_GUARD({
    at::Tensor x = tensor_of(a, "tensor");
    at::Device device = to_device(device_type, device_index);
    at::ScalarType st = dtype < 0 ? x.scalar_type() : to_scalar_type(dtype);
    finish(x.to(device, st, /*non_blocking=*/false, /*copy=*/true), flags, out);
  });
}

int ft_tensor_detach(ft_tensor a, unsigned flags, ft_tensor *out) {
  ConsumeTemps consumed(a);
  FT_GUARD({ finish(tensor_of(a, "tensor").detach(), flags, out); });
}

// ---------------------------------------------------------------------------------------
// Assignment and in-place updates
// ---------------------------------------------------------------------------------------

int ft_tensor_assign(ft_tensor *lhs, ft_tensor rhs) {
  FT_GUARD({
    // A temporary's value (or its deferred operation) is moved out of its slot (no
    // reference-count traffic), and the slot is freed; a named tensor's value is shared.
    at::Tensor value;
    Deferred deferred;
    bool temp = false;
    bool self = lhs != nullptr && *lhs == rhs;
    auto taken = tensors().erase_if(rhs, nullptr, [&](TensorSlot &src) {
      if (self) return false;  // x = x
      temp = (src.flags & kTemp) != 0;
      if (!temp) {
        value = value_of(src);
        return false;
      }
      value = std::move(src.value);
      deferred = std::move(src.extra);
      return true;
    });
    if (C10_UNLIKELY((taken == Registry<at::Tensor, Deferred>::kNotLive))) {
      // An elemental assignment of one temporary to an array (`arr = t * 2.0`) passes the
      // same handle once per element, and the first element consumed it: every further
      // element receives its own copy of the value.
      at::Tensor recalled = recall_assigned_temp(rhs);
      if (!recalled.defined()) tensors().fail_lookup(rhs, "right-hand side of the assignment");
      assign_value(lhs, std::move(recalled), /*clone_if_named=*/true);
      return;
    }
    if (self) return;
    if (!temp) {
      assign_value(lhs, std::move(value), /*clone_if_named=*/true);
      return;
    }
    // Only a tensor that views an array takes values into it; any other is rebound.  The
    // flag is fixed while the handle is live, so it is peeked without the target's guard;
    // a handle that dies meanwhile fails under the guard below, as it would have here.
    uint64_t dst_gen = 0;
    TensorSlot *dst = lhs != nullptr && *lhs != nullptr ? tensors().find(*lhs, dst_gen) : nullptr;
    bool into_view = dst != nullptr && (dst->flags.load(std::memory_order_relaxed) & kView);
    if (deferred) {
      if (into_view && assign_deferred(lhs, deferred)) {
        remember_assigned_target(rhs, *lhs);  // the value is now the target's
        return;
      }
      value = materialise(deferred);
    }
    if (into_view) {
      // After a copy of the same shape the view holds the value, as a rebound handle
      // does; a broadcast value is kept itself.
      Assigned how;
      try {
        how = assign_value(lhs, std::move(value), /*clone_if_named=*/false);  // a view: not moved from
      } catch (...) {
        remember_assigned_temp(rhs, value);  // the further elements of an elemental assignment
        throw;
      }
      if (how == Assigned::kCopied) remember_assigned_target(rhs, *lhs);
      else remember_assigned_temp(rhs, value);
      return;
    }
    if (dst == nullptr) {  // a new handle, or a target that is not live (which fails)
      if (assign_value(lhs, std::move(value), /*clone_if_named=*/false) == Assigned::kRebound)
        remember_assigned_target(rhs, *lhs);
      return;
    }
    // Rebind the target found above (assign_value's non-view case, without a second
    // lookup): an unchanged generation under its guard means the same live handle.
    at::Tensor old;  // released after the guard
    {
      std::lock_guard<SpinLock> hold(dst->guard);
      if (C10_UNLIKELY(dst->gen.load(std::memory_order_relaxed) != dst_gen))
        tensors().fail_lookup(*lhs, "assignment target");
      old = std::move(dst->value);
      dst->value = std::move(value);
      if (C10_UNLIKELY(static_cast<bool>(dst->extra))) dst->extra = Deferred();
      uint32_t flags = dst->flags.load(std::memory_order_relaxed);
      if (flags & kTemp) dst->flags.store(flags & ~uint32_t{kTemp}, std::memory_order_relaxed);
    }
    // The rebound handle holds the temporary's own tensor: it stands for the value.
    remember_assigned_target(rhs, *lhs);
  });
}

int ft_tensor_copy(ft_tensor src, ft_tensor dst, int non_blocking) {
  ConsumeTemps consumed(src, dst);
  FT_GUARD({
    const at::Tensor &s = tensor_of(src, "source tensor");
    at::Tensor d = tensor_of(dst, "target tensor");
    if (s.sizes() != d.sizes())
      fail(FT_ERR_SHAPE,
           "source shape " + describe_shape(s.sizes()) + " differs from target shape " + describe_shape(d.sizes()));
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
