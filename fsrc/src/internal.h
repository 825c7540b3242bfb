// Internal machinery shared by the translation units of libftorch: the handle registry,
// error reporting and the exception barrier.  Nothing here is part of the ABI.
#pragma once

#include <ATen/ATen.h>
#include <c10/macros/Macros.h>

#include <atomic>
#include <cstdint>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
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
// are never moved.  Allocation and release take the registry's spin lock; a slot's
// generation is odd while it is live and even while it is free.
//
// Threads: every lookup copies the value out of the slot (a reference-count increment)
// under the slot's own guard, which erase() also takes.  An operation in flight therefore
// owns its operands: a delete/close() racing with it on another thread only drops the
// slot's reference, and the operation finishes on its copy; a later use of the handle is
// reported as stale.  The guard is per slot, so threads working on different handles do
// not contend.

constexpr unsigned kIndexBits = 24;
constexpr uint64_t kIndexMask = (uint64_t{1} << kIndexBits) - 1;
constexpr uint32_t kChunkBits = 10;
constexpr uint32_t kChunkSize = 1u << kChunkBits;
constexpr uint32_t kMaxChunks = (1u << (kIndexBits - kChunkBits));

enum SlotFlags : uint32_t {
  kTemp = 1u << 0,  // a Fortran expression temporary (FT_FLAG_TEMP)
  kView = 1u << 1,  // aliases caller memory: assignment writes into that memory
};

class SpinLock {
 public:
  void lock() noexcept {
    // Yield after a short spin: on an oversubscribed machine the holder may be descheduled.
    for (int spins = 0; flag_.test_and_set(std::memory_order_acquire); ++spins)
      if (spins > 64) std::this_thread::yield();
  }
  void unlock() noexcept { flag_.clear(std::memory_order_release); }

 private:
  std::atomic_flag flag_ = ATOMIC_FLAG_INIT;
};

struct NoExtra {};
inline bool has_extra(const NoExtra &) noexcept { return false; }

template <class T, class X = NoExtra>
struct Slot {
  T value;
  X extra;  // per-kind state (tensors: a deferred operation, see Deferred)
  std::atomic<uint64_t> gen{0};
  SpinLock guard;  // held while value or extra of a live slot are read or written
  // Fixed while the slot is live (kTemp is only ever cleared), so it may be read without
  // the guard; atomic so that such a read is not a data race.
  std::atomic<uint32_t> flags{0};
  uint32_t next_free = 0;
  std::unique_ptr<int64_t[]> meta;  // cached shape/strides handed out to callers
  int meta_cap = 0;
};

template <class T, class X = NoExtra>
class Registry {
 public:
  using SlotType = Slot<T, X>;
  // constexpr: a registry with static storage is constant-initialised, so that reaching it
  // costs no initialisation guard (see tensors()).
  constexpr explicit Registry(const char *what) : what_(what) {}

  // Store value in a fresh slot and return its handle.
  void *insert(T value, uint32_t flags, X &&extra = X()) {
    std::lock_guard<SpinLock> hold(lock_);
    uint32_t index;
    if (free_head_ != 0) {
      index = free_head_ - 1;
      free_head_ = slot(index).next_free;
    } else {
      index = next_index_;
      if (index >= kIndexMask - 1) fail(FT_ERR_OUT_OF_MEMORY, std::string("too many live ") + what_ + " handles");
      uint32_t chunk = index >> kChunkBits;
      if (chunks_[chunk].load(std::memory_order_relaxed) == nullptr)
        chunks_[chunk].store(new SlotType[kChunkSize], std::memory_order_release);
      ++next_index_;
    }
    // A free slot is never read (lookups check the generation under its guard first),
    // so it is filled without taking the guard.
    SlotType &s = slot(index);
    s.value = std::move(value);
    s.extra = std::move(extra);
    s.flags.store(flags, std::memory_order_relaxed);
    uint64_t g = s.gen.load(std::memory_order_relaxed) + 1;  // even -> odd: live
    s.gen.store(g, std::memory_order_release);
    count_live(+1);
    return encode(index, g);
  }

  // The live slot of a handle, or nullptr if the handle is stale or invalid.  Without its
  // guard, only the slot's identity may be relied on (see with_slot).
  C10_ALWAYS_INLINE SlotType *find(const void *handle) const noexcept {
    uint64_t g;
    return find(handle, g);
  }
  // The same, and the slot's generation as read (see with_slot).
  C10_ALWAYS_INLINE SlotType *find(const void *handle, uint64_t &g) const noexcept {
    uint64_t h = reinterpret_cast<uint64_t>(handle);
    uint64_t idx1 = h & kIndexMask;
    if (idx1 == 0) return nullptr;
    uint64_t index = idx1 - 1;
    SlotType *chunk = chunks_[index >> kChunkBits].load(std::memory_order_acquire);
    if (chunk == nullptr) return nullptr;
    SlotType &s = chunk[index & (kChunkSize - 1)];
    g = s.gen.load(std::memory_order_acquire);
    if ((g & 1) == 0 || (g & (~uint64_t{0} >> kIndexBits)) != (h >> kIndexBits)) return nullptr;
    return &s;
  }

  // The live slot of a handle; fails with a message naming `role` otherwise.
  C10_ALWAYS_INLINE SlotType &get(const void *handle, const char *role) const {
    SlotType *s = find(handle);
    if (C10_UNLIKELY(s == nullptr)) fail_lookup(handle, role);
    return *s;
  }

  // Run f(slot) with the slot's guard held, once the handle is known to be live; fails
  // with a message naming `role` otherwise.  f must not erase the slot.
  template <class F>
  C10_ALWAYS_INLINE decltype(auto) with_slot(const void *handle, const char *role, F &&f) const {
    uint64_t g;
    SlotType *s = find(handle, g);
    if (C10_UNLIKELY(s == nullptr)) fail_lookup(handle, role);
    std::lock_guard<SpinLock> hold(s->guard);
    // Erased (and perhaps reused) before the guard was taken: every erase and insert
    // changes the generation, so an unchanged one means the same live handle.
    if (C10_UNLIKELY(s->gen.load(std::memory_order_relaxed) != g)) fail_lookup(handle, role);
    return f(*s);
  }

  // A copy of the value of a live handle (a shared_ptr: one more owner), taken under the
  // slot's guard, so that the caller may use it for as long as it needs.
  T acquire(const void *handle, const char *role) const {
    return with_slot(handle, role, [](SlotType &s) { return s.value; });
  }

  // Free the slot of a live handle; returns false if the handle was not live.
  bool erase(const void *handle) {
    return erase_if(handle, nullptr, [](SlotType &) { return true; }) == kErased;
  }

  // Under the registry lock and the slot's guard, run f(slot); free the slot if f returns
  // true.  With a role, a handle that is not live fails like get(); without, kNotLive.
  enum EraseResult { kNotLive, kKept, kErased };
  template <class F>
  EraseResult erase_if(const void *handle, const char *role, F &&f) {
    T doomed;  // destroyed outside the locks: releasing a tensor can free a whole graph
    X doomed_extra;
    {
      std::lock_guard<SpinLock> hold(lock_);
      SlotType *s = find(handle);
      if (s == nullptr) {
        if (role != nullptr) fail_lookup(handle, role);
        return kNotLive;
      }
      {
        std::lock_guard<SpinLock> hold_slot(s->guard);
        if (!f(*s)) return kKept;
        doomed = std::move(s->value);
        s->value = T();
        if (has_extra(s->extra)) doomed_extra = std::move(s->extra);  // X's move leaves the source empty
        s->flags.store(0, std::memory_order_relaxed);
        s->gen.store(s->gen.load(std::memory_order_relaxed) + 1, std::memory_order_release);
      }
      uint32_t index = static_cast<uint32_t>((reinterpret_cast<uint64_t>(handle) & kIndexMask) - 1);
      s->next_free = free_head_;
      free_head_ = index + 1;
      count_live(-1);
    }
    return kErased;
  }

  int64_t live() const noexcept { return live_.load(std::memory_order_relaxed); }

  // The failure of a lookup of a handle that is not live, with a message naming `role`.
  [[noreturn, gnu::cold, gnu::noinline]] void fail_lookup(const void *handle, const char *role) const {
    if (handle == nullptr)
      fail(FT_ERR_NULL_HANDLE, std::string(role) + " is not constructed (null " + what_ + " handle)");
    fail(FT_ERR_STALE_HANDLE, std::string(role) + " is not a live " + what_ +
                                  ": it was already deleted, or it was an expression temporary that has been consumed");
  }

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
  SlotType &slot(uint32_t index) {
    return chunks_[index >> kChunkBits].load(std::memory_order_relaxed)[index & (kChunkSize - 1)];
  }

  const char *what_;
  mutable SpinLock lock_;
  std::atomic<SlotType *> chunks_[kMaxChunks] = {};
  uint32_t free_head_ = 0;  // index + 1 of the first free slot, 0 if none
  uint32_t next_index_ = 0;
  std::atomic<int64_t> live_{0};
};

// An element-wise operation recorded instead of computed (see ft_tensor_binary): an
// operator result that is only assigned into a tensor viewing an array is computed
// straight into that array by the operation's out= kernel; any other use materialises it
// first (lookup() does, so every entry point sees an ordinary tensor).
struct Deferred {
  enum Form : int8_t { kNone = 0, kTensorTensor, kTensorScalar, kScalarTensor };
  at::Tensor x, y;  // operands (y only for kTensorTensor)
  // The scalar of the scalar forms, kept as plain data (cheaper to move than at::Scalar).
  double s_real = 0;
  int64_t s_int = 0;
  bool s_is_int = false;
  int8_t op = 0;  // FT_ADD ... FT_POW
  Form form = kNone;
  explicit operator bool() const noexcept { return form != kNone; }
  at::Scalar scalar() const { return s_is_int ? at::Scalar(s_int) : at::Scalar(s_real); }
  void set_scalar(const at::Scalar &v) {
    s_is_int = v.isIntegral(/*includeBool=*/false);
    if (s_is_int) s_int = v.toLong();
    else s_real = v.toDouble();
  }

  // Moves leave the source empty (kNone), and cost nothing when both sides are empty:
  // every slot's extra is moved on release, and most slots never defer anything.
  Deferred() = default;
  Deferred(const Deferred &) = default;
  Deferred &operator=(const Deferred &) = default;
  Deferred(Deferred &&o) noexcept { *this = std::move(o); }
  Deferred &operator=(Deferred &&o) noexcept {
    if (form == kNone && o.form == kNone) return *this;
    x = std::move(o.x);
    y = std::move(o.y);
    s_real = o.s_real;
    s_int = o.s_int;
    s_is_int = o.s_is_int;
    op = o.op;
    form = o.form;
    o.form = kNone;
    return *this;
  }
};

inline bool has_extra(const Deferred &d) noexcept { return static_cast<bool>(d); }

using TensorSlot = Slot<at::Tensor, Deferred>;
// Never destroyed (a trivially destructible, constant-initialised object): handles may be
// released by finalisers after static destruction.  An object rather than a function-local
// static, so that the hot paths reach it without an initialisation guard.
extern Registry<at::Tensor, Deferred> g_tensor_registry;
inline Registry<at::Tensor, Deferred> &tensors() noexcept { return g_tensor_registry; }
// Counts of the other registries, added to ft_live_handles() (defined in their units).
int64_t live_non_tensor_handles();
void register_live_counter(int64_t (*counter)());

// Compute a deferred operation (a new tensor; the operation as the operator would have run it).
at::Tensor materialise(const Deferred &d);
// The value of a slot whose guard is held, materialised if it was deferred.
inline const at::Tensor &value_of(TensorSlot &s) {
  if (C10_UNLIKELY(static_cast<bool>(s.extra))) {
    s.value = materialise(s.extra);
    s.extra = Deferred();
  }
  return s.value;
}

// A handle's tensor and flags, copied under the slot's guard: the caller owns a reference,
// which stays valid whatever other threads do with the handle.
struct TensorRef {
  at::Tensor value;
  uint32_t flags;
};
C10_ALWAYS_INLINE TensorRef lookup(ft_tensor h, const char *role) {
  return tensors().with_slot(h, role, [](TensorSlot &s) { return TensorRef{value_of(s), s.flags}; });
}
// Shorthands.
inline at::Tensor tensor_of(ft_tensor h, const char *role) { return lookup(h, role).value; }
inline ft_tensor new_handle(at::Tensor t, uint32_t flags = 0) {
  return static_cast<ft_tensor>(tensors().insert(std::move(t), flags));
}
// The handle flags for an operator result.
inline uint32_t result_flags(unsigned api_flags) { return (api_flags & FT_FLAG_TEMP) ? uint32_t{kTemp} : uint32_t{0}; }
// Free h if it is an expression temporary.  kTemp is read without the slot's guard (see
// Slot::flags); erase() re-checks that the handle is live under the locks.
inline void consume_if_temp(ft_tensor h) noexcept {
  TensorSlot *s = tensors().find(h);
  if (s != nullptr && (s->flags.load(std::memory_order_relaxed) & kTemp)) tensors().erase(h);
}

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
  // The handles of the two-handle form were seen, live and not temporaries (kTemp is never
  // set on a live handle): nothing to consume, no second lookup.
  void named(bool a, bool b) noexcept {
    if (a) fixed_[0] = nullptr;
    if (b) fixed_[1] = nullptr;
  }
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

// t.detach_() for a tensor that is not a view, without the dispatcher (see autograd.cpp).
void detach_in_place(at::Tensor &t);

// Write `value` into the tensor held by *lhs with the semantics of ft_tensor_assign.
// `clone_if_named`: the value is referenced elsewhere, so a rebound handle gets a copy.
// `value` is moved from only when *lhs is rebound.  Returns how: *lhs was (re)bound to the value, or the value was
// copied into the array that *lhs views, element by element (same shape) or broadcast (a one-element value).
enum class Assigned { kRebound, kCopied, kBroadcast };
Assigned assign_value(ft_tensor *lhs, at::Tensor &&value, bool clone_if_named);

}  // namespace ft

// Entry-point helper: FT_GUARD({ ...body... })
#define FT_GUARD(...) return ::ft::guarded([&]() { __VA_ARGS__ })
