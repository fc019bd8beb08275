// Aligned plain-text tables for ocsctl's human output.
#pragma once

#include <ostream>
#include <string>
#include <vector>

namespace ocs::cli {

class Table {
 public:
  explicit Table(std::vector<std::string> headers);
  /// Right-align column `index` (numbers, amounts).
  Table& align_right(std::size_t index);
  /// A row with as many cells as there are headers (missing cells are empty).
  void add(std::vector<std::string> cells);
  bool empty() const { return rows_.empty(); }
  /// Columns two spaces apart, no trailing blanks, `indent` before each line.
  void print(std::ostream& out, const std::string& indent = "") const;

 private:
  std::vector<std::string> headers_;
  std::vector<bool> right_;
  std::vector<std::vector<std::string>> rows_;
};

/// Display width of UTF-8 text: one column per code point.
std::size_t display_width(const std::string& s);

}  // namespace ocs::cli
