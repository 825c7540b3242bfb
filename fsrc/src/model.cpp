// Models: TorchScript loading, forward passes, parameters, train/eval and saving.
#include <ATen/ATen.h>
#include <c10/core/GradMode.h>
#include <torch/csrc/jit/api/module.h>
#include <torch/csrc/jit/serialization/import.h>

#include <sys/stat.h>

#include <fstream>
#include <iostream>
#include <sstream>

#include "fileio.h"
#include "training.h"

namespace ft {

std::vector<std::pair<std::string, at::Tensor>> Model::parameters() const {
  std::vector<std::pair<std::string, at::Tensor>> out;
  for (const auto &p : module->named_parameters(/*recurse=*/true)) out.emplace_back(p.name, p.value);
  return out;
}

std::vector<std::pair<std::string, at::Tensor>> Model::buffers() const {
  std::vector<std::pair<std::string, at::Tensor>> out;
  for (const auto &b : module->named_buffers(/*recurse=*/true)) out.emplace_back(b.name, b.value);
  return out;
}

Registry<std::shared_ptr<Model>> &models() {
  static auto *registry = [] {
    auto *r = new Registry<std::shared_ptr<Model>>("model");
    register_live_counter([] { return models().live(); });
    return r;
  }();
  return *registry;
}

std::vector<at::Tensor> tensors_of(const ft_tensor *handles, int n, const char *role) {
  if (n < 0) fail(FT_ERR_INVALID_ARGUMENT, std::string("negative number of ") + role + "s");
  if (n > 0 && handles == nullptr) fail(FT_ERR_INVALID_ARGUMENT, std::string(role) + " array is NULL");
  std::vector<at::Tensor> out;
  out.reserve(static_cast<size_t>(n));
  for (int i = 0; i < n; ++i) {
    std::string name = std::string(role) + " " + std::to_string(i + 1);
    out.push_back(tensor_of(handles[i], name.c_str()));
  }
  return out;
}

}  // namespace ft

using namespace ft;

namespace {

// FT_ERR_IO naming the file unless it is a readable file (not a directory).
void check_readable(const char *filename) {
  struct stat st {};
  if (::stat(filename, &st) == 0 && S_ISDIR(st.st_mode))
    fail(FT_ERR_IO, std::string("cannot open model file '") + filename + "': it is a directory");
  std::ifstream f(filename, std::ios::binary);
  if (!f.good()) fail(FT_ERR_IO, std::string("cannot open model file '") + filename + "'");
}

}  // namespace

extern "C" {

int ft_model_load(const char *filename, int device_type, int device_index, int requires_grad, int is_training,
                  ft_model *out) {
  FT_GUARD({
    if (out == nullptr) fail(FT_ERR_INVALID_ARGUMENT, "output handle pointer is NULL");
    if (filename == nullptr || *filename == '\0') fail(FT_ERR_INVALID_ARGUMENT, "model file name is empty");
    check_readable(filename);
    auto model = std::make_shared<Model>();
    model->device = to_device(device_type, device_index);
    try {
      model->module = std::make_unique<torch::jit::Module>(torch::jit::load(filename, model->device));
    } catch (const c10::Error &e) {
      // LibTorch's first line says what is wrong, unless it is one of its internal
      // assertions (a hostile file), which is no help to the user.
      std::string why = e.what_without_backtrace();
      if (why.find('\n') != std::string::npos) why.resize(why.find('\n'));
      if (why.find("INTERNAL ASSERT") != std::string::npos) why = "the file is corrupt";
      fail(FT_ERR_MODEL, std::string("'") + filename + "' is not a TorchScript model (" + why.substr(0, 200) +
                             "); write one with torch.jit.script(model).save(path) or pyftorch.save_torchscript");
    }
    // FTorch issue #585: requires_grad = 0 must really freeze the parameters.  A negative
    // value keeps what the file says (FTorch programs that omit the argument still train).
    if (requires_grad >= 0)
      for (auto p : model->module->parameters(/*recurse=*/true)) p.set_requires_grad(requires_grad != 0);
    model->module->train(is_training != 0);
    *out = static_cast<ft_model>(models().insert(std::move(model), 0));
  });
}

int ft_model_delete(ft_model m) {
  FT_GUARD({
    if (m == nullptr) return;
    if (!models().erase(m)) fail(FT_ERR_STALE_HANDLE, "model was already deleted (double delete)");
  });
}

int ft_model_release(ft_model m) {
  if (m != nullptr) models().erase(m);
  return FT_OK;
}

int ft_model_forward(ft_model m, const ft_tensor *inputs, int n_inputs, ft_tensor *outputs, int n_outputs,
                     int requires_grad) {
  ConsumeTemps consumed(inputs, n_inputs);
  FT_GUARD({
    auto model_ref = model_of(m);
    Model &model = *model_ref;
    std::vector<c10::IValue> args;
    for (auto &t : tensors_of(inputs, n_inputs, "input tensor")) args.emplace_back(t);
    if (n_outputs < 1 || outputs == nullptr) fail(FT_ERR_INVALID_ARGUMENT, "at least one output tensor is needed");
    c10::IValue result;
    if (model.before_forward) model.before_forward(model.distributed.get(), requires_grad != 0);
    {
      c10::AutoGradMode mode(requires_grad != 0);
      result = model.module->forward(std::move(args));
    }
    if (model.after_forward) model.after_forward(model.distributed.get(), requires_grad != 0);
    std::vector<at::Tensor> results;
    if (result.isTensor()) {
      results.push_back(result.toTensor());
    } else if (result.isTuple()) {
      for (const auto &v : result.toTupleRef().elements()) results.push_back(v.toTensor());
    } else if (result.isTensorList()) {
      for (const auto &t : result.toTensorVector()) results.push_back(t);
    } else if (result.isList()) {
      for (const auto &v : result.toListRef()) results.push_back(v.toTensor());
    } else {
      fail(FT_ERR_MODEL, "the model's forward returned " + result.tagKind() + ", not tensors");
    }
    if (static_cast<int>(results.size()) != n_outputs)
      fail(FT_ERR_INVALID_ARGUMENT, "the model returned " + std::to_string(results.size()) + " tensor(s) but " +
                                        std::to_string(n_outputs) + " output tensor(s) were given");
    c10::AutoGradMode mode(requires_grad != 0);
    for (int i = 0; i < n_outputs; ++i) assign_value(&outputs[i], std::move(results[i]), /*clone_if_named=*/false);
  });
}

int ft_model_num_parameters(ft_model m, int *n) {
  FT_GUARD({ *n = static_cast<int>(model_of(m)->parameters().size()); });
}

int ft_model_parameters(ft_model m, ft_tensor *params, int n) {
  FT_GUARD({
    auto named = model_of(m)->parameters();
    if (params == nullptr) fail(FT_ERR_INVALID_ARGUMENT, "parameter array is NULL");
    if (static_cast<int>(named.size()) != n)
      fail(FT_ERR_INVALID_ARGUMENT, "the model has " + std::to_string(named.size()) + " parameter tensors but " +
                                        std::to_string(n) + " were requested");
    // Parameter handles write through on assignment, like views: rebinding one would
    // silently detach it from the model.
    for (int i = 0; i < n; ++i) {
      ft_tensor old = params[i];
      params[i] = new_handle(named[i].second, kView);
      if (old != nullptr) tensors().erase(old);
    }
  });
}

int ft_model_set_training(ft_model m, int training) {
  FT_GUARD({ model_of(m)->module->train(training != 0); });
}

int ft_model_is_training(ft_model m, int *training) {
  FT_GUARD({ *training = model_of(m)->module->is_training() ? 1 : 0; });
}

int ft_model_save(ft_model m, const char *filename) {
  FT_GUARD({
    auto model_ref = model_of(m);
    Model &model = *model_ref;
    if (filename == nullptr || *filename == '\0') fail(FT_ERR_INVALID_ARGUMENT, "model file name is empty");
    // TorchScript's file writer reports write errors by throwing from a destructor, which
    // terminates the process.  Serialise into memory (nothing there can fail but memory),
    // then write the bytes with checked calls, atomically.
    std::string bytes;
    try {
      std::ostringstream out(std::ios::binary);
      model.module->save(out);
      if (!out) fail(FT_ERR_OUT_OF_MEMORY, std::string("cannot serialise the model for '") + filename + "'");
      bytes = out.str();
    } catch (const c10::Error &e) {
      fail(FT_ERR_MODEL,
           std::string("cannot serialise the model for '") + filename + "': " + e.what_without_backtrace());
    }
    write_file_atomically(filename, bytes.data(), bytes.size(), "model");
  });
}

int ft_model_print_parameters(ft_model m) {
  FT_GUARD({
    for (const auto &[name, value] : model_of(m)->parameters()) std::cout << name << ":\n" << value << "\n";
    std::cout << std::flush;
  });
}

}  // extern "C"
