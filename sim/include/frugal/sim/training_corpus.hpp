// The validation corpus (sim/data/training_corpus.json): published training measurements, each
// with its full set-up, predicted with the one set of efficiency constants and compared in the
// metric the source published. `frugal-sim validate --corpus` prints it.
//
// Two classes of rows. "step": one measured optimizer step (step time or tokens/s/GPU) of a run
// described as a training document (model, cluster, precision, recompute, one stage, full
// parallelism). "whole_run": the GPU-hours of a whole training, set up as a published run of
// sim/data/published_runs.json (a preset and what differs from it). "finetune": a whole published
// fine-tuning (full, LoRA or QLoRA: the run's training.finetune section) in wall hours, its
// tokens/s/GPU or its peak memory per GPU, described as a step row is.
#pragma once

#include <map>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "frugal/sim/efficiency.hpp"
#include "frugal/sim/excluded_measurement.hpp"
#include "frugal/sim/training_config.hpp"
#include "frugal/sim/validation.hpp"

namespace frugal::sim {

struct CorpusRow {
  std::string name;
  std::string row_class;  // "step", "whole_run" or "finetune"
  std::string series;     // rows measured together varying one thing; empty: a series of its own
  std::string metric;     // step_time_s, tokens_per_s_per_gpu (step), gpu_hours (whole_run), hours or memory_gb (finetune)
  double published = 0;
  std::string source;
  std::string quote;            // the source's line the figure comes from
  std::string flop_convention;  // how the source turned FLOPs into its figure, where it matters
  std::vector<std::string> lacks;  // unstated set-up (and the default assumed), what the model lacks
  TrainingRun run;           // step rows
  std::string run_document;  // step rows: the row's "run" object as written (compact JSON, keys sorted)
  PublishedRun whole_run;    // whole_run rows
  bool is_moe = false;
};

struct TrainingCorpus {
  std::vector<CorpusRow> rows;
  std::vector<ExcludedMeasurement> not_included;
};

// Reads and checks a corpus document. `label` names it in errors: a row without a source, a
// quote, a measured figure or a layout is refused as ConfigError("<label> rows[i] (<name>).<field>").
TrainingCorpus training_corpus_from_json(const nlohmann::json& doc, const std::string& label);
TrainingCorpus training_corpus_from_file(const std::string& file);
// The corpus compiled into the simulator (sim/data/training_corpus.json).
const TrainingCorpus& embedded_training_corpus();

// The row's figure as the simulator predicts it with constants `c`, in the row's metric:
//   step_time_s           = the first stage's step time
//   tokens_per_s_per_gpu  = global_batch x seq_len / (step time x GPUs)
//   gpu_hours             = published_metric() of the whole run
//   hours                 = the first stage's wall time (days x 24)
//   memory_gb             = the first stage's memory per GPU less the reserve (a fine-tuning's measured
//                           peak, torch.cuda.max_memory_allocated())
double predict_corpus_row(const CorpusRow& row, const EfficiencyConstants& c = default_efficiency());

// Series a row belongs to for leave-one-series-out: its series, or its own name when it has none.
inline const std::string& series_key(const CorpusRow& row) { return row.series.empty() ? row.name : row.series; }

// Leave-one-series-out: every row predicted with constants fitted on the rows of all the other
// series. fit(rows) -> constants; predict(row, constants) -> figure. Returns one prediction per
// row, in order. A fit that fits nothing (returns fixed constants) makes these the in-sample ones.
template <class Row, class Fit, class Predict>
std::vector<double> leave_one_series_out(const std::vector<Row>& rows, Fit fit, Predict predict) {
  std::map<std::string, std::vector<std::size_t>> by_series;
  for (std::size_t i = 0; i < rows.size(); ++i) by_series[series_key(rows[i])].push_back(i);
  std::vector<double> out(rows.size(), 0.0);
  for (const auto& [series, members] : by_series) {
    std::vector<const Row*> others;
    for (const Row& r : rows)
      if (series_key(r) != series) others.push_back(&r);
    const auto constants = fit(others);
    for (std::size_t i : members) out[i] = predict(rows[i], constants);
  }
  return out;
}

struct CorpusPrediction {
  const CorpusRow* row = nullptr;
  double predicted = 0;
  double rel_error = 0;                // (predicted - published) / published
  double out_of_sample_rel_error = 0;  // the same, predicted leaving the row's series out
  bool fits = true;                    // whether the predicted plan fits in memory (step rows)
  // The same two errors in the direction of time: the step time (or GPU-hours) predicted over the
  // published one, minus 1. A throughput row predicted 2x too high is a step predicted 50% too short.
  double time_rel_error = 0;
  double out_of_sample_time_rel_error = 0;
};

// predicted / published - 1 for a time or cost metric (step_time_s, gpu_hours); published /
// predicted - 1 for a throughput (tokens_per_s_per_gpu): step time = global batch x sequence /
// (tokens/s/GPU x GPUs), so the ratio of step times is the inverse ratio of throughputs.
double time_rel_error(const std::string& metric, double predicted, double published);

// Every row predicted with the default constants (in sample: efficiency.hpp's fitted constants are
// the fit on the shipped corpus) and with the constants of corpus_fit.hpp refitted on the step
// rows of the other series (out of sample). Without `out_of_sample` (the refits take seconds) the
// out-of-sample fields are NaN.
std::vector<CorpusPrediction> predict_training_corpus(const TrainingCorpus& corpus, bool out_of_sample = true);

// Summary of |error| over some predictions.
struct ErrorSummary {
  std::size_t count = 0;
  double median_abs = 0, max_abs = 0;
  double share_low = 0;  // fraction of rows whose errors are negative (for time errors: predicted too fast)
};
ErrorSummary summarize_errors(const std::vector<double>& rel_errors);

// Step rows the simulator cannot tell apart: the same "run" (model, cluster, recipe, layout, batch),
// yet different published step times (a container release, a cluster's state). Any model of
// these inputs predicts them one step time t; the least max |t / t_i - 1| over the group is
// (t_max - t_min) / (t_max + t_min), at t = 2 t_max t_min / (t_max + t_min): a floor under the
// class's max |error| that no mechanism can lower while the rows stay in.
struct IndistinguishableRows {
  std::vector<const CorpusRow*> rows;
  double error_floor = 0;
};
// Below this a group's floor is the rounding of its published figures, not worth showing.
inline constexpr double kNegligibleErrorFloor = 0.005;
// Groups of two or more step rows with the same run, largest floor first.
std::vector<IndistinguishableRows> indistinguishable_rows(const TrainingCorpus& corpus);
// A step row's published figure as a step time: step_time_s as it is; tokens_per_s_per_gpu as
// global batch x sequence length / (tokens/s/GPU x GPUs) of the first stage.
double published_step_time(const CorpusRow& row);

}  // namespace frugal::sim
