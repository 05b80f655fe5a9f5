#include "fuzz_entry.hpp"

#include <string>

#include <nlohmann/json.hpp>

#include "frugal/config/config_error.hpp"
#include "frugal/config/config_file.hpp"
#include "frugal/sim/calibration.hpp"
#include "frugal/sim/model_accountant.hpp"
#include "frugal/sim/run_overrides.hpp"
#include "frugal/sim/serving.hpp"
#include "frugal/sim/serving_report.hpp"
#include "frugal/sim/training_config.hpp"
#include "frugal/sim/training_sim.hpp"

namespace frugal::fuzz {

namespace {

// What `frugal-sim model`, `train` (with and without --plan auto) and `serve` do with the document.
void run_programs(const nlohmann::json& doc, bool plan_auto) {
  const ModelConfig m = model_from_document(doc);
  (void)sim::account_model(m);
  sim::TrainingRun run = sim::training_run_from_document(doc);
  sim::RunOverrides o;
  o.plan_auto = plan_auto;
  sim::apply_overrides(run, o);
  (void)sim::simulate_training(run);
  const sim::ServingDeployment d = sim::default_deployment(m, run.gpu, true);
  sim::ServingWorkload w;
  w.requests = 20;
  (void)sim::simulate_serving(m, d, w);
  (void)sim::decode_capacity(m, d, 64, 4096);
}

}  // namespace

int run_one_input(const std::uint8_t* data, std::size_t size) {
  if (size == 0) return 0;
  const bool plan_auto = (data[0] & 1) != 0;  // the first byte also chooses --plan auto
  const nlohmann::json doc = nlohmann::json::parse(data, data + size, nullptr, /*allow_exceptions=*/false);
  if (doc.is_discarded()) return 0;  // read_json_file refuses these with FILE:LINE:COLUMN
  try {
    run_programs(doc, plan_auto);
  } catch (const ConfigError&) {
  }
  for (auto read : {+[](const nlohmann::json& j) { (void)sim::overrides_from_json(j, ""); },
                    +[](const nlohmann::json& j) { (void)sim::efficiency_from_json(j, ""); },
                    +[](const nlohmann::json& j) { (void)sim::measurements_from_gpu_check(j, ""); }}) {
    try {
      read(doc);
    } catch (const ConfigError&) {
    }
  }
  return 0;
}

}  // namespace frugal::fuzz
