// frugal-gui's chart arithmetic against hand-computed cases: 1-2-5 ticks, decades, SI labels,
// the axes a chart needs, and what --state-json reports of it.
#include <gtest/gtest.h>

#include <chrono>
#include <cmath>
#include <limits>
#include <thread>

#include "chart.hpp"
#include "gui_charts.hpp"

namespace frugal::sim::gui {
namespace {

using Labels = std::vector<std::string>;

TEST(ChartTicks, LinearTicksStepByOneTwoOrFive) {
  // 9.3 / 6 = 1.55 -> step 2: 0, 2, ..., 10.
  Axis a = linear_axis(0, 9.3);
  EXPECT_EQ(a.labels, (Labels{"0", "2", "4", "6", "8", "10"}));
  EXPECT_DOUBLE_EQ(a.lo, 0);
  EXPECT_DOUBLE_EQ(a.hi, 10);
  // (0.87 - 0.13) / 5 = 0.148 -> step 0.2, widened to [0, 1].
  a = linear_axis(0.13, 0.87, 5);
  EXPECT_EQ(a.labels, (Labels{"0", "0.2", "0.4", "0.6", "0.8", "1"}));
  // 3.7M / 5 = 740k -> step 1M.
  a = linear_axis(0, 3.7e6, 5);
  EXPECT_EQ(a.labels, (Labels{"0", "1M", "2M", "3M", "4M"}));
  // 24 / 6 = 4 -> step 5: 0 ... 25.
  a = linear_axis(1, 25);
  EXPECT_EQ(a.labels, (Labels{"0", "5", "10", "15", "20", "25"}));
  // Negative values: -7 .. 3 over 6 intervals -> 1.67 -> step 2.
  a = linear_axis(-7, 3);
  EXPECT_EQ(a.labels, (Labels{"-8", "-6", "-4", "-2", "0", "2", "4"}));
}

TEST(ChartTicks, OneValueIsWidenedAroundIt) {
  const Axis a = linear_axis(5, 5);  // 4.5 .. 5.5 over 6 -> 0.167 -> step 0.2
  EXPECT_LE(a.lo, 5);
  EXPECT_GE(a.hi, 5);
  EXPECT_GT(a.hi, a.lo);
  EXPECT_EQ(a.labels.front(), "4.4");
  EXPECT_EQ(a.labels.back(), "5.6");
}

TEST(ChartTicks, LogAxesUseDecadesOrOneTwoFive) {
  Axis a = log_axis(3e2, 4e7);  // five decades: 100 ... 100M
  EXPECT_EQ(a.labels, (Labels{"100", "1k", "10k", "100k", "1M", "10M", "100M"}));
  EXPECT_DOUBLE_EQ(a.fraction(1e5), 0.5);
  a = log_axis(1.5, 40);  // two decades: 1, 2, 5 x 10^k
  EXPECT_EQ(a.labels, (Labels{"1", "2", "5", "10", "20", "50", "100"}));
  // Twenty decades: every third decade is labelled, about 8 labels.
  a = log_axis(1e-3, 1e17);
  EXPECT_LE(a.ticks.size(), 8u);
  EXPECT_EQ(a.labels.front(), "0.001");
}

TEST(ChartFormat, SiPrefixesThenENotationNeverQ) {
  EXPECT_EQ(format_si(0), "0");
  EXPECT_EQ(format_si(950), "950");
  EXPECT_EQ(format_si(1500), "1.5k");
  EXPECT_EQ(format_si(2.788e6), "2.79M");
  EXPECT_EQ(format_si(3.14e11), "314G");
  EXPECT_EQ(format_si(-2.5e9), "-2.5G");
  EXPECT_EQ(format_si(999.96), "1k");  // rounds up into the next prefix
  EXPECT_EQ(format_si(999960), "1M");
  EXPECT_EQ(format_si(4.2e15), "4.2P");
  EXPECT_EQ(format_si(3.14e23), "3.14e+23");  // GPT-3's training FLOPs: not "314000000.0Q"
  EXPECT_EQ(format_si(0.25), "0.25");
  EXPECT_EQ(format_si(2e-5), "2e-05");
  EXPECT_EQ(format_si(std::numeric_limits<double>::quiet_NaN()), "NaN");
}

TEST(ChartAxes, CoverPointsLinesAndZero) {
  Chart c;
  c.series.push_back({"p95", SeriesKind::line, {1, 2, 4}, {0.5, 0.9, 3.2}, {}, {}, 0});
  c.lines.push_back({true, 6.0, "SLO"});
  const ChartAxes axes = chart_axes(c);
  EXPECT_DOUBLE_EQ(axes.y.lo, 0);   // linear y starts at zero
  EXPECT_GE(axes.y.hi, 6.0);        // the SLO line is on the chart
  EXPECT_LE(axes.x.lo, 1);
  EXPECT_GE(axes.x.hi, 4);
}

TEST(ChartAxes, StackedBarsStackAndCategoriesLabelTheX) {
  Chart c;
  c.categories = {"pre-training", "long context"};
  c.series.push_back({"compute", SeriesKind::stacked_bars, {0, 1}, {10, 3}, {}, {}, 0});
  c.series.push_back({"bubble", SeriesKind::stacked_bars, {0, 1}, {4, 1}, {}, {}, 1});
  const ChartAxes axes = chart_axes(c);
  EXPECT_EQ(axes.x.labels, (Labels{"pre-training", "long context"}));
  EXPECT_GE(axes.y.hi, 14.0);  // 10 + 4 stacked, not max(10, 4)
  EXPECT_LT(axes.y.hi, 20.0);
}

TEST(ChartAxes, IdentityChartsShareOneRangeOnBothAxes) {
  Chart c;
  c.x_log = c.y_log = true;
  c.identity = true;
  c.series.push_back({"step", SeriesKind::scatter, {300, 5e3}, {350, 2.6e4}, {}, {}, 0});
  const ChartAxes axes = chart_axes(c);
  EXPECT_DOUBLE_EQ(axes.x.lo, axes.y.lo);
  EXPECT_DOUBLE_EQ(axes.x.hi, axes.y.hi);
  EXPECT_DOUBLE_EQ(axes.x.lo, 100);
  EXPECT_DOUBLE_EQ(axes.x.hi, 1e5);
}

TEST(ChartJson, ListsTicksAsDrawnPointsAndInvalidPointsWithReasons) {
  Chart c;
  c.title = "cost against routed experts";
  c.x_label = "routed experts";
  c.y_label = "cost ($)";
  Series s{"cost", SeriesKind::line, {16, 32, 64}, {2e6, 1.5e6, 0}, {}, {"", "", "EP 48 does not divide 64"}, 0};
  c.series.push_back(s);
  const nlohmann::json j = chart_json(c, chart_axes(c));
  EXPECT_EQ(j["title"], "cost against routed experts");
  EXPECT_EQ(j["y_label"], "cost ($)");
  EXPECT_EQ(j["y_ticks"].front(), "0");
  EXPECT_EQ(j["y_ticks"].back(), "2M");
  ASSERT_EQ(j["series"][0]["points"].size(), 2u);
  EXPECT_EQ(j["series"][0]["points"][1][1].get<double>(), 1.5e6);
  ASSERT_EQ(j["series"][0]["invalid"].size(), 1u);
  EXPECT_EQ(j["series"][0]["invalid"][0]["reason"], "EP 48 does not divide 64");
}

TEST(ChartHeatMap, ColourScaleRunsFromViridisDarkToYellow) {
  const Rgb low = colour_scale(0), mid = colour_scale(0.5), high = colour_scale(1);
  EXPECT_EQ(low.r, 68);
  EXPECT_EQ(low.b, 84);
  EXPECT_EQ(mid.g, 145);
  EXPECT_EQ(high.r, 253);
  EXPECT_EQ(high.g, 231);
  const Rgb quarter = colour_scale(0.25);  // halfway between the first two stops
  EXPECT_EQ(quarter.g, 73);                // (1 + 145) / 2
  EXPECT_EQ(colour_scale(2).r, 253);       // clamped
}

TEST(ChartHeatMap, JsonHasEveryValidCellAndTheInvalidOnesWithReasons) {
  HeatMap h;
  h.title = "cost";
  h.x_label = "GPUs";
  h.y_label = "routed experts";
  h.value_label = "cost ($)";
  h.x_values = {"1024", "2048"};
  h.y_values = {"64", "256"};
  h.cells = {4e6, 3e6, std::nan(""), 2e6};
  h.reasons = {"", "", "EP does not divide", ""};
  const nlohmann::json j = heat_map_json(h);
  EXPECT_EQ(j["series"][0]["points"].size(), 3u);
  EXPECT_EQ(j["series"][0]["invalid"][0]["y"], 1);
  EXPECT_EQ(j["series"][0]["invalid"][0]["reason"], "EP does not divide");
}

// --- the tabs' charts against the library's numbers (GuiState on the DeepSeek-V3 preset) ---

TEST(GuiTabCharts, MemoryStacksToTheEstimateWithTheGpusCapacityAsALine) {
  GuiState s;
  const TrainingEstimate& e = *s.estimate;
  const Chart c = memory_chart(e, "H800");
  ASSERT_EQ(c.categories.size(), e.stages.size());
  for (std::size_t i = 0; i < e.stages.size(); ++i) {
    double stacked = 0;
    for (const Series& layer : c.series) stacked += layer.y[i];
    EXPECT_NEAR(stacked, e.stages[i].memory.total / 1e9, 1e-9 * stacked);
  }
  ASSERT_EQ(c.lines.size(), 1u);
  EXPECT_DOUBLE_EQ(c.lines[0].value, e.stages[0].memory.capacity / 1e9);
}

TEST(GuiTabCharts, MfuSitsBesideThePresetsPublishedFigure) {
  GuiState s;
  const Chart c = mfu_chart(s);
  ASSERT_EQ(c.lines.size(), 1u);  // DeepSeek-V3 pre-training: 38.94% (ISCA'25 Table 4)
  EXPECT_NEAR(c.lines[0].value, 38.94, 1e-9);
  EXPECT_NEAR(c.series[0].y.back(), 100 * s.estimate->mfu_bf16, 1e-9);
  s.load_preset("llama-3.1-8b");  // no published MFU for this preset: no line
  EXPECT_TRUE(mfu_chart(s).lines.empty());
}

TEST(GuiTabCharts, MoeVsDenseHasThisRunThenEachBaseline) {
  GuiState s;
  const Chart hours = moe_vs_dense_chart(s, false), dollars = moe_vs_dense_chart(s, true);
  ASSERT_EQ(hours.categories.size(), s.baselines.size() + 1);
  EXPECT_DOUBLE_EQ(hours.series[0].y[0], s.estimate->gpu_hours);
  EXPECT_DOUBLE_EQ(dollars.series[0].y[0], s.estimate->cost_usd);
  for (std::size_t i = 0; i < s.baselines.size(); ++i)
    EXPECT_DOUBLE_EQ(dollars.series[0].y[i + 1], s.baselines[i].estimate.cost_usd);
}

// The sweep's charts follow the inputs it ran over, not the combos as they are now.
TEST(GuiTabCharts, SweepChartsFollowTheInputsTheSweepRanOver) {
  GuiState s;
  s.inputs.sweep_axis = 1;  // price per GPU-hour
  s.inputs.sweep_axis_2 = 1;  // the same input twice is still one input
  s.start_sweep();
  while (s.sweep_running()) std::this_thread::sleep_for(std::chrono::milliseconds(5));
  EXPECT_FALSE(sweep_heat_map(s).has_value());
  s.inputs.sweep_axis = 3;  // changed after the run: the chart still shows the price sweep
  s.inputs.sweep_axis_2 = 0;
  const Chart c = sweep_chart(s);
  EXPECT_EQ(c.x_label, "price per GPU-hour");
  EXPECT_FALSE(c.x_log);
  ASSERT_EQ(c.series[0].x, GuiState::sweep_values(1));
  // Cost is GPU-hours x price: the $4 point is twice the $2 point.
  EXPECT_NEAR(c.series[0].y[5] / c.series[0].y[2], 2.0, 1e-9);
  EXPECT_FALSE(sweep_heat_map(s).has_value());
}

TEST(GuiTabCharts, MetricsKeepTheirUnits) {
  EXPECT_EQ(format_metric("mfu_bf16", 0.3894), "38.94%");
  EXPECT_EQ(format_metric("total_flops", 3.14e23), "314.0 ZFLOP");
  EXPECT_EQ(format_metric("gpu_hours", 2.788e6), "2.79M GPU-h");
  EXPECT_EQ(format_metric("tokens_per_s_per_gpu", 5113), "5.11k tok/s");
}

}  // namespace
}  // namespace frugal::sim::gui
