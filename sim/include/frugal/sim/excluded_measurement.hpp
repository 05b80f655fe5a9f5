// A published measurement found but not compared, with why: the validation files keep every figure
// they find ("not_included"), the ones the model cannot price beside the ones it can.
#pragma once

#include <string>
#include <vector>

#include "frugal/config/json_reader.hpp"

namespace frugal::sim {

struct ExcludedMeasurement {
  std::string name, reason, source;
};

// The document's optional "not_included" array: each entry a name and a reason (a source where
// given), refused in one line naming the entry and field otherwise.
std::vector<ExcludedMeasurement> read_not_included(JsonObjectReader& document);

}  // namespace frugal::sim
