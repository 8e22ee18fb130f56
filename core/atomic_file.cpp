#include "core/atomic_file.h"

#include <fcntl.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <filesystem>

#include "core/error.h"

namespace recgrad {
namespace {

std::string errno_text() { return std::strerror(errno); }

}  // namespace

AtomicFile::AtomicFile(std::string path, std::string who)
    : path_(std::move(path)), temp_path_(path_ + ".tmp-" + std::to_string(::getpid())), who_(std::move(who)) {
  fd_ = ::open(temp_path_.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  RG_CHECK(fd_ >= 0, who_, ": cannot create '", temp_path_, "' (for '", path_, "'): ", errno_text());
}

AtomicFile::~AtomicFile() {
  if (fd_ >= 0) ::close(fd_);
  if (!committed_) ::unlink(temp_path_.c_str());
}

void AtomicFile::write(const void* data, std::size_t size) {
  const char* bytes = static_cast<const char*>(data);
  while (size > 0) {
    const ::ssize_t written = ::write(fd_, bytes, std::min<std::size_t>(size, std::size_t{1} << 30));
    if (written < 0 && errno == EINTR) continue;
    RG_CHECK(written > 0, who_, ": cannot write '", temp_path_, "' (for '", path_, "'): ", errno_text());
    bytes += written;
    size -= static_cast<std::size_t>(written);
  }
}

void AtomicFile::commit() {
  RG_CHECK(::fsync(fd_) == 0, who_, ": cannot sync '", temp_path_, "': ", errno_text());
  const int fd = fd_;
  fd_ = -1;
  RG_CHECK(::close(fd) == 0, who_, ": cannot close '", temp_path_, "': ", errno_text());
  RG_CHECK(::rename(temp_path_.c_str(), path_.c_str()) == 0, who_, ": cannot rename '", temp_path_, "' to '", path_,
           "': ", errno_text());
  committed_ = true;
  std::string directory = std::filesystem::path(path_).parent_path().string();
  if (directory.empty()) directory = ".";
  const int dir_fd = ::open(directory.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (dir_fd >= 0) {
    ::fsync(dir_fd);
    ::close(dir_fd);
  }
}

void write_file_atomically(const std::string& path, std::string_view contents, const std::string& who) {
  AtomicFile file(path, who);
  file.write(contents.data(), contents.size());
  file.commit();
}

}  // namespace recgrad
