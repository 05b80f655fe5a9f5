// The "cpu_training" reader under mutation: every key of the preset's section, and of a full
// distillation section, set to values of every kind — negative, zero, huge, fractional, NaN-like
// strings, the wrong type — is either accepted or refused with a ConfigError that names the field
// under cpu_training. Never another exception, never a crash (the sanitizer builds run this too).
#include <gtest/gtest.h>

#include <limits>
#include <string>
#include <vector>

#include "frugal/config/config_error.hpp"
#include "frugal/config/presets.hpp"
#include "frugal/core/train_options.hpp"

namespace frugal::core {
namespace {

// Every leaf's JSON pointer in `doc`.
void leaves(const nlohmann::json& doc, const std::string& at, std::vector<std::string>& out) {
  if (!doc.is_object()) {
    out.push_back(at);
    return;
  }
  for (const auto& [key, value] : doc.items()) leaves(value, at + "/" + key, out);
}

TEST(TrainOptionsMutations, EveryFieldAcceptedOrRefusedByName) {
  nlohmann::json section = find_preset("deepseek-v3-tiny").document.at("cpu_training");
  section["distillation"] = {{"kind", "none"},     {"temperature", 2},    {"alpha", 0.5}, {"samples", 0},
                             {"sample_temperature", 1}, {"mix", 1}};
  section["data"]["train_sequences"] = 0;
  ASSERT_NO_THROW(parse_train_options(section, "cpu_training"));
  std::vector<std::string> fields;
  leaves(section, "", fields);
  const std::vector<nlohmann::json> values = {-1, 0, 1, 0.5, -0.5, 1e300, -1e300, std::numeric_limits<std::int64_t>::max(),
                                              std::numeric_limits<std::int64_t>::min(), 4294967297.0, "x", "", nullptr,
                                              true, nlohmann::json::array({1}), nlohmann::json::object()};
  int refused = 0;
  for (const std::string& field : fields)
    for (const nlohmann::json& value : values) {
      nlohmann::json mutated = section;
      mutated[nlohmann::json::json_pointer(field)] = value;
      try {
        (void)parse_train_options(mutated, "cpu_training");
      } catch (const ConfigError& e) {
        ++refused;
        EXPECT_EQ(std::string(e.what()).rfind("cpu_training", 0), 0u) << field << " = " << value.dump() << ": " << e.what();
      } catch (const std::exception& e) {
        ADD_FAILURE() << field << " = " << value.dump() << " threw something other than a ConfigError: " << e.what();
      }
    }
  EXPECT_GT(refused, static_cast<int>(fields.size()));  // most fields refuse most of these
}

}  // namespace
}  // namespace frugal::core
