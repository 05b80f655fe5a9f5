// frugal-gui's state and the library calls behind every number it draws. No ImGui here: the
// draw code (gui_draw.cpp) shows this state and edits GuiInputs; recompute() does the rest, so
// tests and benchmarks can drive it without a window.
#pragma once

#include <atomic>
#include <cstdint>
#include <map>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include <nlohmann/json.hpp>

#include "frugal/sim/distillation.hpp"
#include "frugal/sim/finetune.hpp"
#include "frugal/sim/serving.hpp"
#include "frugal/sim/serving_planner.hpp"
#include "frugal/sim/training_corpus.hpp"
#include "frugal/sim/training_report.hpp"
#include "frugal/sim/validation.hpp"

namespace frugal::sim::gui {

// Everything the left-hand panel edits.
struct GuiInputs {
  std::string preset = "deepseek-v3";
  // model
  int layers = 0, hidden = 0, experts = 0, top_k = 0, shared_experts = 0, groups_kept = 0, kv_rank = 0, q_rank = 0,
      mtp_depth = 0;
  // training
  bool preset_stages = true;  // the preset's stages, or one stage from the three fields below
  float tokens_t = 1.0f;      // trillions
  int seq_len = 4096, global_batch = 1024;
  bool fp8 = false;
  // hardware and cluster
  int gpu = 0;  // index into known_gpus()
  int gpus = 2048;
  float price = 2.0f;
  // parallelism
  bool plan_auto = false;
  int tp = 1, pp = 1, ep = 1;
  // serving
  float rate = 2.0f;
  int prompt_tokens = 1000, output_tokens = 300;
  float mtp_acceptance = 0.0f, prefix_hit_rate = 0.0f;
  float ttft_p95_s = 3.0f, tpot_p95_ms = 50.0f;  // the planner's SLOs
  // precisions and kernels, as serve's flags; the planner keeps them on every candidate
  bool kv_fp8 = false, fp8_attention = false, two_batch_overlap = true, low_latency_nvlink = true;
  bool eplb = false;  // the load view's deployment only: the planner tries both placements
  // sweep
  int sweep_axis = 0;     // see sweep_axes()
  int sweep_axis_2 = -1;  // a second input (a heat map over both), or -1 for none
  // fine-tuning the current model on the GPU above
  int ft_method = 1;  // 0 full, 1 LoRA, 2 QLoRA
  int ft_kernels = 0;  // 0 fused (Megatron-style), 1 eager (plain PyTorch, as Lit-GPT): what a layer keeps for backward
  int ft_rank = 16, ft_tokens = 512, ft_gpus = 1;
  float ft_examples = 5000.0f, ft_epochs = 3.0f;
  // distilling the current model (the teacher) into a student preset
  std::string student = "llama-3.1-8b";
  float distill_samples = 100000.0f;
  int distill_tokens = 1000;
};

const std::vector<std::string>& sweep_axes();

class GuiState {
 public:
  GuiState();
  ~GuiState();

  // Loads a preset or a config file (the JSON the CLI reads) into the inputs.
  void load_preset(const std::string& name);
  void load_document(const nlohmann::json& doc, const std::string& name);
  void load_file(const std::string& file);
  // The current inputs as a config document the CLI reads (`frugal-sim train --config`).
  nlohmann::json to_document() const;
  void save_file(const std::string& file) const;
  // A frugal-sim command line that reproduces the training view.
  std::string cli_command() const;

  // Recomputes the training results from `inputs` (fast: plans are cached by shape).
  void recompute();
  void recompute_serving();
  // `serve --plan` on the serving inputs and SLOs, over every known GPU at the price input.
  void plan_serving();
  // The serving inputs' precisions and kernels (`serve --kv-dtype fp8 --fp8-attention ...`).
  PlanChoices serving_choices() const;
  void start_sweep();  // in a background thread; sweep_progress() runs 0..1
  // The values a sweep takes along axis `axis` (an index into sweep_axes()).
  static std::vector<double> sweep_values(int axis);
  // `frugal-sim finetune` and `frugal-sim distill` on the current model and the inputs above.
  void price_finetune();
  void price_distillation();

  GuiInputs inputs;
  std::string error;  // the library's message when the inputs are impossible; empty otherwise
  std::optional<TrainingEstimate> estimate;
  std::vector<Baseline> baselines;
  std::vector<ValidationRow> validation;
  // The validation corpus (sim/data/training_corpus.json) with the simulator's prediction of each row.
  struct CorpusPrediction {
    const CorpusRow* row = nullptr;
    double predicted = 0;
    std::string error;  // when the row cannot be predicted
  };
  std::vector<CorpusPrediction> corpus;
  // The step rows' |error| in step time (in sample), and the floor under its maximum that rows
  // with the same run and different published figures set (training_corpus.hpp).
  ErrorSummary corpus_step_summary;
  std::vector<IndistinguishableRows> corpus_floor;
  std::string serving_error;
  std::vector<std::pair<double, ServingResult>> serving_by_load;  // (arrival rate, result)
  std::optional<ServingPlan> serving_plan;
  std::string plan_error;
  std::optional<FinetuneEstimate> finetune;
  std::string finetune_error;
  std::optional<DistillationEstimate> distillation;
  std::string distill_error;

  double sweep_progress() const { return sweep_done_.load() / static_cast<double>(std::max(1, sweep_total_.load())); }
  bool sweep_running() const { return sweep_running_.load(); }
  struct SweepPoint {
    double value = 0;
    double value_2 = 0;  // the second input's value, in a two-input sweep
    double cost_usd = 0;
    std::string error;  // why the point is impossible; empty when it was priced
  };
  std::vector<SweepPoint> sweep_points() const;
  // The inputs the last sweep ran over (indices into sweep_axes(); the second -1 for none): the
  // charts label its points with these, whatever the combos show now.
  std::pair<int, int> swept_axes() const;

 private:
  TrainingEstimate simulate_cached(TrainingRun run);

  nlohmann::json document_;  // the loaded preset or file
  std::map<std::string, Parallelism> plans_;
  mutable std::mutex sweep_mutex_;
  std::vector<SweepPoint> sweep_points_;
  std::pair<int, int> swept_axes_{0, -1};
  std::atomic<int> sweep_done_{0}, sweep_total_{0};
  std::atomic<bool> sweep_running_{false};
  std::thread sweep_thread_;
};

}  // namespace frugal::sim::gui
