#include "frugal/sim/excluded_measurement.hpp"

namespace frugal::sim {

std::vector<ExcludedMeasurement> read_not_included(JsonObjectReader& document) {
  std::vector<ExcludedMeasurement> out;
  if (const nlohmann::json* excluded = document.array("not_included"))
    for (std::size_t i = 0; i < excluded->size(); ++i) {
      JsonObjectReader e((*excluded)[i], document.path() + " not_included[" + std::to_string(i) + "]");
      out.push_back({e.string("name"), e.string("reason"), e.string("source", std::string())});
      e.finish();
    }
  return out;
}

}  // namespace frugal::sim
