#include "core/util/file_util.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"

namespace ktlog {
namespace {

absl::Status Errno(absl::string_view what, const std::string& path) {
  int err = errno;
  std::string msg =
      absl::StrCat("cannot ", what, " ", path, ": ", strerror(err));
  if (err == ENOENT) return absl::NotFoundError(msg);
  return absl::FailedPreconditionError(msg);
}

absl::Status WriteAll(int fd, absl::string_view data, const std::string& path) {
  while (!data.empty()) {
    ssize_t n = write(fd, data.data(), data.size());
    if (n < 0) {
      if (errno == EINTR) continue;
      return Errno("write", path);
    }
    data.remove_prefix(static_cast<size_t>(n));
  }
  return absl::OkStatus();
}

std::string DirOf(const std::string& path) {
  size_t slash = path.rfind('/');
  if (slash == std::string::npos) return ".";
  if (slash == 0) return "/";
  return path.substr(0, slash);
}

// Reads `fd` to its end into `out`, straight into its buffer (reserved
// once, so a secret is never left behind in a moved-from allocation).
absl::Status ReadAll(int fd, const std::string& path, size_t max_size,
                     std::string* out) {
  out->reserve(max_size + 1);
  for (;;) {
    size_t have = out->size();
    out->resize(max_size + 1);
    ssize_t n = read(fd, out->data() + have, max_size + 1 - have);
    out->resize(have + (n > 0 ? static_cast<size_t>(n) : 0));
    if (n < 0) {
      if (errno == EINTR) continue;
      return Errno("read", path);
    }
    if (n == 0) return absl::OkStatus();
    if (out->size() > max_size) {
      return absl::FailedPreconditionError(absl::StrCat(
          path, " is larger than the limit of ", max_size, " bytes"));
    }
  }
}

absl::StatusOr<std::string> ReadOpened(int fd, const std::string& path,
                                       size_t max_size) {
  std::string out;
  absl::Status s = ReadAll(fd, path, max_size, &out);
  close(fd);
  if (!s.ok()) {
    if (!out.empty()) explicit_bzero(out.data(), out.size());
    return s;
  }
  return out;
}

}  // namespace

absl::StatusOr<std::string> ReadFileBounded(const std::string& path,
                                            size_t max_size) {
  int fd = open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return Errno("open", path);
  return ReadOpened(fd, path, max_size);
}

absl::StatusOr<std::string> ReadSecretFile(const std::string& path,
                                           size_t max_size) {
  int fd = open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return Errno("open", path);
  struct stat st;
  if (fstat(fd, &st) != 0) {
    absl::Status s = Errno("stat", path);
    close(fd);
    return s;
  }
  if ((st.st_mode & 077) != 0) {
    close(fd);
    return absl::FailedPreconditionError(absl::StrFormat(
        "%s is a secret key file but its mode is %04o: group or others may "
        "access it. Make it its owner's only: chmod 600 %s",
        path, st.st_mode & 07777, path));
  }
  return ReadOpened(fd, path, max_size);
}

absl::Status WriteFileAtomically(const std::string& path,
                                 absl::string_view data, int mode) {
  std::string tmp = absl::StrCat(path, ".tmp.", getpid());
  int fd = open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, mode);
  if (fd < 0) return Errno("create", tmp);
  absl::Status s = WriteAll(fd, data, tmp);
  if (s.ok() && fchmod(fd, mode) != 0) s = Errno("chmod", tmp);
  if (s.ok() && fsync(fd) != 0) s = Errno("fsync", tmp);
  close(fd);
  if (s.ok() && rename(tmp.c_str(), path.c_str()) != 0)
    s = Errno("rename", tmp);
  if (!s.ok()) {
    unlink(tmp.c_str());
    return s;
  }
  std::string dir = DirOf(path);
  int dfd = open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (dfd >= 0) {
    fsync(dfd);
    close(dfd);
  }
  return absl::OkStatus();
}

absl::Status CreateSecretFile(const std::string& path, absl::string_view data) {
  int fd = open(path.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
  if (fd < 0) {
    if (errno == EEXIST) {
      return absl::AlreadyExistsError(
          absl::StrCat(path, " already exists; refusing to overwrite a key"));
    }
    return Errno("create", path);
  }
  absl::Status s = WriteAll(fd, data, path);
  if (s.ok() && fsync(fd) != 0) s = Errno("fsync", path);
  close(fd);
  if (!s.ok()) unlink(path.c_str());
  return s;
}

absl::Status MakeDirs(const std::string& dir, int mode) {
  if (dir.empty()) return absl::OkStatus();
  struct stat st;
  if (stat(dir.c_str(), &st) == 0) {
    if (!S_ISDIR(st.st_mode)) {
      return absl::FailedPreconditionError(
          absl::StrCat(dir, " exists and is not a directory"));
    }
    return absl::OkStatus();
  }
  std::string parent = DirOf(dir);
  if (parent != dir && parent != "." && parent != "/") {
    absl::Status s = MakeDirs(parent, mode);
    if (!s.ok()) return s;
  }
  if (mkdir(dir.c_str(), mode) != 0 && errno != EEXIST) {
    return Errno("create directory", dir);
  }
  return absl::OkStatus();
}

}  // namespace ktlog
