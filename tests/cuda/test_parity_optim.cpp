// Optimizers on CUDA against the CPU: the fused step kernels element by element
// (odd sizes, misaligned parameters, strided gradients), 20 training steps of a
// small MLP with every optimizer, gradient norms and clipping, the optimizer
// state_dict across devices, and the errors for tensors on the wrong device.
// The GPU tests skip without a GPU; the error tests at the end run without one.
#include <gtest/gtest.h>

#include <cmath>
#include <limits>
#include <memory>
#include <string>
#include <vector>

#include "cuda/parity.h"
#include "recgrad.h"
#include "test_support.h"

using namespace recgrad;
using recgrad::testing::expect_close;
using recgrad::testing::expect_error;
using recgrad::testing::parity_sizes;
using recgrad::testing::Tolerance;

namespace {

const Device kGpu = Device::cuda();
const Device kCpu = Device::cpu();

/// The optimizer configurations under test, by name.
const std::vector<std::string>& optimizer_kinds() {
  static const std::vector<std::string> kinds{"sgd",   "sgd_momentum_dampening", "sgd_nesterov", "adam", "adam_amsgrad",
                                              "adamw", "adamw_amsgrad"};
  return kinds;
}

/// An optimizer of configuration `kind` over `params` (labelled `names`, which may be empty).
std::unique_ptr<Optimizer> make_optimizer(const std::string& kind, const std::vector<Tensor>& params,
                                          const std::vector<std::string>& names = {}) {
  // One group of `params` with `options`.
  const auto make = [&]<typename Opt>(typename Opt::Options options) -> std::unique_ptr<Optimizer> {
    return std::make_unique<Opt>(std::vector<typename Opt::Group>{{params, names, options}});
  };
  if (kind == "sgd") return make.operator()<SGD>({.lr = 0.05, .weight_decay = 1e-3});
  if (kind == "sgd_momentum_dampening") {
    return make.operator()<SGD>({.lr = 0.05, .momentum = 0.9, .dampening = 0.1, .weight_decay = 1e-3});
  }
  if (kind == "sgd_nesterov") {
    return make.operator()<SGD>({.lr = 0.05, .momentum = 0.9, .weight_decay = 1e-3, .nesterov = true});
  }
  if (kind == "adam") return make.operator()<Adam>({.lr = 1e-2, .weight_decay = 1e-3});
  if (kind == "adam_amsgrad") return make.operator()<Adam>({.lr = 1e-2, .weight_decay = 1e-3, .amsgrad = true});
  if (kind == "adamw") return make.operator()<AdamW>({.lr = 1e-2, .weight_decay = 0.1});
  if (kind == "adamw_amsgrad") return make.operator()<AdamW>({.lr = 1e-2, .weight_decay = 0.1, .amsgrad = true});
  throw Error("make_optimizer: unknown kind " + kind);
}

/// Linear -> tanh -> Linear.
struct Mlp : nn::Module {
  std::shared_ptr<nn::Linear> fc1, fc2;
  Mlp(std::int64_t in, std::int64_t hidden, std::int64_t out) {
    fc1 = register_module("fc1", std::make_shared<nn::Linear>(in, hidden));
    fc2 = register_module("fc2", std::make_shared<nn::Linear>(hidden, out));
  }
  Tensor forward(const Tensor& x) const { return fc2->forward(recgrad::tanh(fc1->forward(x))); }
};

/// An optimizer of `kind` over the model's parameters, labelled with their names.
std::unique_ptr<Optimizer> make_optimizer(const std::string& kind, const nn::Module& model) {
  std::vector<Tensor> params;
  std::vector<std::string> names;
  for (const auto& [name, tensor] : model.named_parameters()) {
    names.push_back(name);
    params.push_back(tensor);
  }
  return make_optimizer(kind, params, names);
}

/// One training step (zero_grad, cross-entropy, backward, step); returns the loss on the CPU.
double train_step(const Mlp& model, Optimizer& optimizer, const Tensor& x, const Tensor& targets) {
  optimizer.zero_grad();
  const Tensor loss = cross_entropy(model.forward(x), targets);
  loss.backward();
  optimizer.step();
  return raw::to_device(loss, kCpu).item<double>();
}

/// A CPU leaf of `shape` with N(0, 1) entries from `seed`.
Tensor seeded_randn(const Shape& shape, std::uint64_t seed) {
  manual_seed(seed);
  return randn(shape);
}

/// `values` (CPU) copied into a CUDA leaf whose first element sits 4 bytes past a 16-byte boundary,
/// so the step kernel cannot use its 16-byte loads and takes the element-by-element path.
Tensor misaligned_cuda_copy(const Tensor& values) {
  const Tensor base = Tensor::empty({values.numel() + 1}, values.dtype(), kGpu);
  Tensor view = base.as_strided(values.shape(), values.strides(), 1);
  raw::copy_(view, raw::to_device(values, kGpu));
  return view;
}

}  // namespace

// ---- the step kernels, element by element ----

// Three steps with the same gradients on both devices; parameters and every state buffer agree.
// The update is elementwise on identical inputs, so the only differences are roundings (fused
// multiply-adds on one side and not the other): rtol 1e-5, atol 1e-6 for elements near 0.
TEST(CudaOptimParity, FusedStepMatchesCpuOnOddSizesAndAlignments) {
  SKIP_WITHOUT_CUDA();
  for (const std::int64_t n : parity_sizes()) {
    for (const bool misaligned : {false, true}) {
      if (misaligned && n == 1000003) continue;  // one big case per kernel path is enough (33 covers this one)
      for (const std::string& kind : optimizer_kinds()) {
        SCOPED_TRACE(kind + " n=" + std::to_string(n) + (misaligned ? " misaligned" : " aligned"));
        const Tensor init = seeded_randn({n}, 11);
        Tensor cpu_param = raw::clone(init).requires_grad_();
        Tensor gpu_param = (misaligned ? misaligned_cuda_copy(init) : raw::to_device(init, kGpu)).requires_grad_();
        auto cpu_opt = make_optimizer(kind, {cpu_param});
        auto gpu_opt = make_optimizer(kind, {gpu_param});
        for (int step = 0; step < 3; ++step) {
          const Tensor grad = seeded_randn({n}, 100 + step);
          cpu_param.set_grad(grad);
          gpu_param.set_grad(raw::to_device(grad, kGpu));
          cpu_opt->step();
          gpu_opt->step();
        }
        expect_close(cpu_param, gpu_param, Tolerance{1e-5, 1e-6}, "parameter");
        const ParamState* cpu_state = cpu_opt->find_state(cpu_param);
        const ParamState* gpu_state = gpu_opt->find_state(gpu_param);
        ASSERT_NE(cpu_state, nullptr);
        ASSERT_NE(gpu_state, nullptr);
        EXPECT_EQ(cpu_state->step, gpu_state->step);
        ASSERT_EQ(cpu_state->buffers.size(), gpu_state->buffers.size());
        for (const auto& [name, buffer] : cpu_state->buffers) {
          ASSERT_TRUE(gpu_state->buffers.count(name)) << name;
          const Tensor& gpu_buffer = gpu_state->buffers.at(name);
          EXPECT_TRUE(gpu_buffer.device().is_cuda()) << name << " is on " << gpu_buffer.device();
          expect_close(buffer, gpu_buffer, Tolerance{1e-5, 1e-6}, name);
        }
      }
    }
  }
}

TEST(CudaOptimParity, F64StepAndStridedGradient) {
  SKIP_WITHOUT_CUDA();
  // A [7, 33] f64 parameter whose gradient is a transposed (non-contiguous) view.
  for (const std::string& kind : optimizer_kinds()) {
    SCOPED_TRACE(kind);
    const Tensor init = raw::to_dtype(seeded_randn({7, 33}, 3), DType::f64);
    Tensor cpu_param = raw::clone(init).requires_grad_();
    Tensor gpu_param = raw::to_device(init, kGpu).requires_grad_();
    auto cpu_opt = make_optimizer(kind, {cpu_param});
    auto gpu_opt = make_optimizer(kind, {gpu_param});
    for (int step = 0; step < 2; ++step) {
      const Tensor grad_t = raw::to_dtype(seeded_randn({33, 7}, 200 + step), DType::f64);  // [33, 7]
      cpu_param.set_grad(transpose(grad_t, 0, 1));
      gpu_param.set_grad(transpose(raw::to_device(grad_t, kGpu), 0, 1));
      ASSERT_FALSE(gpu_param.grad().is_contiguous());
      cpu_opt->step();
      gpu_opt->step();
    }
    expect_close(cpu_param, gpu_param, Tolerance{1e-12, 1e-14}, "f64 parameter");
  }
}

TEST(CudaOptimParity, EmptyParameterAndMissingGradient) {
  SKIP_WITHOUT_CUDA();
  for (const std::string& kind : optimizer_kinds()) {
    SCOPED_TRACE(kind);
    Tensor empty_param = zeros({0, 3}, {DType::f32, kGpu}).requires_grad_();
    Tensor no_grad_param = ones({4}, {DType::f32, kGpu}).requires_grad_();
    auto opt = make_optimizer(kind, {empty_param, no_grad_param});
    empty_param.set_grad(zeros({0, 3}, {DType::f32, kGpu}));
    opt->step();  // nothing to update, and no launch of an empty grid
    opt->step();
    EXPECT_EQ(opt->find_state(empty_param)->step, 2);
    EXPECT_EQ(opt->find_state(no_grad_param), nullptr);  // skipped: no gradient
    EXPECT_EQ(raw::to_device(no_grad_param, kCpu).to_vector<float>(), (std::vector<float>{1, 1, 1, 1}));
  }
}

// ---- training ----

// 20 steps of each optimizer on the same MLP from the same initial weights. The gradients differ by
// the reduction order of the GEMMs and sums (about 1e-7 relative), which Adam's normalised steps do
// not amplify beyond that order over 20 steps: every weight within 1e-5 relative (atol 1e-6 for
// weights near 0), and so is every loss.
TEST(CudaOptimParity, TwentyTrainingStepsMatchCpu) {
  SKIP_WITHOUT_CUDA();
  const Tensor x = seeded_randn({24, 16}, 8);
  manual_seed(9);
  const Tensor targets = randint(0, 5, {24});
  const Tensor gpu_x = raw::to_device(x, kGpu), gpu_targets = raw::to_device(targets, kGpu);
  for (const std::string& kind : optimizer_kinds()) {
    SCOPED_TRACE(kind);
    manual_seed(7);
    Mlp cpu_model(16, 32, 5);
    manual_seed(7);
    Mlp gpu_model(16, 32, 5);
    gpu_model.to(kGpu);
    auto cpu_opt = make_optimizer(kind, cpu_model);
    auto gpu_opt = make_optimizer(kind, gpu_model);
    for (int step = 0; step < 20; ++step) {
      const double cpu_loss = train_step(cpu_model, *cpu_opt, x, targets);
      const double gpu_loss = train_step(gpu_model, *gpu_opt, gpu_x, gpu_targets);
      EXPECT_NEAR(gpu_loss, cpu_loss, 1e-6 + 1e-5 * std::abs(cpu_loss)) << "step " << step;
    }
    const auto cpu_params = cpu_model.named_parameters(), gpu_params = gpu_model.named_parameters();
    ASSERT_EQ(cpu_params.size(), gpu_params.size());
    for (std::size_t i = 0; i < cpu_params.size(); ++i) {
      ASSERT_TRUE(gpu_params[i].second.device().is_cuda());
      expect_close(cpu_params[i].second, gpu_params[i].second, Tolerance{1e-5, 1e-6}, cpu_params[i].first);
    }
  }
}

// ---- gradient norms and clipping ----

namespace {
/// A parameter of `shape` on `device` whose gradient is `grad` (moved there).
Tensor param_with_grad(const Shape& shape, const Tensor& grad, Device device) {
  Tensor p = zeros(shape, {grad.dtype(), device}).requires_grad_();
  p.set_grad(raw::to_device(grad, device));
  return p;
}
}  // namespace

TEST(CudaOptimParity, GradNormMatchesCpu) {
  SKIP_WITHOUT_CUDA();
  const Tensor big = seeded_randn({1000003}, 21);
  const Tensor small_t = seeded_randn({33, 7}, 22);  // its transpose is the gradient of a [7, 33] parameter
  const Tensor one = seeded_randn({1}, 23);
  const Tensor scalar = full({}, -2.5);
  const Tensor as_f64 = raw::to_dtype(seeded_randn({7}, 24), DType::f64);
  auto params_on = [&](Device device) {
    std::vector<Tensor> params{param_with_grad({1000003}, big, device), param_with_grad({1}, one, device),
                               param_with_grad({}, scalar, device), param_with_grad({7}, as_f64, device),
                               param_with_grad({0, 4}, zeros({0, 4}), device)};
    Tensor strided = zeros({7, 33}, {DType::f32, device}).requires_grad_();
    strided.set_grad(transpose(raw::to_device(small_t, device), 0, 1));
    params.push_back(strided);
    params.push_back(zeros({3}, {DType::f32, device}).requires_grad_());  // no gradient: ignored
    return params;
  };
  const std::vector<Tensor> cpu_params = params_on(kCpu), gpu_params = params_on(kGpu);
  // Both sides accumulate in double, in different orders: typically 1e-16 * sqrt(n) relative, at worst
  // about n * 1e-16 = 1e-10 for the million-element gradient.
  for (const double norm_type : {2.0, 1.0, 3.0, std::numeric_limits<double>::infinity()}) {
    SCOPED_TRACE(norm_type);
    const double expected = grad_norm(cpu_params, norm_type);
    EXPECT_NEAR(grad_norm(gpu_params, norm_type), expected, 1e-10 * expected);
  }
  // A list that mixes devices: the parts are combined in parameter order.
  std::vector<Tensor> mixed{cpu_params[0], gpu_params[1], cpu_params[2], gpu_params[5]};
  std::vector<Tensor> all_cpu{cpu_params[0], cpu_params[1], cpu_params[2], cpu_params[5]};
  EXPECT_NEAR(grad_norm(mixed), grad_norm(all_cpu), 1e-10 * grad_norm(all_cpu));

  // Clipping scales every gradient by the same factor on both devices.
  const double cpu_total = clip_grad_norm_(cpu_params, 10.0);
  const double gpu_total = clip_grad_norm_(gpu_params, 10.0);
  EXPECT_NEAR(gpu_total, cpu_total, 1e-10 * cpu_total);
  for (std::size_t i = 0; i + 1 < cpu_params.size(); ++i) {
    expect_close(cpu_params[i].grad(), gpu_params[i].grad(), Tolerance{1e-6, 0},
                 "clipped gradient " + std::to_string(i));
  }
}

TEST(CudaOptimParity, GradNormPropagatesNan) {
  SKIP_WITHOUT_CUDA();
  const Tensor grad = from_vector<float>({1.0f, std::numeric_limits<float>::quiet_NaN(), -3.0f}, {3});
  const std::vector<Tensor> params{param_with_grad({3}, grad, kGpu)};
  EXPECT_TRUE(std::isnan(grad_norm(params, 2.0)));
  EXPECT_TRUE(std::isnan(grad_norm(params, std::numeric_limits<double>::infinity())));
  expect_error([&] { clip_grad_norm_(params, 1.0, 2.0, /*error_if_nonfinite=*/true); }, {"clip_grad_norm_", "nan"});
  // Infinity without NaN: the inf-norm is inf.
  const Tensor inf_grad = from_vector<float>({1.0f, -std::numeric_limits<float>::infinity()}, {2});
  EXPECT_TRUE(std::isinf(grad_norm({param_with_grad({2}, inf_grad, kGpu)}, std::numeric_limits<double>::infinity())));
}

// ---- state_dict across devices ----

// Three AdamW steps on the GPU, the state saved and loaded into a CPU optimizer over CPU copies of the
// weights (and the CPU state back into a fresh GPU optimizer): the three runs continue alike.
TEST(CudaOptimParity, StateDictMovesBetweenDevices) {
  SKIP_WITHOUT_CUDA();
  const Tensor x = seeded_randn({12, 16}, 30);
  manual_seed(31);
  const Tensor targets = randint(0, 5, {12});
  const Tensor gpu_x = raw::to_device(x, kGpu), gpu_targets = raw::to_device(targets, kGpu);
  manual_seed(32);
  Mlp gpu_model(16, 8, 5);
  gpu_model.to(kGpu);
  auto gpu_opt = make_optimizer("adamw_amsgrad", gpu_model);
  for (int step = 0; step < 3; ++step) train_step(gpu_model, *gpu_opt, gpu_x, gpu_targets);

  const OptimizerStateDict saved = gpu_opt->state_dict();
  for (const auto& [key, tensor] : saved.tensors) EXPECT_TRUE(tensor.device().is_cuda()) << key;
  OptimizerStateDict saved_on_cpu = saved;
  for (auto& [key, tensor] : saved_on_cpu.tensors) tensor = raw::to_device(tensor, kCpu);

  manual_seed(99);  // other initial weights, replaced by the GPU model's
  Mlp cpu_model(16, 8, 5);
  cpu_model.load_state_dict(gpu_model.state_dict());  // GPU tensors into a CPU model
  auto cpu_opt = make_optimizer("adamw_amsgrad", cpu_model);
  cpu_opt->load_state_dict(saved);  // GPU state into a CPU optimizer: moved to the CPU
  for (const auto& [name, param] : cpu_model.named_parameters()) {
    for (const auto& [buffer, tensor] : cpu_opt->find_state(param)->buffers) {
      EXPECT_TRUE(tensor.device().is_cpu()) << name << "." << buffer;
    }
  }
  manual_seed(98);
  Mlp gpu_model2(16, 8, 5);
  gpu_model2.to(kGpu);
  gpu_model2.load_state_dict(cpu_model.state_dict());  // CPU tensors into a GPU model
  auto gpu_opt2 = make_optimizer("adamw_amsgrad", gpu_model2);
  gpu_opt2->load_state_dict(saved_on_cpu);  // CPU state into a GPU optimizer: moved to the GPU

  for (int step = 0; step < 3; ++step) {
    const double a = train_step(gpu_model, *gpu_opt, gpu_x, gpu_targets);
    const double b = train_step(cpu_model, *cpu_opt, x, targets);
    const double c = train_step(gpu_model2, *gpu_opt2, gpu_x, gpu_targets);
    EXPECT_NEAR(b, a, 1e-6 + 1e-5 * std::abs(a));
    EXPECT_EQ(c, a) << "the same GPU computation from the same state";
  }
  const auto p1 = gpu_model.named_parameters(), p2 = cpu_model.named_parameters(), p3 = gpu_model2.named_parameters();
  for (std::size_t i = 0; i < p1.size(); ++i) {
    expect_close(p1[i].second, p2[i].second, Tolerance{1e-5, 1e-6}, p1[i].first + " (cpu)");
    expect_close(p1[i].second, p3[i].second, Tolerance{0, 0}, p1[i].first + " (gpu, reloaded)");
  }
}

// ---- tensors on the wrong device ----

TEST(CudaOptimParity, StateLeftOnTheCpuAfterMovingTheModelThrows) {
  SKIP_WITHOUT_CUDA();
  manual_seed(40);
  Mlp model(4, 3, 2);
  auto opt = make_optimizer("adam", model);
  const Tensor x = seeded_randn({5, 4}, 41);
  manual_seed(42);
  const Tensor targets = randint(0, 2, {5});
  train_step(model, *opt, x, targets);  // state created on the CPU
  model.to(kGpu);
  opt->zero_grad();
  cross_entropy(model.forward(raw::to_device(x, kGpu)), raw::to_device(targets, kGpu)).backward();
  expect_error([&] { opt->step(); }, {"Adam.step", "state 'exp_avg'", "'fc1.weight'", "is on cpu", "cuda:0"});
  // A gradient on another device than its parameter.
  Tensor p = zeros({3}, {DType::f32, kGpu}).requires_grad_();
  p.set_grad(ones({3}));
  auto sgd = make_optimizer("sgd", {p}, {"w"});
  expect_error([&] { sgd->step(); }, {"SGD.step", "gradient of parameter 'w'", "is on cpu", "cuda:0"});
}

// Without a GPU: a tensor that claims to be on cuda:0 (its memory is host memory, never touched) is
// refused by every optimizer and by clip_grad_norm_ with the reason, and nothing is written.
TEST(CudaOptimParity, CudaParametersWithoutAGpuThrow) {
  if (cuda::cuda_available()) GTEST_SKIP() << "a CUDA device is present; this test is for machines without one";
  static float host[2] = {1.0f, 2.0f};
  static float host_grad[2] = {0.5f, 0.5f};
  auto storage = std::make_shared<Storage>(host, sizeof(host), kGpu, nullptr);
  auto grad_storage = std::make_shared<Storage>(host_grad, sizeof(host_grad), kGpu, nullptr);
  Tensor p = Tensor::from_storage(storage, {2}, {1}, 0, DType::f32).requires_grad_();
  p.set_grad(Tensor::from_storage(grad_storage, {2}, {1}, 0, DType::f32));
  const std::string reason = cuda::cuda_unavailable_reason();
  for (const std::string& kind : optimizer_kinds()) {
    auto opt = make_optimizer(kind, {p}, {"gpu.weight"});
    const std::string name = kind.rfind("sgd", 0) == 0 ? "SGD" : kind.rfind("adamw", 0) == 0 ? "AdamW" : "Adam";
    expect_error([&] { opt->step(); }, {name + ".step", "'gpu.weight'", "cuda:0", "CUDA is unavailable", reason});
    EXPECT_EQ(opt->find_state(p), nullptr) << kind << ": no state is created for a refused step";
  }
  expect_error([&] { clip_grad_norm_({p}, 1.0); }, {"clip_grad_norm_", "cuda:0", "CUDA is unavailable", reason});
  EXPECT_EQ(host[0], 1.0f);
  EXPECT_EQ(host_grad[0], 0.5f);
}
