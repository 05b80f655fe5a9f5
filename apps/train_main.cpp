// frugal-train: trains the CPU reference — a tiny DeepSeek-style transformer — on two CPU cores.
//   frugal-train --config FILE            train as the file says ("model" + "cpu_training")
//   frugal-train --preset deepseek-v3-tiny --steps 200
//   frugal-train --config FILE --resume run.ckpt
//   frugal-train --config student.json --distill logit --teacher-config t.json --teacher-checkpoint t.ckpt
//   frugal-train experiment dense-vs-moe | balancing | balancing-gamma | fp8 | fp8-ablation | fp8-width | mtp | distillation | sequence-kd
//                [--seeds N] [--steps N] [--json FILE]
//   mpirun -np 4 frugal-train --ep 4      expert parallelism over 4 ranks (with MPI)
// Bad input: one line naming what is wrong on stderr, exit status 2, nothing written.
// A loss or gradient that becomes NaN/Inf stops the run with the step number (exit status 1).
#include <unistd.h>

#include <chrono>
#include <cmath>
#include <cstdio>
#include <iostream>
#include <optional>

#include <CLI/CLI.hpp>
#include <fmt/format.h>

#include "frugal/config/config_error.hpp"
#include "frugal/config/config_file.hpp"
#include "frugal/core/atomic_file.hpp"
#include "frugal/core/checkpoint.hpp"
#include "frugal/core/distillation.hpp"
#include "frugal/core/experiments.hpp"
#include "frugal/core/trainer.hpp"
#include "frugal/config/presets.hpp"
#include "all_to_all_check.hpp"
#include "progress.hpp"
#ifdef FRUGAL_HAVE_MPI
#include "frugal/mpi/mpi_parallelism.hpp"
#endif

namespace frugal::core::cli {
namespace {

struct Flags {
  std::string config_file, preset, resume, text;
  std::optional<std::int64_t> stop_after;
  std::optional<std::int64_t> steps, seed, batch_size, log_every, eval_every, checkpoint_every;
  std::optional<double> learning_rate, mtp_weight, kd_temperature, kd_alpha, sample_temperature, kd_mix;
  std::optional<std::int64_t> kd_samples, train_sequences, markov_order;
  std::optional<std::string> balancing, precision, checkpoint, metrics_csv, metrics_json;
  std::optional<std::string> distill, teacher_config, teacher_checkpoint;
  bool quiet = false;
  bool silent = false;             // ranks other than 0 print nothing at all
  int ep = 1, ranks_per_node = 0;  // expert parallelism over MPI ranks
};

// Where this process stands among the MPI ranks that run it (rank 0 of 1 without mpirun).
struct Ranks {
  int rank = 0, world = 1;
};

struct Run {
  ModelConfig model;
  TrainOptions options;
};

// The model and options from --config FILE or --preset NAME (default deepseek-v3-tiny), with the
// command-line overrides applied and checked like the file's own fields.
Run load_run(const Flags& f) {
  Run run;
  if (!f.config_file.empty() && !f.preset.empty()) throw ConfigError("--preset", "give either --config or --preset, not both");
  nlohmann::json doc;
  if (!f.config_file.empty()) {
    doc = read_json_file(f.config_file);
    try {
      run.model = model_from_document(doc);
      run.options = train_options_from_document(doc);
    } catch (const ConfigError& e) {
      throw ConfigError(f.config_file, e.what());
    }
  } else {
    // A preset is a whole document too: its "cpu_training" section is the run it describes
    // (deepseek-v3-tiny: 600 steps), not the bare defaults of TrainOptions.
    doc = frugal::find_preset(f.preset.empty() ? "deepseek-v3-tiny" : f.preset).document;
    run.model = model_from_document(doc);
    run.options = train_options_from_document(doc);
  }
  nlohmann::json overrides = nlohmann::json::object();
  if (f.steps) overrides["steps"] = *f.steps;
  if (f.seed) overrides["seed"] = *f.seed;
  if (f.batch_size) overrides["batch_size"] = *f.batch_size;
  if (f.log_every) overrides["log_every"] = *f.log_every;
  if (f.eval_every) overrides["eval_every"] = *f.eval_every;
  if (f.checkpoint_every) overrides["checkpoint_every"] = *f.checkpoint_every;
  if (f.learning_rate) overrides["learning_rate"] = *f.learning_rate;
  if (f.mtp_weight) overrides["mtp_weight"] = *f.mtp_weight;
  if (f.checkpoint) overrides["checkpoint"] = *f.checkpoint;
  if (f.metrics_csv) overrides["metrics_csv"] = *f.metrics_csv;
  if (f.metrics_json) overrides["metrics_json"] = *f.metrics_json;
  if (f.balancing) overrides["router"]["balancing"] = *f.balancing;
  if (f.precision) {
    overrides["precision"]["linear"] = *f.precision;
    overrides["precision"]["optimizer_moments"] = *f.precision == "fp8" ? "bf16" : "fp32";
  }
  if (!f.text.empty()) overrides["data"] = {{"kind", "text"}, {"path", f.text}};
  if (f.distill) overrides["distillation"]["kind"] = *f.distill;
  if (f.teacher_config) overrides["distillation"]["teacher_config"] = *f.teacher_config;
  if (f.teacher_checkpoint) overrides["distillation"]["teacher_checkpoint"] = *f.teacher_checkpoint;
  if (f.kd_temperature) overrides["distillation"]["temperature"] = *f.kd_temperature;
  if (f.kd_alpha) overrides["distillation"]["alpha"] = *f.kd_alpha;
  if (f.kd_samples) overrides["distillation"]["samples"] = *f.kd_samples;
  if (f.sample_temperature) overrides["distillation"]["sample_temperature"] = *f.sample_temperature;
  if (f.kd_mix) overrides["distillation"]["mix"] = *f.kd_mix;
  if (f.markov_order && !f.text.empty()) throw ConfigError("--markov-order", "sets the Markov source's order; --text reads a file instead");
  if (!overrides.empty() || f.train_sequences || f.markov_order) {
    // Merge into the file's section, so that the same checks apply and errors name the flag's field.
    nlohmann::json section = doc.is_object() && doc.contains("cpu_training") ? doc["cpu_training"] : nlohmann::json::object();
    for (const char* nested : {"router", "precision", "distillation"})
      if (overrides.contains(nested) && section.contains(nested)) {
        section[nested].update(overrides[nested]);
        overrides.erase(nested);
      }
    if (overrides.contains("data")) section.erase("data");
    section.update(overrides);
    if (f.train_sequences) section["data"]["train_sequences"] = *f.train_sequences;
    if (f.markov_order) {
      if (section.contains("data") && section["data"].value("kind", "markov") != "markov")
        throw ConfigError("--markov-order", "sets the Markov source's order; this config reads text");
      section["data"]["order"] = *f.markov_order;
    }
    run.options = parse_train_options(section, "cpu_training");
  }
  return run;
}

void print_header(const Trainer& t, const ModelConfig& model) {
  fmt::print("model   {} ({} attention, {}): {} parameters, {} activated per token\n", model.name, to_string(model.attention.kind),
             model.is_moe() ? fmt::format("{} shared + {} routed experts, top-{}", model.moe.shared_experts,
                                          model.moe.routed_experts, model.moe.top_k)
                            : std::string("dense"),
             t.model().parameter_count(), t.model().activated_parameter_count());
  if (t.model().mtp_depth() > 0)
    fmt::print("        + {} Multi-Token Prediction module(s), {} parameters, loss weight λ = {:g}\n", t.model().mtp_depth(),
               t.model().mtp_parameter_count(), t.options().mtp_weight);
  else if (model.mtp_depth > 0)
    fmt::print("        (mtp_depth {} in the config: MTP is off; --mtp-weight 0.3 trains it, V3 §4.2)\n", model.mtp_depth);
  if (const Transformer<float>* teacher = t.teacher()) {
    const DistillationOptions& d = t.options().distillation;
    fmt::print("teacher {} ({} parameters, {} activated) from {}\n", teacher->config().name, teacher->parameter_count(),
               teacher->activated_parameter_count(), d.teacher_checkpoint.empty() ? "memory" : d.teacher_checkpoint);
    if (t.teacher_corpus_size() > 0)
      fmt::print("        sequence-level distillation: training on {} sequences it samples at τ = {:g}, {} of each batch's {}\n",
                 t.teacher_corpus_size(), d.sample_temperature, t.teacher_rows(), t.options().batch_size);
    else
      fmt::print("        logit distillation: α = {:g} of T² · KL to its softmax at T = {:g}, 1 − α of the hard labels\n", d.alpha,
                 d.temperature);
  }
  fmt::print("data    {}\n", t.source().describe());
  if (const std::int64_t pool = t.options().data.train_sequences; pool > 0)
    fmt::print("        training on a fixed set of {} sequences, read in order, {:.1f} passes\n", pool,
               static_cast<double>(t.options().steps * (t.options().batch_size - t.teacher_rows())) / static_cast<double>(pool));
  const double floor = t.loss_floor();
  if (!std::isnan(floor)) fmt::print("floor   {:.4f} nats/token: no model can average below this on this source\n", floor);
  const auto& o = t.options();
  fmt::print("train   {} steps × {} sequences × {} tokens, lr {:g}, seed {}{}{}\n", o.steps, o.batch_size, o.seq_len,
             o.learning_rate, o.seed, model.is_moe() ? fmt::format(", balancing {}", to_string(o.router.balancing)) : "",
             o.precision.fp8_linear ? ", FP8 (E4M3) Linear GEMMs" : "");
}

void write_outputs(const Trainer& t, const Ranks& ranks) {
  if (ranks.rank != 0) return;
  const auto& o = t.options();
  if (!o.metrics_csv.empty()) write_file_atomically(o.metrics_csv, metrics_csv(t.history()));
  if (!o.metrics_json.empty()) write_file_atomically(o.metrics_json, metrics_json(t.history(), t.describe()));
}

// Expert and data parallelism: each rank trains on its share of every batch and runs its share of
// the experts; rank 0 alone prints and writes files.
std::unique_ptr<TrainingParallelism> make_parallelism(const Flags& f, const Run& run, const Ranks& ranks) {
  if (ranks.world == 1 && f.ep == 1 && f.ranks_per_node == 0) return nullptr;
  check_expert_parallel_layout(ranks.world, f.ep, f.ranks_per_node, run.model, run.options.batch_size);
#ifdef FRUGAL_HAVE_MPI
  return std::make_unique<frugal::mpi::MpiParallelism>(f.ep, f.ranks_per_node);
#else
  throw ConfigError("--ep", "this frugal-train was built without MPI (libopenmpi-dev, openmpi-bin): it runs in one process");
#endif
}

void print_parallel_header(const Flags& f, const ModelConfig& model, const Ranks& ranks) {
  const Index per_rank = model.is_moe() ? model.moe.routed_experts / f.ep : 0;
  fmt::print("ranks   {} = {} expert-parallel × {} data-parallel: each rank takes {} of every batch", ranks.world, f.ep,
             ranks.world / f.ep, ranks.world > 1 ? fmt::format("1/{}", ranks.world) : std::string("all"));
  if (f.ep > 1) fmt::print(", rank p runs routed experts [{}p, {}p + {})", per_rank, per_rank, per_rank);
  if (f.ranks_per_node > 0) fmt::print(", {} nodes of {} ranks", f.ep / f.ranks_per_node, f.ranks_per_node);
  fmt::print("\n");
}

// Measured all-to-all traffic next to frugal-sim's model of it (all_to_all_check.hpp).
void print_all_to_all(const Trainer& t, const Flags& f, const ModelConfig& model, const Ranks& ranks) {
  if (f.ep <= 1 || t.history().empty()) return;
  const AllToAllCheck c = check_all_to_all(t, model, f.ep, f.ranks_per_node, ranks.world);
  fmt::print("a2a     measured {:.1f} KB sent per rank per step: {:.3f} of each token's {} routed copies left its rank\n",
             c.measured_bytes / 1e3, c.remote_copies_per_token, model.moe.top_k);
  fmt::print("        frugal-sim's formula, 4 passes × {} MoE layers × {} tokens × copies × {} × 4 B: {:.1f} KB with the measured "
             "copies, {:.1f} KB at uniform routing (k(1 − 1/ep) = {:.3f})\n",
             c.layers, c.tokens_per_rank, model.hidden_size, c.formula_bytes_measured_copies / 1e3, c.formula_bytes_uniform / 1e3,
             c.uniform_copies_per_token);
  if (c.has_nodes)
    fmt::print("nodes   {} of {} ranks: every token reached at most {} nodes (node-limited routing allows {}); {:.3f} "
               "other nodes per token, frugal-sim expects {:.3f}\n",
               c.nodes, f.ranks_per_node, c.max_nodes_per_token, model.moe.groups_per_token, c.other_nodes_per_token,
               c.expected_other_nodes_per_token);
}

int train_with(const Flags& flags, const Run& run, const Ranks& ranks, TrainingParallelism* parallel);

int train(const Flags& flags, const Ranks& ranks) {
  const Run run = load_run(flags);
  const std::unique_ptr<TrainingParallelism> parallel = make_parallelism(flags, run, ranks);
  Flags local = flags;
  local.silent = ranks.rank != 0;  // one voice: rank 0's
  local.quiet = flags.quiet || local.silent;
  return train_with(local, run, ranks, parallel.get());
}

int train_with(const Flags& flags, const Run& run, const Ranks& ranks, TrainingParallelism* parallel) {
  Trainer trainer(run.model, run.options, nullptr, parallel);
  if (!flags.resume.empty()) trainer.load_checkpoint(flags.resume);
  const TrainOptions& o = trainer.options();
  if (!flags.quiet) print_header(trainer, run.model);
  if (!flags.quiet && parallel) print_parallel_header(flags, run.model, ranks);
  if (trainer.teacher_corpus_size() > 0) {
    const auto start = std::chrono::steady_clock::now();
    if (!flags.quiet) {
      fmt::print("        writing them now (no KV cache in the CPU reference: each token reruns its prefix)...");
      std::fflush(stdout);
    }
    trainer.write_teacher_corpus();
    if (!flags.quiet)
      fmt::print(" {:.3g} GFLOP, {:.1f} s\n", trainer.teacher_corpus()->generation_flops() / 1e9,
                 std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count());
  }
  if (!flags.resume.empty() && !flags.quiet)
    fmt::print("resume  from {} at step {}\n", flags.resume, trainer.steps_done());

  const bool terminal = isatty(fileno(stderr)) != 0;
  double last_eval = std::nan("");
  const double floor = trainer.loss_floor();
  const std::int64_t stop_at = flags.stop_after ? std::min(*flags.stop_after, o.steps) : o.steps;
  if (flags.stop_after && *flags.stop_after <= 0) throw ConfigError("--stop-after", "must be a positive number of steps");
  while (trainer.steps_done() < stop_at) {
    StepMetrics m;
    try {
      m = trainer.step();
    } catch (const TrainingDiverged& e) {
      if (terminal && !flags.quiet) fmt::print(stderr, "\n");
      write_outputs(trainer, ranks);
      if (ranks.rank == 0) fmt::print(stderr, "frugal-train: error: {}\n", e.what());
      return 1;
    }
    if (!std::isnan(m.eval_loss)) last_eval = m.eval_loss;
    const bool report = m.step % o.log_every == 0 || m.step == stop_at || !std::isnan(m.eval_loss);
    if (!flags.quiet) {
      if (terminal) fmt::print(stderr, "\r{}\x1b[K", progress_line(m, o.steps, floor, last_eval, run.model.is_moe()));
      else if (report) fmt::print("{}\n", progress_line(m, o.steps, floor, last_eval, run.model.is_moe()));
    }
    if (!o.checkpoint_path.empty() && o.checkpoint_every > 0 && m.step % o.checkpoint_every == 0)
      trainer.save_checkpoint(o.checkpoint_path);
  }
  if (terminal && !flags.quiet) fmt::print(stderr, "\n");
  if (!o.checkpoint_path.empty()) trainer.save_checkpoint(o.checkpoint_path);
  write_outputs(trainer, ranks);
  if (flags.silent) return 0;

  const StepMetrics& last = trainer.history().back();
  fmt::print("done    {} of {} steps, {:.3g} training GFLOP: loss {:.4f}", trainer.steps_done(), o.steps, trainer.flops() / 1e9,
             last.loss);
  if (!std::isnan(last_eval)) fmt::print(", held-out {:.4f}", last_eval);
  if (!std::isnan(last_eval) && !std::isnan(floor)) fmt::print(" ({:+.4f} above the floor)", last_eval - floor);
  fmt::print("\n");
  if (!o.checkpoint_path.empty()) fmt::print("saved   {}\n", o.checkpoint_path);
  if (parallel) print_all_to_all(trainer, flags, run.model, ranks);
  return 0;
}

int experiment(const Flags& flags, const std::string& name, const std::string& json_path, int seeds,
               const std::vector<Index>& widths, Index ablation_hidden, const std::vector<double>& gammas,
               const std::vector<std::int64_t>& real_sequences) {
  if (seeds < 1) throw ConfigError("--seeds", "must be at least 1, got " + std::to_string(seeds));
  const Run run = load_run(flags);
  const bool terminal = isatty(fileno(stderr)) != 0;
  ArmProgress progress;
  if (terminal && !flags.quiet) {
    progress = [&](const std::string& arm, const Trainer& t) {
      const auto& m = t.history().back();
      fmt::print(stderr, "\r{:<14} seed {} {}\x1b[K", arm, t.options().seed, progress_line(m, t.options().steps, t.loss_floor(), std::nan(""), t.model().config().is_moe()));
      if (t.finished()) fmt::print(stderr, "\n");
    };
  }
  ExperimentReport report;
  if (name == "dense-vs-moe") report = run_dense_vs_moe(run.model, run.options, seeds, progress);
  else if (name == "fp8") report = run_fp8_vs_fp32(run.model, run.options, seeds, progress);
  else if (name == "fp8-ablation") report = run_fp8_ablation(scaled_to_width(run.model, ablation_hidden), run.options, seeds, progress);
  else if (name == "fp8-width") report = run_fp8_width(run.model, run.options, widths, seeds, progress);
  else if (name == "mtp") report = run_mtp(run.model, run.options, seeds, progress);
  else if (name == "distillation") report = run_distillation(run.model, run.options, seeds, progress);
  else if (name == "sequence-kd") {
    SequenceKdSweep sweep;
    if (!real_sequences.empty()) sweep.real_sequences = real_sequences;
    report = run_sequence_kd(run.model, run.options, sweep, seeds, progress);
  } else if (name == "balancing-gamma") report = run_balancing_gamma(run.model, run.options, gammas, seeds, progress);
  else report = run_balancing(run.model, run.options, seeds, progress);
  fmt::print("{}", format_report(report));
  if (!json_path.empty()) write_file_atomically(json_path, report_json(report).dump(1) + "\n");
  return 0;
}

void add_run_flags(CLI::App& app, Flags& f) {
  app.add_option("--config", f.config_file, "config file: \"model\" (as frugal-sim reads it) and \"cpu_training\"");
  app.add_option("--preset", f.preset, "a model preset instead of --config (default deepseek-v3-tiny)");
  app.add_option("--steps", f.steps, "optimizer steps");
  app.add_option("--seed", f.seed, "seed for the initial weights and the batches");
  app.add_option("--batch-size", f.batch_size, "sequences per step");
  app.add_option("--lr", f.learning_rate, "peak learning rate");
  app.add_option("--balancing", f.balancing, "aux_free, aux_loss or none");
  app.add_option("--mtp-weight", f.mtp_weight, "λ of the Multi-Token Prediction loss (V3: 0.3); 0 trains without MTP");
  app.add_option("--precision", f.precision, "fp32, or fp8: Linear GEMMs in emulated E4M3 with BF16 AdamW moments (V3 §3.3)");
  app.add_option("--text", f.text, "train on this plain-text file, byte by byte, instead of the synthetic source");
  app.add_option("--distill", f.distill, "none, logit (match the teacher's softened logits) or sequence (train on its samples)");
  app.add_option("--teacher-config", f.teacher_config, "the teacher's config file (its \"model\" and \"cpu_training\")");
  app.add_option("--teacher-checkpoint", f.teacher_checkpoint, "the teacher's frugal-train checkpoint");
  app.add_option("--kd-temperature", f.kd_temperature, "logit distillation: softmax temperature T (default 2)");
  app.add_option("--kd-alpha", f.kd_alpha, "logit distillation: weight α of the soft targets (default 0.5)");
  app.add_option("--kd-samples", f.kd_samples, "sequence distillation: sequences the teacher writes (default steps × batch size)");
  app.add_option("--sample-temperature", f.sample_temperature, "sequence distillation: the teacher's sampling temperature τ (0: greedy)");
  app.add_option("--kd-mix", f.kd_mix, "sequence distillation: the share of each batch the teacher wrote, the rest real (default 1)");
  app.add_option("--markov-order", f.markov_order, "the Markov source's order: 2 (the default source: learned through a plateau, "
                 "once attention finds the previous token) or 1 (learned without one)");
  app.add_option("--train-sequences", f.train_sequences, "train on a fixed set of this many real sequences, read in order (default: fresh every step)");
  app.add_option("--log-every", f.log_every, "steps between progress lines when not on a terminal");
  app.add_option("--eval-every", f.eval_every, "steps between held-out evaluations");
  app.add_flag("--quiet", f.quiet, "print only the final summary");
}

}  // namespace
}  // namespace frugal::core::cli

int main(int argc, char** argv) {
  using namespace frugal::core::cli;
  CLI::App app{"frugal-train: train the CPU reference, a tiny DeepSeek-style transformer (MLA, DeepSeekMoE), on the CPU."};
  Flags flags;
  add_run_flags(app, flags);
  app.add_option("--resume", flags.resume, "continue from this checkpoint (bit-identical to an uninterrupted run)");
  app.add_option("--checkpoint", flags.checkpoint, "write a checkpoint here at the end (and every --checkpoint-every steps)");
  app.add_option("--checkpoint-every", flags.checkpoint_every, "steps between checkpoints");
  app.add_option("--stop-after", flags.stop_after, "stop after this many steps; the schedule still spans --steps (continue with --resume)");
  app.add_option("--metrics-csv", flags.metrics_csv, "write every step's metrics here as CSV");
  app.add_option("--metrics-json", flags.metrics_json, "write every step's metrics, with expert loads, here as JSON");
  app.add_option("--ep", flags.ep, "expert-parallel ranks: under mpirun -np N, N = ep × data-parallel groups (V3: 64)");
  app.add_option("--ranks-per-node", flags.ranks_per_node, "group the expert-parallel ranks into nodes of this many (node-limited routing)");

  Flags experiment_flags;
  std::string experiment_name, json_path;
  int seeds = 3;
  std::vector<frugal::core::Index> widths = {16, 32, 64};
  std::vector<double> gammas = {0.0003, 0.001, 0.003, 0.01};
  std::vector<std::int64_t> real_sequences;
  frugal::core::Index ablation_hidden = 32;
  CLI::App* experiment_app = app.add_subcommand("experiment", "run a chapter's experiment and print its table");
  experiment_app->add_option("name", experiment_name, "dense-vs-moe, balancing, balancing-gamma, fp8, fp8-ablation, fp8-width, mtp, distillation or sequence-kd")
      ->required()
      ->check(CLI::IsMember({"dense-vs-moe", "balancing", "balancing-gamma", "fp8", "fp8-ablation", "fp8-width", "mtp", "distillation", "sequence-kd"}));
  add_run_flags(*experiment_app, experiment_flags);
  experiment_app->add_option("--json", json_path, "also write the results here as JSON");
  experiment_app->add_option("--seeds", seeds, "run every arm with this many seeds and report mean ± standard deviation (default 3)");
  experiment_app->add_option("--gammas", gammas, "balancing-gamma: the bias update speeds (default 0.0003 0.001 0.003 0.01)")
      ->check(CLI::Range(1e-6, 1.0));
  experiment_app->add_option("--real-sequences", real_sequences, "sequence-kd: the amounts of real data, in sequences, 0 for unlimited (default 64 512 0)")
      ->check(CLI::Range(std::int64_t{0}, std::int64_t{100000}));
  experiment_app->add_option("--widths", widths, "fp8-width: the hidden widths to train at (default 16 32 64)")->check(CLI::Range(8, 4096));
  experiment_app->add_option("--hidden", ablation_hidden, "fp8-ablation: the hidden width to train at (default 32: at 16 the model learns too little in 600 steps to lose anything)")
      ->check(CLI::Range(8, 4096));
  app.require_subcommand(0, 1);

  // Under mpirun every rank runs this program; MPI ends with `session` on every return path.
  Ranks ranks;
#ifdef FRUGAL_HAVE_MPI
  std::optional<frugal::mpi::Session> session;
  if (frugal::mpi::launched_by_mpirun()) {
    session.emplace(&argc, &argv);
    ranks = {session->rank(), session->world()};
  }
#endif
  // Bad input is found by every rank alike: rank 0 says it, and every rank returns 2.
  auto refuse = [&](const std::string& what) {
    if (ranks.rank == 0) fmt::print(stderr, "frugal-train: error: {}\n", what);
    return 2;
  };
  try {
    app.parse(argc, argv);
  } catch (const CLI::CallForHelp& e) {
    return ranks.rank == 0 ? app.exit(e) : 0;
  } catch (const CLI::ParseError& e) {
    return refuse(std::string(e.what()) + " (see frugal-train --help)");
  }
  try {
    if (experiment_app->parsed()) {
      if (ranks.world > 1) throw frugal::ConfigError("experiment", "experiments run in one process: start them without mpirun");
      return experiment(experiment_flags, experiment_name, json_path, seeds, widths, ablation_hidden, gammas, real_sequences);
    }
    return train(flags, ranks);
  } catch (const frugal::ConfigError& e) {
    return refuse(e.what());
  } catch (const frugal::core::CheckpointError& e) {
    return refuse(e.what());
  } catch (const std::runtime_error& e) {
    // Not necessarily seen by every rank (a file rank 0 alone writes): the others may be waiting
    // in a collective, so stop them all rather than hang.
    fmt::print(stderr, "frugal-train: error: {}\n", e.what());
#ifdef FRUGAL_HAVE_MPI
    if (ranks.world > 1) MPI_Abort(MPI_COMM_WORLD, 2);
#endif
    return 2;
  }
}
