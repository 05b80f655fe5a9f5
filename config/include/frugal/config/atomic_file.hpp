// Writing a file so that a reader never sees half of it: write PATH.tmp, then rename it over
// PATH (rename is atomic within a file system). A crash leaves the old file intact. Header-only,
// shared by every engine (frugal-train's metrics and checkpoints, frugal-sim calibrate --save).
#pragma once

#include <cstdio>
#include <filesystem>
#include <fstream>
#include <stdexcept>
#include <string>
#include <string_view>

namespace frugal {

// Throws std::runtime_error naming the path when it cannot be written.
inline void write_file_atomically(const std::string& path, std::string_view content) {
  const std::string temporary = path + ".tmp";
  {
    std::ofstream out(temporary, std::ios::binary | std::ios::trunc);
    if (!out) throw std::runtime_error(path + ": cannot write (cannot create " + temporary + ")");
    out.write(content.data(), static_cast<std::streamsize>(content.size()));
    out.flush();
    if (!out) {
      out.close();
      std::remove(temporary.c_str());
      throw std::runtime_error(path + ": write failed");
    }
  }
  std::error_code error;
  std::filesystem::rename(temporary, path, error);
  if (error) {
    std::remove(temporary.c_str());
    throw std::runtime_error(path + ": cannot rename " + temporary + " into place: " + error.message());
  }
}

}  // namespace frugal
