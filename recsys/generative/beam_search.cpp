#include "recsys/generative/beam_search.h"

#include <algorithm>
#include <limits>

#include "core/error.h"
#include "core/factory.h"
#include "core/ops/copy.h"

namespace recgrad::recsys {
namespace {

// A live beam: its trie node, its score, and (while building the next level) where it came from.
struct Beam {
  SidTrie::Node node;
  double score;
  std::int64_t parent;  // index in the previous level's flat list
  std::int32_t code;    // the code that led to `node`
};

// Reads element [i, j] of a 2-D CPU tensor of f32 or f64 as a double.
class LogProbs {
 public:
  explicit LogProbs(const Tensor& t) : t_(raw::contiguous(t)) {
    f32_ = t_.dtype() == DType::f32;
    width_ = t_.size(1);
  }
  double at(std::int64_t i, std::int64_t j) const {
    return f32_ ? static_cast<double>(t_.data<float>()[i * width_ + j]) : t_.data<double>()[i * width_ + j];
  }

 private:
  Tensor t_;
  bool f32_ = true;
  std::int64_t width_ = 0;
};

}  // namespace

std::vector<std::vector<ScoredItem>> constrained_beam_search(const SidTrie& trie, std::int64_t rows, std::int64_t width,
                                                             const DecodeStep& step) {
  RG_CHECK(width >= 1, "beam search: the beam width must be >= 1, got ", width);
  RG_CHECK(rows >= 0, "beam search: rows must be >= 0, got ", rows);
  // beams[r]: row r's live beams, sorted by decreasing score (ties: lexicographic SID order).
  std::vector<std::vector<Beam>> beams(static_cast<std::size_t>(rows));
  std::vector<std::int64_t> parents(static_cast<std::size_t>(rows));
  std::vector<std::int32_t> last_codes(static_cast<std::size_t>(rows), -1);
  for (std::int64_t r = 0; r < rows; ++r) {
    beams[static_cast<std::size_t>(r)] = {{SidTrie::kRoot, 0.0, r, -1}};
    parents[static_cast<std::size_t>(r)] = r;
  }
  for (std::int64_t level = 0; level < trie.levels(); ++level) {
    if (rows == 0) break;
    const Tensor output = step(level, parents, last_codes);
    const auto alive = static_cast<std::int64_t>(parents.size());
    RG_CHECK(output.defined() && output.dim() == 2 && output.size(0) == alive && !output.is_cuda() &&
                 (output.dtype() == DType::f32 || output.dtype() == DType::f64),
             "beam search: the decoder step at level ", level, " must return CPU log-probabilities [", alive,
             ", codes] (f32 or f64), got ", output.defined() ? output.shape() : Shape{});
    const LogProbs log_probs(output);
    const std::int64_t codes = output.size(1);
    std::vector<std::int64_t> next_parents;
    std::vector<std::int32_t> next_codes;
    std::int64_t flat = 0;  // index of the current beam in the list the step just scored
    for (std::int64_t r = 0; r < rows; ++r) {
      std::vector<Beam> candidates;
      for (const Beam& beam : beams[static_cast<std::size_t>(r)]) {
        for (const SidTrie::Child& child : trie.children(beam.node)) {
          RG_CHECK(child.code < codes, "beam search: level ", level, " has code ", child.code,
                   " but the decoder scored only ", codes, " codes");
          candidates.push_back({child.node, beam.score + log_probs.at(flat, child.code), flat, child.code});
        }
        ++flat;
      }
      // The best `width`, stably: equal scores keep beam order, then code order (the order they were generated).
      const auto keep = std::min<std::size_t>(static_cast<std::size_t>(width), candidates.size());
      std::stable_sort(candidates.begin(), candidates.end(),
                       [](const Beam& a, const Beam& b) { return a.score > b.score; });
      candidates.resize(keep);
      for (const Beam& c : candidates) {
        next_parents.push_back(c.parent);
        next_codes.push_back(c.code);
      }
      beams[static_cast<std::size_t>(r)] = std::move(candidates);
    }
    parents = std::move(next_parents);
    last_codes = std::move(next_codes);
  }
  std::vector<std::vector<ScoredItem>> out(static_cast<std::size_t>(rows));
  for (std::int64_t r = 0; r < rows; ++r) {
    for (const Beam& beam : beams[static_cast<std::size_t>(r)]) {
      out[static_cast<std::size_t>(r)].push_back({trie.item(beam.node), beam.score});
    }
  }
  return out;
}

Tensor beam_score_matrix(const std::vector<std::vector<ScoredItem>>& beams, std::int64_t num_items, Device device) {
  const auto rows = static_cast<std::int64_t>(beams.size());
  Tensor scores = full({rows, num_items}, static_cast<double>(std::numeric_limits<float>::lowest()));
  float* out = scores.data<float>();
  for (std::int64_t r = 0; r < rows; ++r) {
    for (const ScoredItem& beam : beams[static_cast<std::size_t>(r)]) {
      RG_CHECK(beam.item >= 1 && beam.item <= num_items, "beam_score_matrix: item ", beam.item, " is not in 1..",
               num_items);
      out[r * num_items + (beam.item - 1)] = static_cast<float>(beam.score);
    }
  }
  return raw::to_device(scores, device);
}

std::uint64_t splitmix64(std::uint64_t x) {
  x += 0x9e3779b97f4a7c15ULL;
  x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ULL;
  x = (x ^ (x >> 27)) * 0x94d049bb133111ebULL;
  return x ^ (x >> 31);
}

}  // namespace recgrad::recsys
