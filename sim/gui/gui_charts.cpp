#include "gui_charts.hpp"

#include <cmath>

#include <fmt/format.h>

#include "frugal/sim/format.hpp"
#include "frugal/sim/model_accountant.hpp"

namespace frugal::sim::gui {

namespace {

Chart chart(std::string title, std::string x_label, std::string y_label) {
  Chart c;
  c.title = std::move(title);
  c.x_label = std::move(x_label);
  c.y_label = std::move(y_label);
  return c;
}

Series series(std::string name, SeriesKind kind, int colour) {
  Series s;
  s.name = std::move(name);
  s.kind = kind;
  s.colour = colour;
  return s;
}

// One stacked layer of a per-stage bar chart; its hover gives the value and its share.
Series stage_layer(const std::string& name, int colour, const std::vector<double>& values, const std::vector<double>& totals,
                   const std::vector<std::string>& stages, const char* unit) {
  Series s = series(name, SeriesKind::stacked_bars, colour);
  s.y = values;
  for (std::size_t i = 0; i < values.size(); ++i) {
    s.x.push_back(static_cast<double>(i));
    s.hover.push_back(fmt::format("{}, {}\n{:.3g} {} ({:.0f}% of {:.3g})", stages[i], name, values[i], unit,
                                  totals[i] > 0 ? 100 * values[i] / totals[i] : 0.0, totals[i]));
  }
  return s;
}

// "dense, equal total parameters" -> "dense = total": short enough to sit under a bar.
std::string short_label(const std::string& label) {
  if (label.rfind("dense, equal total", 0) == 0) return "dense = total";
  if (label.rfind("dense, equal activ", 0) == 0) return "dense = active";
  return label.size() > 16 ? label.substr(0, 15) + "." : label;
}

}  // namespace

std::string format_metric(const std::string& metric, double v) {
  if (metric == "mfu_bf16") return fmt::format("{:.2f}%", 100 * v);
  if (metric == "total_flops" || metric == "train_flops_per_token") return format_flops(v);
  if (metric == "gpu_hours" || metric == "gpu_hours_per_trillion_tokens") return format_si(v) + " GPU-h";
  if (metric == "tokens_per_s_per_gpu") return format_si(v) + " tok/s";
  if (metric == "hours") return fmt::format("{:.2f} h", v);
  if (metric == "memory_gb") return fmt::format("{:.1f} GB", v);
  if (metric == "kv_cache_bytes_per_token") return format_si(v) + "B";
  return format_si(v);
}

Chart step_time_chart(const TrainingEstimate& e) {
  Chart c = chart("Step time per stage: where it goes", "stage", "seconds per step");
  std::vector<double> compute, comm, bubble, optimizer, totals;
  for (const StageEstimate& st : e.stages) {
    c.categories.push_back(st.stage.name);
    compute.push_back(st.step.compute_s);
    comm.push_back(st.step.exposed_comm_s);
    bubble.push_back(st.step.bubble_s);
    optimizer.push_back(st.step.optimizer_s);
    totals.push_back(st.step.step_s);
  }
  c.series = {stage_layer("compute", 0, compute, totals, c.categories, "s"),
              stage_layer("exposed communication", 1, comm, totals, c.categories, "s"),
              stage_layer("pipeline bubble", 6, bubble, totals, c.categories, "s"),
              stage_layer("optimizer", 2, optimizer, totals, c.categories, "s")};
  return c;
}

Chart memory_chart(const TrainingEstimate& e, const std::string& gpu_name) {
  Chart c = chart("Memory per GPU against the GPU's", "stage", "GB per GPU");
  std::vector<double> weights, grads, optimizer, activations, buffers, reserve, totals;
  for (const StageEstimate& st : e.stages) {
    const MemoryBreakdown& m = st.memory;
    c.categories.push_back(st.stage.name);
    weights.push_back(m.weights / 1e9);
    grads.push_back(m.gradients / 1e9);
    optimizer.push_back(m.optimizer_states / 1e9);
    activations.push_back(m.activations / 1e9);
    buffers.push_back(m.moe_buffers / 1e9);
    reserve.push_back(m.reserve / 1e9);
    totals.push_back(m.total / 1e9);
  }
  c.series = {stage_layer("weights", 0, weights, totals, c.categories, "GB"),
              stage_layer("gradients", 1, grads, totals, c.categories, "GB"),
              stage_layer("optimizer states", 2, optimizer, totals, c.categories, "GB"),
              stage_layer("activations", 3, activations, totals, c.categories, "GB"),
              stage_layer("MoE buffers", 4, buffers, totals, c.categories, "GB"),
              stage_layer("reserve", 7, reserve, totals, c.categories, "GB")};
  const double capacity = e.stages.front().memory.capacity / 1e9;
  c.lines.push_back({true, capacity, fmt::format("{} holds {:.0f} GB", gpu_name, capacity)});
  return c;
}

Chart moe_vs_dense_chart(const GuiState& s, bool dollars) {
  const TrainingEstimate& e = *s.estimate;
  Chart c = chart(dollars ? "MoE vs dense: cost" : "MoE vs dense: GPU-hours", "model (same cluster, stages and recipe)",
                  dollars ? "cost ($)" : "GPU-hours");
  Series bars = series(dollars ? "cost" : "GPU-hours", SeriesKind::bars, dollars ? 1 : 0);
  auto add = [&](const std::string& label, const std::string& hover, const TrainingEstimate& x) {
    bars.x.push_back(static_cast<double>(c.categories.size()));
    c.categories.push_back(short_label(label));
    bars.y.push_back(dollars ? x.cost_usd : x.gpu_hours);
    bars.hover.push_back(fmt::format("{}\n{} GPU-hours, ${} ({:.2f}x this run)", hover, format_count(x.gpu_hours),
                                     format_count(x.cost_usd), x.gpu_hours / e.gpu_hours));
  };
  add("this MoE", fmt::format("this run ({})", s.inputs.preset), e);
  for (const Baseline& b : s.baselines)
    add(b.label, fmt::format("{}, {} activated parameters", b.label, format_count(account_model(b.model).active_params)),
        b.estimate);
  c.series.push_back(bars);
  return c;
}

Chart mfu_chart(const GuiState& s) {
  const TrainingEstimate& e = *s.estimate;
  Chart c = chart("MFU against the BF16 peak", "stage", "MFU (%)");
  Series bars = series("predicted MFU", SeriesKind::bars, 0);
  auto add = [&](const std::string& name, double mfu) {
    bars.x.push_back(static_cast<double>(c.categories.size()));
    c.categories.push_back(name);
    bars.y.push_back(100 * mfu);
  };
  for (const StageEstimate& st : e.stages) add(st.stage.name, st.mfu_bf16);
  add("whole run", e.mfu_bf16);
  c.series.push_back(bars);
  for (const ValidationRow& r : s.validation)
    if (r.run.metric == "mfu_bf16" && r.run.preset == s.inputs.preset)
      c.lines.push_back({true, 100 * r.run.published, fmt::format("published {:.2f}%: {}", 100 * r.run.published, r.run.name)});
  return c;
}

Chart sweep_chart(const GuiState& s) {
  const int swept = s.swept_axes().first;
  const std::string& axis = sweep_axes()[static_cast<std::size_t>(swept)];
  Chart c = chart(fmt::format("Training cost against {}", axis), axis, "cost ($)");
  c.x_log = swept != 1;  // GPUs, tokens and experts double along the sweep; the price does not
  Series line = series("cost", SeriesKind::line, 0);
  for (const GuiState::SweepPoint& p : s.sweep_points()) {
    line.x.push_back(p.value);
    line.y.push_back(p.cost_usd);
    line.hover.push_back(p.error.empty() ? fmt::format("{} = {:g}\ncost ${}", axis, p.value, format_count(p.cost_usd)) : "");
    line.invalid.push_back(p.error);
  }
  c.series.push_back(line);
  return c;
}

std::optional<HeatMap> sweep_heat_map(const GuiState& s) {
  const auto [a, b] = s.swept_axes();
  if (b < 0) return std::nullopt;
  const std::string& y_axis = sweep_axes()[static_cast<std::size_t>(a)];
  const std::string& x_axis = sweep_axes()[static_cast<std::size_t>(b)];
  HeatMap h;
  h.title = fmt::format("Training cost over {} and {}", y_axis, x_axis);
  h.x_label = x_axis;
  h.y_label = y_axis;
  h.value_label = "cost ($)";
  for (double w : GuiState::sweep_values(b)) h.x_values.push_back(fmt::format("{:g}", w));
  for (double v : GuiState::sweep_values(a)) h.y_values.push_back(fmt::format("{:g}", v));
  for (const GuiState::SweepPoint& p : s.sweep_points()) {  // row-major, the second input fastest
    h.cells.push_back(p.error.empty() ? p.cost_usd : std::nan(""));
    h.reasons.push_back(p.error);
  }
  return h;
}

Chart validation_chart(const GuiState& s) {
  Chart c = chart("Predicted vs published: the validation corpus (sim/data/training_corpus.json)",
                  "published (each row's metric: tokens/s/GPU, GPU-hours, hours or GB)", "predicted (same unit)");
  c.x_log = c.y_log = c.identity = true;
  c.identity_bands = {0.10, 0.25};
  const char* classes[] = {"step", "whole_run", "finetune"};
  for (int k = 0; k < 3; ++k) {
    Series points = series(classes[k], SeriesKind::scatter, k);
    for (const GuiState::CorpusPrediction& p : s.corpus) {
      if (p.row->row_class != classes[k] || !p.error.empty() || !(p.predicted > 0)) continue;
      points.x.push_back(p.row->published);
      points.y.push_back(p.predicted);
      points.hover.push_back(fmt::format("{}\n{}: published {}, predicted {} ({})", p.row->name, p.row->metric,
                                         format_metric(p.row->metric, p.row->published),
                                         format_metric(p.row->metric, p.predicted),
                                         format_percent(p.predicted / p.row->published - 1)));
    }
    c.series.push_back(points);
  }
  return c;
}

namespace {

// p50 and p95 of one latency against load, in `scale` units of a second.
Chart latency_chart(const GuiState& s, const char* title, const char* y_label, double scale,
                    const Percentiles ServingResult::*latency, double slo, const std::string& slo_label) {
  Chart c = chart(title, "requests/s", y_label);
  Series p50 = series("p50", SeriesKind::line, 0), p95 = series("p95", SeriesKind::line, 1);
  for (const auto& [rate, r] : s.serving_by_load) {
    p50.x.push_back(rate);
    p95.x.push_back(rate);
    p50.y.push_back(scale * (r.*latency).p50);
    p95.y.push_back(scale * (r.*latency).p95);
  }
  c.series = {p50, p95};
  c.lines.push_back({true, slo, slo_label});
  return c;
}

}  // namespace

Chart ttft_chart(const GuiState& s) {
  return latency_chart(s, "Time to first token against load", "TTFT (s)", 1.0, &ServingResult::ttft_s, s.inputs.ttft_p95_s,
                       fmt::format("SLO: p95 TTFT {:.1f} s", s.inputs.ttft_p95_s));
}

Chart tpot_chart(const GuiState& s) {
  return latency_chart(s, "Time per output token against load", "TPOT (ms)", 1000.0, &ServingResult::tpot_s,
                       s.inputs.tpot_p95_ms, fmt::format("SLO: p95 TPOT {:.0f} ms", s.inputs.tpot_p95_ms));
}

Chart serving_cost_chart(const GuiState& s) {
  Chart c = chart("Cost per 1,000 requests against load", "requests/s", "$ per 1k requests");
  Series dollars = series("cost", SeriesKind::line, 2);
  for (const auto& [rate, r] : s.serving_by_load) {
    dollars.x.push_back(rate);
    dollars.y.push_back(r.cost_per_1k_requests_usd);
  }
  c.series.push_back(dollars);
  return c;
}

Chart plan_chart(const ServingPlan& plan) {
  Chart c = chart("The planner's cheapest deployments that meet the SLOs", "GPUs", "$ per 1k requests");
  Series points = series("deployment", SeriesKind::scatter, 3);
  for (const PlanCandidate& p : plan.best) {
    points.x.push_back(static_cast<double>(p.deployment.total_gpus()));
    points.y.push_back(p.cost_per_1k_requests_usd);
    points.hover.push_back(fmt::format("{}\nTTFT p95 {:.2f} s, TPOT p95 {:.1f} ms, ${:.3f} per 1k requests", p.layout,
                                       p.simulated.ttft_s.p95, 1000 * p.simulated.tpot_s.p95,
                                       p.cost_per_1k_requests_usd));
  }
  c.series.push_back(points);
  return c;
}

}  // namespace frugal::sim::gui
