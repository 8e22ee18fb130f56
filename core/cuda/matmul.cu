#include <cublasLt.h>
#include <cublas_v2.h>

#include <array>
#include <climits>
#include <map>
#include <mutex>
#include <tuple>
#include <type_traits>

#include "core/cuda/copy.h"
#include "core/cuda/kernel_utils.cuh"
#include "core/cuda/matmul.h"
#include "core/cuda/runtime_check.h"
#include "core/plans/matmul.h"
#include "core/plans/view.h"

/// Evaluates `call` (a cublasStatus_t expression); on failure throws recgrad::Error
/// "<op>: <call> failed: <status name>: <status text>".
#define RG_CUBLAS_CHECK(call, op)                                                                                 \
  do {                                                                                                            \
    const cublasStatus_t rg_cublas_status_ = (call);                                                              \
    if (rg_cublas_status_ != CUBLAS_STATUS_SUCCESS) {                                                             \
      throw ::recgrad::Error(::recgrad::detail::concat(op, ": ", #call,                                           \
                                                       " failed: ", cublasGetStatusName(rg_cublas_status_), ": ", \
                                                       cublasGetStatusString(rg_cublas_status_)));                \
    }                                                                                                             \
  } while (false)

namespace recgrad::cuda {
namespace {

constexpr int kMaxDevices = 64;

// The cuBLAS handle of the current device (the caller holds a DeviceGuard for `device`), created on first
// use and bound to stream(). Handles live until the process exits: destroying them from a static
// destructor could run after the CUDA runtime has shut down.
cublasHandle_t cublas_handle(int device, const char* op) {
  static std::mutex mutex;
  static std::array<cublasHandle_t, kMaxDevices> handles{};
  RG_CHECK(device >= 0 && device < kMaxDevices, op, ": CUDA device ordinal ", device, " out of range");
  const std::lock_guard<std::mutex> lock(mutex);
  if (handles[device] == nullptr) {
    cublasHandle_t handle = nullptr;
    RG_CUBLAS_CHECK(cublasCreate(&handle), op);
    RG_CUBLAS_CHECK(cublasSetStream(handle, stream()), op);
    // Split-K reductions of bf16 GEMMs accumulate in f32 too, not in the bf16 output type.
    RG_CUBLAS_CHECK(
        cublasSetMathMode(
            handle, static_cast<cublasMath_t>(CUBLAS_DEFAULT_MATH | CUBLAS_MATH_DISALLOW_REDUCED_PRECISION_REDUCTION)),
        op);
    handles[device] = handle;
  }
  return handles[device];
}

// One operand of the swapped (column-major) cuBLAS call. A row-major matrix X [rows, cols] with row
// stride ld is, read column-major, X^T with leading dimension ld: cuBLAS takes it as is (CUBLAS_OP_N)
// to get the X^T the swapped product needs. A transposed view (column stride ld, row stride 1) is X
// itself in column-major order, so cuBLAS transposes it (CUBLAS_OP_T).
struct Operand {
  bool usable = false;
  cublasOperation_t op = CUBLAS_OP_N;
  std::int64_t ld = 1;
};

// The operand layout of the last two dims of `t`, or usable == false when neither form fits
// (e.g. an expanded row, or a slice with a step in both dims).
Operand operand_of(const Tensor& t) {
  const std::int64_t r = t.dim();
  const std::int64_t rows = t.shape()[r - 2], cols = t.shape()[r - 1];
  const std::int64_t row_stride = t.strides()[r - 2], col_stride = t.strides()[r - 1];
  if ((col_stride == 1 || cols == 1) &&
      (rows == 1 || (row_stride >= std::max<std::int64_t>(1, cols) && row_stride <= INT_MAX))) {
    return {true, CUBLAS_OP_N, rows == 1 ? std::max<std::int64_t>(1, cols) : row_stride};
  }
  if ((row_stride == 1 || rows == 1) &&
      (cols == 1 || (col_stride >= std::max<std::int64_t>(1, rows) && col_stride <= INT_MAX))) {
    return {true, CUBLAS_OP_T, cols == 1 ? std::max<std::int64_t>(1, rows) : col_stride};
  }
  return {};
}

// cuBLAS's element type for a recgrad dtype.
cudaDataType_t cuda_type(DType dtype) {
  switch (dtype) {
    case DType::f32:
      return CUDA_R_32F;
    case DType::f64:
      return CUDA_R_64F;
    case DType::bf16:
      return CUDA_R_16BF;
    default:
      throw Error(detail::concat("gemm (CUDA): no cuBLAS type for ", dtype));
  }
}

// The accumulation type and the type of alpha/beta for operands of `dtype`: f64 in f64; f32 in f32,
// or TF32 tensor cores (10-bit mantissa inputs, f32 accumulation) when allow_tf32() is on; bf16 in f32.
struct ComputeConfig {
  cublasComputeType_t compute;
  bool double_scale;
};
ComputeConfig compute_config(DType operand_dtype) {
  if (operand_dtype == DType::f64) return {CUBLAS_COMPUTE_64F, true};
  if (operand_dtype == DType::f32 && allow_tf32()) return {CUBLAS_COMPUTE_32F_FAST_TF32, false};
  return {CUBLAS_COMPUTE_32F, false};
}

// alpha and beta in the scale type (cuBLAS reads them from host memory).
struct Scalars {
  double alpha_f64, beta_f64;
  float alpha_f32, beta_f32;
  const void* alpha(bool use_double) const { return use_double ? static_cast<const void*>(&alpha_f64) : &alpha_f32; }
  const void* beta(bool use_double) const { return use_double ? static_cast<const void*>(&beta_f64) : &beta_f32; }
};
Scalars scalars(double alpha, double beta) {
  return {alpha, beta, static_cast<float>(alpha), static_cast<float>(beta)};
}

int checked_int(std::int64_t value, const char* what, const char* op) {
  RG_CHECK(value <= INT_MAX, op, ": ", what, " ", value, " exceeds cuBLAS's 32-bit limit");
  return static_cast<int>(value);
}

// Device address of the element `element_offset` elements past t's first one.
char* element_address(const Tensor& t, std::int64_t element_offset) {
  return static_cast<char*>(t.device_pointer()) + element_offset * static_cast<std::int64_t>(element_size(t.dtype()));
}

// Calls fn(T{}) for the dtypes a GEMM output can have (f32, f64, bf16).
template <typename Fn>
void visit_gemm_dtype(DType dtype, const char* op, Fn&& fn) {
  switch (dtype) {
    case DType::f32:
      return fn(float{});
    case DType::f64:
      return fn(double{});
    case DType::bf16:
      return fn(bfloat16{});
    default:
      throw Error(detail::concat(op, ": unsupported dtype ", dtype));
  }
}

// c[i, j] = beta * c[i, j] over a [rows, cols] matrix with row stride ldc: the product with an empty
// reduction (k == 0), which cuBLAS is not asked to handle.
template <typename T>
__global__ void scale_matrix_kernel(T* c, std::int64_t rows, std::int64_t cols, std::int64_t ldc, float beta_f32,
                                    double beta_f64) {
  const std::int64_t total = rows * cols;
  for (std::int64_t i = grid_first(); i < total; i += grid_step()) {
    T& value = c[(i / cols) * ldc + i % cols];
    if constexpr (std::is_same_v<T, double>) {
      value = beta_f64 * value;
    } else {
      value = static_cast<T>(beta_f32 * static_cast<float>(value));
    }
  }
}

// out[r, j] = bias[j * bias_stride] for a [rows, cols] matrix with row stride ldo (consecutive threads
// write consecutive columns: coalesced).
template <typename T>
__global__ void broadcast_rows_kernel(T* out, const T* bias, std::int64_t rows, std::int64_t cols, std::int64_t ldo,
                                      std::int64_t bias_stride) {
  const std::int64_t total = rows * cols;
  for (std::int64_t i = grid_first(); i < total; i += grid_step()) {
    const std::int64_t j = i % cols;
    out[(i / cols) * ldo + j] = bias[j * bias_stride];
  }
}

// C = beta * C for the k == 0 product (beta == 0 writes zeros, whatever C held, NaN included).
void scale_output(const Tensor& c, double beta, const char* op) {
  if (beta == 0.0) {
    cuda::fill(c, 0.0);
    return;
  }
  const std::int64_t rows = c.size(0), cols = c.size(1);
  visit_gemm_dtype(c.dtype(), op, [&]<typename T>(T) {
    scale_matrix_kernel<T><<<grid_for(rows * cols), kThreads, 0, stream()>>>(
        static_cast<T*>(c.device_pointer()), rows, cols, c.stride(0), static_cast<float>(beta), beta);
  });
  RG_CUDA_CHECK_LAUNCH(op);
}

// ---- cuBLASLt: linear with the bias added in the GEMM's epilogue ----

// The cuBLASLt handle of the current device, like cublas_handle.
cublasLtHandle_t cublaslt_handle(int device, const char* op) {
  static std::mutex mutex;
  static std::array<cublasLtHandle_t, kMaxDevices> handles{};
  RG_CHECK(device >= 0 && device < kMaxDevices, op, ": CUDA device ordinal ", device, " out of range");
  const std::lock_guard<std::mutex> lock(mutex);
  if (handles[device] == nullptr) RG_CUBLAS_CHECK(cublasLtCreate(&handles[device]), op);
  return handles[device];
}

// Owns one cuBLASLt descriptor and destroys it at scope exit.
template <typename T, cublasStatus_t (*Destroy)(T)>
struct LtObject {
  T value = nullptr;
  LtObject() = default;
  LtObject(const LtObject&) = delete;
  LtObject& operator=(const LtObject&) = delete;
  ~LtObject() {
    if (value != nullptr) Destroy(value);
  }
};
using LtMatmulDesc = LtObject<cublasLtMatmulDesc_t, cublasLtMatmulDescDestroy>;
using LtLayout = LtObject<cublasLtMatrixLayout_t, cublasLtMatrixLayoutDestroy>;
using LtPreference = LtObject<cublasLtMatmulPreference_t, cublasLtMatmulPreferenceDestroy>;

// Largest power of two (up to 256, cuBLASLt's default requirement) that divides the address.
std::uint32_t alignment_of(const void* pointer) {
  const auto address = reinterpret_cast<std::uintptr_t>(pointer);
  std::uint32_t alignment = 256;
  while (alignment > 1 && address % alignment != 0) alignment /= 2;
  return alignment;
}

// Workspace cuBLASLt may use per call (split-K and similar algorithms); taken from the caching allocator
// only when the chosen algorithm needs it. Kernels run in issue order on stream(), so the block can go
// back to the cache when the call returns.
constexpr std::uint64_t kLtWorkspaceBytes = 4u << 20;

// The cuBLASLt algorithm chosen for one problem (found == false: none supports it), cached by
// everything the heuristic sees so that repeated calls (every training step) skip the query.
struct LtPlan {
  bool found = false;
  cublasLtMatmulAlgo_t algo{};
  std::size_t workspace_bytes = 0;
};
using LtPlanKey = std::tuple<int, DType, bool, int, int, std::int64_t, std::int64_t, std::int64_t, std::int64_t,
                             std::int64_t, std::uint32_t, std::uint32_t, std::uint32_t>;

// out [n, m] = x [n, k] @ w [k, m] + bias [m] as one cuBLASLt call (CUBLASLT_EPILOGUE_BIAS), in the swapped
// column-major form D^T [m, n] = op(w^T) op(x^T) + bias, the bias added to every column of D^T, i.e. to every
// row of out. Returns false, having done nothing, where this path does not apply: dtypes other than f32 and
// bf16, a bias that is strided or not 16-byte aligned, an output with padding between rows (the epilogue
// has been unreliable with ldc != rows on some GPUs), an empty product, or no algorithm for the problem.
bool linear_with_bias_epilogue(const Tensor& out, const Tensor& x, const Tensor& w, const Tensor& bias) {
  const char* op = "linear (CUDA, cuBLASLt)";
  if (out.dtype() != DType::f32 && out.dtype() != DType::bf16) return false;
  const std::int64_t n = x.size(0), k = x.size(1), m = w.size(1);
  if (n == 0 || m == 0 || k == 0 || n > INT_MAX || m > INT_MAX || k > INT_MAX) return false;
  const Operand ox = operand_of(x), ow = operand_of(w), oo = operand_of(out);
  if (!ox.usable || !ow.usable || !oo.usable || oo.op != CUBLAS_OP_N || oo.ld != m) return false;
  if ((bias.stride(0) != 1 && m > 1) || alignment_of(bias.device_pointer()) < 16) return false;

  const int device = out.device().index;
  const DeviceGuard guard(device, op);
  const cublasLtHandle_t handle = cublaslt_handle(device, op);
  const ComputeConfig config = compute_config(out.dtype());
  const cudaDataType_t type = cuda_type(out.dtype());

  LtMatmulDesc desc;
  RG_CUBLAS_CHECK(cublasLtMatmulDescCreate(&desc.value, config.compute, CUDA_R_32F), op);
  const cublasLtEpilogue_t epilogue = CUBLASLT_EPILOGUE_BIAS;
  const void* bias_pointer = bias.device_pointer();
  RG_CUBLAS_CHECK(cublasLtMatmulDescSetAttribute(desc.value, CUBLASLT_MATMUL_DESC_TRANSA, &ow.op, sizeof(ow.op)), op);
  RG_CUBLAS_CHECK(cublasLtMatmulDescSetAttribute(desc.value, CUBLASLT_MATMUL_DESC_TRANSB, &ox.op, sizeof(ox.op)), op);
  RG_CUBLAS_CHECK(
      cublasLtMatmulDescSetAttribute(desc.value, CUBLASLT_MATMUL_DESC_EPILOGUE, &epilogue, sizeof(epilogue)), op);
  RG_CUBLAS_CHECK(cublasLtMatmulDescSetAttribute(desc.value, CUBLASLT_MATMUL_DESC_BIAS_POINTER, &bias_pointer,
                                                 sizeof(bias_pointer)),
                  op);
  // The stored (pre-op) matrices, column-major: w^T is [m, k] as is, or [k, m] to be transposed; x^T likewise.
  LtLayout w_layout, x_layout, out_layout;
  const bool w_plain = ow.op == CUBLAS_OP_N, x_plain = ox.op == CUBLAS_OP_N;
  RG_CUBLAS_CHECK(cublasLtMatrixLayoutCreate(&w_layout.value, type, w_plain ? m : k, w_plain ? k : m, ow.ld), op);
  RG_CUBLAS_CHECK(cublasLtMatrixLayoutCreate(&x_layout.value, type, x_plain ? k : n, x_plain ? n : k, ox.ld), op);
  RG_CUBLAS_CHECK(cublasLtMatrixLayoutCreate(&out_layout.value, type, m, n, m), op);

  const std::uint32_t w_align = alignment_of(w.device_pointer()), x_align = alignment_of(x.device_pointer());
  const std::uint32_t out_align = alignment_of(out.device_pointer());
  const LtPlanKey key{device,   out.dtype(), config.compute == CUBLAS_COMPUTE_32F_FAST_TF32,
                      ow.op,    ox.op,       m,
                      n,        k,           ow.ld,
                      ox.ld,    w_align,     x_align,
                      out_align};
  static std::mutex plans_mutex;
  static std::map<LtPlanKey, LtPlan> plans;
  LtPlan plan;
  bool cached = false;
  {
    const std::lock_guard<std::mutex> lock(plans_mutex);
    if (const auto it = plans.find(key); it != plans.end()) plan = it->second, cached = true;
  }
  if (!cached) {
    LtPreference preference;
    RG_CUBLAS_CHECK(cublasLtMatmulPreferenceCreate(&preference.value), op);
    const std::uint64_t workspace_limit = kLtWorkspaceBytes;
    RG_CUBLAS_CHECK(cublasLtMatmulPreferenceSetAttribute(preference.value, CUBLASLT_MATMUL_PREF_MAX_WORKSPACE_BYTES,
                                                         &workspace_limit, sizeof(workspace_limit)),
                    op);
    const std::pair<cublasLtMatmulPreferenceAttributes_t, std::uint32_t> alignments[] = {
        {CUBLASLT_MATMUL_PREF_MIN_ALIGNMENT_A_BYTES, w_align},
        {CUBLASLT_MATMUL_PREF_MIN_ALIGNMENT_B_BYTES, x_align},
        {CUBLASLT_MATMUL_PREF_MIN_ALIGNMENT_C_BYTES, out_align},
        {CUBLASLT_MATMUL_PREF_MIN_ALIGNMENT_D_BYTES, out_align}};
    for (const auto& [attribute, bytes] : alignments) {
      RG_CUBLAS_CHECK(cublasLtMatmulPreferenceSetAttribute(preference.value, attribute, &bytes, sizeof(bytes)), op);
    }
    cublasLtMatmulHeuristicResult_t result{};
    int returned = 0;
    const cublasStatus_t status =
        cublasLtMatmulAlgoGetHeuristic(handle, desc.value, w_layout.value, x_layout.value, out_layout.value,
                                       out_layout.value, preference.value, 1, &result, &returned);
    if (status != CUBLAS_STATUS_NOT_SUPPORTED) RG_CUBLAS_CHECK(status, op);
    plan.found = status == CUBLAS_STATUS_SUCCESS && returned > 0;
    if (plan.found) {
      plan.algo = result.algo;
      plan.workspace_bytes = result.workspaceSize;
    }
    const std::lock_guard<std::mutex> lock(plans_mutex);
    plans.emplace(key, plan);
  }
  if (!plan.found) return false;

  const Tensor workspace = plan.workspace_bytes > 0 ? Tensor::empty({static_cast<std::int64_t>(plan.workspace_bytes)},
                                                                    DType::u8, out.device())
                                                    : Tensor();
  const float alpha = 1.0f, beta = 0.0f;
  RG_CUBLAS_CHECK(
      cublasLtMatmul(handle, desc.value, &alpha, w.device_pointer(), w_layout.value, x.device_pointer(), x_layout.value,
                     &beta, out.device_pointer(), out_layout.value, out.device_pointer(), out_layout.value, &plan.algo,
                     workspace.defined() ? workspace.device_pointer() : nullptr, plan.workspace_bytes, stream()),
      op);
  return true;
}

}  // namespace

void gemm(const Tensor& c, const Tensor& a, const Tensor& b, double alpha, double beta) {
  const char* op = "gemm (CUDA)";
  const std::int64_t n = a.size(0), k = a.size(1), m = b.size(1);
  if (n == 0 || m == 0) return;
  const DeviceGuard guard(c.device().index, op);
  if (k == 0) {
    scale_output(c, beta, op);
    return;
  }
  const Operand oa = operand_of(a), ob = operand_of(b), oc = operand_of(c);
  RG_CHECK(oa.usable && ob.usable, op, ": operands ", a.shape(), " (strides ", a.strides(), ") and ", b.shape(),
           " (strides ", b.strides(), ") must be row-major or transposed matrices; make them contiguous first");
  RG_CHECK(oc.usable && oc.op == CUBLAS_OP_N, op, ": the output ", c.shape(), " with strides ", c.strides(),
           " must be row-major with unit column stride");
  const ComputeConfig config = compute_config(a.dtype());
  const Scalars s = scalars(alpha, beta);
  // Column-major: C^T [m, n] = op(B^T) [m, k] @ op(A^T) [k, n].
  RG_CUBLAS_CHECK(
      cublasGemmEx(cublas_handle(c.device().index, op), ob.op, oa.op, checked_int(m, "m", op), checked_int(n, "n", op),
                   checked_int(k, "k", op), s.alpha(config.double_scale), b.device_pointer(), cuda_type(b.dtype()),
                   static_cast<int>(ob.ld), a.device_pointer(), cuda_type(a.dtype()), static_cast<int>(oa.ld),
                   s.beta(config.double_scale), c.device_pointer(), cuda_type(c.dtype()), static_cast<int>(oc.ld),
                   config.compute, CUBLAS_GEMM_DEFAULT),
      op);
}

void gemm_batched(const Tensor& out, const Tensor& a, const Tensor& b) {
  const char* op = "matmul (CUDA)";
  const std::int64_t rank = out.dim();
  const std::int64_t n = a.size(-2), k = a.size(-1), m = b.size(-1);
  if (out.numel() == 0) return;
  const DeviceGuard guard(out.device().index, op);
  if (k == 0) {
    cuda::fill(out, 0.0);
    return;
  }
  const Operand oa = operand_of(a), ob = operand_of(b);
  RG_CHECK(oa.usable && ob.usable, op, ": operands ", a.shape(), " (strides ", a.strides(), ") and ", b.shape(),
           " (strides ", b.strides(), ") must hold row-major or transposed matrices; make them contiguous first");
  RG_CHECK(out.is_contiguous(), op, ": the output must be contiguous, got strides ", out.strides());

  // Batch dims [inner_begin, rank - 2) form the inner run: a and b step by one stride across all of
  // them (batch dims of size 1 never break a run); out is contiguous, so it always does.
  const std::int64_t batch_rank = rank - 2;
  std::int64_t inner_begin = batch_rank, inner_count = 1, a_step = 0, b_step = 0;
  bool started = false;
  for (std::int64_t d = batch_rank - 1; d >= 0; --d) {
    const std::int64_t size = out.shape()[d];
    if (size == 1) {
      inner_begin = d;
      continue;
    }
    if (!started) {
      a_step = a.strides()[d];
      b_step = b.strides()[d];
      started = true;
    } else if (a.strides()[d] != a_step * inner_count || b.strides()[d] != b_step * inner_count) {
      break;
    }
    inner_count *= size;
    inner_begin = d;
  }
  const std::int64_t outer_count = out.numel() / (inner_count * n * m);

  const ComputeConfig config = compute_config(a.dtype());
  const Scalars s = scalars(1.0, 0.0);
  const cublasHandle_t handle = cublas_handle(out.device().index, op);
  const int mi = checked_int(m, "m", op), ni = checked_int(n, "n", op), ki = checked_int(k, "k", op);
  const int batch = checked_int(inner_count, "batch count", op);
  const cudaDataType_t type = cuda_type(a.dtype()), out_type = cuda_type(out.dtype());
  for (std::int64_t outer = 0; outer < outer_count; ++outer) {
    // Offsets of this outer index in a and b (row-major over the outer batch dims).
    std::int64_t a_offset = 0, b_offset = 0, rest = outer;
    for (std::int64_t d = inner_begin - 1; d >= 0; --d) {
      const std::int64_t index = rest % out.shape()[d];
      rest /= out.shape()[d];
      a_offset += index * a.strides()[d];
      b_offset += index * b.strides()[d];
    }
    char* out_address = element_address(out, outer * inner_count * n * m);
    RG_CUBLAS_CHECK(cublasGemmStridedBatchedEx(handle, ob.op, oa.op, mi, ni, ki, s.alpha(config.double_scale),
                                               element_address(b, b_offset), type, static_cast<int>(ob.ld), b_step,
                                               element_address(a, a_offset), type, static_cast<int>(oa.ld), a_step,
                                               s.beta(config.double_scale), out_address, out_type, mi, n * m, batch,
                                               config.compute, CUBLAS_GEMM_DEFAULT),
                    op);
  }
}

void linear(const Tensor& out, const Tensor& x, const Tensor& weight, const Tensor& bias) {
  const char* op = "linear (CUDA)";
  const Tensor weight_t = raw::transpose(weight, 0, 1);
  if (!bias.defined()) {
    gemm(out, x, weight_t, 1.0, 0.0);
    return;
  }
  if (linear_with_bias_epilogue(out, x, weight_t, bias)) return;
  // Otherwise: every row of out starts as the bias, and the GEMM accumulates onto it.
  const std::int64_t rows = out.size(0), cols = out.size(1);
  if (rows > 0 && cols > 0) {
    const DeviceGuard guard(out.device().index, op);
    const unsigned blocks = grid_for(rows * cols);
    visit_gemm_dtype(out.dtype(), op, [&]<typename T>(T) {
      broadcast_rows_kernel<T><<<blocks, kThreads, 0, stream()>>>(static_cast<T*>(out.device_pointer()),
                                                                  static_cast<const T*>(bias.device_pointer()), rows,
                                                                  cols, out.stride(0), bias.stride(0));
    });
    RG_CUDA_CHECK_LAUNCH(op);
  }
  gemm(out, x, weight_t, 1.0, 1.0);
}

}  // namespace recgrad::cuda
