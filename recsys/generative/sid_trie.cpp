#include "recsys/generative/sid_trie.h"

#include <algorithm>
#include <numeric>

#include "core/error.h"

namespace recgrad::recsys {

using datasets::ItemId;

// Nodes are numbered breadth-first: the items are sorted by SID, and each depth's nodes are the distinct prefixes
// of that length in sorted order, so every node's children are contiguous and sorted by code.
SidTrie::SidTrie(const SemanticIds& sids) : levels_(sids.levels()) {
  RG_CHECK(levels_ >= 1 && sids.num_items >= 1, "SidTrie: no semantic IDs to index");
  const auto n = static_cast<std::size_t>(sids.num_items);
  std::vector<ItemId> order(n);
  std::iota(order.begin(), order.end(), ItemId{1});
  const auto less = [&](ItemId a, ItemId b) {
    const auto x = sids.of(a), y = sids.of(b);
    return std::lexicographical_compare(x.begin(), x.end(), y.begin(), y.end()) ||
           (std::equal(x.begin(), x.end(), y.begin()) && a < b);
  };
  std::sort(order.begin(), order.end(), less);
  for (std::size_t i = 1; i < n; ++i) {
    const auto x = sids.of(order[i - 1]), y = sids.of(order[i]);
    RG_CHECK(!std::equal(x.begin(), x.end(), y.begin()), "SidTrie: items ", order[i - 1], " and ", order[i],
             " share the semantic ID ", sids.text(order[i]), "; add the deduplication level (with_dedup_level)");
  }

  // node_at[i]: the node of item order[i]'s prefix at the current depth.
  std::vector<Node> node_at(n, kRoot);
  depth_.push_back(0);
  item_of_node_.push_back(0);
  std::vector<std::vector<Child>> children_of(1);
  for (std::int64_t level = 0; level < levels_; ++level) {
    for (std::size_t i = 0; i < n; ++i) {
      const std::int32_t code = sids.of(order[i])[static_cast<std::size_t>(level)];
      const bool same_prefix = i > 0 && node_at[i - 1] != kNone && [&] {
        const auto x = sids.of(order[i - 1]), y = sids.of(order[i]);
        return std::equal(x.begin(), x.begin() + level + 1, y.begin());
      }();
      // node_at[i - 1] was already advanced to depth level + 1, so a shared prefix shares that node.
      Node next;
      if (same_prefix) {
        next = node_at[i - 1];
      } else {
        next = static_cast<Node>(depth_.size());
        depth_.push_back(static_cast<std::int32_t>(level + 1));
        item_of_node_.push_back(0);
        children_of.emplace_back();
        children_of[static_cast<std::size_t>(node_at[i])].push_back({code, next});
      }
      node_at[i] = next;
    }
  }
  leaf_of_item_.assign(n + 1, kNone);
  for (std::size_t i = 0; i < n; ++i) {
    item_of_node_[static_cast<std::size_t>(node_at[i])] = order[i];
    leaf_of_item_[static_cast<std::size_t>(order[i])] = node_at[i];
  }
  child_offsets_.assign(children_of.size() + 1, 0);
  for (std::size_t node = 0; node < children_of.size(); ++node) {
    child_offsets_[node + 1] = child_offsets_[node] + static_cast<std::int64_t>(children_of[node].size());
    children_.insert(children_.end(), children_of[node].begin(), children_of[node].end());
  }
}

std::span<const SidTrie::Child> SidTrie::children(Node node) const {
  RG_CHECK(node >= 0 && node < num_nodes(), "SidTrie: node ", node, " is not in 0..", num_nodes() - 1);
  const auto begin = static_cast<std::size_t>(child_offsets_[static_cast<std::size_t>(node)]);
  const auto end = static_cast<std::size_t>(child_offsets_[static_cast<std::size_t>(node) + 1]);
  return {children_.data() + begin, end - begin};
}

SidTrie::Node SidTrie::child(Node node, std::int32_t code) const {
  const auto kids = children(node);
  const auto found = std::lower_bound(kids.begin(), kids.end(), code,
                                      [](const Child& c, std::int32_t value) { return c.code < value; });
  return found != kids.end() && found->code == code ? found->node : kNone;
}

ItemId SidTrie::item(Node leaf) const {
  RG_CHECK(leaf >= 0 && leaf < num_nodes() && depth(leaf) == levels_, "SidTrie: node ", leaf, " is not a leaf");
  return item_of_node_[static_cast<std::size_t>(leaf)];
}

}  // namespace recgrad::recsys
