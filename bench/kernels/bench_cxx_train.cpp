// The floor of the training step: what a C++ user of LibTorch writes.  The TorchScript
// model is loaded with torch::jit::load, the loss is at::mse_loss, the optimiser is
// torch::optim::Adam over the module's parameters; one step is
//
//     out = module.forward({x}).toTensor(); loss = at::mse_loss(out, y);
//     loss.backward(); opt.step(); opt.zero_grad();
//
// Same protocol as bench_f_train_setup / bench_f_train_step in bench_fortran.f90.  The
// batch lives in buffers owned by this library and the tensors view them.  Separate from
// bench_cxx.cpp because the torch::optim headers take a while to compile.
#include <ATen/ATen.h>
#include <ATen/Parallel.h>
#include <torch/csrc/jit/api/module.h>
#include <torch/csrc/jit/serialization/import.h>
#include <torch/optim/adam.h>

#include <cstdint>
#include <cstring>
#include <exception>
#include <memory>
#include <stdexcept>
#include <string>
#include <vector>

namespace {

constexpr int kFloat32 = 6, kFloat64 = 7;  // ft_dtype codes
constexpr int kStatusError = 12;           // FT_ERR_TORCH

struct Train {
  // The optimiser and tensors are declared before what they refer to: `t = Train()`
  // assigns members in order, so they are released first.
  std::unique_ptr<torch::optim::Adam> opt;
  at::Tensor x, y, out, loss;
  std::unique_ptr<torch::jit::Module> module;
  std::vector<double> x_buf, y_buf;  // doubles are big enough for float too
};

Train &T() {
  static Train *state = new Train();
  return *state;
}

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

// Used by bench_cxx.cpp (bench_cxx_result and bench_cxx_teardown).
int bench_cxx_train_weight(double *buf) {
  return guarded([&] {
    Train &t = T();
    if (!t.module) throw std::logic_error("no model");
    at::Tensor w = (*t.module->parameters().begin()).detach();
    at::from_blob(buf, {w.numel()}, at::TensorOptions().dtype(at::kDouble)).copy_(w.reshape({-1}));
  });
}

void bench_cxx_train_release() { T() = Train(); }

extern "C" {

__attribute__((visibility("default"))) int bench_cxx_train_setup(const char *path, int path_len, int batch, int n_in,
                                                                 int n_out, int dtype, const void *px, const void *py,
                                                                 double lr) {
  return guarded([&] {
    at::set_num_threads(1);
    Train &t = T();
    t = Train();
    if (dtype != kFloat32 && dtype != kFloat64) throw std::invalid_argument("dtype");
    auto type = dtype == kFloat32 ? at::kFloat : at::kDouble;
    size_t width = dtype == kFloat32 ? 4 : 8;
    t.x_buf.assign(static_cast<size_t>(batch) * n_in, 0.0);
    t.y_buf.assign(static_cast<size_t>(batch) * n_out, 0.0);
    std::memcpy(t.x_buf.data(), px, t.x_buf.size() * width);
    std::memcpy(t.y_buf.data(), py, t.y_buf.size() * width);
    t.x = at::from_blob(t.x_buf.data(), {batch, n_in}, at::TensorOptions().dtype(type));
    t.y = at::from_blob(t.y_buf.data(), {batch, n_out}, at::TensorOptions().dtype(type));
    t.module = std::make_unique<torch::jit::Module>(torch::jit::load(std::string(path, static_cast<size_t>(path_len))));
    t.module->train();
    std::vector<at::Tensor> params;
    for (const auto &p : t.module->parameters()) {
      p.set_requires_grad(true);
      params.push_back(p);
    }
    t.opt = std::make_unique<torch::optim::Adam>(params, torch::optim::AdamOptions(lr));
  });
}

// One training step, n times.
__attribute__((visibility("default"))) int bench_cxx_train_step(int64_t n) {
  return guarded([&] {
    Train &t = T();
    for (int64_t i = 0; i < n; ++i) {
      t.out = t.module->forward({t.x}).toTensor();
      t.loss = at::mse_loss(t.out, t.y);
      t.loss.backward();
      t.opt->step();
      t.opt->zero_grad();
    }
  });
}

}  // extern "C"
