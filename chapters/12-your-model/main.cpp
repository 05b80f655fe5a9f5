// Chapter 12 · What would it cost you? The simulator on the reader's own model: a Hugging Face
// config.json (unchanged) or a FrugalLM config — counted, priced for training on the reader's
// cluster, compared with dense models, with DeepSeek-V3's FP8 recipe, and served.
//   chapter-12-your-model [--config FILE] [--tokens 1T] [--gpu H800] [--gpus 2048] [--price 2]
// Without --config it prices an example, Mixtral 8x7B's published config.json.
#include <CLI/CLI.hpp>
#include <fmt/format.h>

#include <cstdio>
#include <cstdlib>
#include <string>

#include "../common/chat_workload.hpp"
#include "../common/narrator.hpp"
#include "frugal/config/config_error.hpp"
#include "frugal/sim/format.hpp"
#include "frugal/sim/model_accountant.hpp"
#include "frugal/sim/model_report.hpp"
#include "frugal/sim/run_overrides.hpp"
#include "frugal/sim/serving.hpp"
#include "frugal/sim/serving_report.hpp"
#include "frugal/sim/training_report.hpp"
#include "frugal/sim/training_sim.hpp"

using namespace frugal;
using namespace frugal::chapters;
using namespace frugal::sim;

namespace {

struct YourRun {
  std::string config_file = FRUGAL_EXAMPLE_CONFIG;
  std::string tokens, gpu;
  std::int64_t gpus = 0;
  double price = 0;
};

// The run the flags describe: the config's own sections, then the flags on top (apply_overrides,
// as frugal-sim train does). Throws ConfigError naming the file, flag or field.
TrainingRun load_run(const YourRun& flags) {
  TrainingRun run = training_run_from_file(flags.config_file);
  if (flags.gpus < 0) throw ConfigError("--gpus", "must be a positive integer, got " + std::to_string(flags.gpus));
  if (flags.price < 0) throw ConfigError("--price", fmt::format("must be positive, got {}", flags.price));
  RunOverrides o;
  if (!flags.tokens.empty()) o.tokens = parse_token_count(flags.tokens, "--tokens");
  if (!flags.gpu.empty()) o.gpu = flags.gpu;
  if (flags.gpus != 0) o.gpus = flags.gpus;
  if (flags.price != 0) o.price_per_gpu_hour = flags.price;
  apply_overrides(run, o);
  return run;
}

std::string stage_table(const TrainingEstimate& e) {
  std::string out;
  for (const StageEstimate& s : e.stages)
    out += fmt::format("  {}: {} tokens, {} GPU-hours, {:.1f} days, ${}, MFU {:.1f}% (BF16 peak), {} per GPU{}\n", s.stage.name,
                       format_count(s.stage.tokens), format_count(s.gpu_hours), s.days, format_count(s.cost_usd), 100 * s.mfu_bf16,
                       format_bytes(s.memory.total), s.memory.fits() ? "" : " — DOES NOT FIT");
  return out;
}

}  // namespace

int main(int argc, char** argv) {
  YourRun flags;
  const ChapterOptions options = parse_chapter_flags(argc, argv, "Chapter 12 · What would it cost you?", [&](CLI::App& app) {
    app.add_option("--config", flags.config_file, "your model: a Hugging Face config.json (unchanged) or a FrugalLM config")
        ->check(CLI::ExistingFile);
    app.add_option("--tokens", flags.tokens, "training tokens, e.g. 2T (default: the config's, or 1T)");
    app.add_option("--gpu", flags.gpu, "GPU name (H800, H100, H200, H20, A100, A100-40GB, B200, GB200, B300, GB300, RTX A6000)");
    app.add_option("--gpus", flags.gpus, "number of GPUs (default: the config's, or 2048)");
    app.add_option("--price", flags.price, "dollars per GPU-hour (default: the config's, or 2)");
  });
  TrainingRun run;
  TrainingEstimate e;
  try {
    run = load_run(flags);
    e = simulate_training(run);
  } catch (const ConfigError& e) {
    std::fprintf(stderr, "%s: error: %s\n", argv[0], e.what());
    return 2;
  }
  const ModelConfig& m = run.model;
  Narrator n = console_narrator(options);
  n.title("Chapter 12 · What would it cost you?",
          "Goal: point the simulator at your own model and cluster, read what it says, and know which of the "
          "earlier chapters' techniques would change the bill.");

  n.step("Your model");
  const bool example = flags.config_file == FRUGAL_EXAMPLE_CONFIG;
  n.say(example ? fmt::format("No --config given, so this is an example: Mixtral 8x7B's config.json as its repository "
                              "publishes it ({}). Run `chapter-12-your-model --config path/to/config.json` with yours.",
                              flags.config_file)
                : fmt::format("Read from {}.", flags.config_file));
  if (!m.ignored_keys.empty()) {
    std::string keys;
    for (const auto& k : m.ignored_keys) keys += (keys.empty() ? "" : ", ") + k;
    n.say(fmt::format("Read but not used, because they change no cost: {}. Any key the simulator did not know would "
                      "have been refused by name: an unknown key might change the bill.", keys));
  }
  const ModelAccount a = account_model(m);
  n.say(fmt::format("{}: {}. {} parameters, {} activated per token; training costs {} per token at a {}-token "
                    "sequence (6 × activated parameters + attention); the KV cache {} per token in BF16.",
                    m.name, describe_shape(m), format_count(a.total_params), format_count(a.active_params),
                    format_flops(a.train_flops_per_token), AccountingOptions{}.seq_len, format_bytes(a.kv_cache_bytes_per_token)));

  n.step("Training it");
  n.say(describe_run(e));
  n.show(stage_table(e));
  n.say(fmt::format("In all: {} GPU-hours, {:.1f} days, ${} at ${:.2f} per GPU-hour{}.", format_count(e.gpu_hours), e.days,
                    format_count(e.cost_usd), run.price_per_gpu_hour,
                    e.fits ? "" : " — but it does not fit in memory as planned: try more GPUs or pipeline stages"));
  n.show(step_breakdown_text(e.stages.front()));

  n.step("Against dense models, and with DeepSeek's FP8 recipe");
  n.show(baselines_table(e, dense_baselines(run, "llama-3.1-8b")));
  TrainingRun other = run;
  other.precision = run.precision == PrecisionRecipe::fp8 ? PrecisionRecipe::bf16 : PrecisionRecipe::fp8;
  const TrainingEstimate flipped = simulate_training(other);
  n.say(fmt::format("Your run trains in {}. With the {} recipe instead it would take {} GPU-hours (${}): {:.2f}× the "
                    "time{}.",
                    to_string(run.precision), to_string(other.precision), format_count(flipped.gpu_hours),
                    format_count(flipped.cost_usd), flipped.gpu_hours / e.gpu_hours,
                    run.gpu.fp8_flops > 0 ? "" : fmt::format(" ({} has no FP8 tensor cores)", run.gpu.name)));

  n.step("Serving it");
  const ServingDeployment d = default_deployment(m, run.gpu, run.gpu.fp8_flops > 0);
  const ServingWorkload chat = chat_workload(4, options.quick);
  const ServingResult served = simulate_serving(m, d, chat);
  n.say(fmt::format("On {} × {} per replica ({} weights), 4 chat requests per second (prompts of 1000, answers of 300 "
                    "tokens on average): time to first token {:.0f} ms at the median, {:.1f} ms per output token, "
                    "${:.3f} per 1,000 requests, ${:.3f} per million output tokens. Chapter 11 explains each number; "
                    "`frugal-sim serve --config {}` varies the load.",
                    d.gpus_per_instance, run.gpu.name, d.fp8_weights ? "FP8" : "BF16", 1e3 * served.ttft_s.p50, 1e3 * served.tpot_s.p50,
                    served.cost_per_1k_requests_usd, served.cost_per_m_output_tokens_usd, flags.config_file));

  n.exercises({"Price your model on the GPU you can rent: `--gpu H100 --price 2.5` (or `--gpu-file` for one the "
               "simulator does not know, with `frugal-sim train`). Which line of the step breakdown dominates?",
               "How many tokens would make your model compute-optimal? (Chinchilla: about 20 per parameter for a "
               "dense model — which parameter count, for an MoE?) Price that with `--tokens`.",
               "If your model is dense: write its MoE twin (same activated parameters, 8× the experts) as a config "
               "and price both. If it is MoE: what does the dense model of equal total parameters cost?"});
  return 0;
}
