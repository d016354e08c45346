/**
 * An optional native matrix product for the wasm training kernels: a small N-API addon that calls
 * the system's BLAS (`cblas_sgemm`, found at run time with dlopen: OpenBLAS, or any libblas.so.3
 * with the CBLAS symbols) directly on the wasm heap, plus the loops around the products: im2col and
 * col2im for the convolutions, the max pool and its gradient, and Adam's update. Not a kernel. wasm
 * here is one thread with 128-bit SIMD; a native BLAS uses AVX2/AVX-512 and every core, several times
 * the speed on the products that dominate training.
 *
 * `enableWasmTrainingKernels` loads it by default (UNFORGET_NATIVE_BLAS=0 or `{ nativeBlas: false }`
 * turns it off). The addon is compiled from the C source below with the system's C compiler and
 * Node's own headers, on first use, once, into ~/.cache/unforget (or $UNFORGET_CACHE); it is used only
 * after a self-check of its products against a reference. Where there is no compiler, no headers or
 * no BLAS, or the check fails, loading returns null, remembers why, and the wasm kernels carry on
 * alone; installing unforget never compiles anything.
 */

import { cacheDir as unforgetCache } from '../../cache-dir.js';
import { OptionError } from '../../errors.js';
import type { Geometry } from '../im2col.js';

const source = String.raw`
#define NAPI_VERSION 8
#include <node_api.h>
#include <dlfcn.h>
#include <stddef.h>
#include <string.h>
#include <math.h>
#include <pthread.h>
#include <sched.h>
#include <stdatomic.h>
#include <stdint.h>
#include <time.h>

typedef void (*sgemm_t)(int order, int transA, int transB, int m, int n, int k, float alpha,
                        const float *a, int lda, const float *b, int ldb, float beta, float *c, int ldc);
static sgemm_t sgemm = 0;

enum { ROW_MAJOR = 101, NO_TRANS = 111, TRANS = 112 };

static double num(napi_env env, napi_value v) {
  double d = 0;
  napi_get_value_double(env, v, &d);
  return d;
}

/* A call's arguments: the wasm heap (an ArrayBuffer) first, then numbers, at most 16 in all. */
typedef struct {
  napi_env env;
  napi_value v[16];
  char *heap;
} args;

static args read_args(napi_env env, napi_callback_info info) {
  args a;
  size_t argc = 16;
  void *data = 0;
  size_t length = 0;
  a.env = env;
  napi_get_cb_info(env, info, &argc, a.v, 0, 0);
  napi_get_arraybuffer_info(env, a.v[0], &data, &length);
  a.heap = (char *)data;
  return a;
}

/* Argument i as a number. */
static double arg(const args *a, int i) { return num(a->env, a->v[i]); }

/* Argument i, a byte offset into the heap, as a pointer to floats. */
static float *floats(const args *a, int i) { return (float *)(a->heap + (size_t)arg(a, i)); }

/* Products shared between threads. A product is cut into chunks of rows (or columns) of c, and the
   calling thread and the helper threads take chunks from one counter until none is left, each chunk
   one single-threaded sgemm. A helper the system has not scheduled yet (another thread has its core)
   leaves its chunks to the others instead of holding up the product, which is what a split into
   equal halves (the BLAS's own threads) does. */
enum { MAX_HELPERS = 7, SPIN_NS = 200000 };

/* Rows or columns of c per chunk of a product. The cut does not depend on the threads, and neither
   does any float of the result: the same numbers on one core or many. */
enum { PRODUCT_CHUNK = 64 };

typedef struct {
  int ta, tb, m, n, k, lda, ldb, ldc, by_rows;
  const float *a, *b;
  float *c;
  float beta;
} product_job;

/* The work being shared: chunk i of it is run(ctx, i). ctx lives on the sharing thread's stack until
   every chunk is done. */
static void (*job_run)(const void *ctx, int i);
static const void *job_ctx;
/* The job's ticket: its number (32 bits), its chunks (16) and the next chunk to take (16). */
static _Atomic uint64_t ticket;
static atomic_int done;
static atomic_int sleeping;
static atomic_int wanted; /* helpers in use (threads − 1) */
static int started;
static pthread_mutex_t pool = PTHREAD_MUTEX_INITIALIZER; /* one shared job at a time */
static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t wake = PTHREAD_COND_INITIALIZER;

static void product_chunk(const void *ctx, int i) {
  const product_job *p = (const product_job *)ctx;
  int from = i * PRODUCT_CHUNK;
  int ta = p->ta ? TRANS : NO_TRANS, tb = p->tb ? TRANS : NO_TRANS;
  if (p->by_rows) {
    int rows = p->m - from < PRODUCT_CHUNK ? p->m - from : PRODUCT_CHUNK;
    const float *a = p->ta ? p->a + from : p->a + (size_t)from * p->lda;
    sgemm(ROW_MAJOR, ta, tb, rows, p->n, p->k, 1.0f, a, p->lda, p->b, p->ldb, p->beta,
          p->c + (size_t)from * p->ldc, p->ldc);
  } else {
    int cols = p->n - from < PRODUCT_CHUNK ? p->n - from : PRODUCT_CHUNK;
    const float *b = p->tb ? p->b + (size_t)from * p->ldb : p->b + from;
    sgemm(ROW_MAJOR, ta, tb, p->m, cols, p->k, 1.0f, p->a, p->lda, b, p->ldb, p->beta, p->c + from, p->ldc);
  }
}

/* The number of the job posted last. */
static uint32_t job_id(void) { return (uint32_t)(atomic_load(&ticket) >> 32); }

/* Takes chunks of job id until none is left. */
static void take(uint32_t id) {
  for (;;) {
    uint64_t t = atomic_load(&ticket);
    uint32_t chunks = (uint32_t)(t >> 16) & 0xffff, next = (uint32_t)t & 0xffff;
    if ((uint32_t)(t >> 32) != id || next >= chunks) return;
    if (!atomic_compare_exchange_weak(&ticket, &t, t + 1)) continue;
    job_run(job_ctx, (int)next);
    atomic_fetch_add(&done, 1);
  }
}

static long long elapsed_ns(const struct timespec *since) {
  struct timespec now;
  clock_gettime(CLOCK_MONOTONIC, &now);
  return (now.tv_sec - since->tv_sec) * 1000000000LL + (now.tv_nsec - since->tv_nsec);
}

/* A helper: waits for a job (spinning a little, for the products of one step come close together,
   then asleep), takes chunks of it, and waits again. Helper i works only while i < wanted. */
static void *helper(void *arg) {
  int index = (int)(intptr_t)arg;
  uint32_t seen = job_id();
  for (;;) {
    uint32_t id = job_id();
    if (id != seen) {
      seen = id;
      if (index < atomic_load(&wanted)) take(id);
      continue;
    }
    struct timespec from;
    clock_gettime(CLOCK_MONOTONIC, &from);
    int spins = 0;
    while (job_id() == seen && (++spins & 255 || elapsed_ns(&from) < SPIN_NS)) {
#if defined(__x86_64__) || defined(__i386__)
      __builtin_ia32_pause();
#endif
    }
    if (job_id() != seen) continue;
    pthread_mutex_lock(&lock);
    atomic_fetch_add(&sleeping, 1);
    while (job_id() == seen) pthread_cond_wait(&wake, &lock);
    atomic_fetch_sub(&sleeping, 1);
    pthread_mutex_unlock(&lock);
  }
  return 0;
}

/* Sets the helpers in use (threads − 1), starting any not started yet; returns the threads. */
static int pool_threads(int threads) {
  int helpers = threads - 1 < 0 ? 0 : threads - 1 > MAX_HELPERS ? MAX_HELPERS : threads - 1;
  pthread_mutex_lock(&pool);
  for (; started < helpers; started++) {
    pthread_t t;
    pthread_attr_t attr;
    pthread_attr_init(&attr);
    pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
    int failed = pthread_create(&t, &attr, helper, (void *)(intptr_t)started);
    pthread_attr_destroy(&attr);
    if (failed) break;
  }
  atomic_store(&wanted, helpers < started ? helpers : started);
  pthread_mutex_unlock(&pool);
  return atomic_load(&wanted) + 1;
}

/* Runs chunks 0 … chunks − 1 of run(ctx, ·) on this thread and the helpers; false (nothing run) when
   there are no helpers or another thread is sharing a job: the caller then does the work alone. */
static int share(void (*run)(const void *, int), const void *ctx, int chunks) {
  if (atomic_load(&wanted) == 0 || chunks < 2 || pthread_mutex_trylock(&pool) != 0) return 0;
  job_run = run;
  job_ctx = ctx;
  atomic_store(&done, 0);
  uint32_t id = job_id() + 1;
  atomic_store(&ticket, ((uint64_t)id << 32) | ((uint64_t)chunks << 16));
  if (atomic_load(&sleeping) > 0) {
    pthread_mutex_lock(&lock);
    pthread_cond_broadcast(&wake);
    pthread_mutex_unlock(&lock);
  }
  take(id);
  for (int spins = 0; atomic_load(&done) < chunks; spins++)
    if (spins > 1000) sched_yield();
  pthread_mutex_unlock(&pool);
  return 1;
}

/* How to cut span items into about four chunks per thread of a multiple of unit items each;
   returns the chunk size. */
static int chunk_size(int span, int unit) {
  int parts = 4 * (atomic_load(&wanted) + 1);
  return ((span + parts - 1) / parts + unit - 1) / unit * unit;
}

/* c[m×n] = op(a)·op(b) + beta·c, row-major; a large product is cut into chunks along the longer side
   of c, shared with the helpers when there are any. */
static void product(int ta, int tb, int m, int n, int k, const float *a, int lda, const float *b, int ldb,
                    float beta, float *c, int ldc) {
  int by_rows = m >= n, span = by_rows ? m : n;
  if ((double)m * n * k < 1 << 20 || span < 2 * PRODUCT_CHUNK) {
    sgemm(ROW_MAJOR, ta ? TRANS : NO_TRANS, tb ? TRANS : NO_TRANS, m, n, k, 1.0f, a, lda, b, ldb, beta, c, ldc);
    return;
  }
  product_job p = {ta, tb, m, n, k, lda, ldb, ldc, by_rows, a, b, c, beta};
  int chunks = (span + PRODUCT_CHUNK - 1) / PRODUCT_CHUNK;
  if (!share(product_chunk, &p, chunks))
    for (int i = 0; i < chunks; i++) product_chunk(&p, i);
}

/* c[m×n] = op(a)·op(b) (+ bias[n] when bias) (then max(0, ·) when relu), row-major and contiguous. */
static void affine(int ta, int tb, int m, int n, int k, const float *a, const float *b, const float *bias,
                   int relu, float *c) {
  float beta = 0.0f;
  if (bias) {
    for (int i = 0; i < m; i++) memcpy(c + (size_t)i * n, bias, sizeof(float) * n);
    beta = 1.0f;
  }
  product(ta, tb, m, n, k, a, ta ? m : k, b, tb ? k : n, beta, c, n);
  if (relu)
    for (size_t i = 0, size = (size_t)m * n; i < size; i++) c[i] = c[i] > 0 ? c[i] : 0;
}

/* gemm(memory, transA, transB, m, n, k, aByte, bByte, cByte, biasByte, relu):
   c[m×n] = op(a)·op(b) (+ bias[n]) (then max(0, ·)), row-major, offsets in bytes into memory. */
static napi_value gemm(napi_env env, napi_callback_info info) {
  args in = read_args(env, info);
  affine((int)arg(&in, 1), (int)arg(&in, 2), (int)arg(&in, 3), (int)arg(&in, 4), (int)arg(&in, 5),
         floats(&in, 6), floats(&in, 7), arg(&in, 9) > 0 ? floats(&in, 9) : 0, (int)arg(&in, 10),
         floats(&in, 8));
  return 0;
}

/* The geometry shared by im2col and col2im: x is [nb, h, w, ch] (NHWC), the columns are
   [nb·oh·ow, fh·fw·ch], column (kh·fw + kw)·ch + c of row (b·oh + y)·ow + x holding
   x[b, y·sh + kh − pt, x·sw + kw − pl, c] (zero outside the image). */
typedef struct { int nb, h, w, ch, fh, fw, sh, sw, pt, pl, oh, ow; } geometry;

/* The geometry from the 12 arguments starting at argument first. */
static geometry read_geometry(const args *a, int first) {
  geometry g;
  int *f = &g.nb;
  for (int i = 0; i < 12; i++) f[i] = (int)arg(a, first + i);
  return g;
}

/* im2col(memory, xByte, colsByte, nb, h, w, ch, fh, fw, sh, sw, pt, pl, oh, ow) */
static napi_value im2col(napi_env env, napi_callback_info info) {
  args in = read_args(env, info);
  const float *x = floats(&in, 1);
  float *cols = floats(&in, 2);
  geometry g = read_geometry(&in, 3);
  size_t row = (size_t)g.fh * g.fw * g.ch;
  for (int b = 0; b < g.nb; b++)
    for (int y = 0; y < g.oh; y++)
      for (int xx = 0; xx < g.ow; xx++) {
        float *out = cols + (((size_t)b * g.oh + y) * g.ow + xx) * row;
        int c0 = xx * g.sw - g.pl;
        for (int kh = 0; kh < g.fh; kh++) {
          int r = y * g.sh + kh - g.pt;
          ptrdiff_t at = (((ptrdiff_t)b * g.h + r) * g.w + c0) * g.ch;
          if (r >= 0 && r < g.h && c0 >= 0 && c0 + g.fw <= g.w) {
            /* The window's row lies inside the image: its fw·ch floats are contiguous in x. */
            memcpy(out, x + at, sizeof(float) * g.fw * g.ch);
            out += (size_t)g.fw * g.ch;
            continue;
          }
          for (int kw = 0; kw < g.fw; kw++, out += g.ch, at += g.ch) {
            int c = c0 + kw;
            if (r < 0 || r >= g.h || c < 0 || c >= g.w) memset(out, 0, sizeof(float) * g.ch);
            else memcpy(out, x + at, sizeof(float) * g.ch);
          }
        }
      }
  return 0;
}

/* col2im(memory, colsByte, dxByte, nb, h, w, ch, fh, fw, sh, sw, pt, pl, oh, ow): dx = Σ columns. */
static napi_value col2im(napi_env env, napi_callback_info info) {
  args in = read_args(env, info);
  const float *cols = floats(&in, 1);
  float *dx = floats(&in, 2);
  geometry g = read_geometry(&in, 3);
  memset(dx, 0, sizeof(float) * (size_t)g.nb * g.h * g.w * g.ch);
  size_t row = (size_t)g.fh * g.fw * g.ch;
  for (int b = 0; b < g.nb; b++)
    for (int y = 0; y < g.oh; y++)
      for (int xx = 0; xx < g.ow; xx++) {
        const float *in = cols + (((size_t)b * g.oh + y) * g.ow + xx) * row;
        for (int kh = 0; kh < g.fh; kh++) {
          int r = y * g.sh + kh - g.pt;
          for (int kw = 0; kw < g.fw; kw++, in += g.ch) {
            int c = xx * g.sw + kw - g.pl;
            if (r < 0 || r >= g.h || c < 0 || c >= g.w) continue;
            float *out = dx + (((size_t)b * g.h + r) * g.w + c) * g.ch;
            for (int i = 0; i < g.ch; i++) out[i] += in[i];
          }
        }
      }
  return 0;
}

/* The pooling windows: output pixel (y, x) of image b pools rows [r0, r1) and columns [c0, c1) of
   the input, clipped to it; max[k] (k < n) is the largest x[b, ·, ·, k0 + k] there (−∞ when none is
   larger). Channels innermost and no branches, so that the compiler vectorises the loops. */
enum { LANES = 64 };
typedef struct { int r0, r1, c0, c1; } window;

static window window_at(const geometry *g, int y, int x) {
  window v = {y * g->sh - g->pt, 0, x * g->sw - g->pl, 0};
  v.r1 = v.r0 + g->fh < g->h ? v.r0 + g->fh : g->h;
  v.c1 = v.c0 + g->fw < g->w ? v.c0 + g->fw : g->w;
  if (v.r0 < 0) v.r0 = 0;
  if (v.c0 < 0) v.c0 = 0;
  return v;
}

static void window_max(const float *x, const geometry *g, int b, window v, int k0, int n, float *max) {
  for (int k = 0; k < n; k++) max[k] = -INFINITY;
  for (int r = v.r0; r < v.r1; r++)
    for (int c = v.c0; c < v.c1; c++) {
      const float *at = x + (((size_t)b * g->h + r) * g->w + c) * g->ch + k0;
      for (int k = 0; k < n; k++) max[k] = at[k] > max[k] ? at[k] : max[k];
    }
}

/* maxpool(memory, xByte, yByte, nb, h, w, ch, fh, fw, sh, sw, pt, pl, oh, ow): y = the max pool of x. */
static napi_value maxpool(napi_env env, napi_callback_info info) {
  args in = read_args(env, info);
  const float *x = floats(&in, 1);
  float *y = floats(&in, 2);
  geometry g = read_geometry(&in, 3);
  for (int b = 0; b < g.nb; b++)
    for (int i = 0; i < g.oh; i++)
      for (int j = 0; j < g.ow; j++) {
        float *out = y + (((size_t)b * g.oh + i) * g.ow + j) * g.ch;
        for (int k0 = 0; k0 < g.ch; k0 += LANES)
          window_max(x, &g, b, window_at(&g, i, j), k0, g.ch - k0 < LANES ? g.ch - k0 : LANES, out + k0);
      }
  return 0;
}

/* maxpoolgrad(memory, xByte, dyByte, dxByte, nb, h, w, ch, fh, fw, sh, sw, pt, pl, oh, ow): the gradient
   of a max pool, dx[b, i, j, c] = Σ dy[b, y, x, c] over the windows (y, x) whose first maximum in
   row-major order of x[b, ·, ·, c] sits at (i, j); dx is overwritten. */
static napi_value maxpoolgrad(napi_env env, napi_callback_info info) {
  args in = read_args(env, info);
  const float *x = floats(&in, 1), *dy = floats(&in, 2);
  float *dx = floats(&in, 3);
  geometry g = read_geometry(&in, 4);
  memset(dx, 0, sizeof(float) * (size_t)g.nb * g.h * g.w * g.ch);
  float max[LANES], owed[LANES];
  for (int b = 0; b < g.nb; b++)
    for (int i = 0; i < g.oh; i++)
      for (int j = 0; j < g.ow; j++) {
        window v = window_at(&g, i, j);
        const float *grad = dy + (((size_t)b * g.oh + i) * g.ow + j) * g.ch;
        for (int k0 = 0; k0 < g.ch; k0 += LANES) {
          int n = g.ch - k0 < LANES ? g.ch - k0 : LANES;
          window_max(x, &g, b, v, k0, n, max);
          /* The gradient goes to the first tap that holds the maximum (none when all are −∞ or NaN):
             owed[k] is what is still to give, zero once given. */
          for (int k = 0; k < n; k++) owed[k] = max[k] > -INFINITY ? grad[k0 + k] : 0.0f;
          for (int r = v.r0; r < v.r1; r++)
            for (int c = v.c0; c < v.c1; c++) {
              size_t at = (((size_t)b * g.h + r) * g.w + c) * g.ch + k0;
              for (int k = 0; k < n; k++) {
                int hit = x[at + k] == max[k];
                dx[at + k] += hit ? owed[k] : 0.0f;
                owed[k] = hit ? 0.0f : owed[k];
              }
            }
        }
      }
  return 0;
}

/* Compiled twice where the compiler and loader allow (GCC or Clang on Linux): for AVX2 and for the
   baseline, picked at load time by the CPU. */
#if defined(__linux__) && defined(__x86_64__) && (defined(__GNUC__) || defined(__clang__))
#define WIDE __attribute__((target_clones("avx2", "default")))
#else
#define WIDE
#endif

/* The loop of adam() below; restrict tells the compiler the arrays do not overlap, so it vectorises. */
WIDE static void adam_loop(size_t n, const float *restrict theta, const float *restrict g,
                           float *restrict m, float *restrict v, float *restrict theta1, float b1,
                           float b2, float eps, float rate, float root) {
  float c1 = 1.0f - b1, c2 = 1.0f - b2;
  for (size_t i = 0; i < n; i++) {
    float gi = g[i];
    float mi = b1 * m[i] + c1 * gi;
    float vi = b2 * v[i] + c2 * gi * gi;
    m[i] = mi;
    v[i] = vi;
    theta1[i] = theta[i] - rate * mi / (sqrtf(vi) * root + eps);
  }
}

typedef struct {
  const float *theta, *g;
  float *m, *v, *theta1;
  float b1, b2, eps, rate, root;
  size_t n, size;
} adam_job;

static void adam_chunk(const void *ctx, int i) {
  const adam_job *j = (const adam_job *)ctx;
  size_t from = (size_t)i * j->size, count = j->n - from < j->size ? j->n - from : j->size;
  adam_loop(count, j->theta + from, j->g + from, j->m + from, j->v + from, j->theta1 + from, j->b1, j->b2,
            j->eps, j->rate, j->root);
}

/* adam(memory, n, valueAt, gradAt, mAt, vAt, outValueAt, beta1, beta2, epsilon, rate, root): one
   Adam update of n floats (see adam.ts): the moments m and v in place, the new value to outValue.
   Large updates are shared with the helpers (the loop is bound by memory, which one core does not
   saturate). */
static napi_value adam(napi_env env, napi_callback_info info) {
  args in = read_args(env, info);
  adam_job j = {floats(&in, 2), floats(&in, 3), floats(&in, 4), floats(&in, 5), floats(&in, 6),
                (float)arg(&in, 7), (float)arg(&in, 8), (float)arg(&in, 9), (float)arg(&in, 10),
                (float)arg(&in, 11), (size_t)arg(&in, 1), 0};
  j.size = (size_t)chunk_size((int)(j.n < (size_t)1 << 30 ? j.n : (size_t)1 << 30), 64);
  if (j.n >= (size_t)1 << 16 && share(adam_chunk, &j, (int)((j.n + j.size - 1) / j.size))) return 0;
  adam_loop(j.n, j.theta, j.g, j.m, j.v, j.theta1, j.b1, j.b2, j.eps, j.rate, j.root);
  return 0;
}

/* The data of argument i, a typed array (plan and targets of dense_step). */
static void *typed(const args *a, int i) {
  void *data = 0;
  napi_typedarray_type type;
  size_t length = 0, offset = 0;
  napi_value buffer;
  napi_get_typedarray_info(a->env, a->v[i], &type, &length, &data, &buffer, &offset);
  return data;
}

/* denseStep(memory, plan, targets): one training step's forward and backward pass through a chain of
   Dense layers (see train/fused-step.ts), returning the mean softmax cross-entropy. plan (Float64Array):
   rows, layers, xAt, active, lowest, gAt, g2At, then 8 numbers per layer: in, out, relu, wAt, bAt, hAt,
   dwAt, dbAt (byte offsets into memory; 0 = none). Layer l writes its output to hAt; the loss reads the
   first "active" outputs of the last layer; gradients go back down to layer "lowest", through the
   scratch buffers g and g2 (rows × the widest layer each). targets (Int32Array) must be in [0, active). */
static napi_value dense_step(napi_env env, napi_callback_info info) {
  args in = read_args(env, info);
  const double *p = (const double *)typed(&in, 1);
  const int *t = (const int *)typed(&in, 2);
  int rows = (int)p[0], layers = (int)p[1], active = (int)p[3], lowest = (int)p[4];
  char *heap = in.heap;
#define AT(v) ((float *)(heap + (size_t)(v)))
#define LAYER(l) (p + 7 + 8 * (l))
  const float *h = AT(p[2]);
  for (int l = 0; l < layers; l++) {
    const double *q = LAYER(l);
    affine(0, 0, rows, (int)q[1], (int)q[0], h, AT(q[3]), q[4] > 0 ? AT(q[4]) : 0, q[2] > 0, AT(q[5]));
    h = AT(q[5]);
  }
  /* Softmax cross-entropy over the first "active" logits, and its gradient (zero for the others). */
  int n = (int)LAYER(layers - 1)[1];
  float *g = AT(p[5]), *g2 = AT(p[6]);
  double total = 0, scale = 1.0 / rows;
  for (int r = 0; r < rows; r++) {
    const float *x = h + (size_t)r * n;
    float *d = g + (size_t)r * n;
    double max = -INFINITY, sum = 0;
    for (int c = 0; c < active; c++) max = x[c] > max ? x[c] : max;
    for (int c = 0; c < active; c++) sum += exp(x[c] - max);
    for (int c = 0; c < n; c++) d[c] = c < active ? (float)(exp(x[c] - max) / sum * scale) : 0.0f;
    d[t[r]] -= (float)scale;
    total += max + log(sum) - x[t[r]];
  }
  for (int l = layers - 1; l >= lowest; l--) {
    const double *q = LAYER(l);
    int n_in = (int)q[0], n_out = (int)q[1];
    size_t size = (size_t)rows * n_out;
    if (q[2] > 0) {
      const float *out = AT(q[5]);
      for (size_t i = 0; i < size; i++) g[i] = out[i] > 0 ? g[i] : 0.0f;
    }
    const float *below = l == 0 ? AT(p[2]) : AT(LAYER(l - 1)[5]);
    if (q[6] > 0)
      product(1, 0, n_in, n_out, rows, below, n_in, g, n_out, 0.0f, AT(q[6]), n_out);
    if (q[7] > 0) {
      float *db = AT(q[7]);
      memset(db, 0, sizeof(float) * n_out);
      for (int r = 0; r < rows; r++)
        for (int j = 0; j < n_out; j++) db[j] += g[(size_t)r * n_out + j];
    }
    if (l > lowest) {
      product(0, 1, rows, n_in, n_out, g, n_out, AT(q[3]), n_out, 0.0f, g2, n_in);
      float *swap = g;
      g = g2;
      g2 = swap;
    }
  }
#undef AT
#undef LAYER
  napi_value loss;
  napi_create_double(env, total / rows, &loss);
  return loss;
}

typedef void (*set_threads_t)(int);
static set_threads_t set_threads = 0;

/* threads(n): shares each product between n threads when n > 0 (the caller and n − 1 helpers; see
   product()); returns how many share them. The BLAS itself runs on one thread per call. */
static napi_value threads(napi_env env, napi_callback_info info) {
  size_t argc = 1;
  napi_value argv[1];
  napi_get_cb_info(env, info, &argc, argv, 0, 0);
  int n = argc > 0 ? (int)num(env, argv[0]) : 0;
  napi_value out;
  napi_create_int32(env, n > 0 ? pool_threads(n) : atomic_load(&wanted) + 1, &out);
  return out;
}

static napi_value init(napi_env env, napi_value exports) {
  const char *names[] = {"libopenblas.so.0", "libopenblas.so", "libblis.so.4", "libcblas.so.3",
                         "libblas.so.3", 0};
  const char *found = 0;
  for (int i = 0; names[i] && !sgemm; i++) {
    void *lib = dlopen(names[i], RTLD_NOW | RTLD_LOCAL);
    if (!lib) continue;
    sgemm = (sgemm_t)dlsym(lib, "cblas_sgemm");
    if (!sgemm) continue;
    found = names[i];
    set_threads = (set_threads_t)dlsym(lib, "openblas_set_num_threads");
    if (!set_threads) set_threads = (set_threads_t)dlsym(lib, "bli_thread_set_num_threads");
  }
  /* The pool shares the products out (product()); each call to the BLAS is one thread. */
  if (set_threads) set_threads(1);
  if (!sgemm) {
    napi_throw_error(env, 0, "no system BLAS with cblas_sgemm found (libopenblas.so.0, libblas.so.3, ...)");
    return 0;
  }
  napi_value library;
  napi_create_string_utf8(env, found, NAPI_AUTO_LENGTH, &library);
  napi_property_descriptor props[] = {
      {"gemm", 0, gemm, 0, 0, 0, napi_default, 0},
      {"im2col", 0, im2col, 0, 0, 0, napi_default, 0},
      {"col2im", 0, col2im, 0, 0, 0, napi_default, 0},
      {"maxPool", 0, maxpool, 0, 0, 0, napi_default, 0},
      {"maxPoolGrad", 0, maxpoolgrad, 0, 0, 0, napi_default, 0},
      {"threads", 0, threads, 0, 0, 0, napi_default, 0},
      {"adam", 0, adam, 0, 0, 0, napi_default, 0},
      {"denseStep", 0, dense_step, 0, 0, 0, napi_default, 0},
      {"library", 0, 0, 0, 0, library, napi_default, 0},
  };
  napi_define_properties(env, exports, sizeof(props) / sizeof(props[0]), props);
  return exports;
}

NAPI_MODULE(NODE_GYP_MODULE_NAME, init)
`;

/** The addon's functions; offsets are in bytes into `memory` (the wasm heap). */
export interface NativeBlas {
  /** c[m×n] = op(a)·op(b) (+ bias[n] when biasAt > 0) (then relu when asked). */
  gemm(
    memory: ArrayBuffer,
    transposeA: number,
    transposeB: number,
    m: number,
    n: number,
    k: number,
    aAt: number,
    bAt: number,
    cAt: number,
    biasAt: number,
    relu: number,
  ): void;
  /** Columns [nb·oh·ow, fh·fw·ch] of the NHWC image x for a convolution of the given geometry. */
  im2col(memory: ArrayBuffer, xAt: number, colsAt: number, ...geometry: Geometry): void;
  /** The reverse of im2col, adding overlapping columns: dx = Σ columns (dx is overwritten). */
  col2im(memory: ArrayBuffer, colsAt: number, dxAt: number, ...geometry: Geometry): void;
  /** The max pool of the NHWC image x over the windows of the geometry (fh×fw, strides, padding). */
  maxPool(memory: ArrayBuffer, xAt: number, yAt: number, ...geometry: Geometry): void;
  /**
   * The gradient of a max pool over the windows of the geometry (fh×fw, strides, padding): dx = dy
   * added at each window's first maximum of x, in row-major order (dx is overwritten).
   */
  maxPoolGrad(memory: ArrayBuffer, xAt: number, dyAt: number, dxAt: number, ...geometry: Geometry): void;
  /**
   * One Adam update of n floats (see adam.ts; rate = η/(1−β₁ᵗ), root = 1/√(1−β₂ᵗ)): the moments m and
   * v are updated in place, the new value is written at outValueAt.
   */
  adam(
    memory: ArrayBuffer,
    n: number,
    valueAt: number,
    gradientAt: number,
    mAt: number,
    vAt: number,
    outValueAt: number,
    beta1: number,
    beta2: number,
    epsilon: number,
    rate: number,
    root: number,
  ): void;
  /**
   * One training step's forward and backward pass through a chain of Dense layers, on the heap
   * (layout of `plan` in train/fused-step.ts); returns the mean softmax cross-entropy.
   */
  denseStep(memory: ArrayBuffer, plan: Float64Array, targets: Int32Array): number;
  /**
   * Shares each product between `n` threads (n > 0): the caller and n − 1 helper threads taking
   * chunks of it, each chunk one call to the BLAS on one thread. Returns how many threads share them
   * (`threads(0)` only asks).
   */
  threads(n: number): number;
  /** The shared library the addon found (libopenblas.so.0, libblas.so.3, ...). */
  readonly library: string;
}

/** Whether the native BLAS addon multiplies for the wasm kernels, and why not when it does not. */
export interface NativeBlasStatus {
  active: boolean;
  /** Why it is off: not built here (and what to install), turned off, or a failed self-check. */
  reason?: string;
  /** The threads that share each product. */
  threads?: number;
  /** The BLAS library it calls. */
  library?: string;
}

let addon: NativeBlas | null | undefined;
let why = 'not loaded yet';
let wantedThreads: number | undefined;

/** Relative error allowed between the addon's products and the reference (float32 sums of ≤ 40 terms). */
const tolerance = 1e-4;

/** Seeded numbers in [-1, 1) for the self-checks. */
function checkNumbers(): () => number {
  let seed = 7;
  return () => {
    seed = (seed * 1103515245 + 12345) % 2147483648;
    return seed / 1073741824 - 1;
  };
}

/**
 * Checks the addon before it is used: `blas.gemm` against a plain double-precision product on small
 * random matrices (every transpose, with and without the bias and relu epilogue), and `blas.adam`,
 * when given, against the same update in double precision. Returns what went wrong, or undefined
 * when everything agrees to float tolerance. Runs on its own buffer, not the wasm heap.
 */
export function nativeBlasSelfCheck(
  blas: Pick<NativeBlas, 'gemm'> & Partial<Pick<NativeBlas, 'adam'>>,
): string | undefined {
  return gemmCheck(blas) ?? (blas.adam ? adamCheck(blas.adam) : undefined);
}

function adamCheck(adam: NativeBlas['adam']): string | undefined {
  const random = checkNumbers();
  const n = 37; // not a multiple of the vector width: the loop's tail is checked too
  // value, gradient, m, v (v ≥ 0), then the new value; a float of padding first.
  const memory = new Float32Array(1 + 5 * n);
  for (let i = 1; i <= 4 * n; i++) memory[i] = i > 3 * n ? Math.abs(random()) : random();
  const before = memory.slice();
  const [b1, b2, eps, rate, root] = [0.9, 0.999, 1e-7, 0.01, 3];
  const at = (k: number) => 4 * (1 + k * n);
  adam(memory.buffer, n, at(0), at(1), at(2), at(3), at(4), b1, b2, eps, rate, root);
  let diff = 0;
  for (let i = 0; i < n; i++) {
    const [theta, g, m0, v0] = [0, 1, 2, 3].map((k) => before[1 + k * n + i]);
    const m = b1 * m0 + (1 - b1) * g;
    const v = b2 * v0 + (1 - b2) * g * g;
    // Where each result lands: the new value in the out array, m and v over their inputs.
    const want: [number, number][] = [
      [4, theta - (rate * m) / (Math.sqrt(v) * root + eps)],
      [2, m],
      [3, v],
    ];
    for (const [k, w] of want) {
      diff = Math.max(diff, Math.abs(memory[1 + k * n + i] - w) / Math.max(1, Math.abs(w)));
    }
  }
  return diff < tolerance
    ? undefined
    : `its Adam update is off by ${diff.toExponential(1)} (relative) from the reference`;
}

/**
 * The operands of an m×k by k×n product laid out for `gemm` in one buffer, in floats: one float of
 * padding (byte offset 0 means "no bias"), a, b, a bias of n, then c (NaN until written). `value(i)`
 * gives the i-th float of a, b and the bias.
 */
export function gemmOperands(
  m: number,
  k: number,
  n: number,
  value: (i: number) => number,
): { memory: Float32Array<ArrayBuffer>; aAt: number; bAt: number; biasAt: number; cAt: number } {
  const aAt = 1;
  const bAt = aAt + m * k;
  const biasAt = bAt + k * n;
  const cAt = biasAt + n;
  const memory = new Float32Array(cAt + m * n);
  for (let i = aAt; i < cAt; i++) memory[i] = value(i - aAt);
  memory.fill(Number.NaN, cAt);
  return { memory, aAt, bAt, biasAt, cAt };
}

function gemmCheck(blas: Pick<NativeBlas, 'gemm'>): string | undefined {
  const random = checkNumbers();
  const cases: [m: number, k: number, n: number, ta: boolean, tb: boolean, bias: boolean, relu: boolean][] = [
    [5, 7, 3, false, false, false, false],
    [9, 17, 13, true, false, false, false],
    [16, 33, 8, false, true, false, false],
    [7, 6, 11, true, true, false, false],
    [12, 40, 10, false, false, true, true],
    [3, 20, 21, false, true, true, false],
  ];
  for (const [m, k, n, ta, tb, bias, relu] of cases) {
    const { memory, aAt, bAt, biasAt, cAt } = gemmOperands(m, k, n, random);
    const a = (i: number, p: number) => memory[aAt + (ta ? p * m + i : i * k + p)];
    const b = (p: number, j: number) => memory[bAt + (tb ? j * k + p : p * n + j)];
    blas.gemm(memory.buffer, +ta, +tb, m, n, k, 4 * aAt, 4 * bAt, 4 * cAt, bias ? 4 * biasAt : 0, +relu);
    let diff = 0;
    let scale = 1e-6;
    for (let i = 0; i < m; i++) {
      for (let j = 0; j < n; j++) {
        let want = bias ? memory[biasAt + j] : 0;
        for (let p = 0; p < k; p++) want += a(i, p) * b(p, j);
        if (relu) want = Math.max(0, want);
        const got = memory[cAt + i * n + j];
        diff = Number.isNaN(got) ? Infinity : Math.max(diff, Math.abs(got - want));
        scale = Math.max(scale, Math.abs(want));
      }
    }
    if (!(diff / scale < tolerance)) {
      const op = `${ta ? 'aᵀ' : 'a'}·${tb ? 'bᵀ' : 'b'}${bias ? ' + bias' : ''}${relu ? ', relu' : ''}`;
      return `its ${m}×${k}×${n} product ${op} is off by ${(diff / scale).toExponential(1)} (relative) from the reference`;
    }
  }
  return undefined;
}

/** The reason a build step failed, with what to install. */
function buildFailure(e: unknown, cc: string): string {
  const error = e as Error & { code?: string; stderr?: Buffer | string };
  if (error.code === 'ENOENT')
    return `no C compiler at '${cc}' (ENOENT); install one (apt install gcc) or set CC`;
  const detail =
    String(error.stderr ?? '')
      .split('\n')
      .find((l) => l.includes('error')) ?? error.message;
  return `compiling the addon with '${cc}' failed: ${detail.split('\n')[0]}`;
}

/**
 * Loads the native BLAS addon, compiling it first (about a second) when `build` and it is not in
 * the cache yet, and checks its products (`nativeBlasSelfCheck`). Returns null, and remembers why
 * (`nativeBlasState`), where that is not possible.
 */
export function loadNativeBlas(build = true): NativeBlas | null {
  if (addon !== undefined) return addon;
  if (typeof process === 'undefined' || typeof process.getBuiltinModule !== 'function') {
    why = 'not on Node.js ≥ 20.16';
    addon = null;
    return addon;
  }
  // Node's modules are looked up here, not imported, so that browser bundles of unforget never see them.
  const { execFileSync } = process.getBuiltinModule('node:child_process');
  const { createHash } = process.getBuiltinModule('node:crypto');
  const { existsSync, mkdirSync, renameSync, rmSync, writeFileSync } = process.getBuiltinModule('node:fs');
  const { createRequire } = process.getBuiltinModule('node:module');
  const { dirname, join, resolve } = process.getBuiltinModule('node:path');
  const cacheDir = unforgetCache();
  const headers = [
    resolve(dirname(process.execPath), '..', 'include', 'node'),
    '/usr/include/node',
    '/usr/local/include/node',
  ].find((dir) => existsSync(join(dir, 'node_api.h')));
  // -fno-math-errno lets the compiler vectorise sqrtf (Adam's update), -fno-trapping-math the
  // compares of the max pools (neither changes a result).
  const flags = ['-O3', '-fno-math-errno', '-fno-trapping-math', '-shared', '-fPIC'];
  const hash = createHash('sha256').update(source).update(flags.join(' ')).digest('hex').slice(0, 16);
  const file = join(cacheDir, `blas-${hash}-${process.platform}-${process.arch}.node`);
  let loaded: NativeBlas;
  try {
    if (!existsSync(file)) {
      if (!build) throw new Error(`${file} is not built`);
      if (!headers)
        throw new Error("Node's C headers (node_api.h) are not installed (apt install libnode-dev)");
      mkdirSync(cacheDir, { recursive: true });
      const c = `${file}.${process.pid}.c`;
      writeFileSync(c, source);
      const cc = process.env.CC ?? 'cc';
      try {
        execFileSync(cc, [...flags, `-I${headers}`, '-o', `${file}.${process.pid}`, c, '-ldl', '-lm'], {
          stdio: 'pipe',
        });
      } catch (e) {
        throw new Error(buildFailure(e, cc));
      } finally {
        rmSync(c, { force: true });
      }
      renameSync(`${file}.${process.pid}`, file);
    }
    try {
      loaded = createRequire(import.meta.url)(file) as NativeBlas;
    } catch (e) {
      const message = (e as Error).message.split('\n')[0];
      throw new Error(
        message.includes('cblas_sgemm') ? `${message} (apt install libopenblas0-pthread)` : message,
      );
    }
  } catch (e) {
    addon = null;
    why = (e as Error).message.split('\n')[0];
    return addon;
  }
  const failed = nativeBlasSelfCheck(loaded);
  if (failed) {
    addon = null;
    why = `the system BLAS (${loaded.library}) failed unforget's self-check: ${failed}`;
    return addon;
  }
  addon = loaded;
  // One thread until a run asks for more (see askedBlasThreads): experiments run one process per core.
  addon.threads(askedBlasThreads() ?? 1);
  why = '';
  return addon;
}

/** The loaded addon, or null when none was loaded. */
export function nativeBlas(): NativeBlas | null {
  return addon ?? null;
}

/**
 * How many threads share each native product: the caller and helper threads taking chunks of it,
 * each chunk one single-threaded call to the BLAS, so this works with any BLAS (before the addon
 * loads it is remembered for when it does). Without a call (or UNFORGET_BLAS_THREADS)
 * unforget chooses for each training run: the cores (at most 4) when the run has the machine to
 * itself, else one (see `workerCount`); `compare` gives each of its processes one.
 *
 * ```ts
 * setNativeBlasThreads(1); // one BLAS thread, whatever the machine
 * ```
 */
export function setNativeBlasThreads(n: number): void {
  if (!(Number.isInteger(n) && n >= 1))
    throw new OptionError(`setNativeBlasThreads takes a whole number ≥ 1; got ${n}`);
  wantedThreads = n;
  addon?.threads(n);
}

/** The BLAS threads asked for (setNativeBlasThreads, else UNFORGET_BLAS_THREADS), or undefined: unforget chooses. */
export function askedBlasThreads(): number | undefined {
  if (wantedThreads !== undefined) return wantedThreads;
  const env = typeof process === 'undefined' ? undefined : process.env?.UNFORGET_BLAS_THREADS;
  if (env === undefined || env.trim() === '') return undefined;
  const n = Number(env);
  if (!(Number.isInteger(n) && n >= 1))
    throw new OptionError(`UNFORGET_BLAS_THREADS must be a whole number ≥ 1; got '${env}'`);
  return n;
}

/**
 * Runs `f` with the BLAS on `n` threads (as it is when `n` is undefined or no addon is loaded), without
 * taking that as the user's choice, and gives the previous count back when `f` settles.
 */
export async function withBlasThreads<T>(n: number | undefined, f: () => Promise<T>): Promise<T> {
  const before = n !== undefined && addon ? addon.threads(0) : 0;
  if (before > 0) addon?.threads(n!);
  try {
    return await f();
  } finally {
    if (before > 0) addon?.threads(before);
  }
}

let active = false;
let off = '';

/** Whether the kernels route their products to the native addon (set by enableWasmTrainingKernels). */
export function useNativeBlas(on: boolean, offReason = 'turned off'): void {
  active = on && nativeBlas() !== null;
  off = on ? '' : offReason;
}

/** The addon when the kernels should use it, else null. */
export function activeNativeBlas(): NativeBlas | null {
  return active ? nativeBlas() : null;
}

/** Whether the kernels use the addon; where not, why; where so, the library and its threads. */
export function nativeBlasState(): NativeBlasStatus {
  const blas = activeNativeBlas();
  if (!blas) return { active: false, reason: off || why || 'not loaded yet' };
  const threads = blas.threads(0);
  return { active: true, library: blas.library, ...(threads > 0 ? { threads } : {}) };
}
