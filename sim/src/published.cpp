#include "frugal/sim/published.hpp"

#include <stdexcept>

#include "frugal/config/json_reader.hpp"
#include "frugal/sim/embedded_data.hpp"

namespace frugal::sim {

namespace {

std::vector<PublishedFigure> load_figures() {
  std::vector<PublishedFigure> out;
  for (const EmbeddedFile& file : embedded_published_figures()) {
    const nlohmann::json doc = nlohmann::json::parse(file.text);
    JsonObjectReader top(doc, std::string(file.name));
    top.ignore({"description", "figures"});
    top.finish();
    const std::string list_path = top.path_of("figures");
    if (!doc.contains("figures") || !doc["figures"].is_array()) throw ConfigError(list_path, "must be an array");
    for (std::size_t i = 0; i < doc["figures"].size(); ++i) {
      JsonObjectReader r(doc["figures"][i], list_path + "[" + std::to_string(i) + "]");
      PublishedFigure f;
      f.model = r.string("model");
      f.metric = r.string("metric");
      f.value = r.number("value");
      f.tolerance = r.number("tolerance");
      f.source = r.string("source");
      f.note = r.string("note", std::string());
      f.seq_len = r.integer("seq_len", 4096);
      f.kv_dtype = r.choice<KvDtype>("kv_dtype", {{"bf16", KvDtype::bf16}, {"fp16", KvDtype::fp16},
                                                   {"fp8", KvDtype::fp8}, {"fp32", KvDtype::fp32}},
                                     KvDtype::bf16);
      r.finish();
      (void)account_metric(ModelAccount{}, f.metric);  // refuses an unknown metric name
      out.push_back(std::move(f));
    }
  }
  return out;
}

}  // namespace

const std::vector<PublishedFigure>& published_figures() {
  static const std::vector<PublishedFigure> figures = load_figures();
  return figures;
}

namespace {

struct MetricField {
  const char* name;
  double ModelAccount::*field;
};
constexpr MetricField kMetrics[] = {
    {"total_params", &ModelAccount::total_params},
    {"total_params_with_mtp", &ModelAccount::total_params_with_mtp},
    {"active_params", &ModelAccount::active_params},
    {"active_params_with_embedding", &ModelAccount::active_params_with_embedding},
    {"train_flops_per_token", &ModelAccount::train_flops_per_token},
    {"train_flops_per_token_with_mtp", &ModelAccount::train_flops_per_token_with_mtp},
    {"inference_flops_per_token", &ModelAccount::inference_flops_per_token},
    {"kv_cache_bytes_per_token", &ModelAccount::kv_cache_bytes_per_token},
};

}  // namespace

const std::vector<std::string>& account_metric_names() {
  static const std::vector<std::string> names = [] {
    std::vector<std::string> v;
    for (const MetricField& m : kMetrics) v.emplace_back(m.name);
    return v;
  }();
  return names;
}

double account_metric(const ModelAccount& a, const std::string& metric) {
  for (const MetricField& m : kMetrics)
    if (metric == m.name) return a.*(m.field);
  throw ConfigError("metric", "unknown metric \"" + metric + "\"");
}

double relative_error(double predicted, double published) { return (predicted - published) / published; }

}  // namespace frugal::sim
