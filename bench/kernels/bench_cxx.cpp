// The floor: the benchmark kernels of bench_fortran.f90 written with raw LibTorch (ATen)
// calls and the same semantics, e.g. `c = a * b` rebinds the at::Tensor c to a new result.
// Same protocol as bench_fortran.f90 (bench_cxx_setup/<case>/result/teardown); the inputs
// live in buffers owned by this library and the tensors view them, as Fortran's do.
#include <ATen/ATen.h>
#include <ATen/Parallel.h>
#include <ATen/ScalarOps.h>
#include <c10/core/GradMode.h>

#include <cstdint>
#include <cstring>
#include <exception>
#include <stdexcept>
#include <vector>

namespace {

enum Output { kOutC = 0, kOutT = 1, kOutGrad = 2, kOutHolder = 3, kOutWeight = 4, kOutQ = 5 };
constexpr int kFloat32 = 6, kFloat64 = 7;  // ft_dtype codes
constexpr int kStatusError = 12;           // FT_ERR_TORCH

struct State {
  // Declared before the buffers they view: `s = State()` assigns members in order, so the
  // old tensors are released before their buffers are.
  at::Tensor a, b, c, q, ones, g, t, qv;  // qv views q_buf: the view_* cases write into it
  int64_t size = 0;
  at::ScalarType dtype = at::kDouble;
  std::vector<double> a_buf, b_buf, ones_buf, g_buf, q_buf;  // doubles are big enough for float too
};

State &S() {
  static State *state = new State();
  return *state;
}

at::Tensor view(std::vector<double> &buf, int64_t size, at::ScalarType dtype) {
  return at::from_blob(buf.data(), {size}, at::TensorOptions().dtype(dtype));
}

// Run body, turning any C++ exception into a status: none may cross into Python.
template <class F>
int guarded(F &&body) noexcept {
  try {
    body();
    return 0;
  } catch (const std::exception &) {
    return kStatusError;
  }
}

}  // namespace

// The training step's state lives in bench_cxx_train.cpp.
int bench_cxx_train_weight(double *buf);
void bench_cxx_train_release();

extern "C" {

__attribute__((visibility("default"))) int bench_cxx_setup(int64_t size, int dtype, const void *pa, const void *pb,
                                                           int grad_mode) {
  return guarded([&] {
    at::set_num_threads(1);
    bench_cxx_train_release();
    State &s = S();
    s = State();
    if (dtype != kFloat32 && dtype != kFloat64) throw std::invalid_argument("dtype");
    s.size = size;
    s.dtype = dtype == kFloat32 ? at::kFloat : at::kDouble;
    size_t bytes = static_cast<size_t>(size) * (dtype == kFloat32 ? 4 : 8);
    for (auto *buf : {&s.a_buf, &s.b_buf, &s.ones_buf, &s.g_buf, &s.q_buf}) buf->assign(static_cast<size_t>(size), 0.0);
    std::memcpy(s.a_buf.data(), pa, bytes);
    std::memcpy(s.b_buf.data(), pb, bytes);
    s.a = view(s.a_buf, size, s.dtype);
    s.b = view(s.b_buf, size, s.dtype);
    s.ones = view(s.ones_buf, size, s.dtype);
    s.ones.fill_(1);
    s.g = view(s.g_buf, size, s.dtype);
    s.t = view(s.a_buf, size, s.dtype);
    s.qv = view(s.q_buf, size, s.dtype);
    if (grad_mode > 0) {
      s.a.set_requires_grad(true);
      s.q = s.a * s.b + s.a / s.b;
    }
    if (grad_mode > 1) s.q.backward(s.ones, /*retain_graph=*/true);
  });
}

__attribute__((visibility("default"))) int bench_cxx_teardown() {
  return guarded([] {
    S() = State();
    bench_cxx_train_release();
  });
}

__attribute__((visibility("default"))) int bench_cxx_result(int what, double *buf) {
  if (what == kOutWeight) return bench_cxx_train_weight(buf);
  return guarded([&] {
    State &s = S();
    at::Tensor out = at::from_blob(buf, {s.size}, at::TensorOptions().dtype(at::kDouble));
    c10::AutoGradMode no_grad(false);
    switch (what) {
      case kOutC: out.copy_(s.c); break;
      case kOutT: out.copy_(s.t); break;
      case kOutGrad: out.copy_(s.a.grad()); break;
      case kOutHolder: out.copy_(s.g); break;
      case kOutQ: out.copy_(s.qv); break;
      default: throw std::invalid_argument("output");
    }
  });
}

// ------------------------------------------------------------------------------------------
// The measured loops
// ------------------------------------------------------------------------------------------

#define BENCH_LOOP(name, ...)                                              \
  __attribute__((visibility("default"))) int bench_cxx_##name(int64_t n) { \
    return guarded([&] {                                                   \
      State &s = S();                                                      \
      for (int64_t i = 0; i < n; ++i) {                                    \
        __VA_ARGS__;                                                       \
      }                                                                    \
    });                                                                    \
  }

BENCH_LOOP(add, s.c = s.a + s.b)
BENCH_LOOP(sub, s.c = s.a - s.b)
BENCH_LOOP(mul, s.c = s.a * s.b)
BENCH_LOOP(div, s.c = s.a / s.b)
BENCH_LOOP(expr, s.c = s.a * s.b + s.a / s.b)
// Build a tensor viewing the caller's buffer, and release it (the last one stays alive).
BENCH_LOOP(from_array, s.t.reset();
           s.t = at::from_blob(s.a_buf.data(), {s.size}, {1}, at::TensorOptions().dtype(s.dtype)))
BENCH_LOOP(backward, s.q.backward(s.ones, /*retain_graph=*/true))
// Copy a's gradient into a tensor viewing the caller's buffer.
BENCH_LOOP(get_gradient, s.g.copy_(s.a.grad()))
BENCH_LOOP(zero_grad, s.a.mutable_grad().zero_())

// Assignment into a tensor viewing the caller's array.  The floor computes straight into
// the view with the out= kernels (not possible when an operand requires gradients); the
// *_copy loops copy a fresh result into the view, which is what autograd needs.  With
// gradients (*_grad_copy), the view then carries the graph of the new value only: its
// earlier history is cut first (detach_), as the Fortran assignment does.  Without the
// cut, every copy_ would chain a CopyBackwards node to the previous one, so the graph,
// its memory and the cost of a later backward would grow with every iteration.
BENCH_LOOP(view_mul, at::mul_out(s.qv, s.a, s.b))
BENCH_LOOP(view_muladd, at::add_out(s.qv, s.a *s.b, s.a))
BENCH_LOOP(view_scale, at::mul_out(s.qv, s.a, at::native::wrapped_scalar_tensor(2.0)))
BENCH_LOOP(view_mul_copy, s.qv.copy_(s.a *s.b))
BENCH_LOOP(view_muladd_copy, s.qv.copy_(s.a *s.b + s.a))
BENCH_LOOP(view_scale_copy, s.qv.copy_(2.0 * s.a))
BENCH_LOOP(view_mul_grad_copy, s.qv.detach_(); s.qv.copy_(s.a * s.b))
BENCH_LOOP(view_muladd_grad_copy, s.qv.detach_(); s.qv.copy_(s.a * s.b + s.a))
BENCH_LOOP(view_scale_grad_copy, s.qv.detach_(); s.qv.copy_(2.0 * s.a))

}  // extern "C"
