// The catalogue's semantic IDs as a prefix tree: the state of constrained decoding. A node is an SID prefix; its
// children are the codes that extend it to a prefix of some item's SID, in increasing code order; a node at depth
// `levels` is a leaf and names exactly one item. Beam search keeps one node per beam (explicit state: no step
// counter, no lookup by token text), so every finished beam is a real item and two beams never end on the same
// item (distinct prefixes stay distinct).
#pragma once

#include <cstdint>
#include <span>
#include <vector>

#include "recsys/generative/semantic_ids.h"

namespace recgrad::recsys {

class SidTrie {
 public:
  using Node = std::int32_t;
  static constexpr Node kRoot = 0;
  static constexpr Node kNone = -1;

  /// One child of a node: the code that leads to it and its node.
  struct Child {
    std::int32_t code;
    Node node;
  };

  /// Builds the trie of every item's SID. The SIDs must be distinct (apply with_dedup_level first when the
  /// source has collisions); a repeated SID is an error naming both items.
  explicit SidTrie(const SemanticIds& sids);

  /// The children of `node`, by increasing code (empty for a leaf).
  std::span<const Child> children(Node node) const;
  /// The child of `node` reached by `code`, or kNone when no item's SID continues the prefix with it.
  Node child(Node node, std::int32_t code) const;
  /// The depth of `node` (the root is 0, a leaf is levels()).
  std::int32_t depth(Node node) const { return depth_.at(static_cast<std::size_t>(node)); }
  /// The item of leaf `node`.
  datasets::ItemId item(Node leaf) const;
  /// The leaf of `item`'s SID.
  Node leaf_of(datasets::ItemId item) const { return leaf_of_item_.at(static_cast<std::size_t>(item)); }

  std::int64_t levels() const { return levels_; }
  std::int64_t num_nodes() const { return static_cast<std::int64_t>(depth_.size()); }
  std::int64_t num_items() const { return static_cast<std::int64_t>(leaf_of_item_.size()) - 1; }

 private:
  std::int64_t levels_ = 0;
  std::vector<std::int64_t> child_offsets_;  // CSR: node n's children are children_[offsets[n] .. offsets[n+1])
  std::vector<Child> children_;
  std::vector<std::int32_t> depth_;
  std::vector<datasets::ItemId> item_of_node_;  // leaves: the item; other nodes: 0
  std::vector<Node> leaf_of_item_;              // item id -> its leaf (index 0 unused)
};

}  // namespace recgrad::recsys
