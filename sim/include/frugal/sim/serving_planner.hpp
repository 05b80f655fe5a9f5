// `frugal-sim serve --plan`: the cheapest deployments that serve a workload within latency SLOs.
// Every candidate (GPU type, aggregated or disaggregated, instance size, EP, redundant experts,
// batch limit) is sized from the capacity model (serving_capacity.cpp): disaggregated, enough decode
// capacity for the output rate at the TPOT SLO and enough prefill capacity for the uncached prompt
// rate; aggregated, the output rate of instances kept full at the largest batch whose time per
// output token, prompts' hold included (aggregated_capacity), meets the SLO. The
// cheapest are then run through the event simulation (serving_sim.cpp), which adds queueing, and
// kept only when their simulated p95 TTFT and TPOT meet the SLOs.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "frugal/sim/serving.hpp"

namespace frugal::sim {

struct ServingSlo {
  double ttft_p95_s = 0;  // 0: no constraint
  double tpot_p95_s = 0;
};

// The rate and mean lengths a plan sizes for: --rate and the lengths' means, or a trace's own.
struct OfferedLoad {
  double requests_per_s = 0, prompt = 0, output = 0;
};
OfferedLoad offered_load(const ServingWorkload& w);

struct PlanCandidate {
  ServingDeployment deployment;
  std::string layout;                // one line: GPU, mode, instance sizes and counts, EP, redundancy
  double formula_cost_per_1k = 0;    // from the capacity model, before the simulation
  // The confirmed deployment's cost at the offered rate (GPU-hours per hour over requests or output
  // tokens per hour); `simulated`'s own cost also pays for the run's drain after its last arrival.
  double cost_per_1k_requests_usd = 0, cost_per_m_output_tokens_usd = 0;
  double lifetime_s = 0;             // a request's expected stay: TTFT + output x TPOT (capacity model)
  ServingResult simulated;           // the event simulation's confirmation
  bool meets_slo = false;
};

struct ServingPlan {
  std::int64_t candidates = 0;       // deployments sized from the capacity model
  std::int64_t simulated = 0;        // of those, confirmed by the event simulation
  std::vector<PlanCandidate> best;   // the cheapest that meet the SLOs in simulation, at most 5
};

// A GPU type the planner may use, at its price per GPU-hour.
struct PricedGpu {
  GpuSpec gpu;
  double price_per_gpu_hour = 2.0;
};
std::vector<PricedGpu> priced_alike(const std::vector<GpuSpec>& gpus, double price_per_gpu_hour);

// What the user fixed for every candidate: the precisions and kernels `serve` takes as flags. The
// planner varies the layout (GPU, instance sizes, EP, expert slots and placement, batch limit) and
// keeps these; a GPU that cannot run a choice (FP8 on an A100) is left out of the plan.
struct PlanChoices {
  // Its precision and kernel fields are every candidate's: MTP acceptance, KV-cache dtype, FP8
  // attention, two-batch overlap, NVLink in decode's all-to-all, token budget (apply_choices). Its
  // layout (GPU, sizes, EP, expert slots, batch limit) is ignored: the planner varies that.
  ServingDeployment kernels;
  std::optional<bool> fp8_weights;  // unset: FP8 where the GPU has FP8 Tensor Cores

  static PlanChoices with_mtp(double acceptance) {
    PlanChoices c;
    c.kernels.mtp_acceptance = acceptance;
    return c;
  }
};

// Whether `gpu` can run `choices`, and the deployment fields they set on it.
bool runs_choices(const GpuSpec& gpu, const PlanChoices& choices);
void apply_choices(const PlanChoices& choices, ServingDeployment& d);

// The expert slots and placements the planner tries at one EP size: the fewest redundant experts
// that let EP divide the slots, and one more per GPU; where the fewest is none, both the plain
// placement (experts in order) and EPLB's placement by load (its balanced packing alone). Redundant
// slots always come with EPLB. A dense model, or EP 1, has one option: no slots, no placement.
struct ExpertSlotOption {
  std::int64_t redundant = 0;
  bool eplb = false;
};
std::vector<ExpertSlotOption> expert_slot_options(const ModelConfig& m, std::int64_t ep);

// Throws ConfigError naming the SLO no candidate meets ("--tpot-p95" or "--ttft-p95") and the
// best value any candidate reaches; the choice no listed GPU runs (e.g. "--fp8-attention").
ServingPlan plan_serving(const ModelConfig& m, const std::vector<PricedGpu>& gpus, const ServingWorkload& w,
                         const ServingSlo& slo, const PlanChoices& choices = {},
                         const EfficiencyConstants& c = default_efficiency());

std::string serving_plan_table(const ServingPlan& plan);
nlohmann::json serving_plan_json(const ServingPlan& plan);

}  // namespace frugal::sim
