// Internal objects of the training API: models, optimisers and schedulers.
#pragma once

#include <ATen/ATen.h>

#include <memory>
#include <string>
#include <vector>

#include "internal.h"

namespace torch::jit {
struct Module;
}

namespace ft {

struct Model {
  std::unique_ptr<torch::jit::Module> module;
  at::Device device{at::kCPU};
  // Parameters and buffers by qualified name, in named_parameters()/named_buffers() order.
  std::vector<std::pair<std::string, at::Tensor>> parameters() const;
  std::vector<std::pair<std::string, at::Tensor>> buffers() const;
  // Data-parallel state (ft_model_distribute) and the hooks run around every forward pass.
  std::shared_ptr<void> distributed;
  void (*before_forward)(void *distributed, bool grad) = nullptr;
  void (*after_forward)(void *distributed, bool grad) = nullptr;
};

struct Optim {
  int kind = FT_OPTIM_SGD;
  ft_optim_options options{};
  std::vector<at::Tensor> params;
  // Per-parameter state, in the order of state_names(kind); undefined until first used.
  std::vector<std::vector<at::Tensor>> state;
  int64_t steps = 0;
};

// Names of the per-parameter state tensors of an algorithm, in storage order.
const std::vector<std::string> &state_names(int kind);
const char *optim_name(int kind);

struct Scheduler {
  int kind = FT_SCHED_STEP;
  std::shared_ptr<Optim> optim;
  double p1 = 0, p2 = 0;
  double base_lr = 0;
  double last_lr = 0;
  int64_t last_epoch = 0;
};

Registry<std::shared_ptr<Model>> &models();
Registry<std::shared_ptr<Optim>> &optims();
Registry<std::shared_ptr<Scheduler>> &schedulers();

// A new owner of a handle's object (taken under the slot's guard): the object outlives a
// close() that races with the call on another thread.  Keep it for the whole call.
inline std::shared_ptr<Model> model_of(ft_model h) { return models().acquire(h, "model"); }
inline std::shared_ptr<Optim> optim_of(ft_optim h) { return optims().acquire(h, "optimiser"); }
inline std::shared_ptr<Scheduler> scheduler_of(ft_scheduler h) { return schedulers().acquire(h, "scheduler"); }

// Read the tensors behind an array of handles (each must be live).
std::vector<at::Tensor> tensors_of(const ft_tensor *handles, int n, const char *role);

}  // namespace ft
