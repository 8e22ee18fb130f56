#include "datasets/batching.h"

#include <algorithm>
#include <limits>
#include <numeric>
#include <random>

#include "core/error.h"
#include "core/host_random.h"
#include "core/ops/copy.h"

namespace recgrad::datasets {

void BatchOptions::validate() const {
  RG_CHECK(batch_size >= 1, "BatchOptions: batch_size must be >= 1, got ", batch_size);
  RG_CHECK(max_length >= 1, "BatchOptions: max_length must be >= 1, got ", max_length);
}

Batch make_batch(const Split& split, const std::vector<std::int64_t>& rows, const BatchOptions& options) {
  options.validate();
  const std::int64_t b = static_cast<std::int64_t>(rows.size());
  const std::int64_t length = options.max_length;
  Batch batch;
  batch.rows = rows;
  Tensor items = Tensor::empty({b, length}, DType::i64);
  Tensor mask = Tensor::empty({b, length}, DType::b8);
  Tensor next = Tensor::empty({b, length}, DType::i64);
  Tensor targets = Tensor::empty({b}, DType::i64);
  Tensor users = Tensor::empty({b}, DType::i64);
  std::int64_t* item_data = items.data<std::int64_t>();
  bool* mask_data = mask.data<bool>();
  std::int64_t* next_data = next.data<std::int64_t>();
  std::int64_t* target_data = targets.data<std::int64_t>();
  std::int64_t* user_data = users.data<std::int64_t>();
  for (std::int64_t i = 0; i < b; ++i) {
    const std::int64_t r = rows[static_cast<std::size_t>(i)];
    RG_CHECK(r >= 0 && r < static_cast<std::int64_t>(split.size()), "make_batch: row ", r, " is not in 0..",
             static_cast<std::int64_t>(split.size()) - 1);
    const std::span<const ItemId> history = split.history(static_cast<std::size_t>(r));
    const ItemId target = split.targets[static_cast<std::size_t>(r)];
    const std::int64_t kept = std::min<std::int64_t>(length, static_cast<std::int64_t>(history.size()));
    const std::int64_t pad = length - kept;
    const ItemId* recent = history.data() + (history.size() - static_cast<std::size_t>(kept));
    std::int64_t* row_items = item_data + i * length;
    bool* row_mask = mask_data + i * length;
    std::int64_t* row_next = next_data + i * length;
    std::fill(row_items, row_items + pad, std::int64_t{kPaddingItem});
    std::fill(row_mask, row_mask + pad, true);
    std::fill(row_next, row_next + pad, std::int64_t{kPaddingItem});
    for (std::int64_t j = 0; j < kept; ++j) {
      row_items[pad + j] = recent[j];
      row_mask[pad + j] = false;
      row_next[pad + j] = j + 1 < kept ? recent[j + 1] : target;
    }
    target_data[i] = target;
    user_data[i] = split.users[static_cast<std::size_t>(r)];
  }
  batch.items = raw::to_device(items, options.device);
  batch.padding_mask = raw::to_device(mask, options.device);
  batch.next_items = raw::to_device(next, options.device);
  batch.targets = raw::to_device(targets, options.device);
  batch.users = raw::to_device(users, options.device);
  return batch;
}

std::vector<std::int64_t> shuffled_rows(std::int64_t rows, std::uint64_t seed, std::int64_t epoch) {
  RG_CHECK(rows >= 0 && epoch >= 0, "shuffled_rows: rows (", rows, ") and epoch (", epoch, ") must be >= 0");
  std::vector<std::int64_t> order(static_cast<std::size_t>(rows));
  std::iota(order.begin(), order.end(), 0);
  HostRandom random(seed, static_cast<std::uint64_t>(epoch));  // epoch e of seed s: its own stream
  for (std::size_t i = order.size(); i > 1; --i) {
    std::swap(order[i - 1], order[static_cast<std::size_t>(random.below(i))]);  // Fisher-Yates, no modulo bias
  }
  return order;
}

EpochBatches::EpochBatches(const Split& split, const BatchOptions& options, std::int64_t epoch)
    : split_(&split), options_(options) {
  options_.validate();
  const std::int64_t rows = static_cast<std::int64_t>(split.size());
  if (options_.shuffle) {
    order_ = shuffled_rows(rows, options_.seed, epoch);
  } else {
    order_.resize(static_cast<std::size_t>(rows));
    std::iota(order_.begin(), order_.end(), 0);
  }
  num_batches_ =
      options_.drop_last ? rows / options_.batch_size : (rows + options_.batch_size - 1) / options_.batch_size;
}

Batch EpochBatches::batch(std::int64_t i) const {
  RG_CHECK(i >= 0 && i < num_batches_, "EpochBatches: batch ", i, " is not in 0..", num_batches_ - 1);
  const std::int64_t begin = i * options_.batch_size;
  const std::int64_t end =
      std::min<std::int64_t>(begin + options_.batch_size, static_cast<std::int64_t>(order_.size()));
  const std::vector<std::int64_t> rows(order_.begin() + begin, order_.begin() + end);
  return make_batch(*split_, rows, options_);
}

}  // namespace recgrad::datasets
