// Trie-constrained beam search over semantic IDs, shared by the generative recommenders (TIGER, MiniOneRec).
//
// For each row (one user's history) it keeps the `width` most probable SID prefixes, extends each by every code
// the catalogue's trie allows after it, scores an extension by the sum of its tokens' log-probabilities, and keeps
// the best `width` again, level after level, until the prefixes are whole SIDs, that is items. Because every
// extension follows the trie, every returned beam is a real item, and because distinct prefixes stay distinct,
// no item is returned twice. The state of each beam is explicit: its trie node, its score and the beam it
// extends (no step counters, no lookup by token text).
//
// Ties are broken deterministically: candidates with equal scores keep the order of the beams they extend (which
// are sorted), then increasing code; so equal scores rank in lexicographic order of their SIDs.
//
// With width >= the number of items, nothing is ever pruned and the search scores every item of the catalogue
// exactly, sharing the decoder work of common prefixes: that is the exact full-ranking mode.
#pragma once

#include <cstdint>
#include <functional>
#include <vector>

#include "core/tensor.h"
#include "recsys/generative/sid_trie.h"

namespace recgrad::recsys {

/// The model side of the search. At level l it receives, for the N beams alive after level l - 1 (at level 0:
/// one per row, in row order), the index of the beam each one extends in the previous step's list (`parents`;
/// at level 0 the row index) and the code it took last (`last_codes`; at level 0 unused, -1). It must reorder its
/// own decoding state (KV caches) by `parents`, feed `last_codes`, and return log-probabilities [N, K_l] f32 or
/// f64 on the CPU over the codes of level l (K_l = the codebook size of the level). Codes the trie does not allow
/// are never read.
using DecodeStep = std::function<Tensor(std::int64_t level, const std::vector<std::int64_t>& parents,
                                        const std::vector<std::int32_t>& last_codes)>;

/// One finished beam: an item and the sum of the log-probabilities of its SID's tokens.
struct ScoredItem {
  datasets::ItemId item = 0;
  double score = 0;
};

/// For each of `rows` rows, up to `width` items by decreasing score (fewer only when the catalogue has fewer
/// items). Throws when width < 1, or when `step` returns log-probabilities of the wrong shape.
std::vector<std::vector<ScoredItem>> constrained_beam_search(const SidTrie& trie, std::int64_t rows, std::int64_t width,
                                                             const DecodeStep& step);

/// The [rows, num_items] score matrix of the beams (column c is item c + 1, recsys/item_ids.h): each beam's score,
/// the lowest float for the items outside a row's beams (a target there is a miss; the metrics count ties
/// pessimistically). On `device`.
Tensor beam_score_matrix(const std::vector<std::vector<ScoredItem>>& beams, std::int64_t num_items, Device device);

/// splitmix64, a fixed and well-mixed 64-bit hash (the generative models hash users and task draws with it).
std::uint64_t splitmix64(std::uint64_t x);

}  // namespace recgrad::recsys
