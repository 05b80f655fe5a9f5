// What the chapter tests share: where the chapter programs are, and their paragraphs unwrapped.
#pragma once

#include <algorithm>
#include <string>

namespace frugal::testing {

inline std::string chapter(const std::string& name) { return std::string(FRUGAL_CHAPTERS_DIR) + "/" + name; }

// The narrator wraps paragraphs at 96 columns: search them with the line breaks turned back into spaces.
inline std::string unwrapped(std::string out) {
  std::replace(out.begin(), out.end(), '\n', ' ');
  return out;
}

}  // namespace frugal::testing
