#include "gui_draw.hpp"

#include <algorithm>
#include <cmath>

#include <fmt/format.h>

#include "chart_draw.hpp"
#include "frugal/config/presets.hpp"
#include "frugal/sim/format.hpp"
#include "frugal/sim/model_accountant.hpp"
#include "gui_charts.hpp"

namespace frugal::sim::gui {

namespace {

const ImVec4 kRed{1.0f, 0.35f, 0.35f, 1.0f};
const ImVec4 kDim{0.65f, 0.65f, 0.65f, 1.0f};

void text(const std::string& s) { ImGui::TextUnformatted(s.c_str()); }

// --- inputs (left) --------------------------------------------------------------------------

bool model_inputs(GuiState& s) {
  GuiInputs& in = s.inputs;
  bool changed = false;
  if (ImGui::CollapsingHeader("Model", ImGuiTreeNodeFlags_DefaultOpen)) {
    changed |= ImGui::SliderInt("layers", &in.layers, 1, 200);
    changed |= ImGui::InputInt("hidden size", &in.hidden, 128, 1024);
    if (in.experts > 0) {
      changed |= ImGui::SliderInt("routed experts", &in.experts, 1, 512);
      changed |= ImGui::SliderInt("top-k", &in.top_k, 1, 32);
      changed |= ImGui::SliderInt("shared experts", &in.shared_experts, 0, 8);
      changed |= ImGui::SliderInt("groups kept", &in.groups_kept, 1, 16);
    }
    if (in.kv_rank > 0) {
      changed |= ImGui::InputInt("KV rank (MLA)", &in.kv_rank, 64, 256);
      changed |= ImGui::InputInt("query rank (MLA)", &in.q_rank, 64, 256);
    }
    changed |= ImGui::SliderInt("MTP depth", &in.mtp_depth, 0, 4);
  }
  return changed;
}

bool training_inputs(GuiState& s, DrawContext& ctx) {
  GuiInputs& in = s.inputs;
  bool changed = false;
  if (ImGui::CollapsingHeader("Training", ImGuiTreeNodeFlags_DefaultOpen)) {
    changed |= ImGui::Checkbox("the preset's stages", &in.preset_stages);
    if (!in.preset_stages) {
      changed |= ImGui::SliderFloat("tokens (T)", &in.tokens_t, 0.1f, 30.0f, "%.2f");
      changed |= ImGui::InputInt("sequence length", &in.seq_len, 1024, 4096);
      changed |= ImGui::InputInt("global batch", &in.global_batch, 64, 1024);
    }
    changed |= ImGui::Checkbox("FP8 recipe (V3 report §3.3)", &in.fp8);
  }
  if (ImGui::CollapsingHeader("Cluster", ImGuiTreeNodeFlags_DefaultOpen)) {
    const auto& gpus = known_gpus();
    if (ImGui::BeginCombo("GPU", gpus[static_cast<std::size_t>(in.gpu)].name.c_str())) {
      for (std::size_t i = 0; i < gpus.size(); ++i)
        if (ImGui::Selectable(gpus[i].name.c_str(), static_cast<int>(i) == in.gpu)) {
          in.gpu = static_cast<int>(i);
          changed = true;
        }
      ImGui::EndCombo();
    }
    changed |= ImGui::InputInt("GPUs", &in.gpus, 64, 1024);
    const float slider_width = ImGui::CalcItemWidth();
    changed |= ImGui::SliderFloat("$ per GPU-hour", &in.price, 0.5f, 10.0f, "%.2f");
    ctx.price_slider_min = ImGui::GetItemRectMin();  // the frame, without its label
    ctx.price_slider_max = {ctx.price_slider_min.x + slider_width, ImGui::GetItemRectMax().y};
  }
  if (ImGui::CollapsingHeader("Parallelism", ImGuiTreeNodeFlags_DefaultOpen)) {
    changed |= ImGui::Checkbox("auto (planner)", &in.plan_auto);
    if (!in.plan_auto) {
      changed |= ImGui::InputInt("TP", &in.tp);
      changed |= ImGui::InputInt("PP", &in.pp);
      changed |= ImGui::InputInt("EP", &in.ep);
    }
  }
  return changed;
}

void file_buttons(GuiState& s, DrawContext& ctx) {
  static char path[256] = "frugal-gui.json";
  ImGui::InputText("file", path, sizeof path);
  if (ImGui::Button("Save config")) {
    try {
      s.save_file(path);
      ctx.status = fmt::format("saved {}", path);
    } catch (const ConfigError& e) {
      ctx.status = e.what();
    }
  }
  ImGui::SameLine();
  if (ImGui::Button("Load config")) {
    try {
      s.load_file(path);
      ctx.status = fmt::format("loaded {}", path);
    } catch (const ConfigError& e) {
      ctx.status = e.what();
    }
  }
  ImGui::SameLine();
  if (ImGui::Button("Copy CLI command")) {
    const std::string cmd = s.cli_command();
    ImGui::SetClipboardText(cmd.c_str());
    ctx.status = cmd;
  }
  if (!ctx.status.empty()) ImGui::TextWrapped("%s", ctx.status.c_str());
}

void inputs_panel(GuiState& s, DrawContext& ctx) {
  if (ImGui::BeginCombo("preset", s.inputs.preset.c_str())) {
    for (const Preset& p : model_presets())
      if (ImGui::Selectable(p.name.c_str(), p.name == s.inputs.preset)) s.load_preset(p.name);
    ImGui::EndCombo();
  }
  bool changed = model_inputs(s);
  changed |= training_inputs(s, ctx);
  if (changed) s.recompute();
  file_buttons(s, ctx);
  if (ImGui::CollapsingHeader("Presenting", ImGuiTreeNodeFlags_DefaultOpen)) {
    ImGui::SliderFloat("text size (Ctrl +/-)", &ctx.font_scale, 0.75f, 2.5f, "%.2f");
    ImGui::Checkbox("high contrast (projector)", &ctx.high_contrast);
  }
}

// Dear ImGui's dark style, or white on black with bright borders for a projector.
void apply_style(bool high_contrast) {
  ImGui::StyleColorsDark();
  if (!high_contrast) return;
  ImVec4* c = ImGui::GetStyle().Colors;
  c[ImGuiCol_Text] = {1, 1, 1, 1};
  c[ImGuiCol_WindowBg] = c[ImGuiCol_ChildBg] = c[ImGuiCol_PopupBg] = {0, 0, 0, 1};
  c[ImGuiCol_Border] = {1, 1, 1, 0.8f};
  c[ImGuiCol_FrameBg] = {0.2f, 0.2f, 0.2f, 1};
  c[ImGuiCol_TableRowBgAlt] = {0.15f, 0.15f, 0.15f, 1};
  c[ImGuiCol_Tab] = {0.25f, 0.25f, 0.25f, 1};
  c[ImGuiCol_TabActive] = c[ImGuiCol_Header] = c[ImGuiCol_Button] = {0.0f, 0.45f, 0.7f, 1};
}

// --- results (right) ------------------------------------------------------------------------

constexpr ImGuiTableFlags kTableFlags =
    ImGuiTableFlags_Borders | ImGuiTableFlags_RowBg | ImGuiTableFlags_Resizable | ImGuiTableFlags_SizingStretchProp;
constexpr float kChartHeight = 240;

// A table cell: text that does not fit its column shows whole in a tooltip instead of being lost.
void cell(const std::string& s, const ImVec4* colour = nullptr) {
  ImGui::TableNextColumn();
  const float room = ImGui::GetContentRegionAvail().x;
  if (colour) ImGui::TextColored(*colour, "%s", s.c_str());
  else text(s);
  if (ImGui::IsItemHovered() && ImGui::CalcTextSize(s.c_str()).x > room) ImGui::SetTooltip("%s", s.c_str());
}

// Column headers with relative widths (stretch weights): long names and sources get the room.
void setup_columns(std::initializer_list<std::pair<const char*, float>> columns) {
  for (const auto& [name, weight] : columns) ImGui::TableSetupColumn(name, ImGuiTableColumnFlags_WidthStretch, weight);
  ImGui::TableHeadersRow();
}

// Two charts side by side, each half the width.
void side_by_side(const char* id, const Chart& left, const Chart& right, const Palette& p, DrawContext& ctx) {
  if (!ImGui::BeginTable(id, 2, ImGuiTableFlags_SizingStretchSame)) return;
  ImGui::TableNextColumn();
  draw_chart(left, kChartHeight, p, ctx.charts);
  ImGui::TableNextColumn();
  draw_chart(right, kChartHeight, p, ctx.charts);
  ImGui::EndTable();
}

void cost_table(const TrainingEstimate& e) {
  if (!ImGui::BeginTable("cost", 7, kTableFlags)) return;
  setup_columns({{"stage", 2.5f}, {"GPU-hours", 1}, {"cost", 1}, {"days", 0.7f}, {"MFU bf16", 1}, {"MFU fp8", 1}, {"fits", 0.6f}});
  auto row = [](const std::string& name, double hours, double cost, double days, double mfu, double mfu8, bool fits) {
    ImGui::TableNextRow();
    cell(name);
    cell(format_count(hours));
    cell(fmt::format("${}", format_count(cost)));
    cell(fmt::format("{:.1f}", days));
    cell(fmt::format("{:.1f}%", 100 * mfu));
    cell(fmt::format("{:.1f}%", 100 * mfu8));
    cell(fits ? "yes" : "NO", fits ? nullptr : &kRed);
  };
  for (const StageEstimate& s : e.stages)
    row(s.stage.name, s.gpu_hours, s.cost_usd, s.days, s.mfu_bf16, s.mfu_fp8, s.memory.fits());
  row("total", e.gpu_hours, e.cost_usd, e.days, e.mfu_bf16, e.mfu_fp8, e.fits);
  ImGui::EndTable();
}

void training_tab(GuiState& s, DrawContext& ctx, const Palette& p) {
  if (!s.error.empty()) {
    ImGui::TextColored(kRed, "%s", s.error.c_str());
    return;
  }
  const TrainingEstimate& e = *s.estimate;
  ImGui::TextWrapped("%s", describe_run(e).c_str());
  cost_table(e);
  const std::string& gpu = known_gpus()[static_cast<std::size_t>(s.inputs.gpu)].name;
  side_by_side("step and memory", step_time_chart(e), memory_chart(e, gpu), p, ctx);
  side_by_side("moe vs dense", moe_vs_dense_chart(s, false), moe_vs_dense_chart(s, true), p, ctx);
  draw_chart(mfu_chart(s), kChartHeight, p, ctx.charts);
}

// One input: cost as a line, invalid points as crosses with the reason on hover. Two: a heat map.
void sweep_tab(GuiState& s, DrawContext& ctx, const Palette& p) {
  const auto& axes = sweep_axes();
  const int count = static_cast<int>(axes.size());
  ImGui::Combo("input", &s.inputs.sweep_axis, [](void* data, int i, const char** out) {
    *out = static_cast<const std::vector<std::string>*>(data)->at(static_cast<std::size_t>(i)).c_str();
    return true;
  }, const_cast<std::vector<std::string>*>(&axes), count);
  int second = s.inputs.sweep_axis_2 + 1;  // 0: none
  if (ImGui::Combo("second input (heat map)", &second, [](void* data, int i, const char** out) {
        *out = i == 0 ? "(none)" : static_cast<const std::vector<std::string>*>(data)->at(static_cast<std::size_t>(i - 1)).c_str();
        return true;
      }, const_cast<std::vector<std::string>*>(&axes), count + 1))
    s.inputs.sweep_axis_2 = second - 1;
  if (ImGui::Button(s.sweep_running() ? "running..." : "Run sweep") && !s.sweep_running()) s.start_sweep();
  ImGui::ProgressBar(static_cast<float>(s.sweep_progress()), {-1, 0});
  if (s.sweep_running() || s.sweep_points().empty()) return;
  if (const auto heat = sweep_heat_map(s)) {
    draw_heat_map(*heat, 1.6f * kChartHeight, p, ctx.charts);
    return;
  }
  draw_chart(sweep_chart(s), 1.4f * kChartHeight, p, ctx.charts);
  const std::string& axis = axes[static_cast<std::size_t>(s.swept_axes().first)];
  for (const auto& pt : s.sweep_points()) {
    if (pt.error.empty()) text(fmt::format("{} = {:g}: ${}", axis, pt.value, format_count(pt.cost_usd)));
    else ImGui::TextColored(kRed, "%s = %g: %s", axis.c_str(), pt.value, pt.error.c_str());
  }
}

void validation_tab(const GuiState& s, DrawContext& ctx, const Palette& p) {
  draw_chart(validation_chart(s), 1.6f * kChartHeight, p, ctx.charts);
  text("Published runs (frugal-sim validate)");
  if (ImGui::BeginTable("validation", 5, kTableFlags)) {
    setup_columns({{"published run", 3}, {"published", 1.4f}, {"predicted", 1.4f}, {"error", 0.8f}, {"source", 4}});
    for (const ValidationRow& r : s.validation) {
      ImGui::TableNextRow();
      cell(r.run.name);
      cell(format_metric(r.run.metric, r.run.published));
      cell(format_metric(r.run.metric, r.predicted));
      cell(format_percent(r.rel_error), std::abs(r.rel_error) > 0.15 ? &kRed : nullptr);
      cell(r.run.source, &kDim);
    }
    ImGui::EndTable();
  }
  text("The corpus (frugal-sim validate --corpus)");
  const ErrorSummary& st = s.corpus_step_summary;
  ImGui::TextWrapped("Step rows, in sample: median |error| %.1f%%, max %.1f%%, %.0f%% predicted too fast (in step time).",
                     100 * st.median_abs, 100 * st.max_abs, 100 * st.share_low);
  if (!s.corpus_floor.empty() && s.corpus_floor.front().error_floor >= kNegligibleErrorFloor) {
    const IndistinguishableRows& g = s.corpus_floor.front();
    ImGui::TextWrapped("No model can bring the max below %.1f%%: %s and %s have the same run and different published figures.",
                       100 * g.error_floor, g.rows.front()->name.c_str(), g.rows.back()->name.c_str());
  }
  if (ImGui::BeginTable("corpus", 6, kTableFlags)) {
    setup_columns({{"row", 3}, {"class", 1}, {"published", 1.4f}, {"predicted", 1.4f}, {"error", 0.8f}, {"source", 3}});
    for (const GuiState::CorpusPrediction& cp : s.corpus) {
      const CorpusRow& r = *cp.row;
      ImGui::TableNextRow();
      cell(r.name);
      cell(r.row_class);
      cell(format_metric(r.metric, r.published));
      if (!cp.error.empty()) {
        cell(cp.error, &kRed);
        cell("");
      } else {
        const double err = cp.predicted / r.published - 1;
        cell(format_metric(r.metric, cp.predicted));
        cell(format_percent(err), std::abs(err) > 0.15 ? &kRed : nullptr);
      }
      cell(r.source, &kDim);
    }
    ImGui::EndTable();
  }
}

// The planner: the cheapest deployments that meet the SLOs at the requests/s above.
void plan_panel(GuiState& s, DrawContext& ctx, const Palette& p) {
  GuiInputs& in = s.inputs;
  ImGui::Separator();
  text("Plan a deployment");
  ImGui::SliderFloat("p95 TTFT (s)", &in.ttft_p95_s, 0.1f, 30.0f, "%.1f");
  ImGui::SliderFloat("p95 TPOT (ms)", &in.tpot_p95_ms, 5.0f, 200.0f, "%.0f");
  if (ImGui::Button("Plan")) s.plan_serving();
  if (!s.plan_error.empty()) {
    ImGui::TextColored(kRed, "%s", s.plan_error.c_str());
    return;
  }
  if (!s.serving_plan) return;
  draw_chart(plan_chart(*s.serving_plan), kChartHeight, p, ctx.charts);
  if (!ImGui::BeginTable("plan", 5, kTableFlags)) return;
  setup_columns({{"deployment", 5}, {"GPUs", 0.8f}, {"TTFT p95", 1}, {"TPOT p95", 1}, {"$ per 1k requests", 1.4f}});
  for (const PlanCandidate& c : s.serving_plan->best) {
    ImGui::TableNextRow();
    cell(c.layout);
    cell(fmt::format("{}", c.deployment.total_gpus()));
    cell(fmt::format("{:.2f} s", c.simulated.ttft_s.p95));
    cell(fmt::format("{:.1f} ms", 1000 * c.simulated.tpot_s.p95));
    cell(fmt::format("{:.3f}", c.cost_per_1k_requests_usd));
  }
  ImGui::EndTable();
}

void serving_tab(GuiState& s, DrawContext& ctx, const Palette& p) {
  GuiInputs& in = s.inputs;
  bool changed = ImGui::SliderFloat("requests/s", &in.rate, 0.1f, 50.0f, "%.1f");
  changed |= ImGui::InputInt("prompt tokens", &in.prompt_tokens, 100, 1000);
  changed |= ImGui::InputInt("output tokens", &in.output_tokens, 50, 500);
  changed |= ImGui::SliderFloat("MTP acceptance", &in.mtp_acceptance, 0.0f, 0.95f, "%.2f");
  changed |= ImGui::SliderFloat("prefix-cache hits", &in.prefix_hit_rate, 0.0f, 1.0f, "%.2f");
  changed |= ImGui::Checkbox("FP8 KV cache", &in.kv_fp8);
  ImGui::SameLine();
  changed |= ImGui::Checkbox("FP8 attention", &in.fp8_attention);
  ImGui::SameLine();
  changed |= ImGui::Checkbox("two-batch overlap", &in.two_batch_overlap);
  changed |= ImGui::Checkbox("decode all-to-all over NVLink in a node (DeepEP since 2025-06)", &in.low_latency_nvlink);
  ImGui::SameLine();
  changed |= ImGui::Checkbox("EPLB placement", &in.eplb);
  if (changed) s.recompute_serving();
  if (!s.serving_error.empty()) {
    ImGui::TextColored(kRed, "%s", s.serving_error.c_str());
    return;
  }
  side_by_side("latency", ttft_chart(s), tpot_chart(s), p, ctx);
  draw_chart(serving_cost_chart(s), kChartHeight, p, ctx.charts);
  if (ImGui::BeginTable("serving", 6, kTableFlags)) {
    for (const char* h : {"requests/s", "TTFT p50", "TPOT p50", "e2e p50", "e2e p95", "$ per 1k requests"}) ImGui::TableSetupColumn(h);
    ImGui::TableHeadersRow();
    for (const auto& [rate, r] : s.serving_by_load) {
      ImGui::TableNextRow();
      cell(fmt::format("{:.2f}", rate));
      cell(fmt::format("{:.1f} ms", 1000 * r.ttft_s.p50));
      cell(fmt::format("{:.1f} ms", 1000 * r.tpot_s.p50));
      cell(fmt::format("{:.2f} s", r.e2e_s.p50));
      cell(fmt::format("{:.2f} s", r.e2e_s.p95));
      cell(fmt::format("{:.3f}", r.cost_per_1k_requests_usd));
    }
    ImGui::EndTable();
  }
  plan_panel(s, ctx, p);
}

// The article's advice on the model above: fine-tune it (full, LoRA, QLoRA) on the GPU above, or
// distill it into a smaller preset; `frugal-sim finetune` and `frugal-sim distill` behind each button.
void advice_tab(GuiState& s) {
  GuiInputs& in = s.inputs;
  text("Fine-tune this model on the GPU chosen at the left");
  ImGui::Combo("method", &in.ft_method, "full\0LoRA\0QLoRA\0");
  ImGui::InputInt("adapter rank", &in.ft_rank, 8, 64);
  ImGui::Combo("kernels", &in.ft_kernels, "fused (Megatron-style)\0eager (plain PyTorch)\0");
  ImGui::InputFloat("examples", &in.ft_examples, 1000.0f, 10000.0f, "%.0f");
  ImGui::InputInt("tokens per example", &in.ft_tokens, 128, 1024);
  ImGui::InputFloat("epochs", &in.ft_epochs, 1.0f, 1.0f, "%.1f");
  ImGui::InputInt("GPUs", &in.ft_gpus, 1, 8);
  if (ImGui::Button("Price fine-tuning")) s.price_finetune();
  if (!s.finetune_error.empty()) ImGui::TextColored(kRed, "%s", s.finetune_error.c_str());
  if (s.finetune) {
    const FinetuneEstimate& f = *s.finetune;
    const MemoryBreakdown& m = f.memory;
    const std::string overlay = fmt::format("{:.1f} GB of {} per GPU", m.total / 1e9, format_capacity(m.capacity));
    if (!f.fits) ImGui::PushStyleColor(ImGuiCol_PlotHistogram, kRed);
    ImGui::ProgressBar(static_cast<float>(std::min(1.0, m.total / m.capacity)), {-1, 0}, overlay.c_str());
    if (!f.fits) ImGui::PopStyleColor();
    if (f.fits) {
      text(fmt::format("{:.2f} hours, {:.1f} GPU-hours, ${:.2f}; micro-batch {} (largest that fits: {})", f.hours, f.gpu_hours,
                       f.cost_usd, f.run.parallel.micro_batch, f.max_micro_batch));
    } else {
      ImGui::TextColored(kRed, "does not fit. What would:");
      for (const std::string& x : f.suggestions) text("  - " + x);
    }
  }
  ImGui::Separator();
  text("Distill this model (the teacher) into a smaller one, then serve the load of the Serving tab");
  if (ImGui::BeginCombo("student", in.student.c_str())) {
    for (const Preset& p : model_presets())
      if (ImGui::Selectable(p.name.c_str(), p.name == in.student)) in.student = p.name;
    ImGui::EndCombo();
  }
  ImGui::InputFloat("teacher samples", &in.distill_samples, 10000.0f, 100000.0f, "%.0f");
  ImGui::InputInt("tokens per sample", &in.distill_tokens, 100, 1000);
  if (ImGui::Button("Price distillation")) s.price_distillation();
  if (!s.distill_error.empty()) ImGui::TextColored(kRed, "%s", s.distill_error.c_str());
  if (s.distillation) ImGui::TextUnformatted(distillation_table(*s.distillation).c_str());
}

bool tab(const char* label, const char* key, const DrawContext& ctx) {
  return ImGui::BeginTabItem(label, nullptr, ctx.select_tab == key ? ImGuiTabItemFlags_SetSelected : 0);
}

}  // namespace

void draw(GuiState& s, DrawContext& ctx) {
  ctx.charts.clear();
  ImGui::GetIO().FontGlobalScale = ctx.font_scale;
  apply_style(ctx.high_contrast);
  const Palette p = palette(ctx.high_contrast);
  const ImGuiViewport* vp = ImGui::GetMainViewport();
  ImGui::SetNextWindowPos(vp->Pos);
  ImGui::SetNextWindowSize(vp->Size);
  ImGui::Begin("FrugalLM", nullptr, ImGuiWindowFlags_NoDecoration | ImGuiWindowFlags_NoMove);
  ImGui::BeginChild("inputs", {400 * std::min(ctx.font_scale, 1.5f), 0}, true);
  inputs_panel(s, ctx);
  ImGui::EndChild();
  ImGui::SameLine();
  ImGui::BeginChild("results", {0, 0}, true);
  if (ImGui::BeginTabBar("tabs")) {
    if (tab("Training cost", "training", ctx)) { training_tab(s, ctx, p); ImGui::EndTabItem(); }
    if (tab("Sweep", "sweep", ctx)) { sweep_tab(s, ctx, p); ImGui::EndTabItem(); }
    if (tab("Validation", "validation", ctx)) { validation_tab(s, ctx, p); ImGui::EndTabItem(); }
    if (tab("Serving", "serving", ctx)) { serving_tab(s, ctx, p); ImGui::EndTabItem(); }
    if (tab("Fine-tune & distill", "advice", ctx)) { advice_tab(s); ImGui::EndTabItem(); }
    ImGui::EndTabBar();
  }
  ImGui::EndChild();
  ImGui::End();
}

}  // namespace frugal::sim::gui
