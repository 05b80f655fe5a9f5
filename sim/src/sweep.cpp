#include "frugal/sim/sweep.hpp"

#include <thread>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "frugal/config/model_config_json.hpp"
#include "frugal/sim/run_overrides.hpp"

namespace frugal::sim {

const std::vector<std::string>& sweep_keys() {
  static const std::vector<std::string> keys = {"experts", "top_k", "gpu",     "gpus", "price", "tokens",
                                                "seq_len", "global_batch", "precision", "tp", "pp", "ep",
                                                "micro_batch", "overhead", "mfu"};
  return keys;
}

SweepAxis parse_sweep_axis(const std::string& text) {
  const auto eq = text.find('=');
  if (eq == std::string::npos) throw ConfigError("--set", "\"" + text + "\" is not KEY=V1,V2,...");
  SweepAxis axis{text.substr(0, eq), {}};
  if (std::find(sweep_keys().begin(), sweep_keys().end(), axis.key) == sweep_keys().end()) {
    std::string known;
    for (const auto& k : sweep_keys()) known += (known.empty() ? "" : ", ") + k;
    throw ConfigError("--set", "unknown key \"" + axis.key + "\" (known: " + known + ")");
  }
  std::string rest = text.substr(eq + 1);
  std::size_t start = 0;
  while (start <= rest.size()) {
    const auto comma = rest.find(',', start);
    const std::string v = rest.substr(start, comma == std::string::npos ? std::string::npos : comma - start);
    if (v.empty()) throw ConfigError("--set " + axis.key, "empty value in \"" + rest + "\"");
    axis.values.push_back(v);
    if (comma == std::string::npos) break;
    start = comma + 1;
  }
  return axis;
}

namespace {

double number(const std::string& key, const std::string& v) {
  char* end = nullptr;
  const double x = std::strtod(v.c_str(), &end);
  if (end != v.c_str() + v.size()) throw ConfigError("--set " + key, "\"" + v + "\" is not a number");
  return x;
}

std::int64_t integer(const std::string& key, const std::string& v) {
  const double x = number(key, v);
  if (x != static_cast<double>(static_cast<std::int64_t>(x)) || x <= 0)
    throw ConfigError("--set " + key, "\"" + v + "\" is not a positive integer");
  return static_cast<std::int64_t>(x);
}

// Applies one axis value to a run. Model keys change the model (and are re-validated).
void apply(TrainingRun& run, RunOverrides& o, const std::string& key, const std::string& v) {
  if (key == "experts") run.model.moe.routed_experts = integer(key, v);
  else if (key == "top_k") run.model.moe.top_k = integer(key, v);
  else if (key == "gpu") o.gpu = v;
  else if (key == "gpus") o.gpus = integer(key, v);
  else if (key == "price") o.price_per_gpu_hour = number(key, v);
  else if (key == "tokens") o.tokens = parse_token_count(v, "--set tokens");
  else if (key == "seq_len") o.seq_len = integer(key, v);
  else if (key == "global_batch") o.global_batch = integer(key, v);
  else if (key == "precision") o.precision = v == "fp8" ? PrecisionRecipe::fp8 : PrecisionRecipe::bf16;
  else if (key == "tp") o.tp = integer(key, v);
  else if (key == "pp") o.pp = integer(key, v);
  else if (key == "ep") o.ep = integer(key, v);
  else if (key == "micro_batch") o.micro_batch = integer(key, v);
  else if (key == "overhead") o.overhead = number(key, v);
  else if (key == "mfu") o.mfu = number(key, v);
}

SweepPoint evaluate(const TrainingRun& base, const std::vector<SweepAxis>& axes, std::size_t index,
                    const EfficiencyConstants& c) {
  SweepPoint p;
  std::vector<std::size_t> digits(axes.size());
  for (std::size_t a = axes.size(); a-- > 0;) {
    digits[a] = index % axes[a].values.size();
    index /= axes[a].values.size();
  }
  for (std::size_t a = 0; a < axes.size(); ++a) p.values.push_back(axes[a].values[digits[a]]);
  try {
    TrainingRun run = base;
    RunOverrides o;
    for (std::size_t a = 0; a < axes.size(); ++a) apply(run, o, axes[a].key, p.values[a]);
    validate_model_config(run.model, detail::native_field_paths("model"));
    apply_overrides(run, o);
    const TrainingEstimate e = simulate_training(run, c);
    p.ok = true;
    p.gpu_hours = e.gpu_hours;
    p.cost_usd = e.cost_usd;
    p.days = e.days;
    p.mfu_bf16 = e.mfu_bf16;
    p.mfu_fp8 = e.mfu_fp8;
    p.tokens_per_s_per_gpu = e.tokens_per_s_per_gpu;
    p.memory_per_gpu_bytes = e.memory_per_gpu_bytes;
    p.fits = e.fits;
  } catch (const ConfigError& e) {
    p.error = e.what();
  }
  return p;
}

}  // namespace

std::vector<SweepPoint> run_sweep(const TrainingRun& base, const std::vector<SweepAxis>& axes, unsigned threads,
                                  const EfficiencyConstants& c) {
  std::size_t total = 1;
  for (const SweepAxis& a : axes) total *= a.values.size();
  std::vector<SweepPoint> points(total);
  threads = std::max(1u, std::min<unsigned>(threads, static_cast<unsigned>(total)));
  std::vector<std::thread> workers;
  for (unsigned t = 0; t < threads; ++t)
    workers.emplace_back([&, t] {
      for (std::size_t i = t; i < total; i += threads) points[i] = evaluate(base, axes, i, c);
    });
  for (auto& w : workers) w.join();
  return points;
}

std::string sweep_csv(const std::vector<SweepAxis>& axes, const std::vector<SweepPoint>& points) {
  std::string out;
  for (const SweepAxis& a : axes) out += a.key + ",";
  out += "gpu_hours,cost_usd,days,mfu_bf16,mfu_fp8,tokens_per_s_per_gpu,memory_per_gpu_bytes,fits,error\n";
  for (const SweepPoint& p : points) {
    for (const std::string& v : p.values) out += v + ",";
    if (p.ok)
      out += fmt::format("{:.6g},{:.6g},{:.6g},{:.6g},{:.6g},{:.6g},{:.6g},{},\n", p.gpu_hours, p.cost_usd, p.days,
                         p.mfu_bf16, p.mfu_fp8, p.tokens_per_s_per_gpu, p.memory_per_gpu_bytes, p.fits ? "true" : "false");
    else {
      std::string error = p.error;
      for (char& ch : error)
        if (ch == '"') ch = '\'';
      out += ",,,,,,,,\"" + error + "\"\n";
    }
  }
  return out;
}

std::string sweep_json(const std::vector<SweepAxis>& axes, const std::vector<SweepPoint>& points) {
  nlohmann::json rows = nlohmann::json::array();
  for (const SweepPoint& p : points) {
    nlohmann::json row;
    for (std::size_t a = 0; a < axes.size(); ++a) row[axes[a].key] = p.values[a];
    if (p.ok) {
      row.update({{"gpu_hours", p.gpu_hours}, {"cost_usd", p.cost_usd}, {"days", p.days}, {"mfu_bf16", p.mfu_bf16},
                  {"mfu_fp8", p.mfu_fp8}, {"tokens_per_s_per_gpu", p.tokens_per_s_per_gpu},
                  {"memory_per_gpu_bytes", p.memory_per_gpu_bytes}, {"fits", p.fits}});
    } else {
      row["error"] = p.error;
    }
    rows.push_back(row);
  }
  return rows.dump(2) + "\n";
}

}  // namespace frugal::sim
