// Reading and writing the safetensors format (https://github.com/huggingface/safetensors),
// so checkpoints are readable by other tools:
//
//   8 bytes   N, the header length, unsigned little-endian
//   N bytes   a JSON object: {"<name>": {"dtype": "F32", "shape": [2, 3],
//             "data_offsets": [begin, end]}, ..., "__metadata__": {"k": "v"}}
//             (padded with spaces to a multiple of 8 bytes)
//   rest      the raw little-endian bytes of every tensor, row-major; offsets
//             are relative to the start of this data block, and the tensors
//             tile it exactly (no gaps, no overlaps).
//
// dtypes: F32, F64, I64, I32, BOOL (one byte, 0 or 1), U8, BF16.
//
// Integrity: every file save_safetensors writes carries, in its metadata, the
// key "recgrad.checksum" = "fnv1a64:" + 16 lowercase hex digits: the 64-bit
// FNV-1a hash (offset basis 0xcbf29ce484222325, prime 0x100000001b3) of
//
//   u64 number of tensors, then per tensor in name order (bytewise):
//     str(name), str(dtype), u64 rank, u64 per extent, u64 begin, u64 end
//   u64 number of other metadata entries, then per entry in key order:
//     str(key), str(value)
//   the data block, byte for byte
//
// where u64 is 8 bytes little-endian and str(s) is u64 length + the bytes.
// This canonical form covers every weight byte, offset, shape, dtype, name and
// metadata entry, and does not depend on the JSON's spacing or key order. Any
// single changed byte changes the hash (each FNV-1a step is a bijection).
// read_safetensors verifies the checksum when present; files written by other
// tools (no checksum) still load unless ChecksumPolicy::require is asked for.
#pragma once

#include <map>
#include <string>

#include "nn/state_dict.h"

namespace recgrad::nn {

/// The metadata key holding the checksum (reserved: save_safetensors computes it).
inline constexpr const char* kSafetensorsChecksumKey = "recgrad.checksum";

/// Whether read_safetensors accepts a file that carries no checksum.
enum class ChecksumPolicy {
  verify_if_present,  // files of other tools load; a checksum present must match
  require,            // a file without a checksum is refused (our own checkpoints)
};

/// Everything a safetensors file holds.
struct SafetensorsContents {
  StateDict tensors;                            // in the order of their data offsets
  std::map<std::string, std::string> metadata;  // the "__metadata__" object (string values), less the checksum
  std::string checksum;                         // the verified "recgrad.checksum" value; "" when the file has none
};

/// Writes `tensors` (CPU, any layout) in their order, plus `metadata` and the
/// checksum (see above), to `path`. The write is atomic: the bytes go to
/// "<path>.tmp-<pid>", which is fsync'ed and then renamed over `path`; on any
/// failure the temporary file is removed, an existing `path` is left
/// untouched, and an Error is thrown.
void save_safetensors(const std::string& path, const StateDict& tensors,
                      const std::map<std::string, std::string>& metadata = {});

/// Reads and validates a whole safetensors file. Any defect (truncated file,
/// header length beyond the file, bad JSON, a duplicate tensor name or key,
/// unknown dtype, bad or overflowing shape, offsets out of range, overlapping,
/// leaving gaps or not matching shape x dtype size, trailing bytes, a BOOL
/// byte other than 0 or 1, a checksum mismatch, or no checksum under
/// ChecksumPolicy::require) throws an Error naming the file and the problem.
/// Allocations never exceed the file's size.
SafetensorsContents read_safetensors(const std::string& path,
                                     ChecksumPolicy policy = ChecksumPolicy::verify_if_present);

/// The tensors of read_safetensors(path), in file order.
StateDict load_safetensors(const std::string& path);

}  // namespace recgrad::nn
