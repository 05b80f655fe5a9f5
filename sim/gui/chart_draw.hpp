// Draws chart.hpp's charts with Dear ImGui draw lists (ImPlot is not packaged in Debian): frame,
// grid at the ticks, tick labels, axis labels with units, series as lines, markers or bars,
// invalid points as red crosses, reference lines, bands around y = x, a legend and a hover
// read-out. Each chart drawn is appended, as chart_json(), to `drawn` (frugal-gui --state-json).
#pragma once

#include <vector>

#include <imgui.h>
#include <nlohmann/json.hpp>

#include "chart.hpp"

namespace frugal::sim::gui {

// Colours for one look: the default, or high contrast for projectors.
struct Palette {
  bool high_contrast = false;
  ImU32 background = 0, frame = 0, grid = 0, text = 0, dim = 0, invalid = 0, band = 0, reference = 0;
  ImU32 series(int i) const;
};
Palette palette(bool high_contrast);

// A chart `height` pixels high across the available width.
void draw_chart(const Chart& c, float height, const Palette& p, std::vector<nlohmann::json>& drawn);
// A heat map with its colour scale; invalid cells hatched, the reason on hover.
void draw_heat_map(const HeatMap& h, float height, const Palette& p, std::vector<nlohmann::json>& drawn);

}  // namespace frugal::sim::gui
