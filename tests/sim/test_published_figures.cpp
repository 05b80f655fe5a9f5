// Every published figure in sim/data/published.json, computed under the conditions it was
// published with, within the tolerance the file states for it.
#include <gtest/gtest.h>

#include <set>

#include "frugal/sim/main_report.hpp"
#include "frugal/config/presets.hpp"
#include "frugal/sim/published.hpp"

namespace frugal::sim {
namespace {

TEST(PublishedFigures, EveryFigureNamesAPresetAndASource) {
  ASSERT_FALSE(published_figures().empty());
  for (const PublishedFigure& f : published_figures()) {
    EXPECT_NO_THROW((void)find_preset(f.model)) << f.model;
    EXPECT_FALSE(f.source.empty()) << f.model << " " << f.metric;
    EXPECT_GT(f.value, 0.0) << f.model << " " << f.metric;
    // A tolerance above 1% must say why (rounding of the published figure).
    if (f.tolerance > 0.01) {
      EXPECT_FALSE(f.note.empty()) << f.model << " " << f.metric;
    }
  }
}

TEST(PublishedFigures, EachIsMatchedWithinItsTolerance) {
  std::set<std::string> models;
  for (const PublishedFigure& f : published_figures()) models.insert(f.model);
  int checked = 0;
  for (const std::string& name : models) {
    for (const FigureCheck& c : check_published_figures(preset_model(name))) {
      EXPECT_LE(std::abs(c.rel_error), c.figure.tolerance + 1e-12)
          << name << " " << c.figure.metric << ": computed " << c.predicted << ", published " << c.figure.value
          << " (" << c.figure.source << ")";
      ++checked;
    }
  }
  EXPECT_EQ(checked, static_cast<int>(published_figures().size()));
}

TEST(PublishedFigures, MetricNamesAreAccountFields) {
  ModelAccount a;
  a.kv_cache_bytes_per_token = 7;
  EXPECT_EQ(account_metric(a, "kv_cache_bytes_per_token"), 7.0);
  EXPECT_THROW((void)account_metric(a, "no_such_metric"), ConfigError);
  EXPECT_EQ(account_metric_names().size(), 8u);
}

}  // namespace
}  // namespace frugal::sim
