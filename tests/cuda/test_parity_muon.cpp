// Muon, its variants and Newton-Schulz on CUDA against the CPU: the iteration
// in f32 (cuBLAS, TF32 off) and in bf16 (real bf16 GEMMs against the CPU's
// bf16 emulation), 50 steps of the Muon + AdamW fixture trajectory on the GPU
// against PyTorch, and a few steps of NorMuon, Muon-MVR and Lion against the
// CPU. Skips without a GPU.
#include <gtest/gtest.h>

#include <cmath>
#include <fstream>
#include <functional>
#include <map>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "cuda/parity.h"
#include "recgrad.h"

using namespace recgrad;
using json = nlohmann::json;
using recgrad::testing::expect_close;
using recgrad::testing::Tolerance;

namespace {

const Device kGpu = Device::cuda();

Tensor to_gpu(const Tensor& t) { return to_device(t, kGpu).detach(); }
Tensor to_cpu(const Tensor& t) { return to_device(t, Device::cpu()).detach(); }

// Runs `steps` steps of the optimizer `make` builds on a copy of `init` on `device`, with the gradients
// `grads[t]`; returns the final parameter on the CPU.
Tensor run_steps(const std::function<std::unique_ptr<Optimizer>(Tensor)>& make, const Tensor& init,
                 const std::vector<Tensor>& grads, Device device) {
  Tensor p = to_device(init, device).detach().requires_grad_();
  std::unique_ptr<Optimizer> opt = make(p);
  for (const Tensor& g : grads) {
    p.set_grad(to_device(g, device).detach());
    opt->step();
  }
  return to_cpu(p);
}

}  // namespace

TEST(CudaParityMuon, NewtonSchulzFloat32MatchesCpu) {
  SKIP_WITHOUT_CUDA();
  Generator gen(1);
  for (const Shape& shape : {Shape{64, 64}, Shape{192, 64}, Shape{64, 192}, Shape{7, 33}}) {
    const Tensor g = randn(shape, {}, &gen);
    const NewtonSchulzOptions f32{.precision = NewtonSchulzPrecision::kInputDtype};
    const Tensor on_gpu = newton_schulz(to_gpu(g), f32);
    EXPECT_EQ(on_gpu.device(), kGpu);
    expect_close(newton_schulz(g, f32), to_cpu(on_gpu), Tolerance{1e-4, 1e-5}, "newton_schulz f32");
  }
}

TEST(CudaParityMuon, NewtonSchulzBFloat16MatchesCpuEmulation) {
  SKIP_WITHOUT_CUDA();
  Generator gen(2);
  for (const Shape& shape : {Shape{64, 64}, Shape{192, 64}, Shape{16, 48}}) {
    const Tensor g = randn(shape, {}, &gen);
    const NewtonSchulzOptions bf16{.precision = NewtonSchulzPrecision::kBFloat16};
    const Tensor on_gpu = newton_schulz(to_gpu(g), {});  // kAuto: bf16 on CUDA
    EXPECT_EQ(on_gpu.dtype(), DType::f32);
    // Same roundings, other summation order: a rounding may flip by one bf16 ulp (2^-8 relative).
    expect_close(newton_schulz(g, bf16), to_cpu(on_gpu), Tolerance{3e-2, 1e-2}, "newton_schulz bf16");
    EXPECT_LT(orthogonality_error(to_cpu(on_gpu)), 0.45);
  }
}

TEST(CudaParityMuon, HybridTrajectoryMatchesTorchOnTheGpu) {
  SKIP_WITHOUT_CUDA();
  std::ifstream file(std::string(RECGRAD_TEST_DATA_DIR) + "/optim/muon_hybrid.json");
  ASSERT_TRUE(file.good());
  const json fixture = json::parse(file);
  const auto from_json = [](const json& j) {
    return to_gpu(from_vector<float>(j.at("values").get<std::vector<float>>(), j.at("shape").get<Shape>()));
  };
  std::map<std::string, Tensor> params;
  for (const auto& [name, value] : fixture.at("initial").items()) params[name] = from_json(value).requires_grad_();
  const Tensor x = from_json(fixture.at("x")), target = from_json(fixture.at("target"));
  const auto group = [&]<typename Options>(const char* key, const Options& options) {
    ParamGroup<Options> g{{}, {}, options};
    for (const std::string& name : fixture.at(key).get<std::vector<std::string>>()) g.params.push_back(params[name]);
    return g;
  };
  const json& mo = fixture.at("muon_options");
  const json& ao = fixture.at("adamw_options");
  Muon muon({group("muon_params", MuonOptions{.lr = mo.at("lr"),
                                              .momentum = mo.at("momentum"),
                                              .weight_decay = mo.at("weight_decay"),
                                              .ns_precision = NewtonSchulzPrecision::kInputDtype})});
  AdamW adamw({group("adamw_params", AdamWOptions{.lr = ao.at("lr"),
                                                  .beta1 = ao.at("beta1"),
                                                  .beta2 = ao.at("beta2"),
                                                  .eps = ao.at("eps"),
                                                  .weight_decay = ao.at("weight_decay")})});
  for (int step = 1; step <= 50; ++step) {
    for (auto& [name, p] : params) p.set_grad(Tensor());
    const std::int64_t start = (8 * (step - 1)) % 32;
    Tensor h = tanh(linear(narrow(x, 0, start, 8), params["fc1.weight"], params["fc1.bias"]));
    h = tanh(linear(h, reshape(params["fc2.weight"], {12, 16}), params["fc2.bias"]));
    mse_loss(linear(h, params["fc3.weight"], params["fc3.bias"]), narrow(target, 0, start, 8)).backward();
    muon.step();
    adamw.step();
  }
  for (const auto& [name, value] : fixture.at("f32").at("checkpoints").at("50").items()) {
    const Tensor expected =
        from_vector<float>(value.at("values").get<std::vector<float>>(), value.at("shape").get<Shape>());
    expect_close(expected, to_cpu(params[name]), Tolerance{1e-4, 1e-5}, "after 50 steps: " + name);
  }
}

TEST(CudaParityMuon, OptimizersMatchCpu) {
  SKIP_WITHOUT_CUDA();
  Generator gen(3);
  const Tensor init = randn({24, 40}, {}, &gen);
  std::vector<Tensor> grads;
  for (int t = 0; t < 5; ++t) grads.push_back(randn({24, 40}, {}, &gen));
  const std::map<std::string, std::function<std::unique_ptr<Optimizer>(Tensor)>> makers = {
      {"muon",
       [](Tensor p) {
         return std::make_unique<Muon>(
             std::vector<Tensor>{p},
             MuonOptions{.weight_decay = 0.1, .ns_precision = NewtonSchulzPrecision::kInputDtype});
       }},
      {"muon_summed_match_rms",
       [](Tensor p) {
         return std::make_unique<Muon>(std::vector<Tensor>{p},
                                       MuonOptions{.momentum_form = MuonMomentumForm::kSummed,
                                                   .update_scale = MuonUpdateScale::kMatchAdamWRms,
                                                   .ns_precision = NewtonSchulzPrecision::kInputDtype});
       }},
      {"normuon",
       [](Tensor p) {
         return std::make_unique<NorMuon>(std::vector<Tensor>{p},
                                          NorMuonOptions{.muon = {.ns_precision = NewtonSchulzPrecision::kInputDtype}});
       }},
      {"lion", [](Tensor p) { return std::make_unique<Lion>(std::vector<Tensor>{p}, LionOptions{.lr = 1e-2}); }},
  };
  for (const auto& [name, make] : makers) {
    expect_close(run_steps(make, init, grads, Device::cpu()), run_steps(make, init, grads, kGpu), Tolerance{1e-4, 1e-5},
                 name);
  }
}

TEST(CudaParityMuon, MuonMvrMatchesCpu) {
  SKIP_WITHOUT_CUDA();
  Generator gen(4);
  const Tensor init = randn({8, 12}, {}, &gen), target = randn({8, 12}, {}, &gen);
  const auto run = [&](Device device) {
    Tensor w = to_device(init, device).detach().requires_grad_();
    const Tensor c = to_device(target, device);
    MuonMVR opt({w}, MuonOptions{.ns_precision = NewtonSchulzPrecision::kInputDtype});
    for (int t = 0; t < 4; ++t) {
      opt.step([&] {
        w.set_grad(Tensor());
        const Tensor loss = sum(square(w - c * static_cast<double>(t + 1)));
        loss.backward();
        return loss;
      });
    }
    return to_cpu(w);
  };
  expect_close(run(Device::cpu()), run(kGpu), Tolerance{1e-4, 1e-5}, "MuonMVR");
}

TEST(CudaParityMuon, KeptOrthogonalizedStaysOnTheGpu) {
  SKIP_WITHOUT_CUDA();
  Tensor w = to_gpu(ones({4, 6})).requires_grad_();
  Muon muon({w}, MuonOptions{.keep_last_orthogonalized = true});
  w.set_grad(to_gpu(randn({4, 6})));
  muon.step();
  ASSERT_NE(muon.last_orthogonalized(w), nullptr);
  EXPECT_EQ(muon.last_orthogonalized(w)->device(), kGpu);
  EXPECT_EQ(muon.last_orthogonalized(w)->shape(), Shape({4, 6}));
}
