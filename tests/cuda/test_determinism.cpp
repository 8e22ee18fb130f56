// Issue 3, must-hold 2: on the GPU, the same seed gives bit-identical losses and
// weights over two training runs. The model touches every kernel family a
// recommender step uses: embedding lookup and its backward (repeated indices,
// summed without order-dependent atomics), GEMMs, layer_norm, gelu, dropout
// (Philox mask), cross-entropy, the reductions of clip_grad_norm_ and AdamW.
// Skips without a GPU.
#include <gtest/gtest.h>

#include <cstring>
#include <memory>
#include <vector>

#include "cuda/parity.h"
#include "recgrad.h"

using namespace recgrad;

namespace {

constexpr std::int64_t kVocab = 97, kDim = 32, kClasses = 11, kBatch = 8, kSeq = 50;

/// embedding -> linear -> layer_norm -> gelu -> dropout -> linear, on [batch * seq] token ids.
struct TinyRecommender : nn::Module {
  std::shared_ptr<nn::Embedding> embedding;
  std::shared_ptr<nn::Linear> proj, head;
  std::shared_ptr<nn::LayerNorm> norm;
  std::shared_ptr<nn::Dropout> dropout;
  TinyRecommender() {
    embedding = register_module("embedding", std::make_shared<nn::Embedding>(kVocab, kDim));
    proj = register_module("proj", std::make_shared<nn::Linear>(kDim, kDim));
    norm = register_module("norm", std::make_shared<nn::LayerNorm>(Shape{kDim}));
    dropout = register_module("dropout", std::make_shared<nn::Dropout>(0.1));
    head = register_module("head", std::make_shared<nn::Linear>(kDim, kClasses));
  }
  /// ids [batch, seq] -> logits [batch * seq, classes].
  Tensor forward(const Tensor& ids) const {
    const Tensor h = gelu(norm->forward(proj->forward(embedding->forward(ids))));
    return reshape(head->forward(dropout->forward(h)), {kBatch * kSeq, kClasses});
  }
};

/// What one run leaves behind: the loss of every step and the final weights, as bytes.
struct RunResult {
  std::vector<float> losses;
  std::vector<std::vector<unsigned char>> weights;
};

std::vector<unsigned char> bytes_of(const Tensor& t) {
  const Tensor host = raw::contiguous(raw::to_device(t, Device::cpu()));
  std::vector<unsigned char> bytes(static_cast<std::size_t>(host.numel()) * element_size(host.dtype()));
  if (!bytes.empty()) std::memcpy(bytes.data(), host.raw_data(), bytes.size());
  return bytes;
}

/// 30 AdamW steps on the GPU from `seed` (weights, data and dropout masks all follow from it).
RunResult train_on_gpu(std::uint64_t seed) {
  const Device gpu = Device::cuda();
  manual_seed(seed);
  TinyRecommender model;
  model.to(gpu);
  const Tensor ids = raw::to_device(randint(0, kVocab, {kBatch, kSeq}), gpu);  // many repeated ids
  const Tensor targets = raw::to_device(randint(0, kClasses, {kBatch * kSeq}), gpu);
  AdamW optimizer(model.parameters(), {.lr = 3e-3, .weight_decay = 0.01});
  RunResult result;
  for (int step = 0; step < 30; ++step) {
    optimizer.zero_grad();
    const Tensor loss = cross_entropy(model.forward(ids), targets);
    loss.backward();
    clip_grad_norm_(model.parameters(), 1.0);
    optimizer.step();
    result.losses.push_back(raw::to_device(loss, Device::cpu()).item<float>());
  }
  for (const Tensor& param : model.parameters()) result.weights.push_back(bytes_of(param));
  return result;
}

}  // namespace

TEST(CudaDeterminism, SameSeedGivesBitIdenticalTraining) {
  SKIP_WITHOUT_CUDA();
  const RunResult first = train_on_gpu(2024);
  const RunResult second = train_on_gpu(2024);
  ASSERT_EQ(first.losses.size(), second.losses.size());
  for (std::size_t step = 0; step < first.losses.size(); ++step) {
    EXPECT_EQ(std::memcmp(&first.losses[step], &second.losses[step], sizeof(float)), 0)
        << "step " << step << ": loss " << first.losses[step] << " vs " << second.losses[step];
  }
  ASSERT_EQ(first.weights.size(), second.weights.size());
  for (std::size_t i = 0; i < first.weights.size(); ++i) {
    EXPECT_TRUE(first.weights[i] == second.weights[i]) << "parameter " << i << " differs between the two runs";
  }
  // The run really trained (and the comparison is not between two untouched models).
  EXPECT_LT(first.losses.back(), first.losses.front());
  // Another seed gives another run: the seed is what fixes the result.
  const RunResult other = train_on_gpu(2025);
  EXPECT_NE(std::memcmp(&first.losses.back(), &other.losses.back(), sizeof(float)), 0);
}
