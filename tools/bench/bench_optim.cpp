// One optimizer step on SASRec-sized parameters (hidden 64, 2 blocks, 3687
// items), Muon against AdamW, on the CPU and (when there is one) the GPU:
//   AdamW/all       AdamW on every parameter (the AdamW baseline's step)
//   MuonHybrid      Muon on the hidden matrices + AdamW on the rest (the MuonRec recipe's step)
//   MuonOnly        the Muon half alone (8 matrices: in_proj 192x64, out_proj 64x64, FFN 64x64 x2, per block)
//   NewtonSchulz    the iteration alone on one matrix
// The parameters: item embedding 3687x64 and positions 50x64 (AdamW), per block in_proj 192x64 + bias,
// out_proj 64x64 + bias, FFN 64x64 x2 + biases, two LayerNorms (weight + bias), a final LayerNorm.
// Gradients are fixed random tensors (set once), so only the step is timed. GPU timings wait for the
// device in the last iteration (cuda::synchronize), so they are per-step device times.
#include <benchmark/benchmark.h>

#include <memory>
#include <string>
#include <vector>

#include "core/cuda/memcpy.h"
#include "core/cuda/runtime.h"
#include "recgrad.h"

namespace {

using namespace recgrad;

struct SasrecParams {
  std::vector<Tensor> hidden;  // Muon
  std::vector<Tensor> rest;    // AdamW
};

SasrecParams make_params(Device device) {
  Generator gen(1);
  const auto param = [&](const Shape& shape) {
    Tensor p = to_device(randn(shape, {}, &gen), device).detach().requires_grad_();
    p.set_grad(to_device(randn(shape, {}, &gen), device).detach());
    return p;
  };
  SasrecParams out;
  out.rest.push_back(param({3687, 64}));  // item embedding (padding row included)
  out.rest.push_back(param({50, 64}));    // positions
  for (int block = 0; block < 2; ++block) {
    out.hidden.push_back(param({192, 64}));  // attention in_proj
    out.rest.push_back(param({192}));
    out.hidden.push_back(param({64, 64}));  // out_proj
    out.rest.push_back(param({64}));
    out.hidden.push_back(param({64, 64}));  // FFN
    out.rest.push_back(param({64}));
    out.hidden.push_back(param({64, 64}));
    out.rest.push_back(param({64}));
    for (int norm = 0; norm < 2; ++norm) {
      out.rest.push_back(param({64}));
      out.rest.push_back(param({64}));
    }
  }
  out.rest.push_back(param({64}));  // final LayerNorm
  out.rest.push_back(param({64}));
  return out;
}

Device device_of(const benchmark::State& state) { return state.range(0) == 0 ? Device::cpu() : Device::cuda(); }

// False (and the benchmark marked skipped) when it asks for CUDA and there is none.
bool device_ready(benchmark::State& state) {
  if (device_of(state).is_cuda() && !cuda::cuda_available()) {
    state.SkipWithError("no CUDA device");
    return false;
  }
  return true;
}

// Runs `step` under the benchmark loop; on the GPU waits for the device once before and in the last iteration.
template <typename Step>
void time_steps(benchmark::State& state, Step step) {
  const Device device = device_of(state);
  try {
    step();  // warm-up: creates the optimizer state
    if (device.is_cuda()) cuda::synchronize();
    benchmark::IterationCount calls = 0;
    for (auto _ : state) {
      step();
      if (device.is_cuda() && ++calls == state.max_iterations) cuda::synchronize();
    }
  } catch (const Error& error) {
    state.SkipWithError(error.what());
  }
}

void BM_AdamW_all(benchmark::State& state) {
  if (!device_ready(state)) return;
  SasrecParams p = make_params(device_of(state));
  std::vector<Tensor> all = p.rest;
  all.insert(all.end(), p.hidden.begin(), p.hidden.end());
  AdamW adamw(all, AdamWOptions{.lr = 1e-3, .weight_decay = 0.0});
  time_steps(state, [&] { adamw.step(); });
}

void BM_MuonHybrid(benchmark::State& state) {
  if (!device_ready(state)) return;
  SasrecParams p = make_params(device_of(state));
  Muon muon(p.hidden, MuonOptions{.lr = 0.02});
  AdamW adamw(p.rest, AdamWOptions{.lr = 1e-2, .beta1 = 0.9, .beta2 = 0.95, .weight_decay = 1e-5});
  time_steps(state, [&] {
    muon.step();
    adamw.step();
  });
}

void BM_MuonOnly(benchmark::State& state) {
  if (!device_ready(state)) return;
  SasrecParams p = make_params(device_of(state));
  Muon muon(p.hidden, MuonOptions{.lr = 0.02});
  time_steps(state, [&] { muon.step(); });
}

void BM_NorMuonOnly(benchmark::State& state) {
  if (!device_ready(state)) return;
  SasrecParams p = make_params(device_of(state));
  NorMuon normuon(p.hidden, NorMuonOptions{});
  time_steps(state, [&] { normuon.step(); });
}

void BM_NewtonSchulz(benchmark::State& state) {
  if (!device_ready(state)) return;
  const Device device = device_of(state);
  Generator gen(2);
  const Tensor g = to_device(randn({state.range(1), state.range(2)}, {}, &gen), device);
  time_steps(state, [&] { benchmark::DoNotOptimize(newton_schulz(g)); });
}

void device_args(benchmark::internal::Benchmark* b) {
  b->ArgName("cuda")->Arg(0)->Arg(1)->Unit(benchmark::kMicrosecond);
}

}  // namespace

BENCHMARK(BM_AdamW_all)->Apply(device_args);
BENCHMARK(BM_MuonHybrid)->Apply(device_args);
BENCHMARK(BM_MuonOnly)->Apply(device_args);
BENCHMARK(BM_NorMuonOnly)->Apply(device_args);
BENCHMARK(BM_NewtonSchulz)
    ->ArgNames({"cuda", "rows", "cols"})
    ->Args({0, 192, 64})
    ->Args({0, 64, 64})
    ->Args({1, 192, 64})
    ->Args({1, 64, 64})
    ->Unit(benchmark::kMicrosecond);
