// The training loop (trainer.hpp).
#include "frugal/core/trainer.hpp"

#include <algorithm>
#include <chrono>
#include <cmath>

#include <fmt/format.h>

#include "frugal/config/config_error.hpp"
#include "frugal/core/checkpoint.hpp"
#include "frugal/core/distillation.hpp"

namespace frugal::core {

namespace {
// Random streams: training batch s is stream kTrainStream + s, held-out batch i kEvalStream + i.
constexpr std::uint64_t kTrainStream = 1ull << 32;
constexpr std::uint64_t kEvalStream = 2ull << 32;
constexpr std::uint64_t kTeacherSampleStream = 4ull << 32;
constexpr std::uint64_t kTrainPoolStream = 5ull << 32;
}  // namespace

TrainingDiverged::TrainingDiverged(std::int64_t at, const std::string& what)
    : std::runtime_error(fmt::format("training diverged at step {}: {}", at, what)), step(at) {}

Trainer::Trainer(const ModelConfig& model, const TrainOptions& options, std::shared_ptr<Transformer<float>> teacher,
                 TrainingParallelism* parallel)
    : config_(model), options_(options), parallel_(parallel), optimizer_(options.adamw) {
  if (options.batch_size % world() != 0)
    throw ConfigError("cpu_training.batch_size",
                      fmt::format("{} sequences do not split evenly over {} ranks", options.batch_size, world()));
  if (options.seq_len > model.max_seq_len)
    throw ConfigError("cpu_training.seq_len", fmt::format("{} exceeds model.max_seq_len ({})", options.seq_len, model.max_seq_len));
  model_ = std::make_shared<Transformer<float>>(model, options.router, options.precision.gemm(), options.mtp_weight);
  try {
    source_ = make_token_source(options.data, options.seq_len);
  } catch (const std::invalid_argument& e) {
    throw ConfigError("cpu_training.data", e.what());
  } catch (const std::runtime_error& e) {
    throw ConfigError("cpu_training.data.path", e.what());
  }
  if (source_->vocabulary_needed() > model.vocab_size)
    throw ConfigError("model.vocab_size", fmt::format("{} is smaller than the data's {} token values ({})", model.vocab_size,
                                                      source_->vocabulary_needed(), source_->describe()));
  if (const std::int64_t count = options.data.train_sequences; count > 0) {
    // The fixed pool: sequence i is the inputs of row i and its last target.
    Rng rng(options.seed, kTrainPoolStream);
    const Batch pool = source_->sample(rng, count, options.seq_len, false);
    train_pool_.reserve(static_cast<std::size_t>(count * (options.seq_len + 1)));
    for (std::int64_t i = 0; i < count; ++i) {
      const auto row = pool.inputs.begin() + i * options.seq_len;
      train_pool_.insert(train_pool_.end(), row, row + options.seq_len);
      train_pool_.push_back(pool.targets[static_cast<std::size_t>((i + 1) * options.seq_len - 1)]);
    }
  }
  model_->init(options.seed, options.init_std);
  if (options.init_nudge != 0)
    for (float& w : model_->params().values()) w *= static_cast<float>(1.0 + options.init_nudge);
  if (parallel_) parallel_->distribute_experts(*model_);
  if (options.distillation.kind != DistillationOptions::Kind::none) set_up_teacher(std::move(teacher));
}

Batch Trainer::local_part(Batch batch) const {
  if (world() == 1) return batch;
  const std::int64_t tokens = options_.batch_size / world() * options_.seq_len;
  const auto from = static_cast<std::ptrdiff_t>(parallel_->rank() * tokens), to = from + static_cast<std::ptrdiff_t>(tokens);
  return {{batch.inputs.begin() + from, batch.inputs.begin() + to}, {batch.targets.begin() + from, batch.targets.begin() + to}};
}

// Each rank's losses are means over its own, equal share of the batch: their mean is the whole
// batch's mean.
void Trainer::average_over_ranks(LossParts& loss) const {
  if (world() == 1) return;
  std::vector<double> v{loss.cross_entropy, loss.distillation, loss.main, loss.balance, loss.mtp};
  v.insert(v.end(), loss.mtp_per_depth.begin(), loss.mtp_per_depth.end());
  parallel_->all_reduce_sum(v.data(), v.size());
  for (double& x : v) x /= world();
  loss.cross_entropy = v[0];
  loss.distillation = v[1];
  loss.main = v[2];
  loss.balance = v[3];
  loss.mtp = v[4];
  std::copy(v.begin() + 5, v.end(), loss.mtp_per_depth.begin());
}

// The aux-loss-free bias update and MaxVio use the whole batch's load (V3 §2.1.2 counts it over
// the batch, not per device).
void Trainer::sum_load_over_ranks() {
  if (world() == 1) return;
  for (auto* layer : model_->moe_layers()) {
    LoadStats& load = layer->router().mutable_load();
    load.tokens_per_expert.push_back(load.dropped);
    parallel_->all_reduce_sum(load.tokens_per_expert.data(), load.tokens_per_expert.size());
    load.dropped = load.tokens_per_expert.back();
    load.tokens_per_expert.pop_back();
  }
}

// Row bytes per rank (mean over ranks) and routed copies per token that left their rank.
void Trainer::record_all_to_all(StepMetrics& m) {
  if (!parallel_) return;
  const AllToAllCounters c = parallel_->take_counters();
  // The sums, then each rank's max_nodes_per_token in its own slot (a sum that is a gather).
  std::vector<std::int64_t> v{c.row_bytes, c.metadata_bytes, c.tokens, c.copies, c.remote_copies, c.remote_node_copies};
  v.resize(v.size() + static_cast<std::size_t>(world()), 0);
  v[6 + static_cast<std::size_t>(parallel_->rank())] = c.max_nodes_per_token;
  parallel_->all_reduce_sum(v.data(), v.size());
  AllToAllCounters total{v[0], v[1], v[2], v[3], v[4], v[5], *std::max_element(v.begin() + 6, v.end())};
  all_to_all_.add(total);
  m.all_to_all_bytes = static_cast<double>(total.row_bytes) / world();
  m.remote_copies_per_token = total.tokens > 0 ? static_cast<double>(total.remote_copies) / static_cast<double>(total.tokens) : 0.0;
}

Trainer::~Trainer() = default;

// The teacher must speak the student's vocabulary and read its sequences.
void Trainer::set_up_teacher(std::shared_ptr<Transformer<float>> teacher) {
  const DistillationOptions& d = options_.distillation;
  teacher_ = teacher ? std::move(teacher) : load_teacher(d.teacher_config, d.teacher_checkpoint);
  const ModelConfig& t = teacher_->config();
  if (t.vocab_size != config_.vocab_size)
    throw ConfigError("cpu_training.distillation.teacher_config",
                      fmt::format("the teacher's vocab_size {} differs from the student's {}: logits must match token for token",
                                  t.vocab_size, config_.vocab_size));
  if (t.max_seq_len < options_.seq_len)
    throw ConfigError("cpu_training.distillation.teacher_config",
                      fmt::format("the teacher reads at most {} tokens, the student trains on {}", t.max_seq_len, options_.seq_len));
}

std::int64_t Trainer::teacher_rows() const {
  const DistillationOptions& d = options_.distillation;
  if (d.kind != DistillationOptions::Kind::sequence) return 0;
  const std::int64_t rows = std::llround(d.mix * static_cast<double>(options_.batch_size));
  return std::clamp<std::int64_t>(rows, 1, options_.batch_size);
}

std::int64_t Trainer::teacher_corpus_size() const {
  if (teacher_rows() == 0) return 0;
  const std::int64_t samples = options_.distillation.samples;
  return samples > 0 ? samples : options_.steps * teacher_rows();
}

// The step's batch: teacher_rows() sequences of the teacher's corpus, then the rest real — from the
// fixed pool when data.train_sequences is set, else fresh from the source.
Batch Trainer::training_batch() const {
  const std::int64_t from_teacher = corpus_ ? teacher_rows() : 0, real = options_.batch_size - from_teacher;
  Batch batch = from_teacher > 0 ? corpus_->batch(step_, from_teacher) : Batch{};
  if (real == 0) return batch;
  Batch rest;
  if (!train_pool_.empty()) {
    rest = cyclic_batch(train_pool_, options_.data.train_sequences, options_.seq_len, step_, real);
  } else {
    Rng rng(options_.seed, kTrainStream + static_cast<std::uint64_t>(step_));
    rest = source_->sample(rng, real, options_.seq_len, false);
  }
  batch.inputs.insert(batch.inputs.end(), rest.inputs.begin(), rest.inputs.end());
  batch.targets.insert(batch.targets.end(), rest.targets.begin(), rest.targets.end());
  return batch;
}

void Trainer::write_teacher_corpus() {
  if (corpus_ || teacher_corpus_size() == 0) return;
  corpus_ = std::make_shared<const TeacherCorpus>(*teacher_, *source_, teacher_corpus_size(), options_.seq_len,
                                            options_.distillation.sample_temperature,
                                            Rng(options_.seed, kTeacherSampleStream).next());
  teacher_flops_ = corpus_->generation_flops();  // the same corpus, so the same figure, after a resume
}

void Trainer::use_teacher_corpus(std::shared_ptr<const TeacherCorpus> corpus) {
  const std::int64_t needed = teacher_corpus_size();
  if (needed == 0) throw std::invalid_argument("a teacher's corpus is only for sequence-level distillation");
  if (corpus->seq_len() != options_.seq_len)
    throw std::invalid_argument(fmt::format("the corpus holds sequences of {} tokens, the run trains on {}", corpus->seq_len(), options_.seq_len));
  if (corpus->size() < needed)
    throw std::invalid_argument(fmt::format("the corpus holds {} sequences, the run needs {}", corpus->size(), needed));
  corpus_ = corpus->size() == needed ? std::move(corpus) : std::make_shared<const TeacherCorpus>(corpus->first(needed));
  teacher_flops_ = corpus_->generation_flops();
}

const StepMetrics& Trainer::step() {
  write_teacher_corpus();
  const Batch batch = local_part(training_batch());
  const Index local_batch = options_.batch_size / world();

  MatmulMeter& meter = matmul_meter();
  const auto start = std::chrono::steady_clock::now();
  SoftTargets<float> soft;
  if (teacher_ && !corpus_) {  // logit distillation: the teacher's logits for this batch
    const double before = meter.flops;
    teacher_logits_ = teacher_->infer(batch.inputs, local_batch, options_.seq_len);
    teacher_flops_ += meter.flops - before;
    meter.flops = before;
    soft = {&teacher_logits_, options_.distillation.temperature, options_.distillation.alpha};
  }
  const double flops_before = meter.flops;
  model_->params().zero_grad();
  LossParts loss = model_->forward(batch.inputs, batch.targets, local_batch, options_.seq_len,
                                   soft.teacher_logits ? &soft : nullptr);
  average_over_ranks(loss);  // before the check, so that every rank stops at the same step
  if (!std::isfinite(loss.total())) throw TrainingDiverged(step_ + 1, fmt::format("the loss is {}", loss.total()));
  model_->backward();
  if (world() > 1) {  // the whole batch's gradient: the mean of the ranks' (each a mean over its share)
    auto& grads = model_->params().grads();
    parallel_->all_reduce_sum(grads.data(), grads.size());
    const float inverse = 1.0f / static_cast<float>(world());
    for (float& g : grads) g *= inverse;
  }
  const double grad_norm = gradient_norm(model_->params().grads());
  if (!std::isfinite(grad_norm)) throw TrainingDiverged(step_ + 1, fmt::format("the gradient norm is {}", grad_norm));
  const double lr = learning_rate_at(step_, options_.steps, options_.warmup_steps, options_.learning_rate, options_.min_lr_ratio);
  optimizer_.step(model_->params(), lr, clip_scale(grad_norm, options_.grad_clip));

  StepMetrics m;
  sum_load_over_ranks();
  double max_violation = 0;
  std::int64_t dropped = 0, assignments = 0;
  for (auto* layer : model_->moe_layers()) {
    const LoadStats& load = layer->router().load();
    max_violation += load.max_violation();
    dropped += load.dropped;
    for (auto n : load.tokens_per_expert) assignments += n;
    m.expert_load.push_back(load.tokens_per_expert);
  }
  // V3 §2.1.2: the bias moves after each step, from this step's load.
  model_->update_router_biases();
  const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  double step_flops = meter.flops - flops_before;
  if (world() > 1) parallel_->all_reduce_sum(&step_flops, 1);  // the whole job's executed FLOPs
  flops_ += step_flops;
  record_all_to_all(m);
  ++step_;

  const auto moe_layers = static_cast<double>(m.expert_load.size());
  m.step = step_;
  m.loss = loss.cross_entropy;
  m.balance_loss = loss.balance;
  m.mtp_loss = loss.mtp_per_depth.empty() ? std::nan("") : loss.mtp_per_depth.front();
  if (soft.teacher_logits) m.distillation_loss = loss.distillation;
  m.teacher_flops = teacher_flops_;
  m.learning_rate = lr;
  m.grad_norm = grad_norm;
  m.tokens_per_second = static_cast<double>(tokens_per_step()) / std::max(seconds, 1e-9);
  m.max_violation = moe_layers > 0 ? max_violation / moe_layers : 0.0;
  m.dropped_fraction = assignments + dropped > 0 ? static_cast<double>(dropped) / static_cast<double>(assignments + dropped) : 0.0;
  m.flops = flops_;
  if ((options_.eval_every > 0 && step_ % options_.eval_every == 0) || step_ == options_.steps) m.eval_loss = evaluate();
  history_.push_back(std::move(m));
  return history_.back();
}

double Trainer::evaluate() {
  double total = 0;
  MatmulMeter& meter = matmul_meter();
  const MatmulMeter saved = meter;  // evaluation is not training compute
  for (std::int64_t i = 0; i < options_.eval_batches; ++i) {
    Rng rng(options_.seed, kEvalStream + static_cast<std::uint64_t>(i));
    const Batch batch = local_part(source_->sample(rng, options_.batch_size, options_.seq_len, true));
    total += model_->forward(batch.inputs, batch.targets, options_.batch_size / world(), options_.seq_len).cross_entropy;
  }
  meter = saved;
  if (world() > 1) {
    parallel_->all_reduce_sum(&total, 1);
    total /= world();
  }
  if (parallel_) parallel_->take_counters();  // evaluation's all-to-alls are not a training step's
  return total / static_cast<double>(options_.eval_batches);
}

void Trainer::save_checkpoint(const std::string& path) const {
  if (parallel_ && parallel_->rank() != 0) return;
  CheckpointState s;
  s.layout = parameter_layout(model_->params());
  s.step = step_;
  s.seed = options_.seed;
  s.flops = flops_;
  const auto& values = model_->params().values();
  s.params.assign(values.begin(), values.end());
  s.adam_m.assign(optimizer_.first_moment().begin(), optimizer_.first_moment().end());
  s.adam_v.assign(optimizer_.second_moment().begin(), optimizer_.second_moment().end());
  for (const auto* layer : model_->moe_layers()) s.router_bias.push_back(layer->router().bias());
  nlohmann::json history = nlohmann::json::array();
  for (const auto& m : history_) history.push_back(to_json(m));
  s.history_json = history.dump();
  write_checkpoint(path, s);
}

void restore_weights(Transformer<float>& model, const CheckpointState& s, const std::string& path) {
  check_layout_matches(path, s.layout, parameter_layout(model.params()));
  const auto layers = model.moe_layers();
  if (s.router_bias.size() != layers.size())
    throw CheckpointError(fmt::format("{}: has router biases for {} MoE layers, this model has {}", path, s.router_bias.size(), layers.size()));
  model.params().values().assign(s.params.begin(), s.params.end());
  for (std::size_t l = 0; l < layers.size(); ++l) layers[l]->router().bias() = s.router_bias[l];
}

void Trainer::load_checkpoint(const std::string& path) {
  CheckpointState s = read_checkpoint(path);
  check_layout_matches(path, s.layout, parameter_layout(model_->params()));
  if (s.seed != options_.seed)
    throw CheckpointError(fmt::format("{}: was trained with seed {}, this run has seed {}: the batches would differ", path, s.seed, options_.seed));
  restore_weights(*model_, s, path);
  optimizer_.restore(s.step, s.adam_m, s.adam_v);
  step_ = s.step;
  flops_ = s.flops;
  history_.clear();
  for (const auto& m : nlohmann::json::parse(s.history_json)) history_.push_back(step_metrics_from_json(m));
  if (!history_.empty()) teacher_flops_ = history_.back().teacher_flops;
}

nlohmann::json Trainer::describe() const {
  const double floor = loss_floor();
  return {{"model", config_.name},
          {"attention", to_string(config_.attention.kind)},
          {"moe", config_.is_moe()},
          {"balancing", to_string(options_.router.balancing)},
          {"linear_precision", options_.precision.fp8_linear ? "fp8" : "fp32"},
          {"mtp_depth", model_->mtp_depth()},
          {"mtp_weight", options_.mtp_weight},
          {"distillation", describe_distillation()},
          {"optimizer_moments", options_.adamw.bf16_moments ? "bf16" : "fp32"},
          {"parameters", model_->parameter_count()},
          {"activated_parameters", model_->activated_parameter_count()},
          {"data", source_->describe()},
          {"train_sequences", options_.data.train_sequences},
          {"loss_floor", std::isnan(floor) ? nlohmann::json(nullptr) : nlohmann::json(floor)},
          {"steps", options_.steps},
          {"batch_size", options_.batch_size},
          {"seq_len", options_.seq_len},
          {"seed", options_.seed}};
}

nlohmann::json Trainer::describe_distillation() const {
  const DistillationOptions& d = options_.distillation;
  if (!teacher_) return {{"kind", "none"}};
  nlohmann::json j = {{"kind", to_string(d.kind)},
                      {"teacher", teacher_->config().name},
                      {"teacher_parameters", teacher_->parameter_count()},
                      {"teacher_activated_parameters", teacher_->activated_parameter_count()},
                      {"teacher_config", d.teacher_config},
                      {"teacher_checkpoint", d.teacher_checkpoint}};
  if (corpus_) {
    j["samples"] = corpus_->size();
    j["sample_temperature"] = d.sample_temperature;
    j["mix"] = d.mix;
    j["generation_flops"] = corpus_->generation_flops();
  } else {
    j["temperature"] = d.temperature;
    j["alpha"] = d.alpha;
  }
  return j;
}

}  // namespace frugal::core
