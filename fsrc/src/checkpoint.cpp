// Checkpoints: model weights, optimiser state and scheduler state in one file.
//
// The file is a pickled dictionary (torch::jit::pickle_save), so Python can read it with
// torch.load.  Tensors are stored on the CPU and restored onto the devices of the objects
// they are loaded into, so a run can restart on another device.
#include <ATen/ATen.h>
#include <ATen/core/Dict.h>
#include <ATen/core/ivalue.h>
#include <c10/core/GradMode.h>
#include <torch/csrc/jit/api/module.h>
#include <torch/csrc/jit/serialization/pickle.h>

#include <fstream>
#include <iterator>

#include "training.h"

using namespace ft;

namespace {

constexpr const char *kFormat = "pyftorch-checkpoint";
constexpr int64_t kVersion = 1;

using Dict = c10::impl::GenericDict;

Dict new_dict() { return Dict(c10::StringType::get(), c10::AnyType::get()); }

Dict tensor_dict(const std::vector<std::pair<std::string, at::Tensor>> &named) {
  Dict d = new_dict();
  for (const auto &[name, t] : named) d.insert(name, t.detach().cpu().clone());
  return d;
}

const c10::IValue &entry(const Dict &d, const std::string &key, const std::string &where) {
  auto it = d.find(key);
  if (it == d.end()) fail(FT_ERR_INVALID_ARGUMENT, "checkpoint has no '" + key + "' entry in " + where);
  return it->value();
}

std::vector<double> options_vector(const ft_optim_options &o) {
  return {o.lr,    o.momentum, o.dampening, o.weight_decay, double(o.nesterov), o.beta1,
          o.beta2, o.eps,      double(o.amsgrad), o.alpha,  double(o.centered), o.lr_decay,
          o.initial_accumulator_value, double(o.maximize)};
}

ft_optim_options options_from(const std::vector<double> &v) {
  if (v.size() != 14) fail(FT_ERR_INVALID_ARGUMENT, "checkpoint: malformed optimiser options");
  ft_optim_options o{};
  o.lr = v[0]; o.momentum = v[1]; o.dampening = v[2]; o.weight_decay = v[3]; o.nesterov = int(v[4]);
  o.beta1 = v[5]; o.beta2 = v[6]; o.eps = v[7]; o.amsgrad = int(v[8]); o.alpha = v[9]; o.centered = int(v[10]);
  o.lr_decay = v[11]; o.initial_accumulator_value = v[12]; o.maximize = int(v[13]);
  return o;
}

void check_named(const Dict &saved, const std::vector<std::pair<std::string, at::Tensor>> &named,
                 const char *what) {
  if (static_cast<size_t>(saved.size()) != named.size())
    fail(FT_ERR_INVALID_ARGUMENT, std::string("checkpoint belongs to a different model: it holds ") +
                                      std::to_string(saved.size()) + " " + what + "s, the model has " +
                                      std::to_string(named.size()));
  for (const auto &[name, target] : named) {
    auto it = saved.find(name);
    if (it == saved.end())
      fail(FT_ERR_INVALID_ARGUMENT, std::string("checkpoint belongs to a different model: no ") + what + " '" + name + "'");
    const at::Tensor src = it->value().toTensor();
    if (src.sizes() != target.sizes())
      fail(FT_ERR_INVALID_ARGUMENT, std::string("checkpoint belongs to a different model: ") + what + " '" + name +
                                        "' has shape " + describe_shape(src.sizes()) + " in the checkpoint but " +
                                        describe_shape(target.sizes()) + " in the model");
  }
}

void copy_named(const Dict &saved, const std::vector<std::pair<std::string, at::Tensor>> &named) {
  c10::AutoGradMode no_grad(false);
  for (const auto &[name, target] : named) {
    at::Tensor t = target;
    t.copy_(saved.at(name).toTensor());
  }
}

Dict save_optim(const Optim &o) {
  Dict d = new_dict();
  d.insert("kind", static_cast<int64_t>(o.kind));
  d.insert("name", std::string(optim_name(o.kind)));
  d.insert("options", c10::List<double>(options_vector(o.options)));
  d.insert("steps", o.steps);
  c10::List<at::Tensor> params;
  for (const auto &p : o.params) params.push_back(p.detach().cpu().clone());
  d.insert("params", params);
  c10::impl::GenericList state(c10::AnyType::get());
  const auto &names = state_names(o.kind);
  for (const auto &per_param : o.state) {
    Dict s = new_dict();
    for (size_t k = 0; k < names.size(); ++k)
      if (per_param[k].defined()) s.insert(names[k], per_param[k].detach().cpu().clone());
    state.push_back(s);
  }
  d.insert("state", state);
  return d;
}

// An optimiser's state read from a checkpoint and checked against the optimiser.
struct OptimState {
  std::vector<at::Tensor> params;
  ft_optim_options options;
  int64_t steps;
  std::vector<std::vector<at::Tensor>> state;
};

OptimState read_optim(const Dict &d, const Optim &o) {
  int64_t kind = entry(d, "kind", "the optimiser").toInt();
  if (kind != o.kind)
    fail(FT_ERR_INVALID_ARGUMENT, std::string("checkpoint holds a ") + optim_name(static_cast<int>(kind)) +
                                      " optimiser, not " + optim_name(o.kind));
  auto params = entry(d, "params", "the optimiser").toTensorVector();
  if (params.size() != o.params.size())
    fail(FT_ERR_INVALID_ARGUMENT, "checkpoint's optimiser has " + std::to_string(params.size()) +
                                      " parameters, this one has " + std::to_string(o.params.size()));
  for (size_t i = 0; i < params.size(); ++i)
    if (params[i].sizes() != o.params[i].sizes())
      fail(FT_ERR_INVALID_ARGUMENT, "checkpoint's optimiser parameter " + std::to_string(i + 1) + " has shape " +
                                        describe_shape(params[i].sizes()) + ", this one " +
                                        describe_shape(o.params[i].sizes()));
  auto state = entry(d, "state", "the optimiser").toList();
  const auto &names = state_names(o.kind);
  std::vector<std::vector<at::Tensor>> restored(o.params.size(), std::vector<at::Tensor>(names.size()));
  for (size_t i = 0; i < o.params.size(); ++i) {
    Dict s = state.get(i).toGenericDict();
    for (size_t k = 0; k < names.size(); ++k) {
      auto it = s.find(names[k]);
      if (it != s.end()) restored[i][k] = it->value().toTensor().to(o.params[i].device(), o.params[i].scalar_type());
    }
  }
  return {std::move(params), options_from(entry(d, "options", "the optimiser").toDoubleVector()),
          entry(d, "steps", "the optimiser").toInt(), std::move(restored)};
}

void apply_optim(OptimState saved, Optim &o) {
  c10::AutoGradMode no_grad(false);
  for (size_t i = 0; i < saved.params.size(); ++i) o.params[i].copy_(saved.params[i]);
  o.options = saved.options;
  o.steps = saved.steps;
  o.state = std::move(saved.state);
}

Dict save_scheduler(const Scheduler &s) {
  Dict d = new_dict();
  d.insert("kind", static_cast<int64_t>(s.kind));
  d.insert("p1", s.p1);
  d.insert("p2", s.p2);
  d.insert("base_lr", s.base_lr);
  d.insert("last_lr", s.last_lr);
  d.insert("last_epoch", s.last_epoch);
  return d;
}

Scheduler read_scheduler(const Dict &d, const Scheduler &current) {
  if (entry(d, "kind", "the scheduler").toInt() != current.kind)
    fail(FT_ERR_INVALID_ARGUMENT, "checkpoint holds a different kind of scheduler");
  Scheduler s = current;
  s.p1 = entry(d, "p1", "the scheduler").toDouble();
  s.p2 = entry(d, "p2", "the scheduler").toDouble();
  s.base_lr = entry(d, "base_lr", "the scheduler").toDouble();
  s.last_lr = entry(d, "last_lr", "the scheduler").toDouble();
  s.last_epoch = entry(d, "last_epoch", "the scheduler").toInt();
  return s;
}

}  // namespace

extern "C" {

int ft_checkpoint_save(const char *filename, ft_model m, ft_optim o, ft_scheduler s) {
  FT_GUARD({
    if (filename == nullptr || *filename == '\0') fail(FT_ERR_INVALID_ARGUMENT, "checkpoint file name is empty");
    Dict root = new_dict();
    root.insert("format", std::string(kFormat));
    root.insert("version", kVersion);
    if (m != nullptr) {
      auto model_ref = model_of(m);
      Model &model = *model_ref;
      root.insert("model_parameters", tensor_dict(model.parameters()));
      root.insert("model_buffers", tensor_dict(model.buffers()));
    }
    if (o != nullptr) root.insert("optimizer", save_optim(*optim_of(o)));
    if (s != nullptr) root.insert("scheduler", save_scheduler(*scheduler_of(s)));
    std::vector<char> bytes = torch::jit::pickle_save(root);
    std::ofstream f(filename, std::ios::binary | std::ios::trunc);
    f.write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
    if (!f) fail(FT_ERR_IO, std::string("cannot write checkpoint file '") + filename + "'");
  });
}

int ft_checkpoint_load(const char *filename, ft_model m, ft_optim o, ft_scheduler s) {
  FT_GUARD({
    if (filename == nullptr || *filename == '\0') fail(FT_ERR_INVALID_ARGUMENT, "checkpoint file name is empty");
    std::ifstream f(filename, std::ios::binary);
    if (!f) fail(FT_ERR_IO, std::string("cannot open checkpoint file '") + filename + "'");
    std::vector<char> bytes((std::istreambuf_iterator<char>(f)), std::istreambuf_iterator<char>());
    c10::IValue loaded;
    try {
      loaded = torch::jit::pickle_load(bytes);
    } catch (const c10::Error &) {
      fail(FT_ERR_IO, std::string("'") + filename + "' is not a pyftorch checkpoint");
    }
    if (!loaded.isGenericDict()) fail(FT_ERR_IO, std::string("'") + filename + "' is not a pyftorch checkpoint");
    Dict root = loaded.toGenericDict();
    auto fmt = root.find("format");
    if (fmt == root.end() || !fmt->value().isString() || fmt->value().toStringRef() != kFormat)
      fail(FT_ERR_IO, std::string("'") + filename + "' is not a pyftorch checkpoint");
    // Everything is read and checked before anything changes: a failed load leaves the
    // model, optimiser and scheduler as they were.
    std::shared_ptr<Model> model_ref = m ? model_of(m) : nullptr;
    Model *model = model_ref.get();
    std::shared_ptr<Optim> optim = o ? optim_of(o) : nullptr;
    std::shared_ptr<Scheduler> sched_ref = s ? scheduler_of(s) : nullptr;
    Scheduler *sched = sched_ref.get();
    Dict params = new_dict(), buffers = new_dict();
    if (model) {
      params = entry(root, "model_parameters", "the file").toGenericDict();
      buffers = entry(root, "model_buffers", "the file").toGenericDict();
      check_named(params, model->parameters(), "parameter");
      check_named(buffers, model->buffers(), "buffer");
    }
    OptimState optim_state;
    if (optim) optim_state = read_optim(entry(root, "optimizer", "the file").toGenericDict(), *optim);
    Scheduler sched_state;
    if (sched) sched_state = read_scheduler(entry(root, "scheduler", "the file").toGenericDict(), *sched);
    if (model) {
      copy_named(params, model->parameters());
      copy_named(buffers, model->buffers());
    }
    if (optim) apply_optim(std::move(optim_state), *optim);
    if (sched) *sched = sched_state;
  });
}

}  // extern "C"
