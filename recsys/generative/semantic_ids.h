// Semantic IDs (SIDs): every item as a short tuple of discrete codes, one per level, coarse to fine (TIGER,
// Rajput et al. 2023; MiniOneRec). A generative recommender names an item by generating its codes one level at a
// time. In text, as the MiniOneRec release writes them, an SID is a run of tokens "<a_12><b_200><c_7>": level l's
// letter ('a' + l), an underscore, and the code (a decimal number).
//
// Items may share an SID (a collision: the release has 31 items in 15 groups). TIGER's fix, with_dedup_level,
// appends one more level that numbers the items within a group (0 for an item whose SID is unique), so that every
// item has an SID of its own.
//
// Sources: the release's (info/*.txt and index/*.index.json, read by datasets/minionerec.h into
// ItemInfo::semantic_id), or one computed from item text (recsys/generative/rq_kmeans.h, rq_vae.h), written and
// read back in the release's index.json format.
#pragma once

#include <cstdint>
#include <span>
#include <string>
#include <vector>

#include "datasets/sequence_dataset.h"

namespace recgrad::recsys {

/// The largest code a level may hold (a bound, so that no input can size a codebook table arbitrarily).
inline constexpr std::int64_t kMaxSemanticCode = 1 << 16;

/// Every item's SID as integer codes. Level l's codes are 0..codebook_sizes[l]-1.
struct SemanticIds {
  std::int64_t num_items = 0;
  std::vector<std::int64_t> codebook_sizes;  // per level: 1 + the largest code used (or the quantizer's K)
  std::vector<std::int32_t> codes;           // [(num_items + 1) x levels], row = item id; row 0 (padding) is 0s

  std::int64_t levels() const { return static_cast<std::int64_t>(codebook_sizes.size()); }
  /// Item `item`'s codes, coarse to fine (item in 1..num_items).
  std::span<const std::int32_t> of(datasets::ItemId item) const;
  /// "<a_12><b_200><c_7>".
  std::string text(datasets::ItemId item) const;
  /// A 64-bit FNV-1a hash of the codebook sizes and every item's codes, as 16 hex digits (a model's description
  /// carries it, so a checkpoint never resumes under other semantic IDs).
  std::string fingerprint() const;
};

/// The token of code `code` at level `level`: "<a_12>" for level 0, code 12.
std::string semantic_token(std::int64_t level, std::int64_t code);

/// Parses one token "<x_N>" expected at level `level` (x = 'a' + level); throws naming `where` and the token
/// when it is malformed, at the wrong level, or its code is above kMaxSemanticCode.
std::int32_t parse_semantic_token(const std::string& token, std::int64_t level, const std::string& where);

/// The SIDs of the dataset's items (ItemInfo::semantic_id). Throws, naming `source` and the item, when an item
/// has no SID, a token is malformed or at the wrong level, or two items' SIDs have different lengths.
SemanticIds semantic_ids_of_items(const datasets::SequenceDataset& data, const std::string& source);

/// TIGER's deduplication: one more level whose code numbers the items that share an SID, in item-id order
/// (0 for the first and for every item whose SID is unique). Every item then has a distinct SID.
SemanticIds with_dedup_level(const SemanticIds& sids);

/// How the codes are used: per-level codebook usage, and the collisions (items that share an SID).
struct SemanticIdUsage {
  std::vector<std::int64_t> codes_used;  // per level: distinct codes that some item has
  std::vector<std::int64_t> prefixes;    // per depth d = 1..levels: distinct SID prefixes of length d
  std::int64_t distinct_ids = 0;         // distinct full SIDs
  std::int64_t colliding_items = 0;      // items whose SID another item has too
  std::int64_t colliding_groups = 0;     // SIDs held by more than one item
  std::int64_t largest_group = 0;        // the most items behind one SID
  /// A few lines: "level a: 48/256 codes used", ..., "collisions: 31 items in 15 groups (largest 3)".
  std::string to_string(const SemanticIds& sids) const;
};

/// Counts codebook usage and collisions of `sids`.
SemanticIdUsage semantic_id_usage(const SemanticIds& sids);

/// Reads an index.json in the release format: {"<item index>": ["<a_1>", "<b_2>", ...], ...}, keyed by item
/// id - 1 (0..num_items-1), every item present exactly once, every SID of one length. Errors name the file and
/// the item.
SemanticIds read_semantic_id_index(const std::string& path, std::int64_t num_items);

/// Writes `sids` in the release's index.json format (keys "0".."num_items-1"), atomically.
void write_semantic_id_index(const std::string& path, const SemanticIds& sids);

}  // namespace recgrad::recsys
