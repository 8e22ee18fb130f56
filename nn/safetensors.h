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
#pragma once

#include <map>
#include <string>

#include "nn/state_dict.h"

namespace recgrad::nn {

/// Everything a safetensors file holds.
struct SafetensorsContents {
  StateDict tensors;                            // in the order of their data offsets
  std::map<std::string, std::string> metadata;  // the "__metadata__" object (string values)
};

/// Writes `tensors` (CPU, any layout) in their order, plus `metadata`, to
/// `path`. The write is atomic: the bytes go to "<path>.tmp-<pid>", which is
/// fsync'ed and then renamed over `path`; on any failure the temporary file is
/// removed, an existing `path` is left untouched, and an Error is thrown.
void save_safetensors(const std::string& path, const StateDict& tensors,
                      const std::map<std::string, std::string>& metadata = {});

/// Reads and validates a whole safetensors file. Any defect (truncated file,
/// header length beyond the file, bad JSON, unknown dtype, offsets out of
/// range, overlapping, leaving gaps or not matching shape x dtype size) throws
/// an Error naming the file and the problem.
SafetensorsContents read_safetensors(const std::string& path);

/// The tensors of read_safetensors(path), in file order.
StateDict load_safetensors(const std::string& path);

}  // namespace recgrad::nn
