// The optimizer audit's overhead per audited step on a SASRec-sized model (12k items,
// d = 64, 2 pre-norm blocks, 2 heads, sequences of 50, batch 32, full-vocabulary
// cross-entropy, the muonrec hybrid). Compare BM_SASRecStep (forward, backward, step)
// with BM_SASRecAuditedStep/<mode>:
//   0  norms, RMS, spectral norms, cosines, Newton-Schulz orthogonality (no curvature)
//   1  + the whole-model u^T H u (one Hessian-vector product: 2 extra gradients)
//   2  + each matrix's own u^T H u (2 extra gradients per >= 2-D parameter)
// The counter audit_s is the audit's own time per audited step (its records' audit_seconds).
#include <benchmark/benchmark.h>

#include <cmath>
#include <memory>

#include "autograd/ops.h"
#include "nn/embedding.h"
#include "nn/layer_norm.h"
#include "nn/module_list.h"
#include "nn/transformer.h"
#include "optim/audit.h"
#include "optim/hybrid.h"
#include "optim/presets.h"

namespace recgrad {
namespace {

constexpr std::int64_t kItems = 12000, kDim = 64, kLen = 50, kBatch = 32, kBlocks = 2, kHeads = 2;

struct SASRecLike : nn::Module {
  std::shared_ptr<nn::Embedding> item_emb, pos_emb;
  std::shared_ptr<nn::ModuleList> blocks;
  std::shared_ptr<nn::LayerNorm> last_layernorm;
  SASRecLike() {
    item_emb = register_module("item_emb", std::make_shared<nn::Embedding>(kItems + 1, kDim, 0));
    pos_emb = register_module("pos_emb", std::make_shared<nn::Embedding>(kLen, kDim));
    blocks = register_module("blocks", std::make_shared<nn::ModuleList>());
    for (std::int64_t b = 0; b < kBlocks; ++b) {
      blocks->push_back(std::make_shared<nn::TransformerEncoderLayer>(kDim, kHeads, kDim, 0.0,
                                                                      nn::FeedForwardActivation::relu, true));
    }
    last_layernorm = register_module("last_layernorm", std::make_shared<nn::LayerNorm>(Shape{kDim}));
  }
  // Mean cross-entropy of the next item at every position, scored against every item.
  Tensor loss(const Tensor& sequences, const Tensor& targets) const {
    Tensor x = mul(item_emb->forward(sequences), std::sqrt(static_cast<double>(kDim)));
    x = add(x, pos_emb->forward(arange(0, kLen, 1, {DType::i64})));
    nn::AttentionMasks causal;
    causal.causal = true;
    for (std::size_t b = 0; b < blocks->size(); ++b) {
      x = blocks->at<nn::TransformerEncoderLayer>(b)->forward(x, causal);
    }
    const Tensor h = reshape(last_layernorm->forward(x), {kBatch * kLen, kDim});
    const Tensor logits = matmul(h, transpose(item_emb->weight, 0, 1));
    return cross_entropy(logits, reshape(targets, {kBatch * kLen}));
  }
};

struct Fixture {
  SASRecLike model;
  Tensor sequences, targets;
  std::unique_ptr<HybridOptimizer> optimizer;
  Fixture() {
    Generator generator(1);
    sequences = randint(1, kItems + 1, {kBatch, kLen}, {DType::i64}, &generator);
    targets = randint(1, kItems + 1, {kBatch, kLen}, {DType::i64}, &generator);
    HybridPreset preset = muonrec_preset();
    preset.muon.keep_last_orthogonalized = true;
    optimizer = std::make_unique<HybridOptimizer>(route_parameters(model, preset.routing), preset.muon, preset.adamw);
  }
  void backward() {
    optimizer->zero_grad();
    model.loss(sequences, targets).backward();
  }
};

void BM_SASRecStep(benchmark::State& state) {
  Fixture f;
  for (auto _ : state) {
    f.backward();
    f.optimizer->step();
  }
}
BENCHMARK(BM_SASRecStep)->Unit(benchmark::kMillisecond)->Iterations(3);

void BM_SASRecAuditedStep(benchmark::State& state) {
  Fixture f;
  const int mode = static_cast<int>(state.range(0));
  AuditOptions options;
  options.enabled = true;
  options.every = 1;
  options.curvature = mode >= 1;
  options.per_parameter_curvature = mode >= 2;
  OptimizerAudit audit(f.optimizer->audited_parameters(), options);
  audit.set_orthogonalized_provider(f.optimizer->orthogonalized_provider());
  std::int64_t step = 0, evaluations = 0;
  for (auto _ : state) {
    f.backward();
    const AuditStepReport report = audit.step(
        step++, [&] { f.optimizer->step(); }, [&] { return f.model.loss(f.sequences, f.targets); });
    evaluations = report.model.gradient_evaluations;
  }
  state.counters["audit_s"] = audit.summary().seconds_per_audited_step();
  state.counters["extra_gradients"] = static_cast<double>(evaluations);
}
BENCHMARK(BM_SASRecAuditedStep)->Arg(0)->Arg(1)->Arg(2)->Unit(benchmark::kMillisecond)->Iterations(2);

}  // namespace
}  // namespace recgrad
