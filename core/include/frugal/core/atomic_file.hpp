// Writing a file so that a reader never sees half of it: write PATH.tmp, then rename it over
// PATH (rename is atomic within a file system). A crash leaves the old file intact.
#pragma once

#include <string>
#include <string_view>

namespace frugal::core {

// Throws std::runtime_error naming the path when it cannot be written.
void write_file_atomically(const std::string& path, std::string_view content);

}  // namespace frugal::core
