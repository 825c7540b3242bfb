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

// FT_ERR_INVALID_ARGUMENT unless the hyper-parameters are finite and in range for the
// algorithm (used when an optimiser is built and when a checkpoint is loaded).
void check_optim_options(int kind, const ft_optim_options &o);

// FT_ERR_INVALID_ARGUMENT unless (p1, p2) are valid parameters of a scheduler of `kind`
// (ft_scheduler_new's meaning); the message starts with the scheduler's name.
void check_scheduler_params(int kind, double p1, double p2);

// The largest step count, epoch, step_size or T_max accepted: integers up to 2^53 are
// exact in a double and leave the int64 arithmetic of the schedulers far from overflow.
constexpr int64_t kMaxCount = int64_t{1} << 53;

// Read the tensors behind an array of handles (each must be live).
std::vector<at::Tensor> tensors_of(const ft_tensor *handles, int n, const char *role);

}  // namespace ft
