#include "recsys/generative/lm_batch.h"

#include <algorithm>

#include "autograd/ops.h"
#include "core/error.h"
#include "core/factory.h"
#include "core/ops/copy.h"

namespace recgrad::recsys {
namespace {

// Left-pads `rows` into tokens [B, T] and the padding mask.
void left_pad(const std::vector<std::vector<std::int64_t>>& rows, LmBatch& batch) {
  RG_CHECK(!rows.empty(), "LmBatch: no examples");
  std::size_t width = 0;
  for (const auto& row : rows) width = std::max(width, row.size());
  const auto b = static_cast<std::int64_t>(rows.size()), t = static_cast<std::int64_t>(width);
  // padded positions hold id 0 (a valid row of any vocabulary); the mask keeps them out of every attention
  std::vector<std::int64_t> tokens(static_cast<std::size_t>(b * t), 0);
  std::vector<std::uint8_t> padding(static_cast<std::size_t>(b * t), 1);
  for (std::size_t r = 0; r < rows.size(); ++r) {
    const std::size_t start = r * width + (width - rows[r].size());
    std::copy(rows[r].begin(), rows[r].end(), tokens.begin() + static_cast<std::ptrdiff_t>(start));
    std::fill_n(padding.begin() + static_cast<std::ptrdiff_t>(start), rows[r].size(), 0);
  }
  batch.tokens = from_vector(tokens, {b, t});
  batch.padding = raw::to_dtype(from_vector(padding, {b, t}), DType::b8);
}

}  // namespace

LmBatch training_batch(const std::vector<PromptExample>& examples) {
  std::vector<std::vector<std::int64_t>> rows;
  for (const PromptExample& e : examples) {
    RG_CHECK(!e.prompt.empty() && !e.response.empty(), "LmBatch: an example of item ", e.item,
             " has an empty prompt or response");
    std::vector<std::int64_t> row = e.prompt;
    row.insert(row.end(), e.response.begin(), e.response.end() - 1);
    rows.push_back(std::move(row));
  }
  LmBatch batch;
  left_pad(rows, batch);
  const std::int64_t width = batch.tokens.size(1);
  std::vector<std::int64_t> positions, targets;
  for (std::size_t r = 0; r < examples.size(); ++r) {
    const auto row_length = static_cast<std::int64_t>(rows[r].size());
    const auto prompt = static_cast<std::int64_t>(examples[r].prompt.size());
    const std::int64_t first = static_cast<std::int64_t>(r) * width + (width - row_length);  // the row's column 0
    for (std::size_t j = 0; j < examples[r].response.size(); ++j) {
      positions.push_back(first + prompt - 1 + static_cast<std::int64_t>(j));
      targets.push_back(examples[r].response[j]);
    }
  }
  const auto n = static_cast<std::int64_t>(positions.size());
  batch.scored_positions = from_vector(positions, {n});
  batch.targets = from_vector(targets, {n});
  return batch;
}

std::vector<LmBatch> length_grouped_batches(const std::vector<PromptExample>& examples, std::int64_t max_tokens) {
  RG_CHECK(max_tokens >= 1, "length_grouped_batches: max_tokens must be >= 1, got ", max_tokens);
  const auto length = [&](std::size_t i) { return examples[i].prompt.size() + examples[i].response.size() - 1; };
  std::vector<std::size_t> order(examples.size());
  for (std::size_t i = 0; i < order.size(); ++i) order[i] = i;
  std::stable_sort(order.begin(), order.end(), [&](std::size_t a, std::size_t b) { return length(a) < length(b); });
  std::vector<LmBatch> batches;
  std::vector<PromptExample> group;
  for (const std::size_t i : order) {  // ascending lengths: the newest row is the group's longest
    if (!group.empty() && static_cast<std::int64_t>((group.size() + 1) * length(i)) > max_tokens) {
      batches.push_back(training_batch(group));
      group.clear();
    }
    group.push_back(examples[i]);
  }
  if (!group.empty()) batches.push_back(training_batch(group));
  return batches;
}

LmBatch prompt_batch(const std::vector<PromptExample>& examples) {
  std::vector<std::vector<std::int64_t>> rows;
  for (const PromptExample& e : examples) {
    RG_CHECK(!e.prompt.empty(), "LmBatch: an example of item ", e.item, " has an empty prompt");
    rows.push_back(e.prompt);
  }
  LmBatch batch;
  left_pad(rows, batch);
  return batch;
}

Tensor response_loss(const Tensor& hidden, const LmBatch& batch,
                     const std::function<Tensor(const Tensor& hidden_rows)>& logits_of) {
  RG_CHECK(hidden.dim() == 3 && hidden.size(0) == batch.tokens.size(0) && hidden.size(1) == batch.tokens.size(1),
           "response_loss: hidden states ", hidden.shape(), " do not match the batch's tokens ", batch.tokens.shape());
  const Tensor flat = reshape(hidden, {hidden.size(0) * hidden.size(1), hidden.size(2)});
  const Tensor rows = index_select(flat, 0, raw::to_device(batch.scored_positions, hidden.device()));
  return cross_entropy(logits_of(rows), raw::to_device(batch.targets, hidden.device()));
}

}  // namespace recgrad::recsys
