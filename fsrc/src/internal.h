// Internal machinery shared by the translation units of libftorch: the handle registry,
// error reporting and the exception barrier.  Nothing here is part of the ABI.
#pragma once

#include <ATen/ATen.h>

#include <atomic>
#include <cstdint>
#include <memory>
#include <mutex>
#include <string>
#include <utility>

#include "ftorch.h"

namespace ft {

// ------------------------------------------------------------------------------------
// Errors
// ------------------------------------------------------------------------------------

// The exception used inside the library; the barrier turns it into a status code.
struct Error {
  int status;
  std::string message;
};

[[noreturn]] void fail(int status, std::string message);

// Record an error for ft_last_error() and return its status.
int set_error(int status, std::string message);

// Map the exception in flight to a status code plus message (call inside catch(...)).
int translate_current_exception();

// The exception barrier: every extern "C" entry point runs its body through this.
template <class F>
inline int guarded(F &&body) noexcept {
  try {
    body();
    return FT_OK;
  } catch (...) {
    return translate_current_exception();
  }
}

// ------------------------------------------------------------------------------------
// Handle registry
// ------------------------------------------------------------------------------------
//
// A handle is (generation << 24) | (slot index + 1), never a pointer, so a stale or
// garbage handle is detected instead of dereferenced.  Slots live in fixed chunks that
// are never moved, so lookups take no lock; allocation and release take a spin lock.
// A slot's generation is odd while it is live and even while it is free.

constexpr unsigned kIndexBits = 24;
constexpr uint64_t kIndexMask = (uint64_t{1} << kIndexBits) - 1;
constexpr uint32_t kChunkBits = 10;
constexpr uint32_t kChunkSize = 1u << kChunkBits;
constexpr uint32_t kMaxChunks = (1u << (kIndexBits - kChunkBits));

enum SlotFlags : uint32_t {
  kTemp = 1u << 0,  // a Fortran expression temporary (FT_FLAG_TEMP)
  kView = 1u << 1,  // aliases caller memory: assignment writes into that memory
};

template <class T>
struct Slot {
  T value;
  std::atomic<uint64_t> gen{0};
  uint32_t flags = 0;
  uint32_t next_free = 0;
  std::unique_ptr<int64_t[]> meta;  // cached shape/strides handed out to callers
  int meta_cap = 0;
};

class SpinLock {
 public:
  void lock() noexcept {
    while (flag_.test_and_set(std::memory_order_acquire)) {
    }
  }
  void unlock() noexcept { flag_.clear(std::memory_order_release); }

 private:
  std::atomic_flag flag_ = ATOMIC_FLAG_INIT;
};

template <class T>
class Registry {
 public:
  explicit Registry(const char *what) : what_(what) {}

  // Store value in a fresh slot and return its handle.
  void *insert(T value, uint32_t flags) {
    std::lock_guard<SpinLock> guard(lock_);
    uint32_t index;
    if (free_head_ != 0) {
      index = free_head_ - 1;
      free_head_ = slot(index).next_free;
    } else {
      index = next_index_;
      if (index >= kIndexMask - 1) fail(FT_ERR_OUT_OF_MEMORY, std::string("too many live ") + what_ + " handles");
      uint32_t chunk = index >> kChunkBits;
      if (chunks_[chunk].load(std::memory_order_relaxed) == nullptr)
        chunks_[chunk].store(new Slot<T>[kChunkSize], std::memory_order_release);
      ++next_index_;
    }
    Slot<T> &s = slot(index);
    s.value = std::move(value);
    s.flags = flags;
    uint64_t g = s.gen.load(std::memory_order_relaxed) + 1;  // even -> odd: live
    s.gen.store(g, std::memory_order_release);
    count_live(+1);
    return encode(index, g);
  }

  // The live slot of a handle, or nullptr if the handle is stale or invalid.
  Slot<T> *find(const void *handle) const noexcept {
    uint64_t h = reinterpret_cast<uint64_t>(handle);
    uint64_t idx1 = h & kIndexMask;
    if (idx1 == 0) return nullptr;
    uint64_t index = idx1 - 1;
    Slot<T> *chunk = chunks_[index >> kChunkBits].load(std::memory_order_acquire);
    if (chunk == nullptr) return nullptr;
    Slot<T> &s = chunk[index & (kChunkSize - 1)];
    uint64_t g = s.gen.load(std::memory_order_acquire);
    if ((g & 1) == 0 || (g & (~uint64_t{0} >> kIndexBits)) != (h >> kIndexBits)) return nullptr;
    return &s;
  }

  // The live slot of a handle; fails with a message naming `role` otherwise.
  Slot<T> &get(const void *handle, const char *role) const {
    if (handle == nullptr)
      fail(FT_ERR_NULL_HANDLE, std::string(role) + " is not constructed (null " + what_ + " handle)");
    Slot<T> *s = find(handle);
    if (s == nullptr)
      fail(FT_ERR_STALE_HANDLE, std::string(role) + " is not a live " + what_ +
                                    ": it was already deleted, or it was an expression temporary that has been consumed");
    return *s;
  }

  // Free the slot of a live handle; returns false if the handle was not live.
  bool erase(const void *handle) {
    T doomed;  // destroyed outside the lock: releasing a tensor can free a whole graph
    {
      std::lock_guard<SpinLock> guard(lock_);
      Slot<T> *s = find(handle);
      if (s == nullptr) return false;
      doomed = std::move(s->value);
      s->value = T();
      s->flags = 0;
      s->gen.store(s->gen.load(std::memory_order_relaxed) + 1, std::memory_order_release);
      uint32_t index = static_cast<uint32_t>((reinterpret_cast<uint64_t>(handle) & kIndexMask) - 1);
      s->next_free = free_head_;
      free_head_ = index + 1;
      count_live(-1);
    }
    return true;
  }

  int64_t live() const noexcept { return live_.load(std::memory_order_relaxed); }

 private:
  // Only called with lock_ held, so a plain load and store cannot lose an update; readers
  // (live()) still get an atomic value.  A locked read-modify-write here would cost a
  // second atomic instruction on every handle allocation and release.
  void count_live(int64_t delta) noexcept {
    live_.store(live_.load(std::memory_order_relaxed) + delta, std::memory_order_relaxed);
  }
  static void *encode(uint32_t index, uint64_t gen) {
    uint64_t g = gen & (~uint64_t{0} >> kIndexBits);
    return reinterpret_cast<void *>((g << kIndexBits) | (uint64_t{index} + 1));
  }
  Slot<T> &slot(uint32_t index) {
    return chunks_[index >> kChunkBits].load(std::memory_order_relaxed)[index & (kChunkSize - 1)];
  }

  const char *what_;
  mutable SpinLock lock_;
  std::atomic<Slot<T> *> chunks_[kMaxChunks] = {};
  uint32_t free_head_ = 0;  // index + 1 of the first free slot, 0 if none
  uint32_t next_index_ = 0;
  std::atomic<int64_t> live_{0};
};

using TensorSlot = Slot<at::Tensor>;
Registry<at::Tensor> &tensors();
// Counts of the other registries, added to ft_live_handles() (defined in their units).
int64_t live_non_tensor_handles();
void register_live_counter(int64_t (*counter)());

// Shorthands.
inline TensorSlot &slot_of(ft_tensor h, const char *role) { return tensors().get(h, role); }
inline at::Tensor &tensor_of(ft_tensor h, const char *role) { return slot_of(h, role).value; }
inline ft_tensor new_handle(at::Tensor t, uint32_t flags = 0) {
  return static_cast<ft_tensor>(tensors().insert(std::move(t), flags));
}
// The handle flags for an operator result.
inline uint32_t result_flags(unsigned api_flags) { return (api_flags & FT_FLAG_TEMP) ? uint32_t{kTemp} : uint32_t{0}; }
// Free h if it is an expression temporary.
void consume_if_temp(ft_tensor h) noexcept;

// Every entry point that receives tensor handles declares one of these first: when the call
// ends -- returning a result or failing at any point, even before a handle was looked up --
// the expression temporaries among those handles are released.  This is the one rule that
// keeps Fortran expressions leak-free on compilers that never finalise function results
// (`c = (a*b)*f` with a failing `*f`, `torch_tensor_zero(a*b)`): a procedure given a
// temporary always consumes it.  Handles that are not temporaries (every Python handle,
// every named Fortran tensor) are left alone.  The destructor cannot throw.
class ConsumeTemps {
 public:
  ConsumeTemps(ft_tensor a, ft_tensor b = nullptr) noexcept : fixed_{a, b} {}
  ConsumeTemps(const ft_tensor *handles, int n) noexcept : array_(handles), n_(handles != nullptr && n > 0 ? n : 0) {}
  ConsumeTemps(const ConsumeTemps &) = delete;
  ConsumeTemps &operator=(const ConsumeTemps &) = delete;
  ~ConsumeTemps() {
    for (ft_tensor h : fixed_)
      if (h != nullptr) consume_if_temp(h);
    for (int i = 0; i < n_; ++i)
      if (array_[i] != nullptr) consume_if_temp(array_[i]);
  }

 private:
  ft_tensor fixed_[2] = {nullptr, nullptr};
  const ft_tensor *array_ = nullptr;
  int n_ = 0;
};

// The value of the last expression temporary that ft_tensor_assign consumed on this thread,
// kept so that an elemental assignment of one temporary to an array of tensors
// (`arr = t * 2.0`, one assign call per element with the same, by then consumed, handle)
// gives every element the value.  Dropped when this thread creates its next operator result.
void remember_assigned_temp(ft_tensor handle, const at::Tensor &value);
const at::Tensor *recall_assigned_temp(ft_tensor handle) noexcept;
void forget_assigned_temp() noexcept;

// ------------------------------------------------------------------------------------
// Conversions between the ABI's enums and c10's
// ------------------------------------------------------------------------------------
at::ScalarType to_scalar_type(int dtype);
int from_scalar_type(at::ScalarType t);
at::Device to_device(int device_type, int device_index);
int from_device_type(at::DeviceType t);
std::string describe_shape(at::IntArrayRef shape);
std::string describe_dtype(at::ScalarType t);
std::string describe_device(const at::Device &d);

// Write `value` into the tensor held by *lhs with the semantics of ft_tensor_assign.
// `value_is_temp` says whether `value` may be moved (it is not referenced elsewhere).
void assign_value(ft_tensor *lhs, at::Tensor value, bool clone_if_named);

}  // namespace ft

// Entry-point helper: FT_GUARD({ ...body... })
#define FT_GUARD(...) return ::ft::guarded([&]() { __VA_ARGS__ })
