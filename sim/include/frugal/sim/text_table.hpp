// A plain-text table: left-aligned first column, right-aligned numbers, widths from content.
#pragma once

#include <string>
#include <vector>

namespace frugal::sim {

class TextTable {
 public:
  explicit TextTable(std::vector<std::string> header) : header_(std::move(header)) {}
  void add_row(std::vector<std::string> row) { rows_.push_back(std::move(row)); }
  // Columns listed here are left-aligned; the others are right-aligned. Column 0 always is.
  void set_left_aligned(std::vector<std::size_t> columns) { left_ = std::move(columns); }
  std::string render(const std::string& indent = "  ") const;

 private:
  std::vector<std::string> header_;
  std::vector<std::vector<std::string>> rows_;
  std::vector<std::size_t> left_;
};

}  // namespace frugal::sim
