// Batches of prompt/response examples (recsys/generative/prompts.h) for a decoder-only language model, left-padded
// so that every row's last prompt token sits in the last column (decoding then appends to every row at once).
//
//   training:  input = prompt + response[:-1]; the loss reads the positions whose next token is a response token,
//              i.e. row b's positions |prompt|-1 .. |prompt|+|response|-2, with targets = the response tokens;
//              prompt positions are never scored ("loss on the response only")
//   decoding:  input = the prompt alone
//
// The loss is the mean token cross-entropy over the batch's response tokens: every response token weighs the same,
// whatever its row's length, so a batch gives the loss of its rows run one by one, weighted by their token counts.
#pragma once

#include <cstdint>
#include <functional>
#include <vector>

#include "core/tensor.h"
#include "recsys/generative/prompts.h"

namespace recgrad::recsys {

struct LmBatch {
  Tensor tokens;            // [B, T] i64, left-padded with <pad>
  Tensor padding;           // [B, T] b8, true on the padding
  Tensor scored_positions;  // [N] i64: flat indices b * T + t of the positions the loss reads
  Tensor targets;           // [N] i64: the response token each of them predicts
};

/// The training batch of `examples` (see the top of the file).
LmBatch training_batch(const std::vector<PromptExample>& examples);
/// The training batches of `examples` grouped by length, so that short rows are not padded to the longest row of
/// the whole set: the examples sorted by their sequence length (prompt + response - 1; ties keep their order), then
/// cut into consecutive groups, a group closing before its rows times its longest sequence would pass
/// `max_tokens` (a single longer row still forms a group). Every example lands in exactly one batch; the mean loss
/// of all of them is the sum over the batches of (mean loss of the batch) x (its response tokens) / (all of them).
std::vector<LmBatch> length_grouped_batches(const std::vector<PromptExample>& examples, std::int64_t max_tokens);
/// The decoding batch of the examples' prompts (scored_positions and targets are empty).
LmBatch prompt_batch(const std::vector<PromptExample>& examples);

/// Mean cross-entropy of the scored positions: hidden [B, T, d] -> the logits of the N scored rows through
/// `logits_of` ([N, d] -> [N, V]) -> the mean over N. Only the scored rows reach the LM head.
Tensor response_loss(const Tensor& hidden, const LmBatch& batch,
                     const std::function<Tensor(const Tensor& hidden_rows)>& logits_of);

}  // namespace recgrad::recsys
