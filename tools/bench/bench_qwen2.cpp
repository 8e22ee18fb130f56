// MiniOneRec's decoder (nn/qwen2.h) at its default CPU size - vocabulary 4118 (the Industrial catalogue's SID and
// title-word tokens), hidden 128, 4 layers, 4 heads and 4 key/value heads, SwiGLU 352, tied LM head:
//   BM_qwen2_train_step  one SFT step (forward, the token cross-entropy of the last 5 positions of each row - the
//                        responses -, backward, AdamW) on 64 left-padded rows of 48 tokens; items = tokens read
//   BM_qwen2_beam_step   one step of beam-search decoding from a KV cache: 64 prompts x 20 beams = 1280 sequences
//                        whose caches hold 40 positions are reordered by their parent beams, read one token each
//                        and score the whole vocabulary (log-softmax), as MiniOneRec's beam search does per level
// tools/bench/compare_torch_qwen2.py times the same decoder, batch and step in PyTorch side by side.
#include <benchmark/benchmark.h>

#include "core/ops/copy.h"
#include "nn/qwen2.h"
#include "optim/adamw.h"
#include "recgrad.h"

namespace {

using namespace recgrad;

constexpr std::int64_t kVocab = 4118, kRows = 64, kLength = 48, kResponse = 5;
constexpr std::int64_t kBeams = 20, kCached = 40;

nn::Qwen2Config bench_config() {
  nn::Qwen2Config config;
  config.vocab_size = kVocab;
  return config;  // the rest: MiniOneRec's defaults (hidden 128, 4 layers, 4/4 heads, SwiGLU 352, tied)
}

/// Row b: (b mod 8) padding positions, then tokens (13 b + 7 t) mod (V - 1) + 1. compare_torch_qwen2.py builds the
/// same.
void bench_tokens(std::int64_t rows, std::int64_t length, Tensor& tokens, Tensor& padding) {
  std::vector<std::int64_t> ids;
  std::vector<std::uint8_t> pad;
  for (std::int64_t b = 0; b < rows; ++b) {
    for (std::int64_t t = 0; t < length; ++t) {
      const bool padded = t < b % 8;
      ids.push_back(padded ? 0 : (13 * b + 7 * t) % (kVocab - 1) + 1);
      pad.push_back(padded ? 1 : 0);
    }
  }
  tokens = from_vector(ids, {rows, length});
  padding = raw::to_dtype(from_vector(pad, {rows, length}), DType::b8);
}

void BM_qwen2_train_step(benchmark::State& state) {
  manual_seed(0);
  nn::Qwen2ForCausalLM lm(bench_config());
  Tensor tokens, padding;
  bench_tokens(kRows, kLength, tokens, padding);
  // the responses: the last kResponse positions of each row predict the token after them (the last wraps around)
  std::vector<std::int64_t> positions, targets;
  const std::vector<std::int64_t> ids = tokens.to_vector<std::int64_t>();
  for (std::int64_t b = 0; b < kRows; ++b) {
    for (std::int64_t t = kLength - kResponse - 1; t < kLength - 1; ++t) {
      positions.push_back(b * kLength + t);
      targets.push_back(ids[static_cast<std::size_t>(b * kLength + t + 1)]);
    }
  }
  const Tensor scored = from_vector(positions, {static_cast<std::int64_t>(positions.size())});
  const Tensor target = from_vector(targets, {static_cast<std::int64_t>(targets.size())});
  AdamW optimizer(lm.parameters(), AdamWOptions{.lr = 1e-3, .weight_decay = 0.0});
  nn::AttentionMasks masks;
  masks.key_padding_mask = padding;
  const auto train_step = [&] {
    optimizer.zero_grad();
    const Tensor hidden = lm.hidden_states(tokens, masks);
    const Tensor rows = index_select(reshape(hidden, {kRows * kLength, hidden.size(2)}), 0, scored);
    cross_entropy(lm.logits(rows), target).backward();
    optimizer.step();
  };
  train_step();  // warm-up outside the timing (fresh memory, the optimizer state), as compare_torch.py does
  for (auto _ : state) train_step();
  state.SetItemsProcessed(state.iterations() * kRows * kLength);
}
BENCHMARK(BM_qwen2_train_step)->Unit(benchmark::kMillisecond);

void BM_qwen2_beam_step(benchmark::State& state) {
  manual_seed(0);
  nn::Qwen2ForCausalLM lm(bench_config());
  lm.eval();
  NoGradGuard no_grad;
  const std::int64_t sequences = kRows * kBeams;
  Tensor tokens, padding;
  bench_tokens(sequences, kCached, tokens, padding);
  std::vector<nn::KVCache> prefilled(static_cast<std::size_t>(lm.config.num_hidden_layers));
  nn::AttentionMasks prefill_masks;
  prefill_masks.key_padding_mask = padding;
  (void)lm.hidden_states(tokens, prefill_masks, &prefilled);
  // beam j of prompt r continues beam (j + 1) mod 20 of the same prompt; each reads token (7 s) mod (V - 1) + 1
  std::vector<std::int64_t> parents, next;
  for (std::int64_t s = 0; s < sequences; ++s) {
    parents.push_back(s / kBeams * kBeams + (s % kBeams + 1) % kBeams);
    next.push_back((7 * s) % (kVocab - 1) + 1);
  }
  const Tensor parent = from_vector(parents, {sequences});
  const Tensor input = from_vector(next, {sequences, 1});
  const auto step = [&] {
    std::vector<nn::KVCache> caches = prefilled;  // the step appends to copies of the handles; the cache stays
    for (nn::KVCache& cache : caches) {
      cache.keys = index_select(cache.keys, 0, parent);
      cache.values = index_select(cache.values, 0, parent);
    }
    nn::AttentionMasks masks;
    masks.key_padding_mask = cat({index_select(padding, 0, parent), zeros({sequences, 1}, {.dtype = DType::b8})}, 1);
    const Tensor hidden = select(lm.hidden_states(input, masks, &caches), 1, 0);
    return log_softmax(lm.logits(hidden), 1);
  };
  benchmark::DoNotOptimize(step());  // warm-up
  for (auto _ : state) benchmark::DoNotOptimize(step());
}
BENCHMARK(BM_qwen2_beam_step)->Unit(benchmark::kMillisecond);

}  // namespace
