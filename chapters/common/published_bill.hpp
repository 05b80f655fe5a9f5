// DeepSeek-V3's published bill (sim/data/published_runs.json, V3 report Table 1) and the
// back-of-envelope MFU it implies (chapters 1 and 9). Header-only: the chapters print these and
// their tests recompute them.
#pragma once

#include <string>
#include <vector>

#include "v3_run.hpp"
#include "frugal/sim/hardware.hpp"
#include "frugal/sim/model_accountant.hpp"
#include "frugal/sim/training_sim.hpp"
#include "frugal/sim/validation.hpp"

namespace frugal::chapters {

struct BillLine {
  std::string stage;
  double gpu_hours = 0;
};

struct PublishedBill {
  std::vector<BillLine> lines;  // pre-training, context extension, post-training (derived)
  double total_gpu_hours = 0;
  double price_per_gpu_hour = 0;
  std::string source;
  double total_cost_usd() const { return total_gpu_hours * price_per_gpu_hour; }
};

inline PublishedBill published_bill() {
  const sim::PublishedRun& all = sim::find_published_run("DeepSeek-V3, all stages");
  const double pre = sim::find_published_run("DeepSeek-V3 pre-training").published;
  const double context = sim::find_published_run("DeepSeek-V3 context extension").published;
  return {{{"pre-training", pre}, {"context extension", context}, {"post-training", all.published - pre - context}},
          all.published,
          deepseek_v3_run().price_per_gpu_hour,
          all.source};
}

// GPU-hours = tokens × FLOPs per token ÷ (GPUs' peak × MFU) ÷ 3600, solved for the MFU.
struct BackOfEnvelope {
  std::int64_t seq_len = 0;
  double active_params = 0, flops_per_token = 0, tokens = 0, total_flops = 0;
  double peak_flops = 0;  // one H800, dense BF16
  double published_gpu_hours = 0;
  double implied_mfu = 0, published_mfu = 0;
  std::string mfu_source;
};

inline BackOfEnvelope back_of_envelope() {
  const sim::TrainingRun run = deepseek_v3_run();
  const sim::TrainingStage& pre = run.stages.front();
  const sim::ModelAccount account = sim::account_model(run.model, {pre.seq_len, sim::AttentionFlops::causal, sim::KvDtype::bf16});
  BackOfEnvelope e;
  e.seq_len = pre.seq_len;
  e.active_params = account.active_params;
  e.flops_per_token = account.train_flops_per_token;
  e.tokens = pre.tokens;
  e.total_flops = e.flops_per_token * e.tokens;
  e.peak_flops = run.gpu.bf16_flops;
  e.published_gpu_hours = sim::find_published_run("DeepSeek-V3 pre-training").published;
  e.implied_mfu = e.total_flops / (e.published_gpu_hours * 3600.0 * e.peak_flops);
  const sim::PublishedRun& mfu = sim::find_published_run("DeepSeek-V3 pre-training MFU");
  e.published_mfu = mfu.published;
  e.mfu_source = mfu.source;
  return e;
}

}  // namespace frugal::chapters
