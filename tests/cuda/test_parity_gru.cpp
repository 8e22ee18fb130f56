// CPU-vs-CUDA parity of the GRU: the fused cell (forward and backward kernels, with and without a mask,
// on strided rows), one layer's recurrence, and the whole 2-layer GRU with h0 and a left-padding mask, at
// sizes that are not multiples of a warp and at the recommender shape (B 256, T 50, H 64). Outputs and
// the gradients of every input and weight are compared. Skips without a GPU.
#include <gtest/gtest.h>

#include <vector>

#include "autograd/ops/gru_cell.h"
#include "cuda/parity.h"
#include "nn/gru.h"
#include "recgrad.h"

using namespace recgrad;
using recgrad::testing::expect_cuda_parity;
using recgrad::testing::parity_input;
using recgrad::testing::Tolerance;

namespace {

// A b8 [rows, steps] mask, left padded: row b holds lengths[b] valid steps at its end.
Tensor left_padded_mask(const std::vector<std::int64_t>& lengths, std::int64_t steps) {
  return nn::lengths_to_mask(from_vector(lengths), steps, nn::Padding::left);
}

// Lengths cycling through `steps`, 1, steps / 2, ... for a batch of `batch`.
std::vector<std::int64_t> mixed_lengths(std::int64_t batch, std::int64_t steps) {
  std::vector<std::int64_t> lengths;
  for (std::int64_t b = 0; b < batch; ++b) lengths.push_back(1 + (b * 7) % steps);
  lengths[0] = steps;
  return lengths;
}

// Inputs of a GRU of `layers` layers: x, h0, then per layer weight_ih, weight_hh, bias_ih, bias_hh.
std::vector<Tensor> gru_inputs(std::int64_t batch, std::int64_t steps, std::int64_t in, std::int64_t hidden,
                               std::int64_t layers) {
  std::vector<Tensor> inputs{parity_input({batch, steps, in}, 1), parity_input({layers, batch, hidden}, 2)};
  std::uint64_t seed = 10;
  for (std::int64_t k = 0; k < layers; ++k) {
    const std::int64_t width = k == 0 ? in : hidden;
    for (const Shape& shape :
         {Shape{3 * hidden, width}, Shape{3 * hidden, hidden}, Shape{3 * hidden}, Shape{3 * hidden}}) {
      // Weights of a trained model's scale keep the gates away from saturation.
      Tensor w = mul(parity_input(shape, seed++).detach(), 0.3);
      inputs.push_back(w.requires_grad_());
    }
  }
  return inputs;
}

// output and h_n of the functional GRU joined into one tensor; inputs as gru_inputs, then the mask last.
Tensor run_gru(const std::vector<Tensor>& in) {
  std::vector<nn::GRULayerWeights> layers;
  for (std::size_t i = 2; i + 4 < in.size(); i += 4) layers.push_back({in[i], in[i + 1], in[i + 2], in[i + 3]});
  const nn::GRUOutput out = nn::gru(in[0], in[1], in.back(), layers, /*batch_first=*/true);
  return cat({reshape(out.output, {-1}), reshape(out.h_n, {-1})});
}

}  // namespace

TEST(CudaParityGru, Cell) {
  SKIP_WITHOUT_CUDA();
  for (std::int64_t hidden : {1, 33, 64}) {
    const std::int64_t batch = 37;
    std::vector<bool> bits;
    for (std::int64_t b = 0; b < batch; ++b) bits.push_back(b % 3 != 1);
    const Tensor mask = from_vector(bits, {batch});
    const std::vector<Tensor> inputs{parity_input({batch, 3 * hidden}, 1), parity_input({batch, 3 * hidden}, 2),
                                     parity_input({batch, hidden}, 3), mask};
    expect_cuda_parity([](const std::vector<Tensor>& in) { return gru_cell(in[0], in[1], in[2], in[3]); }, inputs, {},
                       "gru_cell masked, H " + std::to_string(hidden));
    expect_cuda_parity([](const std::vector<Tensor>& in) { return gru_cell(in[0], in[1], in[2]); },
                       {inputs[0], inputs[1], inputs[2]}, {}, "gru_cell, H " + std::to_string(hidden));
    // Strided rows: a step of a [B, T, 3H] tensor.
    expect_cuda_parity([](const std::vector<Tensor>& in) { return gru_cell(select(in[0], 1, 2), in[1], in[2]); },
                       {parity_input({batch, 4, 3 * hidden}, 4), inputs[1], inputs[2]}, {},
                       "gru_cell strided, H " + std::to_string(hidden));
  }
}

TEST(CudaParityGru, Recurrence) {
  SKIP_WITHOUT_CUDA();
  const std::int64_t batch = 19, steps = 9, hidden = 33;
  const Tensor mask = raw::contiguous(raw::transpose(left_padded_mask(mixed_lengths(batch, steps), steps), 0, 1));
  std::vector<Tensor> inputs{parity_input({batch, steps, 3 * hidden}, 1), parity_input({batch, hidden}, 2),
                             mul(parity_input({3 * hidden, hidden}, 3).detach(), 0.3).requires_grad_(),
                             parity_input({3 * hidden}, 4), mask};
  expect_cuda_parity(
      [](const std::vector<Tensor>& in) { return gru_recurrence(transpose(in[0], 0, 1), in[1], in[2], in[3], in[4]); },
      inputs, {}, "gru_recurrence masked");
  expect_cuda_parity(
      [](const std::vector<Tensor>& in) { return gru_recurrence(transpose(in[0], 0, 1), Tensor(), in[2]); }, inputs, {},
      "gru_recurrence without h0, bias, mask");
}

TEST(CudaParityGru, TwoLayersLeftPaddedWithH0) {
  SKIP_WITHOUT_CUDA();
  const std::int64_t batch = 13, steps = 11, in = 6, hidden = 35;
  std::vector<Tensor> inputs = gru_inputs(batch, steps, in, hidden, 2);
  inputs.push_back(left_padded_mask(mixed_lengths(batch, steps), steps));
  expect_cuda_parity(run_gru, inputs, {}, "GRU 2 layers");
}

TEST(CudaParityGru, RecommenderShape) {
  SKIP_WITHOUT_CUDA();
  // B 256, T 50, H 64, in 64: cuBLAS and OpenBLAS round the GEMMs differently and 50 steps carry it.
  const std::int64_t batch = 256, steps = 50, in = 64, hidden = 64;
  std::vector<Tensor> inputs = gru_inputs(batch, steps, in, hidden, 1);
  inputs.push_back(left_padded_mask(mixed_lengths(batch, steps), steps));
  expect_cuda_parity(run_gru, inputs, Tolerance{1e-4, 1e-5}, "GRU B256 T50 H64");
}
