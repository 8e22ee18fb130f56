// Batches of a split for training and evaluation: histories left-padded to one length, with masks and
// targets, in an order shuffled per epoch from a seed.
//
// Ids: item ids are those of SequenceDataset (1..num_items) and the padding id is
// datasets::kPaddingItem = 0, which no item uses, so batches keep the ids as they are (no shift) and an
// embedding table of num_items + 1 rows with padding_idx 0 reads them directly.
//
// A row with history h_1..h_n (oldest first) and target t becomes, for max_length L:
//   items[b]        = [0, ..., 0, h_1, ..., h_n]            the last min(n, L) items, left-padded to L
//   padding_mask[b] = [1, ..., 1, 0, ..., 0]                true where items[b] is padding
//   next_items[b]   = [0, ..., 0, h_2, ..., h_n, t]         the item that follows each position
//                                                           (0 = no target, for an ignore index 0)
//   targets[b]      = t
// Left padding puts every row's most recent item at position L - 1, where a causal model reads its
// prediction; next_items gives the per-position targets of SASRec-style training.
#pragma once

#include <cstdint>
#include <vector>

#include "core/device.h"
#include "core/tensor.h"
#include "datasets/sequence_dataset.h"

namespace recgrad::datasets {

/// One batch of rows; tensors live on BatchOptions::device.
struct Batch {
  Tensor items;                    // i64 [B, L]: left-padded histories
  Tensor padding_mask;             // b8  [B, L]: true = padding
  Tensor next_items;               // i64 [B, L]: the item after each position, 0 where there is none
  Tensor targets;                  // i64 [B]: each row's target
  Tensor users;                    // i64 [B]
  std::vector<std::int64_t> rows;  // the split rows in this batch, in batch order

  std::int64_t size() const { return static_cast<std::int64_t>(rows.size()); }
};

/// How a split is cut into batches.
struct BatchOptions {
  std::int64_t batch_size = 256;
  std::int64_t max_length = 50;  // L; longer histories keep their most recent L items
  bool shuffle = true;           // a fresh permutation of the rows per epoch (else split order)
  std::uint64_t seed = 0;        // the permutation of epoch e depends only on (seed, e)
  bool drop_last = false;        // drop a final batch smaller than batch_size
  Device device = Device::cpu();

  /// Throws recgrad::Error for a batch size or max length below 1.
  void validate() const;
};

/// Builds the batch of the given split rows (in that order); throws for a row index out of range.
Batch make_batch(const Split& split, const std::vector<std::int64_t>& rows, const BatchOptions& options);

/// The batches of one epoch over a split: the row order is fixed at construction, batches are built
/// on demand (by index, or by iterating), so an epoch never holds more than one batch.
/// The split must outlive this object.
class EpochBatches {
 public:
  EpochBatches(const Split& split, const BatchOptions& options, std::int64_t epoch = 0);

  /// Number of batches.
  std::int64_t size() const { return num_batches_; }
  /// The row order of this epoch (a permutation of 0..rows-1, or the identity without shuffling).
  const std::vector<std::int64_t>& order() const { return order_; }
  /// Batch i (0 <= i < size()).
  Batch batch(std::int64_t i) const;

  /// Forward iteration over the batches: for (const Batch& batch : epoch_batches) ...
  class Iterator {
   public:
    Iterator(const EpochBatches* owner, std::int64_t index) : owner_(owner), index_(index) {}
    Batch operator*() const { return owner_->batch(index_); }
    Iterator& operator++() {
      ++index_;
      return *this;
    }
    bool operator!=(const Iterator& other) const { return index_ != other.index_; }

   private:
    const EpochBatches* owner_;
    std::int64_t index_;
  };
  Iterator begin() const { return {this, 0}; }
  Iterator end() const { return {this, num_batches_}; }

 private:
  const Split* split_;
  BatchOptions options_;
  std::vector<std::int64_t> order_;
  std::int64_t num_batches_ = 0;
};

/// The permutation of 0..rows-1 that EpochBatches uses for (seed, epoch) (Fisher-Yates on stream `epoch` of
/// HostRandom(seed), core/host_random.h; the same on every platform).
std::vector<std::int64_t> shuffled_rows(std::int64_t rows, std::uint64_t seed, std::int64_t epoch);

}  // namespace recgrad::datasets
