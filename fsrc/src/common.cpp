// Library-wide state: error reporting, the tensor registry, version and device queries.
#include <ATen/Context.h>
#include <ATen/Parallel.h>
#include <ATen/detail/CUDAHooksInterface.h>
#include <c10/core/GradMode.h>
#include <c10/util/Exception.h>
#include <torch/version.h>

#include <atomic>
#include <cstring>
#include <mutex>
#include <new>
#include <sstream>
#include <type_traits>
#include <vector>

#include "internal.h"

#ifndef FTORCH_VERSION
#define FTORCH_VERSION "0.0.0"
#endif

namespace ft {

namespace {

thread_local std::string g_last_error;
thread_local int g_last_status = FT_OK;

// The Fortran module's deferred-error state (torch_set_stop_on_error(.false.)): the first
// failure recorded and not yet read, per thread, so OpenMP threads never see each other's
// failures and the Fortran side keeps no mutable state at all.
thread_local std::string g_pending_message;
thread_local int g_pending_status = FT_OK;
// Whether a failure without `stat` stops the program.  Process-wide: a program sets it
// once, usually before its parallel regions, and every thread (including OpenMP workers
// created later, which would start with a thread-local default) must obey it.
std::atomic<int> g_stop_on_error{1};

std::string trim(std::string s) {
  while (!s.empty() && (s.back() == '\n' || s.back() == ' ' || s.back() == '\r')) s.pop_back();
  return s;
}

bool contains(const std::string &haystack, const char *needle) { return haystack.find(needle) != std::string::npos; }

// c10 raises plain c10::Error for most failures; the message says which kind it is.
int classify_torch_message(const std::string &msg) {
  if (contains(msg, "backward through the graph a second time") ||
      contains(msg, "does not require grad and does not have a grad_fn") ||
      contains(msg, "leaf Variable that requires grad") || contains(msg, "modified by an inplace operation") ||
      contains(msg, "grad can be implicitly created only"))
    return FT_ERR_AUTOGRAD;
  if (contains(msg, "Torch not compiled with CUDA") || contains(msg, "no CUDA GPUs") || contains(msg, "CUDA driver") ||
      contains(msg, "invalid device ordinal"))
    return FT_ERR_DEVICE_UNAVAILABLE;
  if (contains(msg, "must match the size") || contains(msg, "Mismatch in shape") || contains(msg, "shape mismatch") ||
      contains(msg, "size of tensor"))
    return FT_ERR_SHAPE;
  if (contains(msg, "Expected all tensors to be on the same device")) return FT_ERR_DEVICE;
  // c10d/gloo failures surfacing inside other calls (a peer died during backward's all-reduce).
  if (contains(msg, "gloo/") || contains(msg, "Connection closed by peer") || contains(msg, "remote worker") ||
      contains(msg, "ProcessGroupGloo") || contains(msg, "c10d"))
    return FT_ERR_DISTRIBUTED;
  return FT_ERR_TORCH;
}

std::mutex g_counter_mutex;
std::vector<int64_t (*)()> &counters() {
  static std::vector<int64_t (*)()> list;
  return list;
}

}  // namespace

void fail(int status, std::string message) { throw Error{status, std::move(message)}; }

int set_error(int status, std::string message) {
  g_last_status = status;
  g_last_error = trim(std::move(message));
  return status;
}

int translate_current_exception() {
  try {
    throw;
  } catch (const Error &e) {
    return set_error(e.status, e.message);
  } catch (const c10::OutOfMemoryError &e) {
    return set_error(FT_ERR_OUT_OF_MEMORY, e.what_without_backtrace());
  } catch (const c10::Error &e) {
    std::string msg = e.what_without_backtrace();
    return set_error(classify_torch_message(msg), msg);
  } catch (const std::bad_alloc &) {
    return set_error(FT_ERR_OUT_OF_MEMORY, "out of memory");
  } catch (const std::exception &e) {
    return set_error(classify_torch_message(e.what()) == FT_ERR_DISTRIBUTED ? FT_ERR_DISTRIBUTED : FT_ERR_TORCH,
                     e.what());
  } catch (...) {
    return set_error(FT_ERR_INTERNAL, "unknown C++ exception");
  }
}

Registry<at::Tensor, Deferred> g_tensor_registry("tensor");
static_assert(std::is_trivially_destructible<Registry<at::Tensor, Deferred>>::value,
              "the tensor registry must never be destroyed (finalisers may run after static destruction)");

void register_live_counter(int64_t (*counter)()) {
  std::lock_guard<std::mutex> guard(g_counter_mutex);
  counters().push_back(counter);
}

int64_t live_non_tensor_handles() {
  std::lock_guard<std::mutex> guard(g_counter_mutex);
  int64_t total = 0;
  for (auto counter : counters()) total += counter();
  return total;
}

at::ScalarType to_scalar_type(int dtype) {
  switch (dtype) {
    case FT_UINT8: return at::kByte;
    case FT_INT8: return at::kChar;
    case FT_INT16: return at::kShort;
    case FT_INT32: return at::kInt;
    case FT_INT64: return at::kLong;
    case FT_FLOAT16: return at::kHalf;
    case FT_FLOAT32: return at::kFloat;
    case FT_FLOAT64: return at::kDouble;
    case FT_BOOL: return at::kBool;
    default: fail(FT_ERR_INVALID_ARGUMENT, "unknown dtype code " + std::to_string(dtype));
  }
}

int from_scalar_type(at::ScalarType t) {
  switch (t) {
    case at::kByte: return FT_UINT8;
    case at::kChar: return FT_INT8;
    case at::kShort: return FT_INT16;
    case at::kInt: return FT_INT32;
    case at::kLong: return FT_INT64;
    case at::kHalf: return FT_FLOAT16;
    case at::kFloat: return FT_FLOAT32;
    case at::kDouble: return FT_FLOAT64;
    case at::kBool: return FT_BOOL;
    default: return static_cast<int>(t);
  }
}

at::Device to_device(int device_type, int device_index) {
  switch (device_type) {
    case FT_CPU:
      if (device_index > 0)
        fail(FT_ERR_INVALID_ARGUMENT, "device_index " + std::to_string(device_index) + " is invalid for the CPU");
      return at::Device(at::kCPU);
    case FT_CUDA: {
      if (!at::hasCUDA())
        fail(FT_ERR_DEVICE_UNAVAILABLE,
             "CUDA was requested (torch_kCUDA) but is not available: this LibTorch was built without CUDA "
             "or no CUDA device is visible; use torch_kCPU");
      int count = static_cast<int>(at::detail::getCUDAHooks().deviceCount());
      int index = device_index < 0 ? 0 : device_index;
      if (index >= count)
        fail(FT_ERR_DEVICE_UNAVAILABLE, "CUDA device index " + std::to_string(index) + " requested but only " +
                                            std::to_string(count) + " CUDA device(s) are visible");
      return at::Device(at::kCUDA, static_cast<c10::DeviceIndex>(index));
    }
    case FT_XPU:
    case FT_MPS:
      fail(FT_ERR_DEVICE_UNAVAILABLE,
           "device type " + std::to_string(device_type) + " (XPU/MPS) is not supported by this build of libftorch");
    default: fail(FT_ERR_INVALID_ARGUMENT, "unknown device type code " + std::to_string(device_type));
  }
}

int from_device_type(at::DeviceType t) { return static_cast<int>(t); }

std::string describe_shape(at::IntArrayRef shape) {
  std::ostringstream out;
  out << "[";
  for (size_t i = 0; i < shape.size(); ++i) out << (i ? ", " : "") << shape[i];
  out << "]";
  return out.str();
}

std::string describe_dtype(at::ScalarType t) {
  switch (t) {
    case at::kByte: return "uint8";
    case at::kChar: return "int8";
    case at::kShort: return "int16";
    case at::kInt: return "int32";
    case at::kLong: return "int64";
    case at::kHalf: return "float16";
    case at::kFloat: return "float32";
    case at::kDouble: return "float64";
    case at::kBool: return "bool";
    default: return c10::toString(t);
  }
}

std::string describe_device(const at::Device &d) { return d.str(); }

}  // namespace ft

using namespace ft;

extern "C" {

const char *ft_version(void) { return FTORCH_VERSION; }
const char *ft_torch_version(void) { return TORCH_VERSION; }
const char *ft_last_error(void) { return g_last_error.c_str(); }
int ft_last_status(void) { return g_last_status; }

int ft_last_error_copy(char *buf, int len) {
  int n = static_cast<int>(g_last_error.size());
  if (buf != nullptr && len > 0) {
    int m = n < len - 1 ? n : len - 1;
    std::memcpy(buf, g_last_error.data(), static_cast<size_t>(m));
    buf[m] = '\0';
  }
  return n;
}

void ft_clear_error(void) {
  g_last_error.clear();
  g_last_status = FT_OK;
}

int ft_set_stop_on_error(int flag) {
  g_stop_on_error.store(flag != 0 ? 1 : 0, std::memory_order_relaxed);
  return FT_OK;
}

int ft_get_stop_on_error(void) { return g_stop_on_error.load(std::memory_order_relaxed); }

int ft_pending_error_record(int status, const char *procname, int procname_len, const char *message, int message_len) {
  if (g_pending_status != FT_OK) return 0;  // the first failure is kept until read
  try {
    std::string text;
    if (procname != nullptr && procname_len > 0) text.assign(procname, static_cast<size_t>(procname_len));
    std::string detail =
        message != nullptr && message_len >= 0 ? std::string(message, static_cast<size_t>(message_len)) : g_last_error;
    if (detail.empty()) detail = "failed with status " + std::to_string(status) + " (no message was recorded)";
    text += text.empty() ? detail : ": " + detail;
    g_pending_message = std::move(text);
    g_pending_status = status != FT_OK ? status : FT_ERR_INTERNAL;
    return 1;
  } catch (...) {  // out of memory: keep the status, with a message that needs no allocation
    g_pending_message.clear();
    g_pending_status = status != FT_OK ? status : FT_ERR_INTERNAL;
    return 1;
  }
}

int ft_pending_error_take(int *status, char *buf, int len) {
  int st = g_pending_status;
  const std::string &msg = g_pending_message;
  int n = static_cast<int>(msg.size());
  if (status != nullptr) *status = st;
  if (buf != nullptr && len > 0) {
    int m = n < len - 1 ? n : len - 1;
    if (m > 0) std::memcpy(buf, msg.data(), static_cast<size_t>(m));
    buf[m] = '\0';
  }
  g_pending_status = FT_OK;
  g_pending_message.clear();
  g_last_error.clear();
  g_last_status = FT_OK;
  return n;
}

int ft_pending_error_length(void) { return static_cast<int>(g_pending_message.size()); }

int64_t ft_live_tensors(void) { return tensors().live(); }
int64_t ft_live_handles(void) { return tensors().live() + live_non_tensor_handles(); }

int ft_cuda_available(void) {
  try {
    return at::hasCUDA() && at::detail::getCUDAHooks().deviceCount() > 0 ? 1 : 0;
  } catch (...) {
    return 0;
  }
}

int ft_cuda_device_count(void) {
  try {
    return at::hasCUDA() ? static_cast<int>(at::detail::getCUDAHooks().deviceCount()) : 0;
  } catch (...) {
    return 0;
  }
}

int ft_set_num_threads(int n) {
  FT_GUARD({
    if (n < 1) fail(FT_ERR_INVALID_ARGUMENT, "number of threads must be >= 1, got " + std::to_string(n));
    at::set_num_threads(n);
  });
}

int ft_set_grad_enabled(int enabled, int *previous) {
  FT_GUARD({
    if (previous != nullptr) *previous = c10::GradMode::is_enabled() ? 1 : 0;
    c10::GradMode::set_enabled(enabled != 0);
  });
}

int ft_manual_seed(uint64_t seed) {
  FT_GUARD({ at::manual_seed(seed); });
}

}  // extern "C"
