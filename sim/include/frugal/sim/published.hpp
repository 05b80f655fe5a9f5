// Published figures (sim/data/published.json, compiled in), each with its source, and the
// computed value each one is compared with.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "frugal/sim/model_accountant.hpp"

namespace frugal::sim {

struct PublishedFigure {
  std::string model;   // preset name
  std::string metric;  // a ModelAccount field name, e.g. "train_flops_per_token"
  double value = 0;
  double tolerance = 0;  // relative error accepted by the tests, justified in `note` when not 1%
  std::string source;
  std::string note;
  std::int64_t seq_len = 4096;       // conditions the figure was published under
  KvDtype kv_dtype = KvDtype::bf16;
};

const std::vector<PublishedFigure>& published_figures();

// Names of the metrics a PublishedFigure may name, and the computed value of one.
const std::vector<std::string>& account_metric_names();
double account_metric(const ModelAccount& account, const std::string& metric);

// (predicted - published) / published
double relative_error(double predicted, double published);

}  // namespace frugal::sim
