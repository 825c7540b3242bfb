// Crash-safe file output and checked file input for checkpoints and models.
//
// Nothing here throws anything but ft::Error, and every message names the file and the
// cause (strerror of the failing call), so the callers can return it as a status.
#pragma once

#include <cstddef>
#include <string>
#include <vector>

namespace ft {

// Replace the contents of `path` with `data`, atomically: a regular file (or a path that
// does not exist yet) is written to a temporary file `.<name>.tmp-<pid>-<n>` in the same
// directory, fsynced, renamed over `path`, and the directory is fsynced.  Either the
// previous file or the complete new one is at `path` at every moment, even across a
// crash; on failure the temporary is removed and the previous file is untouched.
// Temporaries left by processes that were killed mid-save are removed by the next save of
// the same file.  A symbolic link is followed (the file it names is replaced).  A target
// that is a device or a FIFO is written directly (there is no file to replace); a
// directory is FT_ERR_IO.  `what` names the kind of file in messages ("checkpoint").
void write_file_atomically(const std::string &path, const char *data, std::size_t size, const char *what);

// The whole contents of `path`.  FT_ERR_IO naming the file if it does not exist, is a
// directory, or cannot be read.
std::vector<char> read_whole_file(const std::string &path, const char *what);

}  // namespace ft
