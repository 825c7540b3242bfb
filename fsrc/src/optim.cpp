// Optimisers, learning-rate schedulers and gradient clipping.
//
// The updates transcribe torch.optim's single-tensor implementations (torch/optim/*.py,
// `_single_tensor_*`) operation by operation, so that a run from Fortran follows the same
// trajectory as the same run in PyTorch.
#include <ATen/ATen.h>
#include <c10/core/GradMode.h>

#include <cmath>

#include "training.h"

namespace ft {

namespace {

enum StateSlot { kBuf0 = 0, kBuf1 = 1, kBuf2 = 2 };

}  // namespace

const std::vector<std::string> &state_names(int kind) {
  static const std::vector<std::string> sgd{"momentum_buffer"};
  static const std::vector<std::string> adam{"exp_avg", "exp_avg_sq", "max_exp_avg_sq"};
  static const std::vector<std::string> rmsprop{"square_avg", "momentum_buffer", "grad_avg"};
  static const std::vector<std::string> adagrad{"sum"};
  switch (kind) {
    case FT_OPTIM_SGD: return sgd;
    case FT_OPTIM_ADAM:
    case FT_OPTIM_ADAMW: return adam;
    case FT_OPTIM_RMSPROP: return rmsprop;
    case FT_OPTIM_ADAGRAD: return adagrad;
    default: fail(FT_ERR_INVALID_ARGUMENT, "unknown optimiser code " + std::to_string(kind));
  }
}

const char *optim_name(int kind) {
  switch (kind) {
    case FT_OPTIM_SGD: return "SGD";
    case FT_OPTIM_ADAM: return "Adam";
    case FT_OPTIM_ADAMW: return "AdamW";
    case FT_OPTIM_RMSPROP: return "RMSprop";
    case FT_OPTIM_ADAGRAD: return "Adagrad";
    default: fail(FT_ERR_INVALID_ARGUMENT, "unknown optimiser code " + std::to_string(kind));
  }
}

Registry<std::shared_ptr<Optim>> &optims() {
  static auto *registry = [] {
    auto *r = new Registry<std::shared_ptr<Optim>>("optimiser");
    register_live_counter([] { return optims().live(); });
    return r;
  }();
  return *registry;
}

Registry<std::shared_ptr<Scheduler>> &schedulers() {
  static auto *registry = [] {
    auto *r = new Registry<std::shared_ptr<Scheduler>>("scheduler");
    register_live_counter([] { return schedulers().live(); });
    return r;
  }();
  return *registry;
}

namespace {

void check_options(int kind, const ft_optim_options &o) {
  auto require = [&](bool ok, const std::string &what) {
    if (!ok) fail(FT_ERR_INVALID_ARGUMENT, std::string(optim_name(kind)) + ": " + what);
  };
  const std::pair<const char *, double> reals[] = {{"lr", o.lr},
                                                   {"momentum", o.momentum},
                                                   {"dampening", o.dampening},
                                                   {"weight_decay", o.weight_decay},
                                                   {"beta1", o.beta1},
                                                   {"beta2", o.beta2},
                                                   {"eps", o.eps},
                                                   {"alpha", o.alpha},
                                                   {"lr_decay", o.lr_decay},
                                                   {"initial_accumulator_value", o.initial_accumulator_value}};
  for (const auto &[name, value] : reals)
    require(std::isfinite(value), std::string(name) + " must be a finite number, got " + std::to_string(value));
  const std::pair<const char *, int> flags[] = {
      {"nesterov", o.nesterov}, {"amsgrad", o.amsgrad}, {"centered", o.centered}, {"maximize", o.maximize}};
  for (const auto &[name, value] : flags)
    require(value == 0 || value == 1, std::string(name) + " must be 0 or 1, got " + std::to_string(value));
  require(o.lr >= 0, "learning rate must be >= 0, got " + std::to_string(o.lr));
  require(o.weight_decay >= 0, "weight_decay must be >= 0");
  require(o.eps >= 0, "eps must be >= 0");
  if (kind == FT_OPTIM_SGD) {
    require(o.momentum >= 0, "momentum must be >= 0");
    require(!o.nesterov || (o.momentum > 0 && o.dampening == 0),
            "Nesterov momentum needs momentum > 0 and dampening = 0");
  }
  if (kind == FT_OPTIM_ADAM || kind == FT_OPTIM_ADAMW) {
    require(o.beta1 >= 0 && o.beta1 < 1, "beta_1 must be in [0, 1)");
    require(o.beta2 >= 0 && o.beta2 < 1, "beta_2 must be in [0, 1)");
  }
  if (kind == FT_OPTIM_RMSPROP) require(o.alpha >= 0 && o.momentum >= 0, "alpha and momentum must be >= 0");
  if (kind == FT_OPTIM_ADAGRAD)
    require(o.lr_decay >= 0 && o.initial_accumulator_value >= 0, "lr_decay and initial_accumulator_value must be >= 0");
}

at::Tensor &state(Optim &o, size_t i, int slot, const at::Tensor &like, double fill = 0.0) {
  at::Tensor &s = o.state[i][static_cast<size_t>(slot)];
  if (!s.defined()) s = at::full_like(like, fill, at::MemoryFormat::Preserve);
  return s;
}

void sgd(Optim &o, size_t i, at::Tensor &param, at::Tensor grad) {
  const auto &h = o.options;
  if (h.weight_decay != 0) grad = grad.add(param, h.weight_decay);
  if (h.momentum != 0) {
    at::Tensor &buf = o.state[i][kBuf0];
    if (!buf.defined()) {
      buf = grad.detach().clone();
    } else {
      buf.mul_(h.momentum).add_(grad, 1 - h.dampening);
    }
    grad = h.nesterov ? grad.add(buf, h.momentum) : buf;
  }
  param.add_(grad, -h.lr);
}

void adam(Optim &o, size_t i, at::Tensor &param, at::Tensor grad, bool decoupled, double step) {
  const auto &h = o.options;
  if (h.weight_decay != 0) {
    if (decoupled) {
      param.mul_(1 - h.lr * h.weight_decay);
    } else {
      grad = grad.add(param, h.weight_decay);
    }
  }
  at::Tensor &exp_avg = state(o, i, kBuf0, param);
  at::Tensor &exp_avg_sq = state(o, i, kBuf1, param);
  exp_avg.lerp_(grad, 1 - h.beta1);
  exp_avg_sq.mul_(h.beta2).addcmul_(grad, grad, 1 - h.beta2);
  double bias_correction1 = 1 - std::pow(h.beta1, step);
  double bias_correction2 = 1 - std::pow(h.beta2, step);
  double step_size = h.lr / bias_correction1;
  double bias_correction2_sqrt = std::sqrt(bias_correction2);
  at::Tensor denom;
  if (h.amsgrad) {
    at::Tensor &max_sq = state(o, i, kBuf2, param);
    at::maximum_out(max_sq, max_sq, exp_avg_sq);
    denom = (max_sq.sqrt() / bias_correction2_sqrt).add_(h.eps);
  } else {
    denom = (exp_avg_sq.sqrt() / bias_correction2_sqrt).add_(h.eps);
  }
  param.addcdiv_(exp_avg, denom, -step_size);
}

void rmsprop(Optim &o, size_t i, at::Tensor &param, at::Tensor grad) {
  const auto &h = o.options;
  if (h.weight_decay != 0) grad = grad.add(param, h.weight_decay);
  at::Tensor &square_avg = state(o, i, kBuf0, param);
  square_avg.mul_(h.alpha).addcmul_(grad, grad, 1 - h.alpha);
  at::Tensor avg;
  if (h.centered) {
    at::Tensor &grad_avg = state(o, i, kBuf2, param);
    grad_avg.lerp_(grad, 1 - h.alpha);
    avg = square_avg.addcmul(grad_avg, grad_avg, -1).sqrt_();
  } else {
    avg = square_avg.sqrt();
  }
  avg = avg.add_(h.eps);
  if (h.momentum > 0) {
    at::Tensor &buf = state(o, i, kBuf1, param);
    buf.mul_(h.momentum).addcdiv_(grad, avg);
    param.add_(buf, -h.lr);
  } else {
    param.addcdiv_(grad, avg, -h.lr);
  }
}

void adagrad(Optim &o, size_t i, at::Tensor &param, at::Tensor grad, double step) {
  const auto &h = o.options;
  if (h.weight_decay != 0) grad = grad.add(param, h.weight_decay);
  double clr = h.lr / (1 + (step - 1) * h.lr_decay);
  at::Tensor &sum = state(o, i, kBuf0, param, h.initial_accumulator_value);
  sum.addcmul_(grad, grad, 1);
  at::Tensor std = sum.sqrt().add_(h.eps);
  param.addcdiv_(grad, std, -clr);
}

// Python's modulo (the result takes the divisor's sign).
int64_t py_mod(int64_t a, int64_t m) { return ((a % m) + m) % m; }

double scheduler_next_lr(const Scheduler &s, double lr) {
  const int64_t e = s.last_epoch;
  switch (s.kind) {
    case FT_SCHED_STEP: {
      auto step_size = static_cast<int64_t>(s.p1);
      return (e == 0 || e % step_size != 0) ? lr : lr * s.p2;
    }
    case FT_SCHED_EXPONENTIAL: return lr * s.p2;
    case FT_SCHED_COSINE_ANNEALING: {
      const double t_max = s.p1, eta_min = s.p2, pi = M_PI;
      if (py_mod(e - 1 - static_cast<int64_t>(t_max), 2 * static_cast<int64_t>(t_max)) == 0)
        return lr + (s.base_lr - eta_min) * (1 - std::cos(pi / t_max)) / 2;
      return (1 + std::cos(pi * static_cast<double>(e) / t_max)) /
                 (1 + std::cos(pi * static_cast<double>(e - 1) / t_max)) * (lr - eta_min) +
             eta_min;
    }
  }
  fail(FT_ERR_INVALID_ARGUMENT, "unknown scheduler code " + std::to_string(s.kind));
}

}  // namespace

void check_optim_options(int kind, const ft_optim_options &o) { check_options(kind, o); }

void check_scheduler_params(int kind, double p1, double p2) {
  auto count = [](double v) { return v >= 1 && v <= static_cast<double>(kMaxCount) && v == std::floor(v); };
  const std::string bound = std::to_string(kMaxCount);
  switch (kind) {
    case FT_SCHED_STEP:
      if (!count(p1))
        fail(FT_ERR_INVALID_ARGUMENT,
             "StepLR: step_size must be an integer in [1, " + bound + "], got " + std::to_string(p1));
      if (!std::isfinite(p2))
        fail(FT_ERR_INVALID_ARGUMENT, "StepLR: gamma must be a finite number, got " + std::to_string(p2));
      break;
    case FT_SCHED_EXPONENTIAL:
      if (!std::isfinite(p2))
        fail(FT_ERR_INVALID_ARGUMENT, "ExponentialLR: gamma must be a finite number, got " + std::to_string(p2));
      break;
    case FT_SCHED_COSINE_ANNEALING:
      if (!count(p1))
        fail(FT_ERR_INVALID_ARGUMENT,
             "CosineAnnealingLR: T_max must be an integer in [1, " + bound + "], got " + std::to_string(p1));
      if (!std::isfinite(p2))
        fail(FT_ERR_INVALID_ARGUMENT, "CosineAnnealingLR: eta_min must be a finite number, got " + std::to_string(p2));
      break;
    default: fail(FT_ERR_INVALID_ARGUMENT, "unknown scheduler code " + std::to_string(kind));
  }
}

}  // namespace ft

using namespace ft;

extern "C" {

int ft_optim_defaults(int kind, ft_optim_options *options) {
  FT_GUARD({
    if (options == nullptr) fail(FT_ERR_INVALID_ARGUMENT, "options pointer is NULL");
    ft_optim_options o{};
    o.beta1 = 0.9;
    o.beta2 = 0.999;
    o.alpha = 0.99;
    switch (kind) {
      case FT_OPTIM_SGD: o.lr = 1e-3; break;
      case FT_OPTIM_ADAM:
        o.lr = 1e-3;
        o.eps = 1e-8;
        break;
      case FT_OPTIM_ADAMW:
        o.lr = 1e-3;
        o.eps = 1e-8;
        o.weight_decay = 1e-2;
        break;
      case FT_OPTIM_RMSPROP:
        o.lr = 1e-2;
        o.eps = 1e-8;
        break;
      case FT_OPTIM_ADAGRAD:
        o.lr = 1e-2;
        o.eps = 1e-10;
        break;
      default: fail(FT_ERR_INVALID_ARGUMENT, "unknown optimiser code " + std::to_string(kind));
    }
    *options = o;
  });
}

int ft_optim_new(int kind, const ft_tensor *params, int n, const ft_optim_options *options, ft_optim *out) {
  ConsumeTemps consumed(params, n);
  FT_GUARD({
    if (out == nullptr || options == nullptr) fail(FT_ERR_INVALID_ARGUMENT, "NULL argument");
    const char *name = optim_name(kind);
    check_options(kind, *options);
    auto optim = std::make_shared<Optim>();
    optim->kind = kind;
    optim->options = *options;
    optim->params = tensors_of(params, n, "parameter");
    if (optim->params.empty()) fail(FT_ERR_INVALID_ARGUMENT, std::string(name) + ": no parameters to optimise");
    for (size_t i = 0; i < optim->params.size(); ++i) {
      const at::Tensor &p = optim->params[i];
      if (!p.requires_grad())
        fail(FT_ERR_INVALID_ARGUMENT, std::string(name) + ": parameter " + std::to_string(i + 1) +
                                          " does not require gradients; construct it with requires_grad=.true.");
      if (!p.is_leaf())
        fail(FT_ERR_INVALID_ARGUMENT, std::string(name) + ": parameter " + std::to_string(i + 1) +
                                          " is not a leaf tensor (it was computed from others)");
      if (!at::isFloatingType(p.scalar_type()))
        fail(FT_ERR_DTYPE, std::string(name) + ": parameter " + std::to_string(i + 1) + " is not floating point");
    }
    optim->state.assign(optim->params.size(), std::vector<at::Tensor>(state_names(kind).size()));
    *out = static_cast<ft_optim>(optims().insert(std::move(optim), 0));
  });
}

int ft_optim_delete(ft_optim o) {
  FT_GUARD({
    if (o == nullptr) return;
    if (!optims().erase(o)) fail(FT_ERR_STALE_HANDLE, "optimiser was already deleted (double delete)");
  });
}

int ft_optim_release(ft_optim o) {
  if (o != nullptr) optims().erase(o);
  return FT_OK;
}

int ft_optim_step(ft_optim handle) {
  FT_GUARD({
    auto optim_ref = optim_of(handle);
    Optim &o = *optim_ref;
    c10::AutoGradMode no_grad(false);
    o.steps += 1;
    const double step = static_cast<double>(o.steps);
    for (size_t i = 0; i < o.params.size(); ++i) {
      at::Tensor &param = o.params[i];
      const at::Tensor &g = param.mutable_grad();
      if (!g.defined()) continue;  // as torch.optim: parameters without gradients are skipped
      at::Tensor grad = o.options.maximize ? -g : g;
      switch (o.kind) {
        case FT_OPTIM_SGD: sgd(o, i, param, grad); break;
        case FT_OPTIM_ADAM: adam(o, i, param, grad, /*decoupled=*/false, step); break;
        case FT_OPTIM_ADAMW: adam(o, i, param, grad, /*decoupled=*/true, step); break;
        case FT_OPTIM_RMSPROP: rmsprop(o, i, param, grad); break;
        case FT_OPTIM_ADAGRAD: adagrad(o, i, param, grad, step); break;
      }
    }
  });
}

int ft_optim_zero_grad(ft_optim handle, int set_to_none) {
  FT_GUARD({
    auto optim_ref = optim_of(handle);
    Optim &o = *optim_ref;
    c10::AutoGradMode no_grad(false);
    for (auto &p : o.params) {
      at::Tensor &g = p.mutable_grad();
      if (!g.defined()) continue;
      if (set_to_none) {
        g.reset();
      } else {
        g = g.detach();
        g.zero_();
      }
    }
  });
}

int ft_optim_get_lr(ft_optim o, double *lr) {
  FT_GUARD({ *lr = optim_of(o)->options.lr; });
}

int ft_optim_set_lr(ft_optim o, double lr) {
  FT_GUARD({
    if (!(lr >= 0) || !std::isfinite(lr))
      fail(FT_ERR_INVALID_ARGUMENT, "learning rate must be a finite number >= 0, got " + std::to_string(lr));
    optim_of(o)->options.lr = lr;
  });
}

int ft_optim_step_count(ft_optim o, int64_t *steps) {
  FT_GUARD({ *steps = optim_of(o)->steps; });
}

// ---------------------------------------------------------------------------------------
// Schedulers
// ---------------------------------------------------------------------------------------

int ft_scheduler_new(int kind, ft_optim o, double p1, double p2, ft_scheduler *out) {
  FT_GUARD({
    if (out == nullptr) fail(FT_ERR_INVALID_ARGUMENT, "output handle pointer is NULL");
    auto s = std::make_shared<Scheduler>();
    s->kind = kind;
    s->optim = optim_of(o);
    s->p1 = p1;
    s->p2 = p2;
    check_scheduler_params(kind, p1, p2);
    // As torch's LRScheduler.__init__: base_lr is the optimiser's lr, last_epoch becomes 0.
    s->base_lr = s->optim->options.lr;
    s->last_lr = s->base_lr;
    s->last_epoch = 0;
    *out = static_cast<ft_scheduler>(schedulers().insert(std::move(s), 0));
  });
}

int ft_scheduler_delete(ft_scheduler s) {
  FT_GUARD({
    if (s == nullptr) return;
    if (!schedulers().erase(s)) fail(FT_ERR_STALE_HANDLE, "scheduler was already deleted (double delete)");
  });
}

int ft_scheduler_release(ft_scheduler s) {
  if (s != nullptr) schedulers().erase(s);
  return FT_OK;
}

int ft_scheduler_step(ft_scheduler handle) {
  FT_GUARD({
    auto sched_ref = scheduler_of(handle);
    Scheduler &s = *sched_ref;
    s.last_epoch += 1;
    double lr = scheduler_next_lr(s, s.optim->options.lr);
    s.optim->options.lr = lr;
    s.last_lr = lr;
  });
}

int ft_scheduler_get_last_lr(ft_scheduler s, double *lr) {
  FT_GUARD({ *lr = scheduler_of(s)->last_lr; });
}

int ft_scheduler_last_epoch(ft_scheduler s, int64_t *epoch) {
  FT_GUARD({ *epoch = scheduler_of(s)->last_epoch; });
}

// ---------------------------------------------------------------------------------------
// Gradient clipping
// ---------------------------------------------------------------------------------------

int ft_clip_grad_norm(const ft_tensor *params, int n, double max_norm, double norm_type, double *total_norm) {
  ConsumeTemps consumed(params, n);
  FT_GUARD({
    auto ps = tensors_of(params, n, "parameter");
    double p = norm_type <= 0 ? INFINITY : norm_type;
    std::vector<at::Tensor> grads, norms;
    for (auto &t : ps)
      if (t.mutable_grad().defined()) grads.push_back(t.mutable_grad());
    if (grads.empty()) {
      if (total_norm) *total_norm = 0.0;
      return;
    }
    c10::AutoGradMode no_grad(false);
    for (auto &g : grads) norms.push_back(at::linalg_vector_norm(g, p));
    at::Tensor total = at::linalg_vector_norm(at::stack(norms), p);
    at::Tensor coef = at::clamp_max(at::reciprocal(total + 1e-6).mul(max_norm), 1.0);  // max_norm / (total + 1e-6)
    for (auto &g : grads) g.mul_(coef.to(g.device()));
    if (total_norm) *total_norm = total.item<double>();
  });
}

int ft_clip_grad_value(const ft_tensor *params, int n, double clip_value) {
  ConsumeTemps consumed(params, n);
  FT_GUARD({
    c10::AutoGradMode no_grad(false);
    for (auto &t : tensors_of(params, n, "parameter")) {
      at::Tensor &g = t.mutable_grad();
      if (g.defined()) g.clamp_(-clip_value, clip_value);
    }
  });
}

}  // extern "C"
