// Atomic file writes: a file is either its old contents or its complete new contents, never a torn mix, even
// when the process is killed mid-write. The bytes go to "<path>.tmp-<pid>", which is fsync'ed, closed and
// renamed over <path> (rename is atomic on POSIX file systems); the directory is then fsync'ed (best effort).
// On any failure the temporary file is removed and <path> is left as it was. Checkpoints, results and semantic-ID
// index files are all written this way.
#pragma once

#include <cstddef>
#include <string>
#include <string_view>

namespace recgrad {

/// An open temporary file beside `path`, renamed over it by commit() and removed if never committed.
/// `who` heads the error messages ("save_safetensors", "recbench", ...).
class AtomicFile {
 public:
  AtomicFile(std::string path, std::string who);
  ~AtomicFile();
  AtomicFile(const AtomicFile&) = delete;
  AtomicFile& operator=(const AtomicFile&) = delete;

  /// Appends `size` bytes (retrying short and interrupted writes).
  void write(const void* data, std::size_t size);
  /// fsync, close, rename over the target, then fsync the directory (best effort).
  void commit();

 private:
  std::string path_;
  std::string temp_path_;
  std::string who_;
  int fd_ = -1;
  bool committed_ = false;
};

/// Replaces the file at `path` with `contents`, atomically (see above).
void write_file_atomically(const std::string& path, std::string_view contents, const std::string& who);

}  // namespace recgrad
