// Checkpoints: model weights, optimiser state and scheduler state in one file.
//
// The file is a pickled dictionary in torch.save's zip format, made only of plain containers: str-keyed dicts, lists,
// str, int, float, bool and CPU tensors.  `torch.load(path, weights_only=True)` reads it without running any code from
// the file.  Layout (format version 2):
//
//   {"format": "pyftorch-checkpoint", "version": 2,
//    "model_parameters": {name: tensor}, "model_buffers": {name: tensor},          # if a model
//    "optimizer": {"kind": int, "name": str, "options": {field: float | bool},     # if an optimiser
//                  "steps": int, "params": [tensor | str], "state": [{slot: tensor}]},
//    "scheduler": {"kind": int, "name": str, "p1": float, "p2": float,             # if a scheduler
//                  "base_lr": float, "last_lr": float, "last_epoch": int}}
//
// Every value is stored once: an optimiser parameter that is one of the saved model's
// parameters is stored as that parameter's name (a str), not as a second copy.  Version 1
// files (written before that rule, with specialised lists torch.load(weights_only=True)
// refuses) still load; there the copies must agree.
//
// Saving writes the file atomically (fileio.h): a failed or interrupted save leaves the
// previous checkpoint intact.  Loading reads and checks everything (structure, types,
// shapes, dtypes, counts, ranges) before anything changes, and a malformed file is a
// pyftorch message naming the file and the entry at fault, never LibTorch's.
// Tensors are stored on the CPU and restored onto the devices of the objects they are
// loaded into, so a run can restart on another device.
#include <ATen/ATen.h>
#include <ATen/core/Dict.h>
#include <ATen/core/ivalue.h>
#include <c10/core/GradMode.h>
#include <caffe2/serialize/inline_container.h>
#include <caffe2/serialize/read_adapter_interface.h>
#include <torch/csrc/jit/serialization/import_read.h>
#include <torch/csrc/jit/serialization/pickle.h>
#include <torch/csrc/jit/serialization/pickler.h>

#include <algorithm>
#include <cmath>
#include <cstring>

#include "fileio.h"
#include "training.h"

using namespace ft;

namespace {

constexpr const char *kFormat = "pyftorch-checkpoint";
constexpr int64_t kVersion = 2;

using Dict = c10::impl::GenericDict;
using List = c10::impl::GenericList;
using Named = std::vector<std::pair<std::string, at::Tensor>>;

Dict new_dict() { return Dict(c10::StringType::get(), c10::AnyType::get()); }
List new_list() { return List(c10::AnyType::get()); }

// The fields of ft_optim_options in file order; flags are stored as bools.
struct OptionField {
  const char *name;
  double ft_optim_options::*real;
  int ft_optim_options::*flag;
};
const OptionField kOptionFields[] = {
    {"lr", &ft_optim_options::lr, nullptr},
    {"momentum", &ft_optim_options::momentum, nullptr},
    {"dampening", &ft_optim_options::dampening, nullptr},
    {"weight_decay", &ft_optim_options::weight_decay, nullptr},
    {"nesterov", nullptr, &ft_optim_options::nesterov},
    {"beta1", &ft_optim_options::beta1, nullptr},
    {"beta2", &ft_optim_options::beta2, nullptr},
    {"eps", &ft_optim_options::eps, nullptr},
    {"amsgrad", nullptr, &ft_optim_options::amsgrad},
    {"alpha", &ft_optim_options::alpha, nullptr},
    {"centered", nullptr, &ft_optim_options::centered},
    {"lr_decay", &ft_optim_options::lr_decay, nullptr},
    {"initial_accumulator_value", &ft_optim_options::initial_accumulator_value, nullptr},
    {"maximize", nullptr, &ft_optim_options::maximize},
};
constexpr size_t kNumOptionFields = sizeof(kOptionFields) / sizeof(kOptionFields[0]);

const char *scheduler_name(int64_t kind) {
  switch (kind) {
    case FT_SCHED_STEP: return "StepLR";
    case FT_SCHED_EXPONENTIAL: return "ExponentialLR";
    case FT_SCHED_COSINE_ANNEALING: return "CosineAnnealingLR";
  }
  return "unknown scheduler";
}

bool same_tensor(const at::Tensor &a, const at::Tensor &b) {
  if (a.unsafeGetTensorImpl() == b.unsafeGetTensorImpl()) return true;
  return a.defined() && b.defined() && a.data_ptr() == b.data_ptr() && a.sizes() == b.sizes() &&
         a.strides() == b.strides() && a.scalar_type() == b.scalar_type() && a.device() == b.device();
}

at::Tensor stored(const at::Tensor &t) { return t.detach().cpu().clone(); }

// An optimiser parameter as stored: the name of the model parameter it is, when the model
// is saved in the same file, else a copy of its values.
c10::IValue stored_ref(const at::Tensor &p, const Named *model_params) {
  if (model_params)
    for (const auto &[name, t] : *model_params)
      if (same_tensor(p, t)) return c10::IValue(name);
  return c10::IValue(stored(p));
}

// ---------------------------------------------------------------------------------------
// Writing
// ---------------------------------------------------------------------------------------

Dict tensor_dict(const Named &named) {
  Dict d = new_dict();
  for (const auto &[name, t] : named) d.insert(name, stored(t));
  return d;
}

Dict save_optim(const Optim &o, const Named *model_params) {
  Dict d = new_dict();
  d.insert("kind", static_cast<int64_t>(o.kind));
  d.insert("name", std::string(optim_name(o.kind)));
  Dict options = new_dict();
  for (const auto &f : kOptionFields) {
    if (f.real) options.insert(f.name, o.options.*f.real);
    else options.insert(f.name, o.options.*f.flag != 0);
  }
  d.insert("options", options);
  d.insert("steps", o.steps);
  List params = new_list();
  for (const auto &p : o.params) params.push_back(stored_ref(p, model_params));
  d.insert("params", params);
  List state = new_list();
  const auto &names = state_names(o.kind);
  for (const auto &per_param : o.state) {
    Dict s = new_dict();
    for (size_t k = 0; k < names.size(); ++k)
      if (per_param[k].defined()) s.insert(names[k], stored(per_param[k]));
    state.push_back(s);
  }
  d.insert("state", state);
  return d;
}

// torch.save's zip format, as torch::jit::pickle_save writes it but without the type tags
// (torch.jit._pickle.restore_type_tag) that torch.load(weights_only=True) refuses.  All in
// memory: nothing here touches the file system.
std::vector<char> serialize(const c10::IValue &root) {
  std::vector<char> pickled;
  torch::jit::Pickler pickler([&](const char *buf, size_t n) { pickled.insert(pickled.end(), buf, buf + n); },
                              /*tensor_table=*/nullptr, /*type_renamer=*/nullptr, /*memoized_class_types=*/nullptr,
                              /*get_tensor_id=*/nullptr, /*tag_aggregates=*/false);
  pickler.protocol();
  pickler.pushIValue(root);
  pickler.stop();
  std::vector<char> out;
  caffe2::serialize::PyTorchStreamWriter writer([&](const void *buf, size_t n) {
    const char *bytes = static_cast<const char *>(buf);
    out.insert(out.end(), bytes, bytes + n);
    return n;
  });
  size_t i = 0;
  for (const auto &t : pickler.tensorData()) {
    auto data = torch::jit::getWriteableTensorData(t);
    writer.writeRecord("data/" + std::to_string(i++), data.data(), data.sizeInBytes());
  }
  writer.writeRecord("data.pkl", pickled.data(), pickled.size());
  writer.writeEndOfFile();  // here, not in the destructor, so that any error is an exception we catch
  return out;
}

Dict save_scheduler(const Scheduler &s) {
  Dict d = new_dict();
  d.insert("kind", static_cast<int64_t>(s.kind));
  d.insert("name", std::string(scheduler_name(s.kind)));
  d.insert("p1", s.p1);
  d.insert("p2", s.p2);
  d.insert("base_lr", s.base_lr);
  d.insert("last_lr", s.last_lr);
  d.insert("last_epoch", s.last_epoch);
  return d;
}

}  // namespace

namespace {

// ---------------------------------------------------------------------------------------
// Reading: typed access with messages that name the file and the entry
// ---------------------------------------------------------------------------------------

std::string kind_of(const c10::IValue &v) {
  if (v.isTensor()) return "tensor";
  if (v.isGenericDict()) return "dict";
  if (v.isList()) return "list";
  if (v.isTuple()) return "tuple";
  if (v.isString()) return "str";
  if (v.isBool()) return "bool";
  if (v.isInt()) return "int";
  if (v.isDouble()) return "float";
  if (v.isNone()) return "None";
  return v.tagKind();
}

class Reader {
 public:
  explicit Reader(std::string file) : file_(std::move(file)) {}

  // The file is not a well-formed checkpoint (FT_ERR_IO).
  [[noreturn]] void bad(const std::string &where, const std::string &problem) const {
    fail(FT_ERR_IO, "'" + file_ + "' is not a valid pyftorch checkpoint: " + where + " " + problem);
  }
  // The checkpoint is well formed but belongs to other objects (FT_ERR_INVALID_ARGUMENT).
  [[noreturn]] void mismatch(const std::string &problem) const {
    fail(FT_ERR_INVALID_ARGUMENT, "checkpoint '" + file_ + "' " + problem);
  }

  Dict dict(const c10::IValue &v, const std::string &where) const {
    if (!v.isGenericDict()) bad(where, "is a " + kind_of(v) + ", expected a dict");
    Dict d = v.toGenericDict();
    for (const auto &item : d)
      if (!item.key().isString()) bad(where, "has a key that is a " + kind_of(item.key()) + ", expected str keys");
    return d;
  }
  const c10::IValue *find(const Dict &d, const std::string &key) const {
    for (const auto &item : d)
      if (item.key().toStringRef() == key) return &item.value();
    return nullptr;
  }
  const c10::IValue &get(const Dict &d, const std::string &key, const std::string &where) const {
    const c10::IValue *v = find(d, key);
    if (v == nullptr) bad(where, "has no '" + key + "' entry");
    return *v;
  }
  c10::ArrayRef<c10::IValue> list(const c10::IValue &v, const std::string &where) const {
    if (!v.isList()) bad(where, "is a " + kind_of(v) + ", expected a list");
    return v.toListRef();
  }
  std::string str(const c10::IValue &v, const std::string &where) const {
    if (!v.isString()) bad(where, "is a " + kind_of(v) + ", expected a str");
    return v.toStringRef();
  }
  int64_t integer(const c10::IValue &v, const std::string &where, int64_t lo, int64_t hi) const {
    if (!v.isInt()) bad(where, "is a " + kind_of(v) + ", expected an int");
    int64_t x = v.toInt();
    if (x < lo || x > hi)
      bad(where, "is " + std::to_string(x) + ", outside [" + std::to_string(lo) + ", " + std::to_string(hi) + "]");
    return x;
  }
  double real(const c10::IValue &v, const std::string &where) const {
    double x;
    if (v.isDouble()) x = v.toDouble();
    else if (v.isInt()) x = static_cast<double>(v.toInt());
    else bad(where, "is a " + kind_of(v) + ", expected a float");
    if (!std::isfinite(x)) bad(where, "is " + std::to_string(x) + ", not a finite number");
    return x;
  }
  int flag(const c10::IValue &v, const std::string &where) const {
    if (v.isBool()) return v.toBool() ? 1 : 0;
    double x = real(v, where);
    if (x != 0 && x != 1) bad(where, "is " + std::to_string(x) + ", expected a bool");
    return static_cast<int>(x);
  }
  // A dense CPU tensor whose storage holds every element its shape and strides address.
  at::Tensor tensor(const c10::IValue &v, const std::string &where) const {
    if (!v.isTensor()) bad(where, "is a " + kind_of(v) + ", expected a tensor");
    at::Tensor t = v.toTensor();
    if (!t.defined()) bad(where, "is an undefined tensor");
    if (t.layout() != at::kStrided || t.is_quantized() || !t.device().is_cpu() || !t.has_storage())
      bad(where, "is not a dense CPU tensor");
    if (t.numel() > 0) {
      int64_t last = t.storage_offset();
      for (int64_t d = 0; d < t.dim(); ++d) {
        if (t.stride(d) < 0) bad(where, "has a negative stride");
        last += (t.size(d) - 1) * t.stride(d);
      }
      const auto item = static_cast<int64_t>(t.element_size());
      if (t.storage_offset() < 0 || (last + 1) * item > static_cast<int64_t>(t.storage().nbytes()))
        bad(where, "addresses elements beyond its storage");
    }
    return t;
  }
  // A tensor that must have target's shape and dtype; `mismatch_is_foreign` reports a
  // difference as "belongs to other objects" rather than as a malformed file.
  at::Tensor tensor_like(const c10::IValue &v, const std::string &where, const at::Tensor &target,
                         const std::string &target_name, bool mismatch_is_foreign) const {
    at::Tensor t = tensor(v, where);
    std::string problem;
    if (t.sizes() != target.sizes())
      problem = "has shape " + describe_shape(t.sizes()) + " but " + target_name + " has shape " +
                describe_shape(target.sizes());
    else if (t.scalar_type() != target.scalar_type())
      problem = std::string("has dtype ") + c10::toString(t.scalar_type()) + " but " + target_name + " has dtype " +
                c10::toString(target.scalar_type());
    if (!problem.empty()) {
      if (mismatch_is_foreign) mismatch("belongs to a different model: " + where + " " + problem);
      bad(where, problem);
    }
    return t.to(target.device());
  }

 private:
  std::string file_;
};

bool bitwise_equal(const at::Tensor &a, const at::Tensor &b) {
  if (a.sizes() != b.sizes() || a.scalar_type() != b.scalar_type()) return false;
  at::Tensor x = a.contiguous(), y = b.contiguous();
  return std::memcmp(x.data_ptr(), y.data_ptr(), x.nbytes()) == 0;
}

// A value to be copied into a live tensor once everything has been checked.
struct Copy {
  at::Tensor target;
  at::Tensor value;  // already on the target's device, with its dtype and shape
};

// The model section named `key`: every entry of `targets`, and nothing else.
void read_named(const Reader &r, const Dict &root, const std::string &key, const Named &targets, const char *what,
                std::vector<Copy> &copies) {
  Dict saved = r.dict(r.get(root, key, "the file"), "'" + key + "'");
  if (static_cast<size_t>(saved.size()) != targets.size())
    r.mismatch(std::string("belongs to a different model: it holds ") + std::to_string(saved.size()) + " " + what +
               "s, the model has " + std::to_string(targets.size()));
  for (const auto &[name, target] : targets) {
    const c10::IValue *v = r.find(saved, name);
    if (v == nullptr) r.mismatch(std::string("belongs to a different model: no ") + what + " '" + name + "'");
    copies.push_back({target, r.tensor_like(*v, key + "['" + name + "']", target, std::string("the model's ") + what,
                                            /*mismatch_is_foreign=*/true)});
  }
}

struct OptimState {
  ft_optim_options options{};
  int64_t steps = 0;
  std::vector<std::vector<at::Tensor>> state;
};

OptimState read_optim(const Reader &r, const Dict &root, int64_t version, const Optim &o, const Model *model,
                      std::vector<Copy> &copies) {
  Dict d = r.dict(r.get(root, "optimizer", "the file"), "'optimizer'");
  auto at = [](const char *key) { return std::string("optimizer['") + key + "']"; };
  const int64_t kind = r.integer(r.get(d, "kind", "'optimizer'"), at("kind"), FT_OPTIM_SGD, FT_OPTIM_ADAGRAD);
  if (kind != o.kind)
    r.mismatch(std::string("holds a ") + optim_name(static_cast<int>(kind)) + " optimiser, not " + optim_name(o.kind));

  OptimState out;
  const c10::IValue &opts = r.get(d, "options", "'optimizer'");
  if (version == 1) {
    auto v = r.list(opts, at("options"));
    if (v.size() != kNumOptionFields)
      r.bad(at("options"), "has " + std::to_string(v.size()) + " values, expected " + std::to_string(kNumOptionFields));
    for (size_t i = 0; i < kNumOptionFields; ++i) {
      const auto &f = kOptionFields[i];
      std::string where = at("options") + "[" + std::to_string(i) + "]";
      if (f.real) out.options.*f.real = r.real(v[i], where);
      else out.options.*f.flag = r.flag(v[i], where);
    }
  } else {
    Dict od = r.dict(opts, at("options"));
    if (static_cast<size_t>(od.size()) != kNumOptionFields)
      r.bad(at("options"),
            "has " + std::to_string(od.size()) + " entries, expected " + std::to_string(kNumOptionFields));
    for (const auto &f : kOptionFields) {
      std::string where = at("options") + "['" + f.name + "']";
      const c10::IValue &v = r.get(od, f.name, at("options"));
      if (f.real) out.options.*f.real = r.real(v, where);
      else out.options.*f.flag = r.flag(v, where);
    }
  }
  try {
    check_optim_options(o.kind, out.options);
  } catch (const Error &e) {
    r.bad(at("options"), "are out of range (" + e.message + ")");
  }
  out.steps = r.integer(r.get(d, "steps", "'optimizer'"), at("steps"), 0, kMaxCount);

  auto params = r.list(r.get(d, "params", "'optimizer'"), at("params"));
  if (params.size() != o.params.size())
    r.mismatch("holds an optimiser of " + std::to_string(params.size()) + " parameters, this one has " +
               std::to_string(o.params.size()));
  const c10::IValue *model_section = r.find(root, "model_parameters");
  std::vector<at::Tensor> values(params.size());
  for (size_t i = 0; i < params.size(); ++i) {
    const std::string where = at("params") + "[" + std::to_string(i) + "]";
    const std::string target_name = "the optimiser's parameter " + std::to_string(i + 1);
    if (params[i].isString()) {
      // Stored once, in the model section (format version 2).
      const std::string name = params[i].toStringRef();
      if (version == 1) r.bad(where, "is a str, expected a tensor");
      if (model_section == nullptr) r.bad(where, "names model parameter '" + name + "' but the file holds no model");
      const c10::IValue *v = r.find(r.dict(*model_section, "'model_parameters'"), name);
      if (v == nullptr) r.bad(where, "names model parameter '" + name + "', which the file does not hold");
      values[i] = r.tensor_like(*v, "model_parameters['" + name + "']", o.params[i], target_name, false);
    } else {
      values[i] = r.tensor_like(params[i], where, o.params[i], target_name, false);
      // Version 1 stored the model's parameters twice: the copies must agree, or the file
      // does not say which value is right.
      if (version == 1 && model != nullptr && model_section != nullptr) {
        Dict md = r.dict(*model_section, "'model_parameters'");
        for (const auto &[name, live] : model->parameters()) {
          if (!same_tensor(live, o.params[i])) continue;
          const c10::IValue *v = r.find(md, name);
          if (v != nullptr && v->isTensor() && !bitwise_equal(v->toTensor(), params[i].toTensor()))
            r.bad(where, "differs from model_parameters['" + name + "'], the same parameter; the file is inconsistent");
        }
      }
    }
    copies.push_back({o.params[i], values[i]});
  }

  auto state = r.list(r.get(d, "state", "'optimizer'"), at("state"));
  if (state.size() != o.params.size())
    r.bad(at("state"),
          "has " + std::to_string(state.size()) + " entries for " + std::to_string(o.params.size()) + " parameters");
  const auto &names = state_names(o.kind);
  out.state.assign(o.params.size(), std::vector<at::Tensor>(names.size()));
  for (size_t i = 0; i < state.size(); ++i) {
    const std::string where = at("state") + "[" + std::to_string(i) + "]";
    Dict s = r.dict(state[i], where);
    for (const auto &item : s) {
      const std::string &slot = item.key().toStringRef();
      size_t k = 0;
      while (k < names.size() && names[k] != slot) ++k;
      if (k == names.size()) r.bad(where, "has an entry '" + slot + "', which is not state of " + optim_name(o.kind));
      out.state[i][k] = r.tensor_like(item.value(), where + "['" + slot + "']", o.params[i],
                                      "parameter " + std::to_string(i + 1), false)
                            .clone();
    }
  }
  return out;
}

Scheduler read_scheduler(const Reader &r, const Dict &root, const Scheduler &current) {
  Dict d = r.dict(r.get(root, "scheduler", "the file"), "'scheduler'");
  auto at = [](const char *key) { return std::string("scheduler['") + key + "']"; };
  const int64_t kind = r.integer(r.get(d, "kind", "'scheduler'"), at("kind"), FT_SCHED_STEP, FT_SCHED_COSINE_ANNEALING);
  if (kind != current.kind)
    r.mismatch(std::string("holds a ") + scheduler_name(kind) + " scheduler, not " + scheduler_name(current.kind));
  Scheduler s = current;
  s.p1 = r.real(r.get(d, "p1", "'scheduler'"), at("p1"));
  s.p2 = r.real(r.get(d, "p2", "'scheduler'"), at("p2"));
  try {
    check_scheduler_params(current.kind, s.p1, s.p2);
  } catch (const Error &e) {
    r.bad("'scheduler'", "has parameters out of range (" + e.message + ")");
  }
  s.base_lr = r.real(r.get(d, "base_lr", "'scheduler'"), at("base_lr"));
  s.last_lr = r.real(r.get(d, "last_lr", "'scheduler'"), at("last_lr"));
  if (s.base_lr < 0) r.bad(at("base_lr"), "is negative");
  if (s.last_lr < 0) r.bad(at("last_lr"), "is negative");
  s.last_epoch = r.integer(r.get(d, "last_epoch", "'scheduler'"), at("last_epoch"), 0, kMaxCount);
  return s;
}

// The file's bytes for LibTorch's zip reader, never read past their end.  (The reader
// torch::jit::pickle_load uses copies whatever range the zip's directory names: a
// truncated or crafted file made it read beyond the buffer.)
class BoundedReader : public caffe2::serialize::ReadAdapterInterface {
 public:
  explicit BoundedReader(const std::vector<char> &bytes) : bytes_(bytes) {}
  size_t size() const override { return bytes_.size(); }
  size_t read(uint64_t pos, void *buf, size_t n, const char * /*what*/) const override {
    if (pos >= bytes_.size()) return 0;
    n = std::min<size_t>(n, bytes_.size() - static_cast<size_t>(pos));
    std::memcpy(buf, bytes_.data() + pos, n);
    return n;
  }

 private:
  const std::vector<char> &bytes_;
};

c10::IValue unpickle(const std::vector<char> &bytes, const std::string &file) {
  const std::string not_ckpt = "'" + file + "' is not a pyftorch checkpoint";
  if (bytes.empty()) fail(FT_ERR_IO, not_ckpt + ": the file is empty");
  std::string why;
  try {
    caffe2::serialize::PyTorchStreamReader reader(std::make_shared<BoundedReader>(bytes));
    return torch::jit::readArchiveAndTensors("data", /*pickle_prefix=*/"", /*tensor_prefix=*/"",
                                             /*type_resolver=*/{}, /*obj_loader=*/{}, /*device=*/{}, reader);
  } catch (const c10::Error &e) {
    why = e.what_without_backtrace();
  } catch (const std::bad_alloc &) {
    why = "it declares more data than can be allocated";
  } catch (const std::exception &e) {
    why = e.what();
  } catch (...) {
    why = "unknown error";
  }
  // LibTorch's own wording (assertions, "report a bug") is not the user's business.
  auto newline = why.find('\n');
  if (newline != std::string::npos) why.resize(newline);
  if (why.find("INTERNAL ASSERT") != std::string::npos || why.size() > 160) why = "the data is corrupt";
  fail(FT_ERR_IO, not_ckpt + " (it cannot be read as a torch.save file: " + why + ")");
}

}  // namespace

extern "C" {

int ft_checkpoint_save(const char *filename, ft_model m, ft_optim o, ft_scheduler s) {
  FT_GUARD({
    if (filename == nullptr || *filename == '\0') fail(FT_ERR_INVALID_ARGUMENT, "checkpoint file name is empty");
    Dict root = new_dict();
    root.insert("format", std::string(kFormat));
    root.insert("version", kVersion);
    Named model_params;
    if (m != nullptr) {
      auto model_ref = model_of(m);
      Model &model = *model_ref;
      model_params = model.parameters();
      root.insert("model_parameters", tensor_dict(model_params));
      root.insert("model_buffers", tensor_dict(model.buffers()));
    }
    if (o != nullptr) root.insert("optimizer", save_optim(*optim_of(o), m != nullptr ? &model_params : nullptr));
    if (s != nullptr) root.insert("scheduler", save_scheduler(*scheduler_of(s)));
    std::vector<char> bytes = serialize(root);
    write_file_atomically(filename, bytes.data(), bytes.size(), "checkpoint");
  });
}

int ft_checkpoint_load(const char *filename, ft_model m, ft_optim o, ft_scheduler s) {
  FT_GUARD({
    if (filename == nullptr || *filename == '\0') fail(FT_ERR_INVALID_ARGUMENT, "checkpoint file name is empty");
    const std::string file(filename);
    std::shared_ptr<Model> model_ref = m ? model_of(m) : nullptr;
    Model *model = model_ref.get();
    std::shared_ptr<Optim> optim = o ? optim_of(o) : nullptr;
    std::shared_ptr<Scheduler> sched_ref = s ? scheduler_of(s) : nullptr;
    Scheduler *sched = sched_ref.get();

    c10::IValue loaded = unpickle(read_whole_file(file, "checkpoint"), file);
    Reader r(file);
    if (!loaded.isGenericDict()) fail(FT_ERR_IO, "'" + file + "' is not a pyftorch checkpoint (not a dict)");
    Dict root = r.dict(loaded, "the file");
    const c10::IValue *fmt = r.find(root, "format");
    if (fmt == nullptr || !fmt->isString() || fmt->toStringRef() != kFormat)
      fail(FT_ERR_IO, "'" + file + "' is not a pyftorch checkpoint (no 'format': '" + kFormat + "' entry)");
    const c10::IValue &ver = r.get(root, "version", "the file");
    if (!ver.isInt()) r.bad("'version'", "is a " + kind_of(ver) + ", expected an int");
    const int64_t version = ver.toInt();
    if (version < 1 || version > kVersion)
      fail(FT_ERR_IO, "'" + file + "' is a pyftorch checkpoint of format version " + std::to_string(version) +
                          "; this library reads versions 1 to " + std::to_string(kVersion) +
                          " (was it written by a newer pyftorch?)");

    // Everything is read, checked and converted before anything changes: a failed load
    // leaves the model, optimiser and scheduler exactly as they were.
    std::vector<Copy> copies;
    if (model) {
      if (r.find(root, "model_parameters") == nullptr)
        r.mismatch("has no 'model_parameters' entry (no model was saved)");
      read_named(r, root, "model_parameters", model->parameters(), "parameter", copies);
      read_named(r, root, "model_buffers", model->buffers(), "buffer", copies);
    }
    OptimState optim_state;
    if (optim) {
      if (r.find(root, "optimizer") == nullptr) r.mismatch("has no 'optimizer' entry");
      optim_state = read_optim(r, root, version, *optim, model, copies);
    }
    Scheduler sched_state;
    if (sched) {
      if (r.find(root, "scheduler") == nullptr) r.mismatch("has no 'scheduler' entry");
      sched_state = read_scheduler(r, root, *sched);
    }

    c10::AutoGradMode no_grad(false);
    for (auto &c : copies) c.target.copy_(c.value);
    if (optim) {
      optim->options = optim_state.options;
      optim->steps = optim_state.steps;
      optim->state = std::move(optim_state.state);
    }
    if (sched) *sched = sched_state;
  });
}

}  // extern "C"
