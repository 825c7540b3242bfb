// Data-parallel training across processes on c10d, the engine of PyTorch's
// DistributedDataParallel: rendezvous through a TCPStore, collectives through
// ProcessGroupGloo (CPU tensors), gradient averaging during backward through c10d::Reducer.
//
// The gloo headers are not shipped in the torch wheel; CMake defines FTORCH_WITH_GLOO when
// it finds them (Debian: libgloo-dev).  ProcessGroupGloo holds gloo objects only through
// pointers, so the headers' version does not matter: the code that runs is the one inside
// libtorch_cpu.  FTORCH_WITH_NCCL (a CUDA torch and nccl.h found) adds ProcessGroupNCCL for
// CUDA tensors.  Without either every entry point exists and fails with FT_ERR_DISTRIBUTED,
// so the ABI does not depend on the build.
#include "training.h"

#if defined(FTORCH_WITH_GLOO) || defined(FTORCH_WITH_NCCL)
#define FTORCH_DISTRIBUTED 1
#endif

#ifdef FTORCH_DISTRIBUTED
#include <c10/core/GradMode.h>
#include <torch/csrc/distributed/c10d/PrefixStore.hpp>
#include <torch/csrc/distributed/c10d/ProcessGroup.hpp>
#ifdef FTORCH_WITH_GLOO
#include <torch/csrc/distributed/c10d/ProcessGroupGloo.hpp>
#endif
#ifdef FTORCH_WITH_NCCL
#include <ATen/cuda/CUDAContext.h>
#include <c10/cuda/CUDAFunctions.h>
#include <torch/csrc/distributed/c10d/ProcessGroupNCCL.hpp>
#endif
#include <torch/csrc/jit/api/module.h>
#include <torch/csrc/distributed/c10d/TCPStore.hpp>
#include <torch/csrc/distributed/c10d/comm.hpp>
#include <torch/csrc/distributed/c10d/reducer.hpp>

#include <chrono>
#include <cstdlib>
#include <limits>
#include <mutex>
#include <type_traits>
#endif

#include <string>
#include <vector>

extern "C" int ft_checkpoint_save(const char *filename, ft_model m, ft_optim o, ft_scheduler s);
extern "C" int ft_checkpoint_load(const char *filename, ft_model m, ft_optim o, ft_scheduler s);

namespace ft {
namespace {

#ifdef FTORCH_DISTRIBUTED

constexpr double kDefaultTimeoutSeconds = 300.0;

struct State {
  std::mutex mutex;
  c10::intrusive_ptr<c10d::TCPStore> listening;  // opened by ft_distributed_listen
  c10::intrusive_ptr<c10d::Store> store;
  c10::intrusive_ptr<c10d::ProcessGroup> pg;
  int rank = -1;
  int world = 0;
  std::chrono::milliseconds timeout{0};
  at::Device device{at::kCPU};  // where the small agreement collectives run
};

State &state() {
  // Never destroyed: at exit, gloo's threads may still reference the process group.
  static auto *s = new State();
  return *s;
}

std::chrono::milliseconds to_timeout(double seconds) {
  if (!(seconds > 0)) seconds = kDefaultTimeoutSeconds;
  if (seconds > 1e9) fail(FT_ERR_INVALID_ARGUMENT, "timeout_seconds is too large");
  return std::chrono::milliseconds(static_cast<int64_t>(seconds * 1000.0 + 0.5));
}

c10d::ProcessGroup &group() {
  State &s = state();
  if (!s.pg)
    fail(FT_ERR_DISTRIBUTED,
         "distributed training is not initialised: call torch_distributed_init first (on every rank)");
  return *s.pg;
}

// Collective failures (a rank died, a timeout, a closed connection) become FT_ERR_DISTRIBUTED
// with a hint, instead of a generic FT_ERR_TORCH.
template <class F>
void collective(const std::string &what, F &&body) {
  try {
    body();
  } catch (const Error &) {
    throw;
  } catch (const std::exception &e) {
    std::string msg = e.what();
    if (auto *ce = dynamic_cast<const c10::Error *>(&e)) msg = ce->what_without_backtrace();
    fail(FT_ERR_DISTRIBUTED, what + " failed: " + msg.substr(0, 600) +
                                 " (another rank may have stopped, failed or passed different arguments; the "
                                 "process group cannot be used further: finalise it)");
  }
}

void wait(const c10::intrusive_ptr<c10d::Work> &work) {
  if (!work->wait()) fail(FT_ERR_DISTRIBUTED, "collective was aborted");
}

bool supported_dtype(at::ScalarType t) {
  return t == at::kFloat || t == at::kDouble || t == at::kInt || t == at::kLong;
}

// Every rank contributes a signature of its arguments; one small all-reduce (MAX of s and of
// -s) tells every rank whether all signatures agree, so a mismatch becomes the same clear
// error on every rank instead of a hang or garbage.
bool all_agree(int64_t signature) {
  at::Tensor host = at::empty({2}, at::kLong);
  host[0] = signature;
  host[1] = -signature;
  at::Tensor sig = host.to(state().device);
  c10d::AllreduceOptions opts;
  opts.reduceOp = c10d::ReduceOp::MAX;
  std::vector<at::Tensor> v{sig};
  wait(group().allreduce(v, opts));
  host = sig.cpu();
  return host[0].item<int64_t>() == -host[1].item<int64_t>();
}

// Whether this build's process group can move tensors on device d.
void check_device(const at::Device &d, const std::string &what) {
#ifdef FTORCH_WITH_GLOO
  if (d.type() == at::kCPU) return;
#endif
#ifdef FTORCH_WITH_NCCL
  if (d.type() == at::kCUDA && state().device.type() == at::kCUDA) return;
#endif
  fail(FT_ERR_DEVICE, what + ": tensors on " + describe_device(d) +
                          " cannot be reduced by this process group (CPU tensors need gloo; CUDA tensors need NCCL "
                          "and torch_distributed_init with device_type=torch_kCUDA)");
}

int64_t mix(int64_t h, int64_t v) {
  uint64_t x = static_cast<uint64_t>(h) ^ (static_cast<uint64_t>(v) + 0x9e3779b97f4a7c15ULL +
                                           (static_cast<uint64_t>(h) << 6) + (static_cast<uint64_t>(h) >> 2));
  return static_cast<int64_t>(x >> 2);  // keep it positive and far from overflow when negated
}

int64_t signature_of(const at::Tensor &t, int64_t extra) {
  int64_t h = mix(0x51ed, static_cast<int64_t>(t.scalar_type()));
  h = mix(h, t.dim());
  for (auto d : t.sizes()) h = mix(h, d);
  return mix(h, extra);
}

void check_agreement(const at::Tensor &t, int64_t extra, const char *what) {
  if (!all_agree(signature_of(t, extra)))
    fail(FT_ERR_SHAPE, std::string(what) + ": the tensor's shape, dtype or arguments differ across ranks (this rank: " +
                           describe_shape(t.sizes()) + " " + describe_dtype(t.scalar_type()) +
                           "); every rank must pass a tensor of the same shape and dtype");
  if (!supported_dtype(t.scalar_type()))
    fail(FT_ERR_DTYPE, std::string(what) + ": dtype " + describe_dtype(t.scalar_type()) +
                           " is not supported; use real32, real64, int32 or int64");
  check_device(t.device(), what);
}

// Run `op` on a contiguous, autograd-free alias of t (or a contiguous copy written back).
template <class F>
void in_place(const at::Tensor &t, F &&op) {
  c10::AutoGradMode no_grad(false);
  at::Tensor d = t.detach();
  at::Tensor buf = d.is_contiguous() ? d : d.contiguous();
  op(buf);
  if (!buf.is_same(d)) d.copy_(buf);
}

c10d::ReduceOp to_reduce_op(int op) {
  switch (op) {
    case FT_REDUCE_SUM:
    case FT_REDUCE_AVG: return c10d::ReduceOp::SUM;  // gloo has no AVG: sum, then divide
    case FT_REDUCE_MAX: return c10d::ReduceOp::MAX;
    case FT_REDUCE_MIN: return c10d::ReduceOp::MIN;
    default:
      fail(FT_ERR_INVALID_ARGUMENT,
           "unknown reduction " + std::to_string(op) +
               "; use torch_reduce_sum, torch_reduce_avg, torch_reduce_max or torch_reduce_min");
  }
}

// The ProcessGroup constructor lost its Options argument in torch 2.6; take what this torch has.
template <class PG = c10d::ProcessGroup>
c10::intrusive_ptr<c10d::ProcessGroup> make_front_end(const c10::intrusive_ptr<c10d::Store> &store, int rank, int world,
                                                      std::chrono::milliseconds timeout) {
  if constexpr (std::is_constructible_v<PG, c10::intrusive_ptr<c10d::Store>, int, int>) {
    (void)timeout;
    return c10::make_intrusive<PG>(store, rank, world);
  } else {
    auto options = PG::Options::create("gloo", timeout);
    return c10::make_intrusive<PG>(store, rank, world, options);
  }
}

// Build the process group: ProcessGroup front end with a Gloo backend for CPU tensors, as
// torch.distributed.init_process_group("gloo") does.
c10::intrusive_ptr<c10d::ProcessGroup> make_group(const c10::intrusive_ptr<c10d::Store> &store, int rank, int world,
                                                  const std::string &addr, std::chrono::milliseconds timeout,
                                                  const at::Device &device) {
  c10::intrusive_ptr<c10d::ProcessGroup> pg = make_front_end(store, rank, world, timeout);
  bool have_default = false;
#ifdef FTORCH_WITH_GLOO
  {
    auto options = c10d::ProcessGroupGloo::Options::create(timeout);
    const char *ifname = std::getenv("GLOO_SOCKET_IFNAME");
    bool loopback = addr.rfind("127.", 0) == 0 || addr == "localhost" || addr == "::1";
    if (ifname != nullptr && *ifname != '\0')
      options->devices.push_back(c10d::ProcessGroupGloo::createDeviceForInterface(ifname));
    else if (loopback) options->devices.push_back(c10d::ProcessGroupGloo::createDeviceForHostname("127.0.0.1"));
    else options->devices.push_back(c10d::ProcessGroupGloo::createDefaultDevice());
    // Each backend gets its own key space in the store, as torch.distributed does.
    auto gloo = c10::make_intrusive<c10d::ProcessGroupGloo>(c10::make_intrusive<c10d::PrefixStore>("cpu/", store), rank,
                                                            world, options);
    pg->setDefaultBackend(c10d::ProcessGroup::BackendType::GLOO);
    pg->setBackend(at::kCPU, c10d::ProcessGroup::BackendType::GLOO, gloo);
    have_default = true;
  }
#else
  (void)addr;
#endif
#ifdef FTORCH_WITH_NCCL
  if (device.type() == at::kCUDA) {
    c10::cuda::set_device(device.index());
    auto options = c10d::ProcessGroupNCCL::Options::create();
    options->timeout = timeout;
    auto nccl = c10::make_intrusive<c10d::ProcessGroupNCCL>(c10::make_intrusive<c10d::PrefixStore>("cuda/", store),
                                                            rank, world, options);
    if (!have_default) pg->setDefaultBackend(c10d::ProcessGroup::BackendType::NCCL);
    pg->setBackend(at::kCUDA, c10d::ProcessGroup::BackendType::NCCL, nccl);
    have_default = true;
  }
#else
  (void)device;
#endif
  if (!have_default) fail(FT_ERR_DEVICE_UNAVAILABLE, "this build has no backend for the requested device");
  return pg;
}

std::string env_or(const char *name, const char *fallback) {
  const char *v = std::getenv(name);
  if (v != nullptr && *v != '\0') return v;
  if (fallback != nullptr) return fallback;
  fail(FT_ERR_INVALID_ARGUMENT, std::string("environment variable ") + name +
                                    " is not set: pass it to torch_distributed_init, launch with torchrun, or use "
                                    "the communicator form torch_distributed_init(comm)");
}

int parse_int(const std::string &text, const char *name) {
  char *end = nullptr;
  long v = std::strtol(text.c_str(), &end, 10);
  if (end == text.c_str() || *end != '\0' || v < 0 || v > std::numeric_limits<int>::max())
    fail(FT_ERR_INVALID_ARGUMENT, std::string(name) + "='" + text + "' is not a non-negative integer");
  return static_cast<int>(v);
}

c10::intrusive_ptr<c10d::TCPStore> open_server(uint16_t port, int world, std::chrono::milliseconds timeout) {
  c10d::TCPStoreOptions opts;
  opts.port = port;
  opts.isServer = true;
  opts.waitWorkers = false;  // the process group's own barrier waits for everyone
  opts.numWorkers = static_cast<size_t>(world);
  opts.timeout = timeout;
  try {
    return c10::make_intrusive<c10d::TCPStore>("0.0.0.0", opts);
  } catch (const std::exception &e) {
    std::string msg = e.what();
    if (auto *ce = dynamic_cast<const c10::Error *>(&e)) msg = ce->what_without_backtrace();
    fail(FT_ERR_DISTRIBUTED, "rank 0 cannot open the rendezvous store on port " + std::to_string(port) +
                                 " (is the port already in use? choose another master_port, or use "
                                 "torch_distributed_init(comm), which picks a free port): " +
                                 msg.substr(0, 300));
  }
}

// --- data-parallel models: c10d::Reducer, as DistributedDataParallel uses it ---------------

struct DistributedModel {
  c10d::Reducer *reducer = nullptr;  // raw: ~Reducer may throw, and must not escape
  c10::intrusive_ptr<c10d::ProcessGroup> pg;
  std::vector<at::Tensor> buffers;
  ~DistributedModel() {
    try {
      delete reducer;
    } catch (...) {}
  }
};

// The Reducer's constructor has changed between torch releases; pick the form this torch has.
template <class R = c10d::Reducer>
R *make_reducer(std::vector<at::Tensor> params, std::vector<std::vector<size_t>> buckets,
                std::vector<size_t> bucket_limits, c10::intrusive_ptr<c10d::ProcessGroup> pg, int64_t cap,
                std::unordered_map<size_t, std::string> names, int64_t first_cap) {
  std::vector<bool> sparse(params.size(), false);
  if constexpr (std::is_constructible_v<R, std::vector<at::Tensor>, std::vector<std::vector<size_t>>,
                                        c10::intrusive_ptr<c10d::ProcessGroup>, std::vector<bool>, int64_t, bool, bool,
                                        std::unordered_map<size_t, std::string>, int64_t, bool, bool,
                                        std::vector<int64_t>, bool>) {
    (void)bucket_limits;
    return new R(std::move(params), std::move(buckets), std::move(pg), std::move(sparse), cap,
                 /*find_unused_parameters=*/false, /*gradient_as_bucket_view=*/false, std::move(names), first_cap,
                 /*skip_all_reduce_unused_params=*/false, /*use_python_reducer=*/false,
                 /*bucket_bytes_cap_list=*/std::vector<int64_t>{}, /*batched_grad_copy=*/false);
  } else if constexpr (std::is_constructible_v<R, std::vector<at::Tensor>, std::vector<std::vector<size_t>>,
                                               c10::intrusive_ptr<c10d::ProcessGroup>, std::vector<bool>, int64_t, bool,
                                               bool, std::unordered_map<size_t, std::string>, int64_t, bool, bool>) {
    (void)bucket_limits;
    return new R(std::move(params), std::move(buckets), std::move(pg), std::move(sparse), cap, false, false,
                 std::move(names), first_cap, false, false);
  } else if constexpr (std::is_constructible_v<R, std::vector<at::Tensor>, std::vector<std::vector<size_t>>,
                                               std::vector<size_t>, c10::intrusive_ptr<c10d::ProcessGroup>,
                                               std::vector<bool>, int64_t, bool, bool,
                                               std::unordered_map<size_t, std::string>, int64_t>) {
    return new R(std::move(params), std::move(buckets), std::move(bucket_limits), std::move(pg), std::move(sparse), cap,
                 false, false, std::move(names), first_cap);
  } else {
    static_assert(sizeof(R) == 0, "unsupported c10d::Reducer constructor in this torch version");
    return nullptr;
  }
}

void before_forward(void *opaque, bool grad) {
  auto &dm = *static_cast<DistributedModel *>(opaque);
  collective("forward of a distributed model", [&] {
    if (grad) {
      dm.reducer->prepare_for_forward();
      dm.reducer->rebuild_buckets();  // once, after the first backward: execution order
    }
    if (!dm.buffers.empty()) {  // DDP's broadcast_buffers: rank 0's buffers before every forward
      c10::AutoGradMode no_grad(false);
      c10d::broadcast_coalesced(dm.pg, dm.buffers, 256 * 1024 * 1024, 0);
    }
  });
}

void after_forward(void *opaque, bool grad) {
  auto &dm = *static_cast<DistributedModel *>(opaque);
  if (grad) collective("forward of a distributed model", [&] { dm.reducer->prepare_for_backward({}); });
}

// Buckets of tensors (by dtype), each at most cap bytes (a larger tensor gets its own).
std::vector<std::vector<size_t>> buckets_by_size(const std::vector<at::Tensor> &ts, size_t cap) {
  std::vector<std::vector<size_t>> out;
  std::vector<std::pair<at::ScalarType, std::pair<size_t, size_t>>> open;  // dtype -> (bucket, bytes)
  for (size_t i = 0; i < ts.size(); ++i) {
    size_t bytes = static_cast<size_t>(ts[i].numel()) * ts[i].element_size();
    auto it = open.begin();
    for (; it != open.end(); ++it)
      if (it->first == ts[i].scalar_type()) break;
    if (it == open.end() || it->second.second + bytes > cap) {
      out.emplace_back();
      if (it == open.end()) {
        open.push_back({ts[i].scalar_type(), {out.size() - 1, 0}});
        it = open.end() - 1;
      } else {
        it->second = {out.size() - 1, 0};
      }
    }
    out[it->second.first].push_back(i);
    it->second.second += bytes;
  }
  return out;
}

size_t cap_bytes(double bucket_cap_mb) {
  if (bucket_cap_mb < 0) fail(FT_ERR_INVALID_ARGUMENT, "bucket_cap_mb must be positive");
  if (bucket_cap_mb == 0) bucket_cap_mb = 25.0;  // DDP's default
  return static_cast<size_t>(bucket_cap_mb * 1024.0 * 1024.0);
}

#endif  // FTORCH_DISTRIBUTED

#ifndef FTORCH_DISTRIBUTED
[[noreturn]] void unavailable() {
  fail(FT_ERR_DISTRIBUTED,
       "libftorch was built without distributed support (the gloo headers were not found at build time: "
       "install libgloo-dev, e.g. `apt-get install libgloo-dev`, and rebuild)");
}
#endif

}  // namespace
}  // namespace ft

using namespace ft;

extern "C" {

int ft_distributed_available(void) {
#ifdef FTORCH_DISTRIBUTED
  return 1;
#else
  return 0;
#endif
}

#ifdef FTORCH_DISTRIBUTED

int ft_distributed_listen(int world_size, double timeout_seconds, int *port) {
  FT_GUARD({
    if (port == nullptr) fail(FT_ERR_INVALID_ARGUMENT, "port pointer is NULL");
    if (world_size < 1) fail(FT_ERR_INVALID_ARGUMENT, "world_size must be >= 1");
    State &s = state();
    std::lock_guard<std::mutex> lock(s.mutex);
    if (s.pg) fail(FT_ERR_DISTRIBUTED, "distributed training is already initialised");
    s.listening = open_server(0, world_size, to_timeout(timeout_seconds));
    *port = static_cast<int>(s.listening->getPort());
  });
}

int ft_distributed_init(int rank, int world_size, const char *master_addr, int master_port, int device_type,
                        double timeout_seconds) {
  FT_GUARD({
    State &s = state();
    std::lock_guard<std::mutex> lock(s.mutex);
    if (s.pg)
      fail(FT_ERR_DISTRIBUTED, "distributed training is already initialised (rank " + std::to_string(s.rank) + " of " +
                                   std::to_string(s.world) +
                                   "); call torch_distributed_finalize before initialising again");
    if (rank < 0) rank = parse_int(env_or("RANK", nullptr), "RANK");
    if (world_size < 1) world_size = parse_int(env_or("WORLD_SIZE", nullptr), "WORLD_SIZE");
    std::string addr =
        (master_addr != nullptr && *master_addr != '\0') ? master_addr : env_or("MASTER_ADDR", "127.0.0.1");
    if (master_port < 0) master_port = parse_int(env_or("MASTER_PORT", nullptr), "MASTER_PORT");
    if (world_size < 1) fail(FT_ERR_INVALID_ARGUMENT, "world_size must be >= 1");
    if (rank >= world_size)
      fail(FT_ERR_INVALID_ARGUMENT, "rank " + std::to_string(rank) + " is out of range for world_size " +
                                        std::to_string(world_size) + " (ranks count from 0)");
    if (master_port < 1 || master_port > 65535)
      fail(FT_ERR_INVALID_ARGUMENT, "master_port " + std::to_string(master_port) + " is not a TCP port (1..65535)");
    at::Device device(at::kCPU);
    if (device_type == FT_CUDA) {
#ifdef FTORCH_WITH_NCCL
      // One GPU per rank: the local rank's device (LOCAL_RANK as torchrun sets it, else the rank).
      int local = rank;
      if (const char *lr = std::getenv("LOCAL_RANK")) local = parse_int(lr, "LOCAL_RANK");
      if (local < 0) local = 0;
      int count = ft_cuda_device_count();
      if (count < 1) fail(FT_ERR_DEVICE_UNAVAILABLE, "device_type=torch_kCUDA but no CUDA device is visible");
      device = at::Device(at::kCUDA, static_cast<c10::DeviceIndex>(local % count));
#else
      fail(FT_ERR_DEVICE_UNAVAILABLE,
           "distributed training on CUDA tensors needs NCCL, and this libftorch was built without it (a CUDA torch "
           "and nccl.h are needed at build time)");
#endif
    } else if (device_type != FT_CPU) {
      fail(FT_ERR_DEVICE_UNAVAILABLE,
           "distributed training on device type " + std::to_string(device_type) + " is not supported");
    }
#ifndef FTORCH_WITH_GLOO
    if (device.type() == at::kCPU)
      fail(FT_ERR_DISTRIBUTED,
           "distributed training on CPU tensors needs gloo, and this libftorch was built without "
           "it (install libgloo-dev and rebuild)");
#endif
    auto timeout = to_timeout(timeout_seconds);
    c10::intrusive_ptr<c10d::Store> store;
    if (rank == 0 && s.listening && s.listening->getPort() == master_port) {
      store = s.listening;
    } else if (rank == 0) {
      store = open_server(static_cast<uint16_t>(master_port), world_size, timeout);
    } else {
      c10d::TCPStoreOptions opts;
      opts.port = static_cast<uint16_t>(master_port);
      opts.isServer = false;
      opts.numWorkers = static_cast<size_t>(world_size);
      opts.timeout = timeout;
      collective("connecting to the rendezvous store at " + addr + ":" + std::to_string(master_port),
                 [&] { store = c10::make_intrusive<c10d::TCPStore>(addr, opts); });
    }
    s.listening.reset();
    c10::intrusive_ptr<c10d::ProcessGroup> pg;
    collective("rendezvous of the process group", [&] {
      pg = make_group(store, rank, world_size, addr, timeout, device);
      wait(pg->barrier());  // everyone is connected before anyone returns (or finalises)
    });
    s.store = store;
    s.pg = pg;
    s.rank = rank;
    s.world = world_size;
    s.timeout = timeout;
    s.device = device;
  });
}

int ft_distributed_is_initialized(int *flag) {
  FT_GUARD({
    if (flag == nullptr) fail(FT_ERR_INVALID_ARGUMENT, "flag pointer is NULL");
    *flag = state().pg ? 1 : 0;
  });
}

int ft_distributed_rank(int *rank) {
  FT_GUARD({
    if (rank == nullptr) fail(FT_ERR_INVALID_ARGUMENT, "rank pointer is NULL");
    group();
    *rank = state().rank;
  });
}

int ft_distributed_world_size(int *world_size) {
  FT_GUARD({
    if (world_size == nullptr) fail(FT_ERR_INVALID_ARGUMENT, "world_size pointer is NULL");
    group();
    *world_size = state().world;
  });
}

int ft_distributed_barrier(void) {
  FT_GUARD({ collective("barrier", [&] { wait(group().barrier()); }); });
}

int ft_distributed_finalize(void) {
  FT_GUARD({
    State &s = state();
    std::lock_guard<std::mutex> lock(s.mutex);
    s.listening.reset();
    if (!s.pg) fail(FT_ERR_DISTRIBUTED, "distributed training is not initialised (nothing to finalise)");
    auto pg = std::move(s.pg);
    auto store = std::move(s.store);
    s.rank = -1;
    s.world = 0;
    // Distributed models keep their own reference: they stay valid until deleted.
    try {
      pg.reset();
      store.reset();
    } catch (...) {}
  });
}

int ft_distributed_all_reduce(ft_tensor t, int op) {
  ConsumeTemps consumed(t);
  FT_GUARD({
    const at::Tensor &x = tensor_of(t, "tensor");
    c10d::ReduceOp rop = to_reduce_op(op);
    c10d::ProcessGroup &pg = group();
    collective("torch_distributed_all_reduce", [&] {
      check_agreement(x, op, "torch_distributed_all_reduce");
      in_place(x, [&](at::Tensor &buf) {
        c10d::AllreduceOptions opts;
        opts.reduceOp = rop;
        std::vector<at::Tensor> v{buf};
        wait(pg.allreduce(v, opts));
        if (op == FT_REDUCE_AVG) {
          if (at::isFloatingType(buf.scalar_type())) buf.div_(pg.getSize());
          else buf.div_(pg.getSize(), "trunc");
        }
      });
    });
  });
}

int ft_distributed_broadcast(ft_tensor t, int root) {
  ConsumeTemps consumed(t);
  FT_GUARD({
    const at::Tensor &x = tensor_of(t, "tensor");
    c10d::ProcessGroup &pg = group();
    if (root < 0 || root >= pg.getSize())
      fail(FT_ERR_INVALID_ARGUMENT,
           "root " + std::to_string(root) + " is not a rank (0.." + std::to_string(pg.getSize() - 1) + ")");
    collective("torch_distributed_broadcast", [&] {
      check_agreement(x, root, "torch_distributed_broadcast");
      in_place(x, [&](at::Tensor &buf) {
        c10d::BroadcastOptions opts;
        opts.rootRank = root;
        std::vector<at::Tensor> v{buf};
        wait(pg.broadcast(v, opts));
      });
    });
  });
}

int ft_distributed_average_gradients(const ft_tensor *params, int n, double bucket_cap_mb) {
  ConsumeTemps consumed(params, n);
  FT_GUARD({
    std::vector<at::Tensor> ps = tensors_of(params, n, "parameter");
    size_t cap = cap_bytes(bucket_cap_mb);
    c10d::ProcessGroup &pg = group();
    std::vector<at::Tensor> grads;
    int64_t sig = mix(0x6a7d, n);
    for (auto &p : ps) {
      const at::Tensor &g = p.grad();
      sig = mix(sig, g.defined() ? signature_of(g, 1) : 0);
      if (g.defined()) grads.push_back(g);
    }
    collective("torch_distributed_average_gradients", [&] {
      if (!all_agree(sig))
        fail(FT_ERR_SHAPE,
             "torch_distributed_average_gradients: the parameters (their number, shapes, dtypes, or which "
             "of them have gradients) differ across ranks (this rank: " +
                 std::to_string(n) + " parameters, " + std::to_string(grads.size()) + " with gradients)");
      for (auto &g : grads) {
        if (!at::isFloatingType(g.scalar_type()))
          fail(FT_ERR_DTYPE, "torch_distributed_average_gradients: gradient of dtype " +
                                 describe_dtype(g.scalar_type()) + " is not supported; use real32 or real64");
        if (g.is_sparse())
          fail(FT_ERR_DEVICE, "torch_distributed_average_gradients: sparse gradients are not supported");
        check_device(g.device(), "torch_distributed_average_gradients");
      }
      c10::AutoGradMode no_grad(false);
      // As DDP's Reducer: scale by 1/world while flattening into the bucket, then sum.
      auto scale = 1.0 / static_cast<double>(pg.getSize());
      for (const auto &bucket : buckets_by_size(grads, cap)) {
        std::vector<at::Tensor> parts;
        for (size_t i : bucket) parts.push_back(grads[i].detach().reshape({-1}));
        at::Tensor flat = at::cat(parts);
        flat.mul_(scale);
        std::vector<at::Tensor> v{flat};
        wait(pg.allreduce(v));
        int64_t offset = 0;
        for (size_t i : bucket) {
          at::Tensor g = grads[i].detach();
          int64_t k = g.numel();
          g.copy_(flat.narrow(0, offset, k).view(g.sizes()));
          offset += k;
        }
      }
    });
  });
}

int ft_model_distribute(ft_model m, double bucket_cap_mb) {
  FT_GUARD({
    auto model_ref = model_of(m);
    Model &model = *model_ref;
    if (model.distributed) fail(FT_ERR_INVALID_ARGUMENT, "the model is already distributed");
    size_t cap = cap_bytes(bucket_cap_mb);
    c10d::ProcessGroup &pgref = group();
    c10::intrusive_ptr<c10d::ProcessGroup> pg = state().pg;
    check_device(model.device, "torch_model_distribute");
    std::vector<at::Tensor> params;
    std::unordered_map<size_t, std::string> names;
    std::vector<at::Tensor> states;
    int64_t sig = mix(0x3c1, 0);
    for (auto &np : model.parameters()) {
      states.push_back(np.second.detach());
      sig = mix(sig, signature_of(np.second, np.second.requires_grad() ? 1 : 0));
      if (np.second.requires_grad()) {
        names[params.size()] = np.first;
        params.push_back(np.second);
      }
    }
    auto dm = std::make_shared<DistributedModel>();
    for (auto &nb : model.buffers()) {
      states.push_back(nb.second.detach());
      dm->buffers.push_back(nb.second.detach());
      sig = mix(sig, signature_of(nb.second, 2));
    }
    (void)pgref;
    collective("torch_model_distribute", [&] {
      if (!all_agree(sig))
        fail(FT_ERR_SHAPE,
             "torch_model_distribute: the model differs across ranks (parameter or buffer names, shapes, "
             "dtypes or requires_grad); every rank must load the same model");
      if (params.empty())
        fail(FT_ERR_INVALID_ARGUMENT, "torch_model_distribute: the model has no parameter that requires gradients");
      for (auto &p : params)
        if (!at::isFloatingType(p.scalar_type()))
          fail(FT_ERR_DTYPE,
               "torch_model_distribute: parameter dtype " + describe_dtype(p.scalar_type()) + " is not supported");
      {
        c10::AutoGradMode no_grad(false);
        c10d::broadcast_coalesced(pg, states, 250 * 1024 * 1024, 0);  // as DDP: rank 0's state everywhere
      }
      // As DDP with find_unused_parameters=False: one bucket at first, rebuilt in gradient
      // order after the first backward.
      auto assignment = c10d::compute_bucket_assignment_by_size(params, {std::numeric_limits<size_t>::max()},
                                                                std::vector<bool>(params.size(), false));
      auto bucket_indices = std::get<0>(assignment);
      auto limits = std::get<1>(assignment);
      std::reverse(bucket_indices.begin(), bucket_indices.end());
      std::reverse(limits.begin(), limits.end());
      int64_t first_cap = bucket_cap_mb == 0 ? int64_t{c10d::kDefaultFirstBucketBytes} : static_cast<int64_t>(cap);
      dm->pg = pg;
      dm->reducer = make_reducer(params, bucket_indices, limits, pg, static_cast<int64_t>(cap), names, first_cap);
    });
    model.distributed = dm;
    model.before_forward = before_forward;
    model.after_forward = after_forward;
  });
}

int ft_distributed_checkpoint_save(const char *filename, ft_model m, ft_optim o, ft_scheduler s) {
  FT_GUARD({
    c10d::ProcessGroup &pg = group();
    int status = FT_OK;
    std::string message;
    if (pg.getRank() == 0) {
      status = ft_checkpoint_save(filename, m, o, s);
      if (status != FT_OK) message = ft_last_error();
    }
    // Rank 0's status reaches everyone: all ranks return together, with the same status.
    at::Tensor st = at::full({1}, static_cast<int64_t>(status), at::kLong).to(state().device);
    collective("torch_distributed_checkpoint_save", [&] {
      std::vector<at::Tensor> v{st};
      wait(pg.broadcast(v));
    });
    int root_status = static_cast<int>(st.cpu().item<int64_t>());
    if (root_status != FT_OK)
      fail(root_status, pg.getRank() == 0
                            ? message
                            : "rank 0 failed to write the checkpoint '" + std::string(filename ? filename : "") + "'");
  });
}

int ft_distributed_checkpoint_load(const char *filename, ft_model m, ft_optim o, ft_scheduler s) {
  FT_GUARD({
    c10d::ProcessGroup &pg = group();
    int status = ft_checkpoint_load(filename, m, o, s);
    std::string message = status != FT_OK ? std::string(ft_last_error()) : std::string();
    at::Tensor st = at::full({1}, static_cast<int64_t>(status), at::kLong).to(state().device);
    collective("torch_distributed_checkpoint_load", [&] {
      c10d::AllreduceOptions opts;
      opts.reduceOp = c10d::ReduceOp::MAX;
      std::vector<at::Tensor> v{st};
      wait(pg.allreduce(v, opts));
    });
    int any = static_cast<int>(st.cpu().item<int64_t>());
    if (status != FT_OK) fail(status, message);
    if (any != FT_OK)
      fail(any, "another rank failed to load the checkpoint '" + std::string(filename ? filename : "") + "'");
    // Rank 0's state everywhere, so all ranks resume identical even from differing files.
    std::vector<at::Tensor> states;
    if (m != nullptr) {
      auto model_ref = model_of(m);
      Model &model = *model_ref;
      for (auto &np : model.parameters()) states.push_back(np.second.detach());
      for (auto &nb : model.buffers()) states.push_back(nb.second.detach());
    }
    std::vector<at::Tensor> steps;
    if (o != nullptr) {
      auto opt = optim_of(o);
      for (auto &per_param : opt->state)
        for (auto &t : per_param)
          if (t.defined()) states.push_back(t.detach());
    }
    collective("torch_distributed_checkpoint_load", [&] {
      int64_t sig = mix(0x77, static_cast<int64_t>(states.size()));
      for (auto &t : states) sig = mix(sig, signature_of(t, 0));
      if (!all_agree(sig))
        fail(FT_ERR_SHAPE, "torch_distributed_checkpoint_load: the restored state differs in structure across ranks");
      c10::AutoGradMode no_grad(false);
      if (!states.empty()) c10d::broadcast_coalesced(state().pg, states, 250 * 1024 * 1024, 0);
    });
  });
}

#else  // !FTORCH_DISTRIBUTED

int ft_distributed_listen(int, double, int *) {
  FT_GUARD({ unavailable(); });
}
int ft_distributed_init(int, int, const char *, int, int, double) {
  FT_GUARD({ unavailable(); });
}
int ft_distributed_is_initialized(int *flag) {
  FT_GUARD({
    if (flag == nullptr) fail(FT_ERR_INVALID_ARGUMENT, "flag pointer is NULL");
    *flag = 0;
  });
}
int ft_distributed_rank(int *) {
  FT_GUARD({ unavailable(); });
}
int ft_distributed_world_size(int *) {
  FT_GUARD({ unavailable(); });
}
int ft_distributed_barrier(void) {
  FT_GUARD({ unavailable(); });
}
int ft_distributed_finalize(void) {
  FT_GUARD({ unavailable(); });
}
int ft_distributed_all_reduce(ft_tensor t, int) {
  ConsumeTemps consumed(t);
  FT_GUARD({ unavailable(); });
}
int ft_distributed_broadcast(ft_tensor t, int) {
  ConsumeTemps consumed(t);
  FT_GUARD({ unavailable(); });
}
int ft_distributed_average_gradients(const ft_tensor *params, int n, double) {
  ConsumeTemps consumed(params, n);
  FT_GUARD({ unavailable(); });
}
int ft_model_distribute(ft_model, double) {
  FT_GUARD({ unavailable(); });
}
int ft_distributed_checkpoint_save(const char *, ft_model, ft_optim, ft_scheduler) {
  FT_GUARD({ unavailable(); });
}
int ft_distributed_checkpoint_load(const char *, ft_model, ft_optim, ft_scheduler) {
  FT_GUARD({ unavailable(); });
}

#endif  // FTORCH_DISTRIBUTED

}  // extern "C"
