// Optimizer updates on the GPU. Each update is elementwise: element i of the
// parameter changes using only element i of the gradient and of the state, so
// one kernel walks all arrays at once (one read and one write of each, instead
// of one kernel per line of the formula as torch's single-tensor path does).
// The arithmetic of each element is written line for line as in
// core/cpu/optim_step.cpp, in the parameter's precision.
//
// The norms for clip_grad_norm_ are two-pass reductions: each block folds its
// part into one double, then one block folds those partials. The grid size
// depends only on the element count, so the order of additions, and the
// result, is the same on every run.
#include <cmath>
#include <cstdint>
#include <utility>

#include "core/cuda/kernel_utils.cuh"
#include "core/cuda/memcpy.h"
#include "core/cuda/optim_step.h"
#include "core/cuda/runtime_check.h"

namespace recgrad::cuda {
namespace {

// ---------------------------------------------------------------------------
// Fused elementwise update of one parameter
// ---------------------------------------------------------------------------

/// 16 bytes of consecutive elements (4 floats or 2 doubles), loaded and stored with one
/// 128-bit instruction when the address is 16-byte aligned.
template <typename T>
struct alignas(16) Pack {
  static constexpr int kLanes = 16 / sizeof(T);
  T lane[kLanes];
};

/// The arrays an update writes: the parameter first, then the optimizer's state buffers. The
/// gradient, which is only read, is passed separately.
template <typename T, int kWritten>
struct WrittenArrays {
  T* data[kWritten];
};

/// update(g, values[0], values[1], ...): the values become the update's named reference arguments.
template <typename T, int kWritten, typename Update, int... I>
__device__ __forceinline__ void call_update(const Update& update, T g, T (&values)[kWritten],
                                            std::integer_sequence<int, I...>) {
  update(g, values[I]...);
}

/// For every element i < n: update(grad[i], arrays[0][i], arrays[1][i], ...), where the update
/// changes its reference arguments. The first `packs` * kLanes elements go 16 bytes at a time
/// (the host passes packs = 0 unless every array is 16-byte aligned); the rest one at a time.
template <typename T, int kWritten, typename Update>
__global__ void fused_update_kernel(const T* grad, WrittenArrays<T, kWritten> arrays, std::int64_t n,
                                    std::int64_t packs, Update update) {
  using P = Pack<T>;
  constexpr auto kIndices = std::make_integer_sequence<int, kWritten>{};
  for (std::int64_t i = grid_first(); i < packs; i += grid_step()) {
    const P g = reinterpret_cast<const P*>(grad)[i];
    P packed[kWritten];
    for (int a = 0; a < kWritten; ++a) packed[a] = reinterpret_cast<const P*>(arrays.data[a])[i];
    for (int lane = 0; lane < P::kLanes; ++lane) {
      T values[kWritten];
      for (int a = 0; a < kWritten; ++a) values[a] = packed[a].lane[lane];
      call_update(update, g.lane[lane], values, kIndices);
      for (int a = 0; a < kWritten; ++a) packed[a].lane[lane] = values[a];
    }
    for (int a = 0; a < kWritten; ++a) reinterpret_cast<P*>(arrays.data[a])[i] = packed[a];
  }
  for (std::int64_t i = packs * P::kLanes + grid_first(); i < n; i += grid_step()) {
    T values[kWritten];
    for (int a = 0; a < kWritten; ++a) values[a] = arrays.data[a][i];
    call_update(update, grad[i], values, kIndices);
    for (int a = 0; a < kWritten; ++a) arrays.data[a][i] = values[a];
  }
}

bool aligned_16(const void* pointer) { return reinterpret_cast<std::uintptr_t>(pointer) % 16 == 0; }

/// Checks that `t` can be walked with the parameter's flat index: same element count and dtype,
/// same device, dense. The optimizers check this with friendlier messages first; this guards the kernel.
void check_like_param(const Tensor& param, const Tensor& t, const char* what, const char* op) {
  RG_CHECK(t.defined() && t.numel() == param.numel() && t.dtype() == param.dtype() && t.device() == param.device() &&
               t.is_contiguous() && param.is_contiguous(),
           op, ": the ", what, " must be a dense ", param.dtype(), " tensor of ", param.numel(), " elements on ",
           param.device(), " like the parameter");
}

/// Launches fused_update_kernel over `param`'s elements with `written` = {param, state buffers...}.
template <typename T, int kWritten, typename Update>
void launch_fused_update(const Tensor& grad, const Tensor (&written)[kWritten], const Update& update, const char* op) {
  const std::int64_t n = written[0].numel();
  const T* g = static_cast<const T*>(grad.device_pointer());
  WrittenArrays<T, kWritten> arrays;
  bool all_aligned = aligned_16(g);
  for (int a = 0; a < kWritten; ++a) {
    arrays.data[a] = static_cast<T*>(written[a].device_pointer());
    all_aligned = all_aligned && aligned_16(arrays.data[a]);
  }
  const std::int64_t packs = all_aligned ? n / Pack<T>::kLanes : 0;
  const unsigned blocks = grid_for(packs > 0 ? packs : n);
  fused_update_kernel<T, kWritten, Update><<<blocks, kThreads, 0, stream()>>>(g, arrays, n, packs, update);
  RG_CUDA_CHECK_LAUNCH(op);
}

/// SGD on one element, as sgd_cpu (core/cpu/optim_step.cpp), one torch op per line.
template <typename T>
struct SGDUpdate {
  T weight_decay, momentum, one_minus_dampening, neg_lr;
  bool has_weight_decay, nesterov, first_step;

  // The first line of both forms: d_p = d_p.add(p, alpha=wd) when wd != 0.
  __device__ __forceinline__ T decayed_gradient(T g, T p) const { return has_weight_decay ? g + weight_decay * p : g; }

  /// Without momentum: p = p - lr * d.
  __device__ __forceinline__ void operator()(T g, T& p) const {
    const T d = decayed_gradient(g, p);
    p = p + neg_lr * d;  // param.add_(d_p, alpha=-lr)
  }

  /// With a momentum buffer.
  __device__ __forceinline__ void operator()(T g, T& p, T& buf) const {
    T d = decayed_gradient(g, p);
    buf = first_step ? d                                          // buf = torch.clone(d_p)
                     : buf * momentum + one_minus_dampening * d;  // buf.mul_(momentum).add_(d_p, alpha=1-dampening)
    d = nesterov ? d + momentum * buf : buf;                      // d_p = d_p.add(buf, alpha=momentum) or buf
    p = p + neg_lr * d;                                           // param.add_(d_p, alpha=-lr)
  }
};

/// Adam (kDecoupled = false) or AdamW (kDecoupled = true) on one element, as adam_cpu
/// (core/cpu/optim_step.cpp), one torch op per line.
template <typename T, bool kDecoupled>
struct AdamUpdate {
  T weight_decay, decay, beta1, beta2, one_minus_beta1, one_minus_beta2, bias_correction2_sqrt, eps, neg_step_size;

  /// The weight decay and the two moment updates, shared by both forms.
  __device__ __forceinline__ void update_moments(T grad, T& p, T& m, T& v) const {
    T g = grad;
    if constexpr (kDecoupled) {
      p = p * decay;  // param.mul_(1 - lr * wd)
    } else {
      g = grad + weight_decay * p;  // grad.add(param, alpha=wd)
    }
    m = m * beta1 + one_minus_beta1 * g;      // exp_avg.mul_(b1).add_(g, alpha=1-b1)
    v = v * beta2 + one_minus_beta2 * g * g;  // exp_avg_sq.mul_(b2).addcmul_(g, g, value=1-b2)
  }
  /// The parameter step from the first moment and the (maximum) second moment.
  __device__ __forceinline__ void step(T& p, T m, T second_moment) const {
    const T denom = sqrt(second_moment) / bias_correction2_sqrt + eps;  // (v.sqrt() / bc2_sqrt).add_(eps)
    p = p + neg_step_size * m / denom;                                  // param.addcdiv_(m, denom, value=-step_size)
  }

  __device__ __forceinline__ void operator()(T grad, T& p, T& m, T& v) const {
    update_moments(grad, p, m, v);
    step(p, m, v);
  }
  /// amsgrad: the step uses the running maximum of v.
  __device__ __forceinline__ void operator()(T grad, T& p, T& m, T& v, T& v_max) const {
    update_moments(grad, p, m, v);
    v_max = v_max < v ? v : v_max;  // torch.maximum(v_max, v, out=v_max)
    step(p, m, v_max);
  }
};

// ---------------------------------------------------------------------------
// Power sums for gradient norms
// ---------------------------------------------------------------------------

/// Blocks of the first reduction pass at most (and so partials per tensor).
constexpr int kMaxPartials = 1024;

/// What is summed (or maximised) per element: |x|^2, |x|, |x|^p, or max |x|.
enum class PowerKind { kSquares, kAbs, kPow, kMaxAbs };

/// max that returns NaN when either side is NaN (fmax would drop it), as the CPU norm does.
__device__ __forceinline__ double nan_max(double a, double b) { return (isnan(a) || isnan(b)) ? NAN : fmax(a, b); }

__device__ __forceinline__ double combine(PowerKind kind, double a, double b) {
  return kind == PowerKind::kMaxAbs ? nan_max(a, b) : a + b;
}

/// Reduces `value` over the block with `combine`; thread 0 gets the result. `scratch` holds 32 doubles.
__device__ double block_combine(PowerKind kind, double value, double* scratch) {
  const int lane = threadIdx.x % kWarpSize, warp = threadIdx.x / kWarpSize;
  const int warps = (blockDim.x + kWarpSize - 1) / kWarpSize;
  for (int offset = kWarpSize / 2; offset > 0; offset /= 2) {
    value = combine(kind, value, __shfl_xor_sync(0xffffffffu, value, offset));
  }
  if (lane == 0) scratch[warp] = value;
  __syncthreads();
  if (warp == 0) {
    value = lane < warps ? scratch[lane] : 0.0;  // 0 is neutral for both sums and max |x|
    for (int offset = kWarpSize / 2; offset > 0; offset /= 2) {
      value = combine(kind, value, __shfl_xor_sync(0xffffffffu, value, offset));
    }
  }
  return value;
}

/// Pass 1: block b writes the combination of its grid-stride share of the terms of x into partials[b].
template <typename T, bool kContiguous>
__global__ void power_sum_partials_kernel(const T* x, std::int64_t n, StridedLayout layout, PowerKind kind, double p,
                                          double* partials) {
  __shared__ double scratch[kWarpSize];
  double acc = 0.0;
  for (std::int64_t i = grid_first(); i < n; i += grid_step()) {
    const double v = static_cast<double>(x[kContiguous ? i : offset_of(i, layout)]);
    double term;
    switch (kind) {
      case PowerKind::kSquares:
        term = v * v;
        break;
      case PowerKind::kPow:
        term = pow(fabs(v), p);
        break;
      default:  // kAbs, kMaxAbs
        term = fabs(v);
    }
    acc = combine(kind, acc, term);
  }
  acc = block_combine(kind, acc, scratch);
  if (threadIdx.x == 0) partials[blockIdx.x] = acc;
}

/// Pass 2 (one block): *result = the combination of partials[0 .. count).
__global__ void power_sum_finish_kernel(const double* partials, int count, PowerKind kind, double* result) {
  __shared__ double scratch[kWarpSize];
  double acc = 0.0;
  for (int i = threadIdx.x; i < count; i += blockDim.x) acc = combine(kind, acc, partials[i]);
  acc = block_combine(kind, acc, scratch);
  if (threadIdx.x == 0) *result = acc;
}

}  // namespace

void sgd_step(const Tensor& param, const Tensor& grad, const Tensor& momentum_buffer, const SGDStepScalars& s) {
  constexpr const char* kOp = "SGD.step (CUDA)";
  check_like_param(param, grad, "gradient", kOp);
  if (momentum_buffer.defined()) check_like_param(param, momentum_buffer, "momentum buffer", kOp);
  if (param.numel() == 0) return;
  const DeviceGuard guard(param.device().index, kOp);
  visit_floating(param.dtype(), kOp, [&]<typename T>(T) {
    const SGDUpdate<T> update{.weight_decay = static_cast<T>(s.weight_decay),
                              .momentum = static_cast<T>(s.momentum),
                              .one_minus_dampening = static_cast<T>(1 - s.dampening),
                              .neg_lr = static_cast<T>(-s.lr),
                              .has_weight_decay = s.weight_decay != 0,
                              .nesterov = s.nesterov,
                              .first_step = s.first_step};
    if (momentum_buffer.defined()) {
      const Tensor written[2] = {param, momentum_buffer};
      launch_fused_update<T>(grad, written, update, kOp);
    } else {
      const Tensor written[1] = {param};
      launch_fused_update<T>(grad, written, update, kOp);
    }
  });
}

void adam_step(const Tensor& param, const Tensor& grad, const Tensor& exp_avg, const Tensor& exp_avg_sq,
               const Tensor& max_exp_avg_sq, const AdamStepScalars& s) {
  const char* op = s.decoupled ? "AdamW.step (CUDA)" : "Adam.step (CUDA)";
  check_like_param(param, grad, "gradient", op);
  check_like_param(param, exp_avg, "exp_avg state", op);
  check_like_param(param, exp_avg_sq, "exp_avg_sq state", op);
  if (max_exp_avg_sq.defined()) check_like_param(param, max_exp_avg_sq, "max_exp_avg_sq state", op);
  if (param.numel() == 0) return;
  const DeviceGuard guard(param.device().index, op);
  visit_floating(param.dtype(), op, [&]<typename T>(T) {
    // The same conversions of the per-step scalars to T as adam_cpu.
    auto launch = [&]<bool kDecoupled>() {
      const AdamUpdate<T, kDecoupled> update{.weight_decay = static_cast<T>(s.weight_decay),
                                             .decay = static_cast<T>(s.decay),
                                             .beta1 = static_cast<T>(s.beta1),
                                             .beta2 = static_cast<T>(s.beta2),
                                             .one_minus_beta1 = static_cast<T>(1 - s.beta1),
                                             .one_minus_beta2 = static_cast<T>(1 - s.beta2),
                                             .bias_correction2_sqrt = static_cast<T>(s.bias_correction2_sqrt),
                                             .eps = static_cast<T>(s.eps),
                                             .neg_step_size = static_cast<T>(s.neg_step_size)};
      if (max_exp_avg_sq.defined()) {
        const Tensor written[4] = {param, exp_avg, exp_avg_sq, max_exp_avg_sq};
        launch_fused_update<T>(grad, written, update, op);
      } else {
        const Tensor written[3] = {param, exp_avg, exp_avg_sq};
        launch_fused_update<T>(grad, written, update, op);
      }
    };
    if (s.decoupled) {
      launch.template operator()<true>();
    } else {
      launch.template operator()<false>();
    }
  });
}

std::vector<double> power_sums(const std::vector<Tensor>& tensors, double p) {
  constexpr const char* kOp = "clip_grad_norm_ (CUDA)";
  std::vector<double> sums(tensors.size(), 0.0);
  if (tensors.empty()) return sums;
  const Device device = tensors.front().device();
  for (const Tensor& t : tensors) {
    RG_CHECK(t.defined() && t.device() == device && device.is_cuda(), kOp, ": every tensor must be on ", device,
             ", got one on ", t.defined() ? t.device() : Device::cpu());
  }
  const PowerKind kind = std::isinf(p) ? PowerKind::kMaxAbs
                         : p == 2      ? PowerKind::kSquares
                         : p == 1      ? PowerKind::kAbs
                                       : PowerKind::kPow;
  const DeviceGuard guard(device.index, kOp);
  // Partials are reused from tensor to tensor: the kernels run in issue order on one stream.
  const Tensor partials = Tensor::empty({kMaxPartials}, DType::f64, device);
  const Tensor results = Tensor::empty({static_cast<std::int64_t>(tensors.size())}, DType::f64, device);
  double* partials_data = static_cast<double*>(partials.device_pointer());
  double* results_data = static_cast<double*>(results.device_pointer());
  for (std::size_t k = 0; k < tensors.size(); ++k) {
    const Tensor& x = tensors[k];
    const std::int64_t n = x.numel();
    const StridedLayout layout = layout_of(x, kOp);
    const unsigned blocks = std::min<unsigned>(grid_for(n), kMaxPartials);
    visit_floating(x.dtype(), kOp, [&]<typename T>(T) {
      const T* data = static_cast<const T*>(x.device_pointer());
      if (x.is_contiguous()) {
        power_sum_partials_kernel<T, true><<<blocks, kThreads, 0, stream()>>>(data, n, layout, kind, p, partials_data);
      } else {
        power_sum_partials_kernel<T, false><<<blocks, kThreads, 0, stream()>>>(data, n, layout, kind, p, partials_data);
      }
      RG_CUDA_CHECK_LAUNCH(kOp);
    });
    power_sum_finish_kernel<<<1, kThreads, 0, stream()>>>(partials_data, static_cast<int>(blocks), kind,
                                                          results_data + k);
    RG_CUDA_CHECK_LAUNCH(kOp);
  }
  // One synchronous copy for the whole list (it waits for the kernels on the default stream).
  copy_bytes(sums.data(), Device::cpu(), results_data, device, sums.size() * sizeof(double), kOp);
  return sums;
}

}  // namespace recgrad::cuda
