#include "gui_draw.hpp"

#include <algorithm>

#include <fmt/format.h>

#include "frugal/sim/format.hpp"
#include "frugal/config/presets.hpp"

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
}

// --- results (right) ------------------------------------------------------------------------

void cost_table(const TrainingEstimate& e) {
  if (!ImGui::BeginTable("cost", 7, ImGuiTableFlags_Borders | ImGuiTableFlags_RowBg)) return;
  for (const char* h : {"stage", "GPU-hours", "cost", "days", "MFU bf16", "MFU fp8", "fits"}) ImGui::TableSetupColumn(h);
  ImGui::TableHeadersRow();
  auto row = [](const std::string& name, double hours, double cost, double days, double mfu, double mfu8, bool fits) {
    ImGui::TableNextRow();
    ImGui::TableNextColumn(); text(name);
    ImGui::TableNextColumn(); text(format_count(hours));
    ImGui::TableNextColumn(); text(fmt::format("${}", format_count(cost)));
    ImGui::TableNextColumn(); text(fmt::format("{:.1f}", days));
    ImGui::TableNextColumn(); text(fmt::format("{:.1f}%", 100 * mfu));
    ImGui::TableNextColumn(); text(fmt::format("{:.1f}%", 100 * mfu8));
    ImGui::TableNextColumn();
    if (fits) text("yes");
    else ImGui::TextColored(kRed, "NO");
  };
  for (const StageEstimate& s : e.stages)
    row(s.stage.name, s.gpu_hours, s.cost_usd, s.days, s.mfu_bf16, s.mfu_fp8, s.memory.fits());
  row("total", e.gpu_hours, e.cost_usd, e.days, e.mfu_bf16, e.mfu_fp8, e.fits);
  ImGui::EndTable();
}

// A stacked bar: computation, exposed communication, bubble, optimizer.
void step_bar(const StepBreakdown& b) {
  const double parts[] = {b.compute_s, b.exposed_comm_s, b.bubble_s, b.optimizer_s};
  const ImU32 colours[] = {IM_COL32(80, 160, 230, 255), IM_COL32(230, 150, 60, 255), IM_COL32(200, 80, 80, 255),
                           IM_COL32(120, 200, 120, 255)};
  const char* names[] = {"compute", "exposed communication", "bubble", "optimizer"};
  ImDrawList* draw = ImGui::GetWindowDrawList();
  const ImVec2 origin = ImGui::GetCursorScreenPos();
  const float width = ImGui::GetContentRegionAvail().x, height = 22;
  float x = origin.x;
  for (int i = 0; i < 4; ++i) {
    const float w = static_cast<float>(parts[i] / b.step_s) * width;
    draw->AddRectFilled({x, origin.y}, {x + w, origin.y + height}, colours[i]);
    x += w;
  }
  ImGui::Dummy({width, height});
  for (int i = 0; i < 4; ++i) {
    ImGui::ColorButton(names[i], ImGui::ColorConvertU32ToFloat4(colours[i]), ImGuiColorEditFlags_NoTooltip, {10, 10});
    ImGui::SameLine();
    text(fmt::format("{} {:.2f} s", names[i], parts[i]));
    if (i < 3) ImGui::SameLine();
  }
}

void training_tab(GuiState& s) {
  if (!s.error.empty()) {
    ImGui::TextColored(kRed, "%s", s.error.c_str());
    return;
  }
  const TrainingEstimate& e = *s.estimate;
  text(describe_run(e));
  cost_table(e);
  const StageEstimate& first = e.stages.front();
  text(fmt::format("Step time, {}: {:.2f} s", first.stage.name, first.step.step_s));
  step_bar(first.step);
  ImGui::Separator();
  for (const StageEstimate& st : e.stages) {
    const MemoryBreakdown& m = st.memory;
    const std::string overlay = fmt::format("{}: {:.1f} of {:.0f} GB{}", st.stage.name, m.total / 1e9, m.capacity / 1e9,
                                            m.fits() ? "" : fmt::format(", {:.1f} GB short", m.shortfall() / 1e9));
    if (!m.fits()) ImGui::PushStyleColor(ImGuiCol_PlotHistogram, kRed);
    ImGui::ProgressBar(static_cast<float>(std::min(1.0, m.total / m.capacity)), {-1, 0}, overlay.c_str());
    if (!m.fits()) ImGui::PopStyleColor();
  }
  ImGui::Separator();
  text("MoE vs dense: the same cluster, stages and recipe");
  if (ImGui::BeginTable("baselines", 5, ImGuiTableFlags_Borders)) {
    for (const char* h : {"model", "activated", "GPU-hours", "cost", "x this run"}) ImGui::TableSetupColumn(h);
    ImGui::TableHeadersRow();
    for (const Baseline& b : s.baselines) {
      ImGui::TableNextRow();
      ImGui::TableNextColumn(); text(b.label);
      ImGui::TableNextColumn(); text(format_count(account_model(b.model).active_params));
      ImGui::TableNextColumn(); text(format_count(b.estimate.gpu_hours));
      ImGui::TableNextColumn(); text(fmt::format("${}", format_count(b.estimate.cost_usd)));
      ImGui::TableNextColumn(); text(fmt::format("{:.2f}", b.estimate.gpu_hours / e.gpu_hours));
    }
    ImGui::EndTable();
  }
}

void sweep_tab(GuiState& s) {
  const auto& axes = sweep_axes();
  ImGui::Combo("input", &s.inputs.sweep_axis, [](void* data, int i, const char** out) {
    *out = static_cast<const std::vector<std::string>*>(data)->at(static_cast<std::size_t>(i)).c_str();
    return true;
  }, const_cast<std::vector<std::string>*>(&axes), static_cast<int>(axes.size()));
  if (ImGui::Button(s.sweep_running() ? "running..." : "Run sweep") && !s.sweep_running()) s.start_sweep();
  ImGui::ProgressBar(static_cast<float>(s.sweep_progress()), {-1, 0});
  const auto points = s.sweep_points();
  if (points.empty()) return;
  std::vector<float> dollars;
  for (const auto& p : points)
    if (p.error.empty()) dollars.push_back(static_cast<float>(p.cost_usd / 1e6));
  ImGui::PlotLines("##cost", dollars.data(), static_cast<int>(dollars.size()), 0, "cost ($M), priced points", 0.0f,
                   FLT_MAX, {ImGui::GetContentRegionAvail().x, 200});
  const std::string& axis = axes[static_cast<std::size_t>(s.inputs.sweep_axis)];
  for (const auto& p : points) {
    if (p.error.empty()) text(fmt::format("{} = {:g}: ${}", axis, p.value, format_count(p.cost_usd)));
    else ImGui::TextColored(kRed, "%s = %g: %s", axis.c_str(), p.value, p.error.c_str());
  }
}

void validation_tab(const GuiState& s) {
  if (!ImGui::BeginTable("validation", 5, ImGuiTableFlags_Borders | ImGuiTableFlags_RowBg)) return;
  for (const char* h : {"published run", "published", "predicted", "error", "source"}) ImGui::TableSetupColumn(h);
  ImGui::TableHeadersRow();
  for (const ValidationRow& r : s.validation) {
    const bool mfu = r.run.metric == "mfu_bf16";
    auto value = [&](double v) { return mfu ? fmt::format("{:.2f}%", 100 * v) : format_count(v); };
    ImGui::TableNextRow();
    ImGui::TableNextColumn(); text(r.run.name);
    ImGui::TableNextColumn(); text(value(r.run.published));
    ImGui::TableNextColumn(); text(value(r.predicted));
    ImGui::TableNextColumn();
    const std::string err = format_percent(r.rel_error);
    if (std::abs(r.rel_error) > 0.15) ImGui::TextColored(kRed, "%s", err.c_str());
    else text(err);
    ImGui::TableNextColumn(); ImGui::TextColored(kDim, "%s", r.run.source.c_str());
  }
  ImGui::EndTable();
}

// The planner: the cheapest deployments that meet the SLOs at the requests/s above.
void plan_panel(GuiState& s) {
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
  if (!s.serving_plan || !ImGui::BeginTable("plan", 5, ImGuiTableFlags_Borders)) return;
  for (const char* h : {"deployment", "GPUs", "TTFT p95", "TPOT p95", "$ per 1k requests"}) ImGui::TableSetupColumn(h);
  ImGui::TableHeadersRow();
  for (const PlanCandidate& c : s.serving_plan->best) {
    ImGui::TableNextRow();
    ImGui::TableNextColumn(); text(c.layout);
    ImGui::TableNextColumn(); text(fmt::format("{}", c.deployment.total_gpus()));
    ImGui::TableNextColumn(); text(fmt::format("{:.2f} s", c.simulated.ttft_s.p95));
    ImGui::TableNextColumn(); text(fmt::format("{:.1f} ms", 1000 * c.simulated.tpot_s.p95));
    ImGui::TableNextColumn(); text(fmt::format("{:.3f}", c.simulated.cost_per_1k_requests_usd));
  }
  ImGui::EndTable();
}

void serving_tab(GuiState& s) {
  GuiInputs& in = s.inputs;
  bool changed = ImGui::SliderFloat("requests/s", &in.rate, 0.1f, 50.0f, "%.1f");
  changed |= ImGui::InputInt("prompt tokens", &in.prompt_tokens, 100, 1000);
  changed |= ImGui::InputInt("output tokens", &in.output_tokens, 50, 500);
  changed |= ImGui::SliderFloat("MTP acceptance", &in.mtp_acceptance, 0.0f, 0.95f, "%.2f");
  changed |= ImGui::SliderFloat("prefix-cache hits", &in.prefix_hit_rate, 0.0f, 1.0f, "%.2f");
  if (changed) s.recompute_serving();
  if (!s.serving_error.empty()) {
    ImGui::TextColored(kRed, "%s", s.serving_error.c_str());
    return;
  }
  std::vector<float> p50, p95;
  for (const auto& [rate, r] : s.serving_by_load) {
    p50.push_back(static_cast<float>(r.e2e_s.p50));
    p95.push_back(static_cast<float>(r.e2e_s.p95));
  }
  ImGui::PlotLines("##p50", p50.data(), static_cast<int>(p50.size()), 0, "end-to-end p50 (s) against load", 0.0f, FLT_MAX,
                   {ImGui::GetContentRegionAvail().x, 90});
  ImGui::PlotLines("##p95", p95.data(), static_cast<int>(p95.size()), 0, "end-to-end p95 (s) against load", 0.0f, FLT_MAX,
                   {ImGui::GetContentRegionAvail().x, 90});
  if (!ImGui::BeginTable("serving", 6, ImGuiTableFlags_Borders)) return;
  for (const char* h : {"requests/s", "TTFT p50", "TPOT p50", "e2e p50", "e2e p95", "$ per 1k requests"}) ImGui::TableSetupColumn(h);
  ImGui::TableHeadersRow();
  for (const auto& [rate, r] : s.serving_by_load) {
    ImGui::TableNextRow();
    ImGui::TableNextColumn(); text(fmt::format("{:.2f}", rate));
    ImGui::TableNextColumn(); text(fmt::format("{:.1f} ms", 1000 * r.ttft_s.p50));
    ImGui::TableNextColumn(); text(fmt::format("{:.1f} ms", 1000 * r.tpot_s.p50));
    ImGui::TableNextColumn(); text(fmt::format("{:.2f} s", r.e2e_s.p50));
    ImGui::TableNextColumn(); text(fmt::format("{:.2f} s", r.e2e_s.p95));
    ImGui::TableNextColumn(); text(fmt::format("{:.3f}", r.cost_per_1k_requests_usd));
  }
  ImGui::EndTable();
  plan_panel(s);
}

// The article's advice on the model above: fine-tune it (full, LoRA, QLoRA) on the GPU above, or
// distill it into a smaller preset; `frugal-sim finetune` and `frugal-sim distill` behind each button.
void advice_tab(GuiState& s) {
  GuiInputs& in = s.inputs;
  text("Fine-tune this model on the GPU chosen at the left");
  ImGui::Combo("method", &in.ft_method, "full\0LoRA\0QLoRA\0");
  ImGui::InputInt("adapter rank", &in.ft_rank, 8, 64);
  ImGui::InputFloat("examples", &in.ft_examples, 1000.0f, 10000.0f, "%.0f");
  ImGui::InputInt("tokens per example", &in.ft_tokens, 128, 1024);
  ImGui::InputFloat("epochs", &in.ft_epochs, 1.0f, 1.0f, "%.1f");
  ImGui::InputInt("GPUs", &in.ft_gpus, 1, 8);
  if (ImGui::Button("Price fine-tuning")) s.price_finetune();
  if (!s.finetune_error.empty()) ImGui::TextColored(kRed, "%s", s.finetune_error.c_str());
  if (s.finetune) {
    const FinetuneEstimate& f = *s.finetune;
    const MemoryBreakdown& m = f.memory;
    const std::string overlay = fmt::format("{:.1f} of {:.0f} GB per GPU", m.total / 1e9, m.capacity / 1e9);
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
  const ImGuiViewport* vp = ImGui::GetMainViewport();
  ImGui::SetNextWindowPos(vp->Pos);
  ImGui::SetNextWindowSize(vp->Size);
  ImGui::Begin("FrugalLM", nullptr, ImGuiWindowFlags_NoDecoration | ImGuiWindowFlags_NoMove);
  ImGui::BeginChild("inputs", {400, 0}, true);
  inputs_panel(s, ctx);
  ImGui::EndChild();
  ImGui::SameLine();
  ImGui::BeginChild("results", {0, 0}, true);
  if (ImGui::BeginTabBar("tabs")) {
    if (tab("Training cost", "training", ctx)) { training_tab(s); ImGui::EndTabItem(); }
    if (tab("Sweep", "sweep", ctx)) { sweep_tab(s); ImGui::EndTabItem(); }
    if (tab("Validation", "validation", ctx)) { validation_tab(s); ImGui::EndTabItem(); }
    if (tab("Serving", "serving", ctx)) { serving_tab(s); ImGui::EndTabItem(); }
    if (tab("Fine-tune & distill", "advice", ctx)) { advice_tab(s); ImGui::EndTabItem(); }
    ImGui::EndTabBar();
  }
  ImGui::EndChild();
  ImGui::End();
}

}  // namespace frugal::sim::gui
