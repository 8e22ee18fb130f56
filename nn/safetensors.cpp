#include "nn/safetensors.h"

#include <fcntl.h>
#include <unistd.h>

#include <algorithm>
#include <bit>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <functional>
#include <limits>
#include <nlohmann/json.hpp>
#include <optional>
#include <set>

#include "core/atomic_file.h"
#include "core/ops/copy.h"

namespace recgrad::nn {

// The format stores little-endian bytes; this build writes memory as is.
static_assert(std::endian::native == std::endian::little, "safetensors I/O assumes a little-endian host");

namespace {

using Json = nlohmann::ordered_json;

// Headers above this size are rejected, as the reference implementation does.
constexpr std::uint64_t kMaxHeaderBytes = 100'000'000;

const char* safetensors_dtype(DType dtype) {
  switch (dtype) {
    case DType::f32:
      return "F32";
    case DType::f64:
      return "F64";
    case DType::i64:
      return "I64";
    case DType::i32:
      return "I32";
    case DType::b8:
      return "BOOL";
    case DType::u8:
      return "U8";
    case DType::bf16:
      return "BF16";
  }
  return "?";
}

bool parse_safetensors_dtype(const std::string& name, DType& dtype) {
  for (DType candidate : {DType::f32, DType::f64, DType::i64, DType::i32, DType::b8, DType::u8, DType::bf16}) {
    if (name == safetensors_dtype(candidate)) {
      dtype = candidate;
      return true;
    }
  }
  return false;
}

std::string errno_text() { return std::strerror(errno); }

// One header entry after validation.
struct EntryInfo {
  std::string name;
  DType dtype;
  Shape shape;
  std::uint64_t begin;
  std::uint64_t end;
};

// The 64-bit FNV-1a hash, fed in pieces; the checksum of the canonical form described in safetensors.h.
class Fnv1a64 {
 public:
  void bytes(const void* data, std::size_t size) {
    const auto* p = static_cast<const unsigned char*>(data);
    std::uint64_t h = hash_;
    for (std::size_t i = 0; i < size; ++i) h = (h ^ p[i]) * kPrime;
    hash_ = h;
  }
  void u64(std::uint64_t value) { bytes(&value, sizeof value); }  // little-endian (asserted above)
  void str(const std::string& text) {
    u64(text.size());
    bytes(text.data(), text.size());
  }
  // "fnv1a64:" + 16 lowercase hex digits, the value stored under kSafetensorsChecksumKey.
  std::string text() const {
    char digits[17];
    std::snprintf(digits, sizeof digits, "%016llx", static_cast<unsigned long long>(hash_));
    return std::string("fnv1a64:") + digits;
  }

 private:
  static constexpr std::uint64_t kPrime = 0x100000001b3ULL;
  std::uint64_t hash_ = 0xcbf29ce484222325ULL;
};

// Feeds the canonical tensor table (in name order) and the metadata other than the checksum (in key order).
void hash_table(Fnv1a64& hash, std::vector<EntryInfo> entries, const std::map<std::string, std::string>& metadata) {
  std::sort(entries.begin(), entries.end(), [](const EntryInfo& a, const EntryInfo& b) { return a.name < b.name; });
  hash.u64(entries.size());
  for (const EntryInfo& entry : entries) {
    hash.str(entry.name);
    hash.str(safetensors_dtype(entry.dtype));
    hash.u64(entry.shape.size());
    for (std::int64_t extent : entry.shape) hash.u64(static_cast<std::uint64_t>(extent));
    hash.u64(entry.begin);
    hash.u64(entry.end);
  }
  hash.u64(metadata.size() - metadata.count(kSafetensorsChecksumKey));
  for (const auto& [key, value] : metadata) {
    if (key == kSafetensorsChecksumKey) continue;
    hash.str(key);
    hash.str(value);
  }
}

// Finds the first duplicate key while the header is parsed: nlohmann::json keeps only one of two equal keys, so a
// duplicate tensor name would otherwise surface as a misleading gap in the data block.
class DuplicateKeyFinder {
 public:
  // The parser callback; it keeps every value.
  bool operator()(int /*depth*/, nlohmann::json::parse_event_t event, Json& parsed) {
    using Event = nlohmann::json::parse_event_t;
    switch (event) {
      case Event::object_start:
      case Event::array_start:
        open_.push_back({!open_.empty() && open_.back().is_object ? open_.back().pending_key : "", open_.size(),
                         event == Event::object_start});
        break;
      case Event::object_end:
      case Event::array_end:
        if (!open_.empty()) open_.pop_back();
        break;
      case Event::key:
        if (!open_.empty() && parsed.is_string()) {
          Frame& frame = open_.back();
          frame.pending_key = parsed.get<std::string>();
          if (!frame.keys.insert(frame.pending_key).second && problem.empty()) problem = describe(frame);
        }
        break;
      case Event::value:
        break;
    }
    return true;
  }

  std::string problem;  // "" when every key is unique

 private:
  struct Frame {
    std::string owner;      // its key in the enclosing object
    std::size_t depth = 0;  // 0 = the header object itself
    bool is_object = true;
    std::set<std::string> keys{};
    std::string pending_key{};
  };

  static std::string describe(const Frame& frame) {
    const std::string& key = frame.pending_key;
    if (frame.depth == 0) {
      return key == "__metadata__" ? std::string("duplicate '__metadata__' object in the header")
                                   : "duplicate tensor name '" + key + "' in the header";
    }
    if (frame.depth == 1 && frame.owner == "__metadata__") return "duplicate __metadata__ key '" + key + "'";
    if (frame.depth == 1) return "tensor '" + frame.owner + "' has a duplicate field '" + key + "'";
    return "duplicate key '" + key + "' in the header";
  }

  std::vector<Frame> open_;
};

}  // namespace

void save_safetensors(const std::string& path, const StateDict& tensors,
                      const std::map<std::string, std::string>& metadata) {
  RG_CHECK(!metadata.count(kSafetensorsChecksumKey), "save_safetensors: the metadata key '", kSafetensorsChecksumKey,
           "' is reserved (save_safetensors computes the checksum)");
  std::vector<Tensor> dense;
  std::vector<EntryInfo> entries;
  std::uint64_t offset = 0;
  for (const auto& [name, tensor] : tensors) {
    RG_CHECK(name != "__metadata__", "save_safetensors: '__metadata__' is reserved and cannot name a tensor");
    RG_CHECK(tensor.defined(), "save_safetensors: tensor '", name, "' is undefined");
    RG_CHECK(tensor.device().is_cpu(), "save_safetensors: tensor '", name, "' is on ", tensor.device(),
             "; copy it to the CPU first");
    dense.push_back(raw::contiguous(tensor));
    const auto nbytes = static_cast<std::uint64_t>(tensor.numel()) * element_size(tensor.dtype());
    entries.push_back({name, tensor.dtype(), tensor.shape(), offset, offset + nbytes});
    offset += nbytes;
  }

  Fnv1a64 hash;
  hash_table(hash, entries, metadata);
  for (const Tensor& tensor : dense) {
    hash.bytes(tensor.raw_data(), static_cast<std::size_t>(tensor.numel()) * element_size(tensor.dtype()));
  }
  std::map<std::string, std::string> stored_metadata = metadata;
  stored_metadata[kSafetensorsChecksumKey] = hash.text();

  Json header = Json::object();
  header["__metadata__"] = stored_metadata;
  for (const EntryInfo& entry : entries) {
    header[entry.name] = {
        {"dtype", safetensors_dtype(entry.dtype)}, {"shape", entry.shape}, {"data_offsets", {entry.begin, entry.end}}};
  }
  std::string text;
  try {
    text = header.dump();
  } catch (const nlohmann::json::exception& e) {
    throw Error(detail::concat("save_safetensors: cannot encode the header of '", path, "': ", e.what()));
  }
  text.append((8 - text.size() % 8) % 8, ' ');  // keeps the data block 8-byte aligned
  const std::uint64_t header_size = text.size();

  AtomicFile file(path, "save_safetensors");
  file.write(&header_size, sizeof(header_size));
  file.write(text.data(), text.size());
  for (const Tensor& tensor : dense) {
    file.write(tensor.raw_data(), static_cast<std::size_t>(tensor.numel()) * element_size(tensor.dtype()));
  }
  file.commit();
}

SafetensorsContents read_safetensors(const std::string& path, ChecksumPolicy policy) {
  auto fail = [&](const auto&... parts) -> Error {
    return Error(detail::concat("load_safetensors: '", path, "': ", parts...));
  };

  std::error_code error;
  const std::uint64_t file_size = std::filesystem::file_size(path, error);
  if (error) throw fail("cannot read file: ", error.message());
  std::ifstream in(path, std::ios::binary);
  if (!in) throw fail("cannot open file: ", errno_text());

  if (file_size < 8) throw fail("truncated file: ", file_size, " bytes, shorter than the 8-byte header length");
  std::uint64_t header_size = 0;
  in.read(reinterpret_cast<char*>(&header_size), 8);
  if (!in) throw fail("cannot read the header length");
  if (header_size > file_size - 8) {  // bounds the header's allocation by the file size
    throw fail("header length ", header_size, " goes beyond the file size (", file_size, " bytes)");
  }
  if (header_size > kMaxHeaderBytes) throw fail("header length ", header_size, " exceeds the limit ", kMaxHeaderBytes);
  std::string text(header_size, '\0');
  in.read(text.data(), static_cast<std::streamsize>(header_size));
  if (!in) throw fail("cannot read the ", header_size, "-byte header");
  const std::uint64_t data_size = file_size - 8 - header_size;

  Json header;
  DuplicateKeyFinder duplicates;
  try {
    header = Json::parse(text, std::ref(duplicates));
  } catch (const nlohmann::json::exception& e) {
    throw fail("bad JSON header: ", e.what());
  }
  if (!duplicates.problem.empty()) throw fail(duplicates.problem);
  if (!header.is_object()) throw fail("the header is not a JSON object");

  SafetensorsContents contents;
  std::optional<std::string> stored_checksum;
  std::vector<EntryInfo> entries;
  for (const auto& [name, value] : header.items()) {
    if (name == "__metadata__") {
      if (!value.is_object()) throw fail("__metadata__ is not a JSON object");
      for (const auto& [key, item] : value.items()) {
        if (!item.is_string()) throw fail("__metadata__ value of '", key, "' is not a string");
        if (key == kSafetensorsChecksumKey) {
          stored_checksum = item.get<std::string>();
        } else {
          contents.metadata[key] = item.get<std::string>();
        }
      }
      continue;
    }
    if (!value.is_object()) throw fail("entry '", name, "' is not a JSON object");
    EntryInfo entry{name, DType::f32, {}, 0, 0};

    const auto dtype_it = value.find("dtype");
    if (dtype_it == value.end() || !dtype_it->is_string()) throw fail("tensor '", name, "' has no dtype string");
    if (!parse_safetensors_dtype(dtype_it->get<std::string>(), entry.dtype)) {
      throw fail("tensor '", name, "' has unknown or unsupported dtype '", dtype_it->get<std::string>(), "'");
    }

    const auto shape_it = value.find("shape");
    if (shape_it == value.end() || !shape_it->is_array()) throw fail("tensor '", name, "' has no shape array");
    std::uint64_t nbytes = element_size(entry.dtype);
    std::int64_t span = 1;  // the product of the non-zero extents: the strides must fit even when numel is 0
    for (const auto& extent : *shape_it) {
      if (!extent.is_number_unsigned() ||
          extent.get<std::uint64_t>() > static_cast<std::uint64_t>(std::numeric_limits<std::int64_t>::max())) {
        throw fail("tensor '", name, "' has an invalid shape ", shape_it->dump());
      }
      const std::int64_t size = extent.get<std::int64_t>();
      entry.shape.push_back(size);
      if (__builtin_mul_overflow(nbytes, static_cast<std::uint64_t>(size), &nbytes) ||
          (size > 0 && __builtin_mul_overflow(span, size, &span))) {
        throw fail("tensor '", name, "' has a shape too large: ", shape_it->dump());
      }
    }

    const auto offsets_it = value.find("data_offsets");
    if (offsets_it == value.end() || !offsets_it->is_array() || offsets_it->size() != 2 ||
        !(*offsets_it)[0].is_number_unsigned() || !(*offsets_it)[1].is_number_unsigned()) {
      throw fail("tensor '", name, "' needs data_offsets [begin, end] of non-negative integers");
    }
    entry.begin = (*offsets_it)[0].get<std::uint64_t>();
    entry.end = (*offsets_it)[1].get<std::uint64_t>();
    if (entry.begin > entry.end || entry.end > data_size) {
      throw fail("tensor '", name, "' has data_offsets [", entry.begin, ", ", entry.end,
                 "] out of range of the data block (", data_size, " bytes)");
    }
    if (entry.end - entry.begin != nbytes) {
      throw fail("tensor '", name, "' has data_offsets [", entry.begin, ", ", entry.end, "] spanning ",
                 entry.end - entry.begin, " bytes, but shape ", entry.shape, " of ", dtype_it->get<std::string>(),
                 " needs ", nbytes);
    }
    entries.push_back(std::move(entry));
  }
  if (!stored_checksum && policy == ChecksumPolicy::require) {
    throw fail("no checksum (metadata key '", kSafetensorsChecksumKey,
               "'): the file cannot be verified as intact, so it is refused");
  }

  // The tensors must tile the data block exactly.
  std::stable_sort(entries.begin(), entries.end(), [](const EntryInfo& a, const EntryInfo& b) {
    return a.begin != b.begin ? a.begin < b.begin : a.end < b.end;
  });
  std::uint64_t covered = 0;
  for (std::size_t i = 0; i < entries.size(); ++i) {
    if (entries[i].begin < covered) {
      throw fail("tensor '", entries[i].name, "' overlaps tensor '", entries[i - 1].name, "' in the data block");
    }
    if (entries[i].begin > covered) {
      throw fail("gap of ", entries[i].begin - covered, " bytes before tensor '", entries[i].name, "'");
    }
    covered = entries[i].end;
  }
  if (covered != data_size) throw fail(data_size - covered, " unused bytes after the last tensor");

  // Every allocation below is one tensor's span of the data block, so their sum is at most the file size.
  const std::uint64_t data_start = 8 + header_size;
  Fnv1a64 hash;
  hash_table(hash, entries, contents.metadata);
  std::vector<Tensor> tensors;
  tensors.reserve(entries.size());
  for (const EntryInfo& entry : entries) {
    Tensor tensor = Tensor::empty(entry.shape, entry.dtype);
    const std::uint64_t nbytes = entry.end - entry.begin;
    if (nbytes > 0) {
      // BOOL bytes land as raw bytes too; they are checked (as unsigned char) before anything reads them as bool.
      in.seekg(static_cast<std::streamoff>(data_start + entry.begin));
      in.read(static_cast<char*>(tensor.raw_data()), static_cast<std::streamsize>(nbytes));
      if (!in) throw fail("truncated while reading tensor '", entry.name, "'");
      hash.bytes(tensor.raw_data(), nbytes);
    }
    tensors.push_back(std::move(tensor));
  }

  if (stored_checksum) {
    const std::string computed = hash.text();
    if (*stored_checksum != computed) {
      throw fail("checksum mismatch: the file is corrupted (stored ", *stored_checksum, ", computed ", computed, ")");
    }
    contents.checksum = computed;
  }

  for (std::size_t i = 0; i < entries.size(); ++i) {
    const EntryInfo& entry = entries[i];
    if (entry.dtype == DType::b8) {
      const auto* bytes = static_cast<const unsigned char*>(tensors[i].raw_data());
      for (std::uint64_t j = 0; j < entry.end - entry.begin; ++j) {
        if (bytes[j] > 1) {
          throw fail("tensor '", entry.name, "' (BOOL) holds byte value ", static_cast<int>(bytes[j]),
                     " at file offset ", data_start + entry.begin + j, " (element ", j, "); BOOL bytes must be 0 or 1");
        }
      }
    }
    contents.tensors.insert(entry.name, tensors[i]);
  }
  return contents;
}

StateDict load_safetensors(const std::string& path) { return read_safetensors(path).tensors; }

}  // namespace recgrad::nn
