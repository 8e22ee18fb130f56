#include "nn/safetensors.h"

#include <fcntl.h>
#include <unistd.h>

#include <algorithm>
#include <bit>
#include <cerrno>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <limits>
#include <nlohmann/json.hpp>

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

// An open temporary file that is removed unless commit() renamed it into place.
class AtomicFile {
 public:
  AtomicFile(const std::string& path) : path_(path), temp_path_(path + ".tmp-" + std::to_string(::getpid())) {
    fd_ = ::open(temp_path_.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    RG_CHECK(fd_ >= 0, "save_safetensors: cannot create '", temp_path_, "' (for '", path_, "'): ", errno_text());
  }
  ~AtomicFile() {
    if (fd_ >= 0) ::close(fd_);
    if (!committed_) ::unlink(temp_path_.c_str());
  }
  AtomicFile(const AtomicFile&) = delete;
  AtomicFile& operator=(const AtomicFile&) = delete;

  void write(const void* data, std::size_t size) {
    const char* bytes = static_cast<const char*>(data);
    while (size > 0) {
      const ::ssize_t written = ::write(fd_, bytes, std::min<std::size_t>(size, std::size_t{1} << 30));
      if (written < 0 && errno == EINTR) continue;
      RG_CHECK(written > 0, "save_safetensors: cannot write '", temp_path_, "' (for '", path_, "'): ", errno_text());
      bytes += written;
      size -= static_cast<std::size_t>(written);
    }
  }

  // fsync, close, rename over the target, then fsync the directory (best effort).
  void commit() {
    RG_CHECK(::fsync(fd_) == 0, "save_safetensors: cannot sync '", temp_path_, "': ", errno_text());
    const int fd = fd_;
    fd_ = -1;
    RG_CHECK(::close(fd) == 0, "save_safetensors: cannot close '", temp_path_, "': ", errno_text());
    RG_CHECK(::rename(temp_path_.c_str(), path_.c_str()) == 0, "save_safetensors: cannot rename '", temp_path_,
             "' to '", path_, "': ", errno_text());
    committed_ = true;
    std::string directory = std::filesystem::path(path_).parent_path().string();
    if (directory.empty()) directory = ".";
    const int dir_fd = ::open(directory.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (dir_fd >= 0) {
      ::fsync(dir_fd);
      ::close(dir_fd);
    }
  }

 private:
  std::string path_;
  std::string temp_path_;
  int fd_ = -1;
  bool committed_ = false;
};

// One header entry after validation.
struct EntryInfo {
  std::string name;
  DType dtype;
  Shape shape;
  std::uint64_t begin;
  std::uint64_t end;
};

}  // namespace

void save_safetensors(const std::string& path, const StateDict& tensors,
                      const std::map<std::string, std::string>& metadata) {
  std::vector<Tensor> dense;
  Json header = Json::object();
  if (!metadata.empty()) header["__metadata__"] = metadata;
  std::uint64_t offset = 0;
  for (const auto& [name, tensor] : tensors) {
    RG_CHECK(name != "__metadata__", "save_safetensors: '__metadata__' is reserved and cannot name a tensor");
    RG_CHECK(tensor.defined(), "save_safetensors: tensor '", name, "' is undefined");
    RG_CHECK(tensor.device().is_cpu(), "save_safetensors: tensor '", name, "' is on ", tensor.device(),
             "; copy it to the CPU first");
    dense.push_back(raw::contiguous(tensor));
    const auto nbytes = static_cast<std::uint64_t>(tensor.numel()) * element_size(tensor.dtype());
    header[name] = {{"dtype", safetensors_dtype(tensor.dtype())},
                    {"shape", tensor.shape()},
                    {"data_offsets", {offset, offset + nbytes}}};
    offset += nbytes;
  }
  std::string text;
  try {
    text = header.dump();
  } catch (const nlohmann::json::exception& e) {
    throw Error(detail::concat("save_safetensors: cannot encode the header of '", path, "': ", e.what()));
  }
  text.append((8 - text.size() % 8) % 8, ' ');  // keeps the data block 8-byte aligned
  const std::uint64_t header_size = text.size();

  AtomicFile file(path);
  file.write(&header_size, sizeof(header_size));
  file.write(text.data(), text.size());
  for (const Tensor& tensor : dense) {
    file.write(tensor.raw_data(), static_cast<std::size_t>(tensor.numel()) * element_size(tensor.dtype()));
  }
  file.commit();
}

SafetensorsContents read_safetensors(const std::string& path) {
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
  if (header_size > file_size - 8) {
    throw fail("header length ", header_size, " goes beyond the file size (", file_size, " bytes)");
  }
  if (header_size > kMaxHeaderBytes) throw fail("header length ", header_size, " exceeds the limit ", kMaxHeaderBytes);
  std::string text(header_size, '\0');
  in.read(text.data(), static_cast<std::streamsize>(header_size));
  if (!in) throw fail("cannot read the ", header_size, "-byte header");
  const std::uint64_t data_size = file_size - 8 - header_size;

  Json header;
  try {
    header = Json::parse(text);
  } catch (const nlohmann::json::exception& e) {
    throw fail("bad JSON header: ", e.what());
  }
  if (!header.is_object()) throw fail("the header is not a JSON object");

  SafetensorsContents contents;
  std::vector<EntryInfo> entries;
  for (const auto& [name, value] : header.items()) {
    if (name == "__metadata__") {
      if (!value.is_object()) throw fail("__metadata__ is not a JSON object");
      for (const auto& [key, item] : value.items()) {
        if (!item.is_string()) throw fail("__metadata__ value of '", key, "' is not a string");
        contents.metadata[key] = item.get<std::string>();
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
    for (const auto& extent : *shape_it) {
      if (!extent.is_number_unsigned() ||
          extent.get<std::uint64_t>() > static_cast<std::uint64_t>(std::numeric_limits<std::int64_t>::max())) {
        throw fail("tensor '", name, "' has an invalid shape ", shape_it->dump());
      }
      entry.shape.push_back(extent.get<std::int64_t>());
      if (__builtin_mul_overflow(nbytes, extent.get<std::uint64_t>(), &nbytes)) {
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

  const std::uint64_t data_start = 8 + header_size;
  for (const EntryInfo& entry : entries) {
    Tensor tensor = Tensor::empty(entry.shape, entry.dtype);
    const std::uint64_t nbytes = entry.end - entry.begin;
    in.seekg(static_cast<std::streamoff>(data_start + entry.begin));
    if (entry.dtype == DType::b8) {
      // Any non-zero byte means true; copying raw bytes into bool objects could create invalid bools.
      std::vector<char> bytes(nbytes);
      in.read(bytes.data(), static_cast<std::streamsize>(nbytes));
      bool* values = tensor.data<bool>();
      for (std::uint64_t i = 0; i < nbytes; ++i) values[i] = bytes[i] != 0;
    } else {
      in.read(static_cast<char*>(tensor.raw_data()), static_cast<std::streamsize>(nbytes));
    }
    if (!in) throw fail("truncated while reading tensor '", entry.name, "'");
    contents.tensors.insert(entry.name, tensor);
  }
  return contents;
}

StateDict load_safetensors(const std::string& path) { return read_safetensors(path).tensors; }

}  // namespace recgrad::nn
