// The charts each frugal-gui tab shows, built from GuiState as data (chart.hpp), without ImGui:
// tests check them against the library, gui_draw.cpp draws them.
#pragma once

#include <optional>
#include <string>

#include "chart.hpp"
#include "gui_state.hpp"

namespace frugal::sim::gui {

// Training tab: step time per stage stacked by where it goes (compute, exposed communication,
// pipeline bubble, optimizer); memory per GPU stacked by kind against the GPU's capacity; MoE vs
// the dense baselines (GPU-hours or dollars); MFU per stage beside this preset's published MFU.
Chart step_time_chart(const TrainingEstimate& e);
Chart memory_chart(const TrainingEstimate& e, const std::string& gpu_name);
Chart moe_vs_dense_chart(const GuiState& s, bool dollars);
Chart mfu_chart(const GuiState& s);

// Sweep tab: cost against one input (invalid points with their reasons), or a heat map of cost
// over two (nullopt when the sweep has one input).
Chart sweep_chart(const GuiState& s);
std::optional<HeatMap> sweep_heat_map(const GuiState& s);

// Validation tab: predicted against published for every corpus row, log-log, y = x with +-10%
// and +-25% bands, one series per class.
Chart validation_chart(const GuiState& s);

// Serving tab: TTFT and TPOT (p50, p95) against load with the planner's SLOs as lines; cost per
// 1,000 requests against load; the planner's best deployments (GPUs against cost).
Chart ttft_chart(const GuiState& s);
Chart tpot_chart(const GuiState& s);
Chart serving_cost_chart(const GuiState& s);
Chart plan_chart(const ServingPlan& plan);

// A validation figure in its metric's unit: SI prefixes or e-notation, never "Q".
std::string format_metric(const std::string& metric, double v);

}  // namespace frugal::sim::gui
