// The frugal-gui window as a function of its state (Dear ImGui immediate mode).
#pragma once

#include <string>
#include <vector>

#include <imgui.h>
#include <nlohmann/json.hpp>

#include "gui_state.hpp"

namespace frugal::sim::gui {

struct DrawContext {
  std::string select_tab;      // a tab to bring forward this frame ("training", "sweep", "validation", "serving")
  ImVec2 price_slider_min{0, 0}, price_slider_max{0, 0};  // where the price slider was drawn (scripted input)
  std::string status;          // the last message of a button (saved, copied, errors)
  // Presenting: a projector wants big text and strong contrast (Ctrl + / Ctrl - change the scale).
  float font_scale = 1.0f;
  bool high_contrast = false;
  std::vector<nlohmann::json> charts;  // every chart drawn this frame, as chart_json() (--state-json)
};

void draw(GuiState& state, DrawContext& ctx);

}  // namespace frugal::sim::gui
