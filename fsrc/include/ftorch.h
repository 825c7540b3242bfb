/*
 * ftorch.h -- the C ABI of libftorch.
 *
 * libftorch is a thin layer over LibTorch.  The Fortran module `ftorch` and the
 * Python package `pyftorch` (ctypes) both bind to exactly these functions.
 *
 * Conventions (they hold for every function below unless its comment says otherwise)
 * ----------------------------------------------------------------------------------
 *  - Every fallible function returns an `int` status: FT_OK (0) on success, one of the
 *    FT_ERR_* codes otherwise.  On failure the thread-local message returned by
 *    ft_last_error() describes the cause; output arguments are left untouched.
 *  - No C++ exception ever crosses this boundary.
 *  - Handles are opaque.  A handle value encodes a slot and a generation, so a handle that
 *    was deleted (or consumed, see FT_FLAG_TEMP) is *detected* on use and reported as
 *    FT_ERR_STALE_HANDLE; it is never dereferenced.  A NULL handle is FT_ERR_NULL_HANDLE.
 *  - Ownership: a function that writes a handle through an `ft_tensor *out` argument
 *    gives the caller one new handle, which the caller must release with
 *    ft_tensor_delete() (or ft_tensor_release()).  `*out` is not read.  Handles passed by
 *    value are borrowed for the duration of the call.
 *  - Tensors created from caller memory without FT_FLAG_COPY are *views*: they alias the
 *    caller's buffer, which must outlive the tensor and every autograd graph that saved it.
 *  - Threads: see "Thread safety" below.
 *  - Expression temporaries (FT_FLAG_TEMP, made by the Fortran operators): every function
 *    that receives a tensor handle releases the temporaries among its inputs when it
 *    returns, whether it succeeded or failed, even when another argument was invalid.
 *    Only ft_tensor_release/ft_tensor_delete (which release anyway), ft_tensor_data_ptr
 *    (whose result would dangle) and the output arguments of a call are exempt.
 *
 * Thread safety
 * -------------
 *  - Any function may be called from any thread, concurrently, on *different* handles:
 *    the handle registries are locked internally, and LibTorch operations on distinct
 *    tensors are independent (OpenMP threads each running forward, loss and backward on
 *    their own tensors are supported and tested).
 *  - On the *same* tensor handle, concurrent calls are safe only when all of them only
 *    read it: the queries (ft_tensor_ndim ... ft_tensor_copy_to) and use as an operand of
 *    an arithmetic function that creates a new result.  Anything that writes the tensor,
 *    its gradient or its handle -- ft_tensor_assign or ft_tensor_copy into it,
 *    ft_tensor_zero, ft_tensor_zero_grad, ft_tensor_set_requires_grad, a backward that
 *    accumulates into its .grad, ft_tensor_delete -- must not overlap any other call on
 *    that handle (or on a tensor sharing its storage or gradient); the caller
 *    synchronises.  An expression temporary belongs to the thread that created it.
 *    Models, optimisers and schedulers: one thread at a time per handle.
 *  - Deleting (or releasing) a handle while another thread uses it never crashes: every
 *    call takes its own reference to the objects behind its handles (under the handle's
 *    lock) when it starts, so a call already running finishes on them, and a call that
 *    starts after the delete fails with FT_ERR_STALE_HANDLE.  This holds for tensors,
 *    models, optimisers and schedulers.  (Memory that a view aliases must of course stay
 *    valid until such a call ends: the Python binding keeps the array alive.)
 *  - Errors are per thread: ft_last_error(), ft_last_status() and the Fortran module's
 *    recorded failure (ft_pending_error_*) are thread-local, so a thread never sees
 *    another thread's failure.  The stop-on-error setting (ft_set_stop_on_error) is one
 *    process-wide flag, read atomically by every thread.
 *  - Process-wide settings (ft_set_num_threads, ft_manual_seed) affect every thread;
 *    ft_set_grad_enabled is per thread, like torch.set_grad_enabled.
 */
#ifndef FTORCH_H
#define FTORCH_H

#include <stddef.h>
#include <stdint.h>

/* FT_VERSION_MAJOR/MINOR/PATCH/STRING and the FTorch API level, generated from VERSION. */
#include "ftorch_version.h"

#ifdef __cplusplus
extern "C" {
#endif

#if defined(_WIN32)
#define FT_API __declspec(dllexport)
#else
#define FT_API __attribute__((visibility("default")))
#endif

/* Annotations for the binding generator (fsrc/tools/gen_bindings.py); empty in C.  A
 * non-const `T *p` is one output value unless annotated: FT_INOUT, the callee also reads *p;
 * FT_ARRAY, p points to an array.  A `const T *` is always an input array. */
#define FT_INOUT
#define FT_ARRAY

/* ---------------------------------------------------------------------------------------
 * Status codes.  The Fortran module exports the same values as `torch_stat_*`.
 * ------------------------------------------------------------------------------------- */
enum ft_status {
  FT_OK = 0,
  FT_ERR_NULL_HANDLE = 1,        /* tensor/model/optimiser was never constructed          */
  FT_ERR_STALE_HANDLE = 2,       /* handle already deleted (double delete, use after free) */
  FT_ERR_SHAPE = 3,              /* shapes do not match or do not broadcast                */
  FT_ERR_DTYPE = 4,              /* data types differ where they must agree                */
  FT_ERR_DEVICE = 5,             /* tensors live on different devices                      */
  FT_ERR_AUTOGRAD = 6,           /* autograd refused: freed graph, no grad_fn, leaf write  */
  FT_ERR_NO_GRADIENT = 7,        /* a gradient was requested where none exists             */
  FT_ERR_INVALID_ARGUMENT = 8,   /* an argument is out of range or inconsistent            */
  FT_ERR_DEVICE_UNAVAILABLE = 9, /* CUDA (or another device) requested but not available   */
  FT_ERR_IO = 10,                /* file could not be read or written                      */
  FT_ERR_MODEL = 11,             /* not a TorchScript file, or a model returned non-tensors */
  FT_ERR_TORCH = 12,             /* any other error raised by LibTorch                     */
  FT_ERR_OUT_OF_MEMORY = 13,
  FT_ERR_INTERNAL = 14,
  FT_ERR_DISTRIBUTED = 15        /* no process group, a collective failed or timed out     */
};

/* Data types: the values of FTorch's torch_kInt8 ... torch_kFloat64 (c10::ScalarType). */
enum ft_dtype {
  FT_UINT8 = 0, FT_INT8 = 1, FT_INT16 = 2, FT_INT32 = 3, FT_INT64 = 4,
  FT_FLOAT16 = 5, FT_FLOAT32 = 6, FT_FLOAT64 = 7, FT_BOOL = 11
};

/* Device types: the values of c10::DeviceType (and of FTorch's torch_kCPU ...). */
enum ft_device { FT_CPU = 0, FT_CUDA = 1, FT_XPU = 12, FT_MPS = 13 };

/* Binary operators. */
enum ft_binary_op { FT_ADD = 0, FT_SUB = 1, FT_MUL = 2, FT_DIV = 3, FT_POW = 4 };

/* Flags. */
enum ft_flags {
  /* Constructors: copy the caller's buffer instead of viewing it. */
  FT_FLAG_COPY = 1u << 0,
  /* Operators: the result is a temporary of a Fortran expression.  Temporaries that are
   * passed as inputs to an operator, to ft_tensor_assign or to ft_tensor_consume_temp
   * are consumed (their handle becomes stale).  This is how expression temporaries are
   * reclaimed on compilers that never finalise function results (gfortran <= 12); on
   * compilers that do, the finaliser's ft_tensor_release of a consumed temporary is a
   * no-op.  Python never sets this flag. */
  FT_FLAG_TEMP = 1u << 1
};

/* Reductions for losses (FTorch's torch_kNone, torch_kMean, torch_kSum). */
enum ft_reduction { FT_REDUCTION_NONE = 0, FT_REDUCTION_MEAN = 1, FT_REDUCTION_SUM = 2 };

typedef struct ft_tensor_s *ft_tensor;

/* ---------------------------------------------------------------------------------------
 * Library
 * ------------------------------------------------------------------------------------- */
/* Version of libftorch (FT_VERSION_STRING), e.g. "0.2.0".  Static string. */
FT_API const char *ft_version(void);
/* LibTorch version this library was compiled against, e.g. "2.13.0".  Static string. */
FT_API const char *ft_torch_version(void);
/* Message of the most recent failed call on this thread ("" if none).  The pointer is
 * valid until the next failing call on the same thread. */
FT_API const char *ft_last_error(void);
/* Status of the most recent failed call on this thread (FT_OK if none). */
FT_API int ft_last_status(void);
/* Copy the last error message into buf (NUL-terminated, truncated to len-1 bytes).
 * Returns the full length of the message. */
FT_API int ft_last_error_copy(char *buf, int len);
/* Forget the last error of this thread. */
FT_API void ft_clear_error(void);
/* Number of live handles of each kind (tensors, models, optimisers, schedulers).  Tests
 * use these to prove that nothing leaks. */
FT_API int64_t ft_live_tensors(void);
FT_API int64_t ft_live_handles(void);
/* 1 if a CUDA device can be used, else 0; and the number of CUDA devices. */
FT_API int ft_cuda_available(void);
FT_API int ft_cuda_device_count(void);
/* Set the number of intra-op threads LibTorch uses (at::set_num_threads). */
FT_API int ft_set_num_threads(int n);
/* Enable or disable gradient recording for this thread (like torch.set_grad_enabled).
 * The previous setting is written to *previous when previous is not NULL. */
FT_API int ft_set_grad_enabled(int enabled, int *previous);
/* Seed LibTorch's random number generators (torch.manual_seed). */
FT_API int ft_manual_seed(uint64_t seed);

/* ---------------------------------------------------------------------------------------
 * Tensors: construction and destruction
 * ------------------------------------------------------------------------------------- */
/* Create a tensor over `data`.  shape has ndim entries; strides (in elements, not bytes)
 * may be NULL for a C-contiguous (row-major) buffer.  On the CPU without FT_FLAG_COPY
 * the tensor views `data`; with FT_FLAG_COPY, or on another device, the values are
 * copied and the new tensor owns its storage.  With requires_grad the result is a leaf
 * on the requested device, so gradients land on the tensor the caller holds. */
FT_API int ft_tensor_from_blob(void *data, int ndim, const int64_t *shape,
                               const int64_t *strides, int dtype, int device_type,
                               int device_index, int requires_grad, unsigned flags,
                               ft_tensor *out);
/* New tensor that owns uninitialised (fill = 0), zero (1) or one (2) values. */
enum ft_fill { FT_FILL_EMPTY = 0, FT_FILL_ZEROS = 1, FT_FILL_ONES = 2 };
FT_API int ft_tensor_new(int fill, int ndim, const int64_t *shape, int dtype,
                         int device_type, int device_index, int requires_grad,
                         ft_tensor *out);
/* Release a handle.  NULL is a no-op; a stale handle is FT_ERR_STALE_HANDLE. */
FT_API int ft_tensor_delete(ft_tensor t);
/* Release a handle if it is live; NULL and stale handles are silently ignored.  For
 * finalisers, which may run on handles already consumed or deleted.  Always FT_OK. */
FT_API int ft_tensor_release(ft_tensor t);
/* Release t if it is an expression temporary (FT_FLAG_TEMP), else do nothing. */
FT_API int ft_tensor_consume_temp(ft_tensor t);
/* A new handle to the same tensor (shares storage and autograd identity). */
FT_API int ft_tensor_share(ft_tensor t, ft_tensor *out);

/* ---------------------------------------------------------------------------------------
 * Tensors: queries.  None of them modifies the tensor.
 * ------------------------------------------------------------------------------------- */
FT_API int ft_tensor_ndim(ft_tensor t, int *ndim);
/* Pointers into a per-handle buffer that stays valid until the handle is deleted or the
 * next call of the same function on this handle.  An expression temporary is consumed by
 * the call: its values are in a per-thread buffer, valid until the next shape query of a
 * temporary on the same thread. */
FT_API int ft_tensor_shape(ft_tensor t, const int64_t **shape);
FT_API int ft_tensor_strides(ft_tensor t, const int64_t **strides);
FT_API int ft_tensor_numel(ft_tensor t, int64_t *numel);
FT_API int ft_tensor_dtype(ft_tensor t, int *dtype);
FT_API int ft_tensor_device(ft_tensor t, int *device_type, int *device_index);
FT_API int ft_tensor_requires_grad(ft_tensor t, int *flag);
FT_API int ft_tensor_is_leaf(ft_tensor t, int *flag);
/* 1 if assignment writes into t's memory: t views caller memory (built from a blob
 * without FT_FLAG_COPY on the CPU) or is a model parameter. */
FT_API int ft_tensor_is_view(ft_tensor t, int *flag);
/* Address of the first element (device memory for device tensors). */
FT_API int ft_tensor_data_ptr(ft_tensor t, void **ptr);
/* Print the tensor to standard output. */
FT_API int ft_tensor_print(ft_tensor t);
/* Copy t's values, converted to `dtype`, into host memory `data` laid out with `shape`
 * and `strides` (elements; NULL = C-contiguous).  shape must equal t's shape. */
FT_API int ft_tensor_copy_to(ft_tensor t, void *data, int ndim, const int64_t *shape,
                             const int64_t *strides, int dtype);

/* ---------------------------------------------------------------------------------------
 * Tensors: arithmetic.  Results are new handles (see Ownership).  Tensor-tensor operators
 * require equal dtypes and devices and broadcast shapes as PyTorch does; all record
 * autograd history when an input requires gradients.
 * ------------------------------------------------------------------------------------- */
FT_API int ft_tensor_binary(int op, ft_tensor a, ft_tensor b, unsigned flags,
                            ft_tensor *out);
/* a op s (scalar_first = 0) or s op a (scalar_first = 1) for a real scalar s. */
FT_API int ft_tensor_binary_scalar(int op, ft_tensor a, double s, int scalar_first,
                                   unsigned flags, ft_tensor *out);
/* The same with an integer scalar; op FT_POW with an integer exponent is a ** n. */
FT_API int ft_tensor_binary_iscalar(int op, ft_tensor a, int64_t s, int scalar_first,
                                    unsigned flags, ft_tensor *out);
FT_API int ft_tensor_neg(ft_tensor a, unsigned flags, ft_tensor *out);
/* Sum and mean of all elements, as a one-element rank-1 tensor. */
FT_API int ft_tensor_sum(ft_tensor a, unsigned flags, ft_tensor *out);
FT_API int ft_tensor_mean(ft_tensor a, unsigned flags, ft_tensor *out);
/* A copy of a on another device and/or dtype (dtype < 0 keeps a's dtype). */
FT_API int ft_tensor_to_new(ft_tensor a, int device_type, int device_index, int dtype,
                            unsigned flags, ft_tensor *out);
/* Detached alias of a (shares storage, no autograd history). */
FT_API int ft_tensor_detach(ft_tensor a, unsigned flags, ft_tensor *out);

/* ---------------------------------------------------------------------------------------
 * Tensors: assignment and in-place updates
 * ------------------------------------------------------------------------------------- */
/* The Fortran `lhs = rhs`.
 *   *lhs NULL          -> *lhs becomes a new handle holding rhs's value (a temporary is
 *                         moved, a named tensor is cloned with autograd history);
 *   *lhs is a view     -> rhs's values are written into the viewed memory (copy_, recorded
 *                         by autograd); shapes must match (or rhs has one element) and
 *                         dtypes must be equal;
 *   *lhs owns storage  -> *lhs (same handle value) is rebound to rhs's value.
 * A temporary rhs is consumed. */
FT_API int ft_tensor_assign(FT_INOUT ft_tensor *lhs, ft_tensor rhs);
/* Copy src's values into dst, converting dtype and device (FTorch's torch_tensor_to). */
FT_API int ft_tensor_copy(ft_tensor src, ft_tensor dst, int non_blocking);
/* Set every element of t to zero (in place, not recorded by autograd). */
FT_API int ft_tensor_zero(ft_tensor t);

/* ---------------------------------------------------------------------------------------
 * Autograd
 * ------------------------------------------------------------------------------------- */
/* Back-propagate from t.  grad may be NULL: a tensor of ones of t's shape is used.
 * Without retain_graph the graph is freed, and a second backward through it fails with
 * FT_ERR_AUTOGRAD. */
FT_API int ft_tensor_backward(ft_tensor t, ft_tensor grad, int retain_graph);
/* Copy t's current gradient into *holder with ft_tensor_assign semantics (a view holder
 * receives the values in its memory; a NULL holder receives a new handle).  The copy is
 * a snapshot: later backward or zero_grad calls do not change it.
 * FT_ERR_NO_GRADIENT if t has no gradient. */
FT_API int ft_tensor_get_gradient(ft_tensor t, FT_INOUT ft_tensor *holder);
/* 1 if t currently has a gradient. */
FT_API int ft_tensor_has_gradient(ft_tensor t, int *flag);
/* Zero t's gradient in place; a tensor without a gradient is left alone (FT_OK). */
FT_API int ft_tensor_zero_grad(ft_tensor t);
/* Set requires_grad on a leaf tensor. */
FT_API int ft_tensor_set_requires_grad(ft_tensor t, int flag);

/* ---------------------------------------------------------------------------------------
 * Models (TorchScript)
 * ------------------------------------------------------------------------------------- */
typedef struct ft_model_s *ft_model;

/* Load a TorchScript file onto a device.  requires_grad = 0 freezes every parameter,
 * 1 makes every parameter require gradients, -1 keeps the file's setting; is_training
 * selects train() or eval() mode.
 * FT_ERR_IO if the file cannot be read, FT_ERR_MODEL if it is not TorchScript. */
FT_API int ft_model_load(const char *filename, int device_type, int device_index, int requires_grad,
                         int is_training, ft_model *out);
/* Release a model handle (NULL: no-op; stale: FT_ERR_STALE_HANDLE).  Parameter handles
 * obtained from the model keep the parameters alive. */
FT_API int ft_model_delete(ft_model m);
/* Release if live; NULL and stale handles are ignored.  Always FT_OK. */
FT_API int ft_model_release(ft_model m);
/* Run forward(*inputs).  The model's result (a tensor, or a tuple/list of tensors) must
 * have n_outputs tensors; each is written to outputs[i] with ft_tensor_assign semantics.
 * Without requires_grad the forward pass records no autograd history.  Errors raised inside
 * the model keep LibTorch's classification (FT_ERR_SHAPE, FT_ERR_DEVICE, FT_ERR_TORCH). */
FT_API int ft_model_forward(ft_model m, const ft_tensor *inputs, int n_inputs, FT_INOUT FT_ARRAY ft_tensor *outputs,
                            int n_outputs, int requires_grad);
/* Number of parameters (tensors) of the model, recursively. */
FT_API int ft_model_num_parameters(ft_model m, int *n);
/* New handles to the model's parameters, in named_parameters() order; they alias the
 * weights, so optimisers built over them train the model, and assignment to them writes
 * into the weights.  n must equal the number of parameters.  Live handles already in
 * params[] are released first.  The caller owns the n new handles. */
FT_API int ft_model_parameters(ft_model m, FT_INOUT FT_ARRAY ft_tensor *params, int n);
/* Switch between training (1) and evaluation (0) mode, and query it. */
FT_API int ft_model_set_training(ft_model m, int training);
FT_API int ft_model_is_training(ft_model m, int *training);
/* Save the model (TorchScript, with the current weights).  Atomic: the bytes go to a
 * temporary file in the same directory that is fsynced and renamed over filename, so a
 * failed or interrupted save leaves the previous file intact.  FT_ERR_IO (naming the file
 * and the cause, e.g. ENOSPC) if it cannot be written; never aborts. */
FT_API int ft_model_save(ft_model m, const char *filename);
/* Print each parameter's name and values to standard output. */
FT_API int ft_model_print_parameters(ft_model m);

/* ---------------------------------------------------------------------------------------
 * Losses.  The result is written to *out with ft_tensor_assign semantics: a one-element
 * rank-1 tensor for the mean and sum reductions, a tensor of the input's shape for none.
 * ------------------------------------------------------------------------------------- */
enum ft_loss_kind {
  FT_LOSS_MSE = 0,
  FT_LOSS_L1 = 1,
  FT_LOSS_SMOOTH_L1 = 2,          /* param: beta (PyTorch default 1.0)                         */
  FT_LOSS_HUBER = 3,              /* param: delta (PyTorch default 1.0)                        */
  FT_LOSS_CROSS_ENTROPY = 4,      /* target: class indices (int64) or probabilities (input's   */
                                  /* shape); param: label smoothing                            */
  FT_LOSS_BCE_WITH_LOGITS = 5
};
FT_API int ft_loss(int kind, ft_tensor input, ft_tensor target, int reduction, double param,
                   FT_INOUT ft_tensor *out);

/* ---------------------------------------------------------------------------------------
 * Optimisers.  Updates are those of torch.optim (single-tensor implementations) and run
 * without autograd recording; parameters are updated in place, so a parameter that views
 * a Fortran array updates the array.
 * ------------------------------------------------------------------------------------- */
typedef struct ft_optim_s *ft_optim;

enum ft_optim_kind { FT_OPTIM_SGD = 0, FT_OPTIM_ADAM = 1, FT_OPTIM_ADAMW = 2, FT_OPTIM_RMSPROP = 3,
                     FT_OPTIM_ADAGRAD = 4 };
/* Hyper-parameters; fields an algorithm does not use are ignored.  ft_optim_defaults
 * fills in PyTorch's defaults for `kind`. */
typedef struct ft_optim_options {
  double lr;
  double momentum;                 /* SGD, RMSprop                                        */
  double dampening;                /* SGD                                                 */
  double weight_decay;             /* all (AdamW: decoupled)                              */
  int nesterov;                    /* SGD                                                 */
  double beta1, beta2;             /* Adam, AdamW                                         */
  double eps;                      /* Adam, AdamW, RMSprop, Adagrad                       */
  int amsgrad;                     /* Adam, AdamW                                         */
  double alpha;                    /* RMSprop                                             */
  int centered;                    /* RMSprop                                             */
  double lr_decay;                 /* Adagrad                                             */
  double initial_accumulator_value;/* Adagrad                                             */
  int maximize;                    /* all                                                 */
} ft_optim_options;
FT_API int ft_optim_defaults(int kind, ft_optim_options *options);
/* An optimiser over n parameters, which must be leaf tensors that require gradients. */
FT_API int ft_optim_new(int kind, const ft_tensor *params, int n, const ft_optim_options *options,
                        ft_optim *out);
FT_API int ft_optim_delete(ft_optim o);
FT_API int ft_optim_release(ft_optim o);
/* One update of every parameter that has a gradient. */
FT_API int ft_optim_step(ft_optim o);
/* Reset the gradients: set_to_none = 1 removes them (PyTorch's default), 0 zeroes them. */
FT_API int ft_optim_zero_grad(ft_optim o, int set_to_none);
FT_API int ft_optim_get_lr(ft_optim o, double *lr);
FT_API int ft_optim_set_lr(ft_optim o, double lr);
/* Number of steps taken. */
FT_API int ft_optim_step_count(ft_optim o, int64_t *steps);

/* ---------------------------------------------------------------------------------------
 * Learning-rate schedulers (torch.optim.lr_scheduler: the same recurrences).  A scheduler
 * keeps its optimiser alive.  Call ft_scheduler_step after ft_optim_step.
 * ------------------------------------------------------------------------------------- */
typedef struct ft_scheduler_s *ft_scheduler;
enum ft_scheduler_kind { FT_SCHED_STEP = 0, FT_SCHED_EXPONENTIAL = 1, FT_SCHED_COSINE_ANNEALING = 2 };
/* STEP: p1 = step_size, p2 = gamma.  EXPONENTIAL: p2 = gamma.  COSINE_ANNEALING:
 * p1 = T_max, p2 = eta_min.  step_size and T_max must be integers in [1, 2^53], gamma and
 * eta_min finite; FT_ERR_INVALID_ARGUMENT otherwise. */
FT_API int ft_scheduler_new(int kind, ft_optim o, double p1, double p2, ft_scheduler *out);
FT_API int ft_scheduler_delete(ft_scheduler s);
FT_API int ft_scheduler_release(ft_scheduler s);
FT_API int ft_scheduler_step(ft_scheduler s);
/* The learning rate the scheduler last set, and its epoch counter. */
FT_API int ft_scheduler_get_last_lr(ft_scheduler s, double *lr);
FT_API int ft_scheduler_last_epoch(ft_scheduler s, int64_t *epoch);

/* ---------------------------------------------------------------------------------------
 * Gradient clipping (torch.nn.utils.clip_grad_norm_ / clip_grad_value_)
 * ------------------------------------------------------------------------------------- */
/* Scale the gradients of params so their joint norm_type-norm is at most max_norm; the
 * norm before clipping is written to *total_norm (may be NULL).  norm_type <= 0 means inf. */
FT_API int ft_clip_grad_norm(const ft_tensor *params, int n, double max_norm, double norm_type,
                             double *total_norm);
/* Clamp every gradient element to [-clip_value, clip_value]. */
FT_API int ft_clip_grad_value(const ft_tensor *params, int n, double clip_value);

/* ---------------------------------------------------------------------------------------
 * Checkpoints: model weights, optimiser state and scheduler state in one file, made of
 * plain values only (readable by torch.load(path, weights_only=True)).  Any of m, o, s may
 * be NULL.  Saving is atomic like ft_model_save: on failure (FT_ERR_IO naming the file and
 * the cause) the previous checkpoint is intact.  Loading reads and checks the whole file
 * before changing anything, then restores into existing objects, moving tensors to their
 * devices; on any failure m, o and s are unchanged.  FT_ERR_IO if the file cannot be read,
 * is a directory, or is not a well-formed pyftorch checkpoint (wrong types, counts, dtypes,
 * non-finite hyper-parameters, negative counts, scheduler parameters out of range);
 * FT_ERR_INVALID_ARGUMENT if it belongs to a different model (names or shapes differ),
 * optimiser or scheduler, or lacks the state of an object passed.
 * ------------------------------------------------------------------------------------- */
FT_API int ft_checkpoint_save(const char *filename, ft_model m, ft_optim o, ft_scheduler s);
FT_API int ft_checkpoint_load(const char *filename, ft_model m, ft_optim o, ft_scheduler s);

/* ---------------------------------------------------------------------------------------
 * Shape queries in one call, and the Fortran module's per-thread error state
 * ------------------------------------------------------------------------------------- */
/* Rank, shape and strides (elements) of t in one call; shape and strides may be NULL.  The
 * arrays stay valid while t lives (as ft_tensor_shape).  When t is an expression temporary
 * the call consumes it and the arrays live in a per-thread buffer, valid until the next
 * shape query of a temporary on the same thread. */
FT_API int ft_tensor_dims(ft_tensor t, int *ndim, const int64_t **shape, const int64_t **strides);
/* Whether failures the Fortran module cannot return in a `stat` argument stop the program
 * (1, the default) or are recorded for ft_pending_error_take (0).  One process-wide flag,
 * read and written atomically; always FT_OK. */
FT_API int ft_set_stop_on_error(int flag);
FT_API int ft_get_stop_on_error(void);
/* Record a failure for this thread, unless one is already recorded (the first is kept
 * until taken): the message is "procname: message" (procname_len bytes, message_len
 * bytes; message_len < 0 uses this thread's ft_last_error()).  An empty message is
 * replaced by one naming the status, so a recorded failure never has an empty message.
 * Returns 1 if recorded, 0 if an earlier failure was kept.  Thread-local; no allocation
 * failure escapes. */
FT_API int ft_pending_error_record(int status, const char *procname, int procname_len,
                                   const char *message, int message_len);
/* Take this thread's recorded failure: *status receives it (FT_OK if none), buf its
 * message (NUL-terminated, truncated to len-1 bytes).  Clears the record and this
 * thread's last error.  Returns the message's full length. */
FT_API int ft_pending_error_take(int *status, char *buf, int len);
/* Length of this thread's recorded failure message (0 if none). */
FT_API int ft_pending_error_length(void);

/* ---------------------------------------------------------------------------------------
 * Distributed data-parallel training (c10d: TCPStore rendezvous, ProcessGroupGloo, the
 * Reducer of PyTorch's DistributedDataParallel).  One process group per process.
 *
 * Collective functions (marked "Collective") must be called by every rank, in the same
 * order, with tensors of the same shape and dtype; each one first checks that the ranks
 * agree (one small all-reduce), so a mismatch is FT_ERR_SHAPE on every rank rather than a
 * hang.  A rank that stops or fails makes the others' collectives fail with
 * FT_ERR_DISTRIBUTED within the timeout given to ft_distributed_init; the process group
 * must then be finalised.  Supported dtypes: FT_FLOAT32, FT_FLOAT64, FT_INT32, FT_INT64 on
 * the CPU (and on CUDA with NCCL).  A library built without the gloo headers or NCCL keeps
 * every function below; they fail with FT_ERR_DISTRIBUTED (ft_distributed_available() says
 * which build this is).
 * Threads: call these from one thread per process.
 * ------------------------------------------------------------------------------------- */
/* Reductions of ft_distributed_all_reduce (torch_reduce_sum ... in Fortran). */
enum ft_reduce_op { FT_REDUCE_SUM = 0, FT_REDUCE_AVG = 1, FT_REDUCE_MAX = 2, FT_REDUCE_MIN = 3 };
/* 1 if this library was built with distributed support, else 0.  Never fails. */
FT_API int ft_distributed_available(void);
/* Rank 0 only, before ft_distributed_init: open the rendezvous store on a free port chosen
 * by the system and write it to *port, to be sent to the other ranks (for example with
 * MPI_Bcast) and passed to ft_distributed_init by all.  FT_ERR_DISTRIBUTED if already
 * initialised or the store cannot be opened. */
FT_API int ft_distributed_listen(int world_size, double timeout_seconds, int *port);
/* Collective.  Join the process group of world_size ranks as `rank`; rank 0 serves the
 * rendezvous store on master_port (unless ft_distributed_listen opened it) and the others
 * connect to master_addr:master_port.  rank < 0, world_size < 1, master_addr NULL or "",
 * master_port < 0 are read from RANK, WORLD_SIZE, MASTER_ADDR (default 127.0.0.1) and
 * MASTER_PORT (the torchrun convention).  device_type: FT_CPU (gloo), or FT_CUDA to also
 * reduce CUDA tensors with NCCL (builds with NCCL only; each rank uses GPU LOCAL_RANK, else
 * its rank, modulo the number of GPUs; FT_ERR_DEVICE_UNAVAILABLE otherwise).
 * timeout_seconds <= 0 means 300 s; it bounds the rendezvous and every later collective.
 * Returns when every rank has joined.  FT_ERR_DISTRIBUTED if already initialised, if the
 * port is in use or the rendezvous times out; FT_ERR_INVALID_ARGUMENT for a missing or bad
 * rank, size or port. */
FT_API int ft_distributed_init(int rank, int world_size, const char *master_addr, int master_port,
                               int device_type, double timeout_seconds);
/* *flag = 1 if the process group is initialised, else 0. */
FT_API int ft_distributed_is_initialized(int *flag);
/* This process's rank and the number of ranks.  FT_ERR_DISTRIBUTED before initialisation. */
FT_API int ft_distributed_rank(int *rank);
FT_API int ft_distributed_world_size(int *world_size);
/* Collective.  Return when every rank has entered. */
FT_API int ft_distributed_barrier(void);
/* Leave the process group (not collective).  Models distributed earlier keep their own
 * reference to it until they are deleted.  FT_ERR_DISTRIBUTED if not initialised. */
FT_API int ft_distributed_finalize(void);
/* Collective.  Reduce t in place across ranks with `op` (enum ft_reduce_op).  FT_REDUCE_AVG
 * divides the sum by the world size (truncating for integer dtypes).  A tensor viewing
 * caller memory updates that memory.  t may require gradients; autograd does not record it. */
FT_API int ft_distributed_all_reduce(ft_tensor t, int op);
/* Collective.  Overwrite t on every rank with root's values. */
FT_API int ft_distributed_broadcast(ft_tensor t, int root);
/* Collective.  Replace the gradient of each of the n parameters by its mean across ranks,
 * in place, as DistributedDataParallel computes it (each gradient scaled by 1/world size,
 * then summed), one all-reduce per bucket of at most bucket_cap_mb MiB (<= 0: 25).
 * Parameters without a gradient are skipped; which ones have one must agree across ranks. */
FT_API int ft_distributed_average_gradients(const ft_tensor *params, int n, double bucket_cap_mb);
/* Collective.  Make m data-parallel, as DistributedDataParallel does: broadcast its
 * parameters and buffers from rank 0, then, after every ft_model_forward with
 * requires_grad, the backward pass that reaches the parameters leaves their gradients
 * averaged across ranks (c10d::Reducer: autograd hooks, buckets of at most bucket_cap_mb
 * MiB (<= 0: DDP's defaults), all-reduce overlapping the rest of backward).  Buffers are
 * broadcast from rank 0 before every forward.  Every rank must run the same forward and
 * backward passes.  FT_ERR_INVALID_ARGUMENT if m is already distributed. */
FT_API int ft_model_distribute(ft_model m, double bucket_cap_mb);
/* Collective.  Rank 0 writes the checkpoint (ft_checkpoint_save); the others wait.  Every
 * rank returns rank 0's status. */
FT_API int ft_distributed_checkpoint_save(const char *filename, ft_model m, ft_optim o, ft_scheduler s);
/* Collective.  Every rank reads the checkpoint (ft_checkpoint_load), then rank 0's model
 * and optimiser state is broadcast, so all ranks resume identical.  If any rank fails to
 * read it, every rank fails. */
FT_API int ft_distributed_checkpoint_load(const char *filename, ft_model m, ft_optim o, ft_scheduler s);

#ifdef __cplusplus
} /* extern "C" */
#endif

#endif /* FTORCH_H */
