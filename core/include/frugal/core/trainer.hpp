// A training run of the CPU reference: batches from a token source, forward, backward, clipping,
// AdamW, the auxiliary-loss-free bias update, evaluation, metrics and checkpoints.
// Deterministic for a seed: step s uses Rng(seed, s) for its batch, and nothing else is random.
#pragma once

#include <memory>
#include <stdexcept>
#include <string>
#include <vector>

#include "frugal/core/metrics.hpp"
#include "frugal/core/model.hpp"
#include "frugal/core/parallel.hpp"
#include "frugal/core/train_options.hpp"

namespace frugal::core {

// The loss or the gradient became NaN or Inf: training stops and says at which step.
struct TrainingDiverged : std::runtime_error {
  TrainingDiverged(std::int64_t step, const std::string& what);
  std::int64_t step;
};

class TeacherCorpus;
struct CheckpointState;

// Copies a checkpoint's weights and router biases into a model of the same layout. Throws
// CheckpointError (naming `path` and the first differing tensor) when the layouts differ.
void restore_weights(Transformer<float>& model, const CheckpointState& state, const std::string& path);

class Trainer {
 public:
  // Throws ConfigError when the data does not fit the model (vocabulary, sequence length).
  // With options.distillation.kind logit or sequence, the student learns from `teacher`, or, when
  // none is given, from the teacher that options.distillation names (config file + checkpoint).
  // With `parallel` (not owned; it must outlive the trainer), every rank of it runs this same
  // trainer on its share of each batch (parallel.hpp); all ranks see the same metrics.
  Trainer(const ModelConfig& model, const TrainOptions& options, std::shared_ptr<Transformer<float>> teacher = nullptr,
          TrainingParallelism* parallel = nullptr);
  ~Trainer();

  // One optimizer step; evaluates when the step is a multiple of eval_every or the last one.
  const StepMetrics& step();
  // Mean cross-entropy over eval_batches held-out batches, the same ones every time.
  double evaluate();

  std::int64_t steps_done() const { return step_; }
  bool finished() const { return step_ >= options_.steps; }
  const std::vector<StepMetrics>& history() const { return history_; }
  const TrainOptions& options() const { return options_; }
  Transformer<float>& model() { return *model_; }
  const Transformer<float>& model() const { return *model_; }
  // The trained model, to outlive the trainer (e.g. as another run's teacher).
  std::shared_ptr<Transformer<float>> shared_model() const { return model_; }
  const Transformer<float>* teacher() const { return teacher_.get(); }
  // Sequence-level distillation: the teacher writes the transfer set (teacher_corpus_size()
  // sequences) on the first step, or now. Its FLOPs are the teacher's, not training's.
  void write_teacher_corpus();
  // Or trains on a transfer set written beforehand, shared between runs: its first
  // teacher_corpus_size() sequences (std::invalid_argument when it holds fewer, or sequences of
  // another length).
  void use_teacher_corpus(std::shared_ptr<const TeacherCorpus> corpus);
  std::int64_t teacher_corpus_size() const;        // 0 unless distilling sequences
  std::int64_t teacher_rows() const;               // of each batch, from the corpus (distillation.mix)
  // The whole batch the next step() trains on: teacher_rows() of the transfer set (once written),
  // then real sequences, from the data.train_sequences pool or fresh.
  Batch training_batch() const;
  const TeacherCorpus* teacher_corpus() const { return corpus_.get(); }  // null until written
  double teacher_flops() const { return teacher_flops_; }
  // Expert parallelism: the all-to-all counters of every training step so far, summed over ranks
  // (max_nodes_per_token: the most over ranks).
  const AllToAllCounters& all_to_all_totals() const { return all_to_all_; }
  const TokenSource& source() const { return *source_; }
  double loss_floor() const { return source_->loss_floor(options_.seq_len); }
  double flops() const { return flops_; }
  std::int64_t tokens_per_step() const { return options_.batch_size * options_.seq_len; }

  // Under data parallelism only rank 0 writes (every rank holds the same weights).
  void save_checkpoint(const std::string& path) const;
  // Throws CheckpointError when the file is corrupt or belongs to another model.
  void load_checkpoint(const std::string& path);

  // What a metrics file says about the run (model, data, floor, parameter counts).
  nlohmann::json describe() const;

 private:
  ModelConfig config_;
  TrainOptions options_;
  std::shared_ptr<Transformer<float>> model_;
  std::unique_ptr<TokenSource> source_;    // the real data: training batches (unless distilling
                                           // sequences), held-out batches, the loss floor
  std::shared_ptr<Transformer<float>> teacher_;
  std::shared_ptr<const TeacherCorpus> corpus_;  // sequence-level distillation's training batches
  std::vector<int> train_pool_;            // data.train_sequences > 0: the real training sequences
  Matrix<float> teacher_logits_;
  double teacher_flops_ = 0;
  TrainingParallelism* parallel_ = nullptr;
  AllToAllCounters all_to_all_;
  AdamW optimizer_;
  std::int64_t step_ = 0;
  double flops_ = 0;
  std::vector<StepMetrics> history_;

  void set_up_teacher(std::shared_ptr<Transformer<float>> teacher);
  int world() const { return parallel_ ? parallel_->world() : 1; }
  Batch local_part(Batch batch) const;  // this rank's sequences of a whole batch (the batch itself in one process)
  void average_over_ranks(LossParts& loss) const;       // the whole batch's losses
  void sum_load_over_ranks();                           // every MoE layer's load, for the whole batch
  void record_all_to_all(StepMetrics& m);
  nlohmann::json describe_distillation() const;
};

}  // namespace frugal::core
