// Crash-safe file output and checked file input (see fileio.h).
//
// Plain POSIX calls, each checked: the C++ stream classes report write errors late or by
// throwing from destructors, and neither is acceptable behind the C ABI.
#include "fileio.h"

#include <dirent.h>
#include <fcntl.h>
#include <signal.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <climits>
#include <cstdlib>
#include <cstring>
#include <memory>

#include "internal.h"

namespace ft {

namespace {

std::string quoted(const std::string &s) { return "'" + s + "'"; }

std::string cause(int err) { return std::strerror(err); }

// Test hook, used by tests/reliability to reach the failure paths without filling a
// disk: FTORCH_TEST_FAULT="<call>:<errno name>[:<bytes>]" makes the named call (write,
// fsync or rename) of the next saves fail with that errno; for write, after <bytes>
// bytes have been written (default 0).  Unset in production; reading it costs one getenv
// per save.
struct Fault {
  std::string call;
  int err = 0;
  long long after = 0;
};

Fault injected_fault() {
  Fault f;
  const char *spec = std::getenv("FTORCH_TEST_FAULT");
  if (spec == nullptr || *spec == '\0') return f;
  std::string s(spec);
  auto colon = s.find(':');
  if (colon == std::string::npos) return f;
  f.call = s.substr(0, colon);
  std::string rest = s.substr(colon + 1);
  auto colon2 = rest.find(':');
  std::string name = rest.substr(0, colon2);
  if (colon2 != std::string::npos) f.after = std::atoll(rest.c_str() + colon2 + 1);
  static const std::pair<const char *, int> names[] = {
      {"ENOSPC", ENOSPC}, {"EIO", EIO}, {"EDQUOT", EDQUOT}, {"EROFS", EROFS}, {"EACCES", EACCES}};
  for (const auto &[n, e] : names)
    if (name == n) f.err = e;
  return f;
}

// Write all of data to fd; on failure return the errno.
int write_all(int fd, const char *data, std::size_t size, const Fault &fault) {
  std::size_t done = 0;
  while (done < size) {
    std::size_t chunk = std::min<std::size_t>(size - done, std::size_t{1} << 24);
    if (fault.call == "write" && fault.err != 0) {
      if (static_cast<long long>(done) >= fault.after) return fault.err;
      chunk = std::min<std::size_t>(chunk, static_cast<std::size_t>(fault.after - static_cast<long long>(done)));
    }
    ssize_t n = ::write(fd, data + done, chunk);
    if (n < 0) {
      if (errno == EINTR) continue;
      return errno;
    }
    if (n == 0) return EIO;
    done += static_cast<std::size_t>(n);
  }
  return 0;
}

void split_path(const std::string &path, std::string &dir, std::string &base) {
  auto slash = path.find_last_of('/');
  if (slash == std::string::npos) {
    dir = ".";
    base = path;
  } else {
    dir = slash == 0 ? "/" : path.substr(0, slash);
    base = path.substr(slash + 1);
  }
}

std::string temp_prefix(const std::string &base) {
  // Leave room for ".tmp-<pid>-<n>" within NAME_MAX.
  return "." + base.substr(0, 200) + ".tmp-";
}

// Remove temporaries of `base` left by processes that no longer exist (killed mid-save).
void remove_stale_temporaries(const std::string &dir, const std::string &base) {
  const std::string prefix = temp_prefix(base);
  std::unique_ptr<DIR, int (*)(DIR *)> d(::opendir(dir.c_str()), ::closedir);
  if (!d) return;
  while (struct dirent *e = ::readdir(d.get())) {
    const char *name = e->d_name;
    if (std::strncmp(name, prefix.c_str(), prefix.size()) != 0) continue;
    char *end = nullptr;
    long pid = std::strtol(name + prefix.size(), &end, 10);
    if (end == name + prefix.size() || *end != '-' || pid <= 0) continue;
    if (pid == static_cast<long>(::getpid())) continue;  // another thread of ours may be saving
    if (::kill(static_cast<pid_t>(pid), 0) == 0 || errno != ESRCH) continue;
    ::unlinkat(::dirfd(d.get()), name, 0);
  }
}

void write_device(const std::string &path, const char *data, std::size_t size, const char *what) {
  int fd = ::open(path.c_str(), O_WRONLY | O_CLOEXEC);
  if (fd < 0) fail(FT_ERR_IO, std::string("cannot write ") + what + " file " + quoted(path) + ": " + cause(errno));
  int err = write_all(fd, data, size, injected_fault());
  int close_err = ::close(fd) == 0 ? 0 : errno;
  if (err == 0) err = close_err;
  if (err != 0) fail(FT_ERR_IO, std::string("cannot write ") + what + " file " + quoted(path) + ": " + cause(err));
}

}  // namespace

void write_file_atomically(const std::string &path_in, const char *data, std::size_t size, const char *what) {
  const std::string kind(what);
  std::string path = path_in;
  struct stat st {};
  bool exists = false;
  if (::lstat(path.c_str(), &st) == 0 && S_ISLNK(st.st_mode)) {
    // Replace the file the link names, not the link.
    std::unique_ptr<char, void (*)(void *)> real(::realpath(path.c_str(), nullptr), std::free);
    if (real) path = real.get();
  }
  if (::stat(path.c_str(), &st) == 0) {
    exists = true;
    if (S_ISDIR(st.st_mode))
      fail(FT_ERR_IO, "cannot write " + kind + " file " + quoted(path_in) + ": it is a directory");
    if (!S_ISREG(st.st_mode)) return write_device(path, data, size, what);
  } else if (errno != ENOENT) {
    fail(FT_ERR_IO, "cannot write " + kind + " file " + quoted(path_in) + ": " + cause(errno));
  }

  std::string dir, base;
  split_path(path, dir, base);
  if (base.empty()) fail(FT_ERR_IO, "cannot write " + kind + " file " + quoted(path_in) + ": the name ends in '/'");
  static std::atomic<unsigned long> counter{0};
  const std::string tmp =
      dir + "/" + temp_prefix(base) + std::to_string(::getpid()) + "-" + std::to_string(counter.fetch_add(1));
  const Fault fault = injected_fault();

  auto failed = [&](const std::string &step, int err) {
    ::unlink(tmp.c_str());
    fail(FT_ERR_IO, "cannot write " + kind + " file " + quoted(path_in) + ": " + cause(err) + " (" + step +
                        "; the previous file, if any, is unchanged)");
  };

  int fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0666);
  if (fd < 0 && errno == EEXIST) {
    // Left by a killed process that had our pid (pids are reused): no live writer can own
    // this name, since our counter never repeats.
    ::unlink(tmp.c_str());
    fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0666);
  }
  if (fd < 0) {
    int err = errno;
    fail(FT_ERR_IO, "cannot write " + kind + " file " + quoted(path_in) + ": " + cause(err) +
                        " (creating the temporary file " + quoted(tmp) + ")");
  }
  if (exists) (void)::fchmod(fd, st.st_mode & 07777);  // keep the permissions of the file replaced
  int err = write_all(fd, data, size, fault);
  if (err != 0) {
    ::close(fd);
    failed("writing " + quoted(tmp), err);
  }
  if (fault.call == "fsync" && fault.err != 0) {
    err = fault.err;
  } else {
    while (::fsync(fd) != 0) {
      if (errno == EINTR) continue;
      err = errno;
      break;
    }
  }
  if (::close(fd) != 0 && err == 0) err = errno;
  if (err != 0) failed("flushing " + quoted(tmp) + " to disk", err);
  if (fault.call == "rename" && fault.err != 0) failed("renaming " + quoted(tmp), fault.err);
  if (::rename(tmp.c_str(), path.c_str()) != 0) failed("renaming " + quoted(tmp), errno);

  // Make the rename itself durable.  Some file systems cannot fsync a directory (EINVAL):
  // there is nothing more to do on those.
  int dfd = ::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (dfd >= 0) {
    if (::fsync(dfd) != 0 && errno != EINVAL && errno != EROFS) {
      int derr = errno;
      ::close(dfd);
      fail(FT_ERR_IO,
           "wrote " + kind + " file " + quoted(path_in) + " but could not flush its directory: " + cause(derr));
    }
    ::close(dfd);
  }
  remove_stale_temporaries(dir, base);
}

std::vector<char> read_whole_file(const std::string &path, const char *what) {
  const std::string kind(what);
  struct stat st {};
  if (::stat(path.c_str(), &st) != 0)
    fail(FT_ERR_IO, "cannot open " + kind + " file " + quoted(path) + ": " + cause(errno));
  if (S_ISDIR(st.st_mode)) fail(FT_ERR_IO, "cannot read " + kind + " file " + quoted(path) + ": it is a directory");
  int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) fail(FT_ERR_IO, "cannot open " + kind + " file " + quoted(path) + ": " + cause(errno));
  std::vector<char> bytes;
  if (S_ISREG(st.st_mode) && st.st_size > 0) bytes.reserve(static_cast<std::size_t>(st.st_size));
  char buf[1 << 16];
  for (;;) {
    ssize_t n = ::read(fd, buf, sizeof buf);
    if (n < 0) {
      if (errno == EINTR) continue;
      int err = errno;
      ::close(fd);
      fail(FT_ERR_IO, "cannot read " + kind + " file " + quoted(path) + ": " + cause(err));
    }
    if (n == 0) break;
    bytes.insert(bytes.end(), buf, buf + n);
  }
  ::close(fd);
  return bytes;
}

}  // namespace ft
