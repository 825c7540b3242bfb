/* Run one benchmark kernel outside Python, for profilers:
 *
 *   bench_driver fortran|cxx CASE SIZE float32|float64 N [REPEAT [MODEL]]
 *   valgrind --tool=callgrind --toggle-collect=bench_f_mul build/bench-kernels/bench_driver fortran mul 1 float64
 * 100000
 *
 * CASE is one of the loops of bench_fortran.f90 / bench_cxx.cpp.  The kernel runs REPEAT
 * (default 1) times N operations; the wall time per operation of each repeat is printed.
 * For train_step, SIZE is the batch and MODEL the TorchScript file of bench/training.py
 * (`python -m bench.training` writes it); the batch is synthetic (16 inputs, 16 outputs).
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

typedef int (*loop_fn)(int64_t);
typedef int (*setup_fn)(int64_t, int, const void *, const void *, int);
typedef int (*train_setup_fn)(const char *, int, int, int, int, int, const void *, const void *, double);

#define KERNELS(P)                                              \
  int P##_setup(int64_t, int, const void *, const void *, int); \
  int P##_teardown(void);                                       \
  int P##_add(int64_t);                                         \
  int P##_sub(int64_t);                                         \
  int P##_mul(int64_t);                                         \
  int P##_div(int64_t);                                         \
  int P##_expr(int64_t);                                        \
  int P##_from_array(int64_t);                                  \
  int P##_backward(int64_t);                                    \
  int P##_get_gradient(int64_t);                                \
  int P##_zero_grad(int64_t);                                   \
  int P##_train_step(int64_t);                                  \
  int P##_train_setup(const char *, int, int, int, int, int, const void *, const void *, double);
KERNELS(bench_f)
KERNELS(bench_cxx)
int bench_f_view_mul(int64_t);
int bench_f_view_muladd(int64_t);
int bench_f_view_scale(int64_t);
int bench_cxx_view_mul(int64_t);
int bench_cxx_view_muladd(int64_t);
int bench_cxx_view_scale(int64_t);
int bench_cxx_view_mul_copy(int64_t);
int bench_cxx_view_muladd_copy(int64_t);
int bench_cxx_view_scale_copy(int64_t);
int bench_cxx_view_mul_grad_copy(int64_t);
int bench_cxx_view_muladd_grad_copy(int64_t);
int bench_cxx_view_scale_grad_copy(int64_t);

struct entry {
  const char *name;
  loop_fn f, cxx;
  int grad_mode;
};
static const struct entry CASES[] = {
    {"add", bench_f_add, bench_cxx_add, 0},
    {"sub", bench_f_sub, bench_cxx_sub, 0},
    {"mul", bench_f_mul, bench_cxx_mul, 0},
    {"div", bench_f_div, bench_cxx_div, 0},
    {"expr", bench_f_expr, bench_cxx_expr, 0},
    {"from_array", bench_f_from_array, bench_cxx_from_array, 0},
    {"backward", bench_f_backward, bench_cxx_backward, 1},
    {"get_gradient", bench_f_get_gradient, bench_cxx_get_gradient, 2},
    {"zero_grad", bench_f_zero_grad, bench_cxx_zero_grad, 2},
    {"train_step", bench_f_train_step, bench_cxx_train_step, -1},
    /* Assignment into a view: "cxx" is the out= floor; the *_copy rows copy a fresh result
     * ("fortran" runs the same statement as the row without _copy). */
    {"view_mul", bench_f_view_mul, bench_cxx_view_mul, 0},
    {"view_muladd", bench_f_view_muladd, bench_cxx_view_muladd, 0},
    {"view_scale", bench_f_view_scale, bench_cxx_view_scale, 0},
    {"view_mul_copy", bench_f_view_mul, bench_cxx_view_mul_copy, 0},
    {"view_muladd_copy", bench_f_view_muladd, bench_cxx_view_muladd_copy, 0},
    {"view_scale_copy", bench_f_view_scale, bench_cxx_view_scale_copy, 0},
    /* `a` requires gradients: "cxx" copies a fresh result (the out= kernels refuse). */
    {"view_mul_grad", bench_f_view_mul, bench_cxx_view_mul_grad_copy, 1},
    {"view_muladd_grad", bench_f_view_muladd, bench_cxx_view_muladd_grad_copy, 1},
    {"view_scale_grad", bench_f_view_scale, bench_cxx_view_scale_grad_copy, 1},
};
enum { N_IN = 16, N_OUT = 16 };

static double now(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return ts.tv_sec + 1e-9 * ts.tv_nsec;
}

int main(int argc, char **argv) {
  if (argc < 6) {
    fprintf(stderr, "usage: %s fortran|cxx CASE SIZE float32|float64 N [REPEAT]\n", argv[0]);
    return 2;
  }
  int fortran = strcmp(argv[1], "fortran") == 0;
  const struct entry *e = NULL;
  for (size_t i = 0; i < sizeof CASES / sizeof CASES[0]; ++i)
    if (strcmp(CASES[i].name, argv[2]) == 0) e = &CASES[i];
  if (e == NULL) {
    fprintf(stderr, "unknown case %s\n", argv[2]);
    return 2;
  }
  int64_t size = atoll(argv[3]), n = atoll(argv[5]);
  int repeat = argc > 6 ? atoi(argv[6]) : 1;
  int f32 = strcmp(argv[4], "float32") == 0;
  int train = e->grad_mode < 0;
  int64_t count = train ? size * (N_IN > N_OUT ? N_IN : N_OUT) : size;
  double *a = malloc(count * sizeof(double)), *b = malloc(count * sizeof(double));
  for (int64_t i = 0; i < count; ++i) {
    double x = 1.0 + (double)i / count, y = 2.0 - (double)i / count;
    if (f32) {
      ((float *)a)[i] = (float)x;
      ((float *)b)[i] = (float)y;
    } else {
      a[i] = x;
      b[i] = y;
    }
  }
  loop_fn loop = fortran ? e->f : e->cxx;
  int status;
  if (train) {
    if (argc < 8) {
      fprintf(stderr, "train_step needs REPEAT and MODEL (python -m bench.training)\n");
      return 2;
    }
    train_setup_fn setup = fortran ? bench_f_train_setup : bench_cxx_train_setup;
    status = setup(argv[7], (int)strlen(argv[7]), (int)size, N_IN, N_OUT, f32 ? 6 : 7, a, b, 1e-3);
  } else {
    setup_fn setup = fortran ? bench_f_setup : bench_cxx_setup;
    status = setup(size, f32 ? 6 : 7, a, b, e->grad_mode);
  }
  if (status != 0) {
    fprintf(stderr, "setup failed\n");
    return 1;
  }
  for (int r = 0; r < repeat; ++r) {
    double t0 = now();
    if (loop(n) != 0) {
      fprintf(stderr, "%s failed\n", e->name);
      return 1;
    }
    printf("%s %s size=%lld %s: %.4f us/op\n", argv[1], e->name, (long long)size, argv[4], (now() - t0) / n * 1e6);
  }
  (fortran ? bench_f_teardown : bench_cxx_teardown)();
  free(a);
  free(b);
  return 0;
}
