#include "chart_draw.hpp"

#include <algorithm>
#include <cmath>
#include <limits>
#include <string>

#include <fmt/format.h>

namespace frugal::sim::gui {

namespace {

// Okabe & Ito's colour-blind-safe palette (Color Universal Design, 2002), then a grey.
const ImU32 kSeries[] = {IM_COL32(86, 180, 233, 255), IM_COL32(230, 159, 0, 255),  IM_COL32(0, 158, 115, 255),
                         IM_COL32(204, 121, 167, 255), IM_COL32(240, 228, 66, 255), IM_COL32(0, 114, 178, 255),
                         IM_COL32(213, 94, 0, 255),    IM_COL32(170, 170, 170, 255)};

float text_width(const std::string& s) { return ImGui::CalcTextSize(s.c_str()).x; }

// The plot's rectangle and the map from data to pixels.
struct Frame {
  ImVec2 min, max;
  ChartAxes axes;
  float x(double v) const { return min.x + static_cast<float>(axes.x.fraction(v)) * (max.x - min.x); }
  float y(double v) const { return max.y - static_cast<float>(axes.y.fraction(v)) * (max.y - min.y); }
  bool contains(ImVec2 p) const { return p.x >= min.x && p.x <= max.x && p.y >= min.y && p.y <= max.y; }
};

// Words of `label` in lines no wider than `width` (a word wider than that gets a line of its own).
std::vector<std::string> wrap(const std::string& label, float width) {
  std::vector<std::string> lines;
  std::string line, word;
  auto flush_word = [&] {
    if (word.empty()) return;
    const std::string joined = line.empty() ? word : line + " " + word;
    if (!line.empty() && text_width(joined) > width) {
      lines.push_back(line);
      line = word;
    } else {
      line = joined;
    }
    word.clear();
  };
  for (char ch : label) {
    if (ch == ' ') flush_word();
    else word += ch;
  }
  flush_word();
  if (!line.empty()) lines.push_back(line);
  return lines;
}

// The legend's entries laid out in rows across `width` after the y label.
struct LegendItem {
  std::string name;
  ImU32 colour;
  ImVec2 at;  // relative to the chart's origin
};

std::vector<LegendItem> legend_layout(const Chart& c, const Palette& p, float start, float width, float row_height, int& rows) {
  std::vector<LegendItem> items;
  for (const Series& s : c.series)
    if (!s.name.empty() && (c.series.size() > 1 || c.identity)) items.push_back({s.name, p.series(s.colour), {}});
  if (c.identity) {
    std::string bands = "y = x";
    for (double b : c.identity_bands) bands += fmt::format(", +-{:.0f}%", 100 * b);
    items.push_back({bands, p.band | 0xFF000000, {}});
  }
  const float swatch = ImGui::GetFontSize();
  float x = start;
  rows = items.empty() ? 0 : 1;
  for (LegendItem& item : items) {
    const float w = swatch + text_width(item.name) + 14;
    if (x + w > width && x > start) {
      x = start;
      ++rows;
    }
    item.at = {x, static_cast<float>(rows - 1) * row_height};
    x += w;
  }
  return items;
}

// Title; y label (above the plot: Dear ImGui cannot rotate text) with the legend beside it;
// ticks, grid, category labels wrapped to their slots, and the x label.
Frame draw_axes(const Chart& c, const ChartAxes& axes, ImVec2 origin, ImVec2 size, const Palette& p) {
  ImDrawList* d = ImGui::GetWindowDrawList();
  const float font = ImGui::GetFontSize(), row = font + 2;
  float label_width = 0;
  for (const std::string& l : axes.y.labels) label_width = std::max(label_width, text_width(l));
  int legend_rows = 0;
  const auto legend = legend_layout(c, p, text_width(c.y_label) + 24, size.x - 8, row, legend_rows);
  // Category labels may wrap to two lines, or more: the plot gives them the room they take.
  const float slot = c.categories.empty() ? 0 : (size.x - label_width - 20) / static_cast<float>(c.categories.size());
  std::vector<std::vector<std::string>> category_lines;
  std::size_t x_label_lines = 1;
  for (const std::string& l : axes.x.labels) {
    category_lines.push_back(c.categories.empty() ? std::vector<std::string>{l} : wrap(l, slot - 6));
    x_label_lines = std::max(x_label_lines, category_lines.back().size());
  }
  Frame f;
  f.axes = axes;
  f.min = {origin.x + label_width + 10, origin.y + font + 6 + static_cast<float>(std::max(1, legend_rows)) * row + 4};
  f.max = {origin.x + size.x - 10, origin.y + size.y - static_cast<float>(x_label_lines + 1) * row - 8};
  d->AddRectFilled(origin, {origin.x + size.x, origin.y + size.y}, p.background);
  d->AddText({origin.x + 4, origin.y + 2}, p.text, c.title.c_str());
  d->AddText({origin.x + 4, origin.y + font + 4}, p.dim, c.y_label.c_str());
  for (const LegendItem& item : legend) {
    const ImVec2 at{origin.x + item.at.x, origin.y + font + 4 + item.at.y};
    d->AddRectFilled({at.x, at.y + 3}, {at.x + font - 6, at.y + font - 3}, item.colour);
    d->AddText({at.x + font, at.y}, p.text, item.name.c_str());
  }
  for (std::size_t i = 0; i < axes.y.ticks.size(); ++i) {
    const float y = f.y(axes.y.ticks[i]);
    d->AddLine({f.min.x, y}, {f.max.x, y}, p.grid);
    const std::string& l = axes.y.labels[i];
    d->AddText({f.min.x - 6 - text_width(l), y - font / 2}, p.text, l.c_str());
  }
  float last_label_end = -std::numeric_limits<float>::infinity();
  for (std::size_t i = 0; i < axes.x.ticks.size(); ++i) {
    const float x = f.x(axes.x.ticks[i]);
    d->AddLine({x, f.min.y}, {x, f.max.y}, p.grid);
    float widest = 0;
    for (const std::string& l : category_lines[i]) widest = std::max(widest, text_width(l));
    if (x - widest / 2 < last_label_end + 6) continue;  // no overlapping numbers: skip this tick's
    for (std::size_t k = 0; k < category_lines[i].size(); ++k) {
      const std::string& l = category_lines[i][k];
      d->AddText({x - text_width(l) / 2, f.max.y + 4 + static_cast<float>(k) * row}, p.text, l.c_str());
    }
    last_label_end = x + widest / 2;
  }
  d->AddRect(f.min, f.max, p.frame);
  const float xw = text_width(c.x_label);
  d->AddText({0.5f * (f.min.x + f.max.x) - xw / 2, f.max.y + 6 + static_cast<float>(x_label_lines) * row}, p.dim,
             c.x_label.c_str());
  return f;
}

void draw_cross(ImDrawList* d, ImVec2 c, float r, ImU32 colour) {
  d->AddLine({c.x - r, c.y - r}, {c.x + r, c.y + r}, colour, 2);
  d->AddLine({c.x - r, c.y + r}, {c.x + r, c.y - r}, colour, 2);
}

std::string point_text(const Chart& c, const Series& s, std::size_t i) {
  if (i < s.hover.size() && !s.hover[i].empty()) return s.hover[i];
  const std::string x = c.categories.empty() ? format_si(s.x[i]) : c.categories[static_cast<std::size_t>(s.x[i])];
  return fmt::format("{}\n{}: {}\n{}: {}", s.name, c.x_label, x, c.y_label, format_si(s.y[i]));
}

bool invalid_point(const Series& s, std::size_t i) { return i < s.invalid.size() && !s.invalid[i].empty(); }

}  // namespace

ImU32 Palette::series(int i) const {
  const int n = static_cast<int>(std::size(kSeries));
  return kSeries[((i % n) + n) % n];
}

Palette palette(bool high_contrast) {
  //                      background, frame, grid, text, dim, invalid, y = x band, reference lines
  static const Palette normal{false, IM_COL32(24, 24, 30, 255), IM_COL32(140, 140, 150, 255), IM_COL32(55, 55, 65, 255),
                              IM_COL32(220, 220, 225, 255), IM_COL32(165, 165, 175, 255), IM_COL32(255, 90, 90, 255),
                              IM_COL32(140, 160, 200, 40), IM_COL32(255, 110, 110, 255)};
  // White on black with a strong grid: legible on a washed-out projector.
  static const Palette projector{true, IM_COL32(0, 0, 0, 255), IM_COL32(255, 255, 255, 255), IM_COL32(110, 110, 110, 255),
                                 IM_COL32(255, 255, 255, 255), IM_COL32(230, 230, 230, 255), IM_COL32(255, 60, 60, 255),
                                 IM_COL32(255, 255, 255, 50), IM_COL32(255, 80, 80, 255)};
  return high_contrast ? projector : normal;
}

void draw_chart(const Chart& c, float height, const Palette& p, std::vector<nlohmann::json>& drawn) {
  const ChartAxes axes = chart_axes(c);
  drawn.push_back(chart_json(c, axes));
  const ImVec2 origin = ImGui::GetCursorScreenPos();
  const ImVec2 size{std::max(120.0f, ImGui::GetContentRegionAvail().x), height};
  ImGui::InvisibleButton(("##chart " + c.title).c_str(), size);
  const bool hovered = ImGui::IsItemHovered();
  const ImVec2 mouse = ImGui::GetIO().MousePos;
  ImDrawList* d = ImGui::GetWindowDrawList();
  d->PushClipRect(origin, {origin.x + size.x, origin.y + size.y}, true);  // a long title stays in its chart
  const Frame f = draw_axes(c, axes, origin, size, p);
  const float thickness = p.high_contrast ? 3.0f : 2.0f, marker = p.high_contrast ? 4.5f : 3.5f;

  d->PushClipRect(f.min, f.max, true);
  if (c.identity) {  // bands around y = x, widest first, then the line itself
    const double lo = axes.x.lo, hi = axes.x.hi;
    std::vector<double> bands = c.identity_bands;
    std::sort(bands.rbegin(), bands.rend());
    for (double b : bands)
      d->AddQuadFilled({f.x(lo), f.y(lo * (1 - b))}, {f.x(hi), f.y(hi * (1 - b))}, {f.x(hi), f.y(hi * (1 + b))},
                       {f.x(lo), f.y(lo * (1 + b))}, p.band);
    d->AddLine({f.x(lo), f.y(lo)}, {f.x(hi), f.y(hi)}, p.dim, 1.5f);
  }
  int bar_series = 0, bar_index = 0;
  for (const Series& s : c.series) bar_series += s.kind == SeriesKind::bars;
  std::vector<double> stack(c.categories.size(), 0.0);
  const double base = axes.y.log ? axes.y.lo : std::max(axes.y.lo, 0.0);
  std::string hover_text;
  float best = 12.0f;  // pixels: the nearest point within this distance is read out
  for (const Series& s : c.series) {
    const ImU32 colour = p.series(s.colour);
    std::vector<ImVec2> line;
    for (std::size_t i = 0; i < s.x.size() && i < s.y.size(); ++i) {
      if (invalid_point(s, i)) {
        const ImVec2 at{f.x(s.x[i]), f.max.y - 8};
        draw_cross(d, at, 5, p.invalid);
        const float dist = std::hypot(mouse.x - at.x, mouse.y - at.y);
        if (hovered && dist < best) best = dist, hover_text = fmt::format("{} = {}: {}", c.x_label, format_si(s.x[i]), s.invalid[i]);
        continue;
      }
      if (s.kind == SeriesKind::bars || s.kind == SeriesKind::stacked_bars) {
        const double slot = s.kind == SeriesKind::bars ? 0.8 / std::max(1, bar_series) : 0.6;
        const double left = s.kind == SeriesKind::bars ? s.x[i] - 0.4 + slot * bar_index : s.x[i] - 0.3;
        double from = base, to = s.y[i];
        if (s.kind == SeriesKind::stacked_bars && s.x[i] >= 0 && static_cast<std::size_t>(s.x[i]) < stack.size()) {
          double& top = stack[static_cast<std::size_t>(s.x[i])];
          from = top;
          to = top += s.y[i];
        }
        const ImVec2 a{f.x(left), f.y(to)}, b{f.x(left + slot), f.y(from)};
        d->AddRectFilled(a, b, colour);
        if (hovered && mouse.x >= a.x && mouse.x <= b.x && mouse.y >= a.y && mouse.y <= b.y) best = 0, hover_text = point_text(c, s, i);
        continue;
      }
      const ImVec2 at{f.x(s.x[i]), f.y(s.y[i])};
      if (s.kind == SeriesKind::line) line.push_back(at);
      d->AddCircleFilled(at, marker, colour);
      const float dist = std::hypot(mouse.x - at.x, mouse.y - at.y);
      if (hovered && dist < best) best = dist, hover_text = point_text(c, s, i);
    }
    if (line.size() > 1) d->AddPolyline(line.data(), static_cast<int>(line.size()), colour, 0, thickness);
    bar_index += s.kind == SeriesKind::bars;
  }
  for (const ReferenceLine& l : c.lines) {
    const float font = ImGui::GetFontSize();
    if (l.horizontal) {
      const float y = f.y(l.value);
      d->AddLine({f.min.x, y}, {f.max.x, y}, p.reference, thickness);
      const float above = y - font - 2;  // the label above its line, or below when that is off the plot
      const ImVec2 at{f.max.x - text_width(l.label) - 6, above < f.min.y ? y + 3 : above};
      d->AddRectFilled({at.x - 3, at.y}, {f.max.x - 3, at.y + font}, (p.background & 0x00FFFFFF) | 0xC0000000);
      d->AddText(at, p.reference, l.label.c_str());
    } else {
      const float x = f.x(l.value);
      d->AddLine({x, f.min.y}, {x, f.max.y}, p.reference, thickness);
      d->AddText({x + 4, f.min.y + 2}, p.reference, l.label.c_str());
    }
  }
  d->PopClipRect();
  d->PopClipRect();
  if (hovered && !hover_text.empty()) ImGui::SetTooltip("%s", hover_text.c_str());
}

void draw_heat_map(const HeatMap& h, float height, const Palette& p, std::vector<nlohmann::json>& drawn) {
  drawn.push_back(heat_map_json(h));
  const std::size_t nx = h.x_values.size(), ny = h.y_values.size();
  const ImVec2 origin = ImGui::GetCursorScreenPos();
  const ImVec2 size{std::max(160.0f, ImGui::GetContentRegionAvail().x), height};
  ImGui::InvisibleButton(("##heat " + h.title).c_str(), size);
  if (nx == 0 || ny == 0) return;
  const bool hovered = ImGui::IsItemHovered();
  const ImVec2 mouse = ImGui::GetIO().MousePos;
  ImDrawList* d = ImGui::GetWindowDrawList();
  d->PushClipRect(origin, {origin.x + size.x, origin.y + size.y}, true);
  const float font = ImGui::GetFontSize();
  double lo = std::numeric_limits<double>::infinity(), hi = -lo;
  for (double v : h.cells)
    if (std::isfinite(v)) lo = std::min(lo, v), hi = std::max(hi, v);
  float label_width = 0;
  for (const std::string& l : h.y_values) label_width = std::max(label_width, text_width(l));
  const float scale_width = 20 + text_width("00.0M") + 12;
  const ImVec2 min{origin.x + label_width + 10, origin.y + 2 * font + 8};
  const ImVec2 max{origin.x + size.x - scale_width - 10, origin.y + size.y - 2 * font - 10};
  d->AddRectFilled(origin, {origin.x + size.x, origin.y + size.y}, p.background);
  d->AddText({origin.x + 4, origin.y + 2}, p.text, h.title.c_str());
  d->AddText({origin.x + 4, origin.y + font + 4}, p.dim, h.y_label.c_str());
  const float cw = (max.x - min.x) / static_cast<float>(nx), ch = (max.y - min.y) / static_cast<float>(ny);
  std::string hover_text;
  for (std::size_t yi = 0; yi < ny; ++yi)
    for (std::size_t xi = 0; xi < nx; ++xi) {
      const std::size_t k = yi * nx + xi;
      const double v = k < h.cells.size() ? h.cells[k] : std::nan("");
      // The first y value at the bottom, as on a chart's y axis.
      const ImVec2 a{min.x + cw * static_cast<float>(xi), max.y - ch * static_cast<float>(yi + 1)};
      const ImVec2 b{a.x + cw, a.y + ch};
      std::string cell;
      if (std::isfinite(v)) {
        const Rgb c = colour_scale(hi > lo ? (v - lo) / (hi - lo) : 0.5);
        d->AddRectFilled(a, b, IM_COL32(c.r, c.g, c.b, 255));
        cell = format_si(v);
        const ImU32 ink = c.g > 150 ? IM_COL32(0, 0, 0, 255) : IM_COL32(255, 255, 255, 255);
        if (text_width(cell) + 6 < cw) d->AddText({0.5f * (a.x + b.x) - text_width(cell) / 2, 0.5f * (a.y + b.y) - font / 2}, ink, cell.c_str());
      } else {
        d->AddRectFilled(a, b, p.grid);
        draw_cross(d, {0.5f * (a.x + b.x), 0.5f * (a.y + b.y)}, std::min(cw, ch) / 5, p.invalid);
        cell = k < h.reasons.size() ? h.reasons[k] : "invalid";
      }
      d->AddRect(a, b, p.background);
      if (hovered && mouse.x >= a.x && mouse.x < b.x && mouse.y >= a.y && mouse.y < b.y)
        hover_text = fmt::format("{} = {}, {} = {}\n{}: {}", h.x_label, h.x_values[xi], h.y_label, h.y_values[yi], h.value_label, cell);
    }
  for (std::size_t xi = 0; xi < nx; ++xi) {
    const float w = text_width(h.x_values[xi]);
    d->AddText({min.x + cw * (static_cast<float>(xi) + 0.5f) - w / 2, max.y + 4}, p.text, h.x_values[xi].c_str());
  }
  for (std::size_t yi = 0; yi < ny; ++yi)
    d->AddText({min.x - 6 - text_width(h.y_values[yi]), max.y - ch * (static_cast<float>(yi) + 0.5f) - font / 2}, p.text,
               h.y_values[yi].c_str());
  d->AddText({0.5f * (min.x + max.x) - text_width(h.x_label) / 2, max.y + font + 8}, p.dim, h.x_label.c_str());
  // The colour scale: low at the bottom, high at the top, labelled at both ends.
  const float sx = max.x + 14;
  constexpr int kSteps = 32;
  for (int i = 0; i < kSteps; ++i) {
    const Rgb c = colour_scale((i + 0.5) / kSteps);
    const float y1 = max.y - (max.y - min.y) * static_cast<float>(i) / kSteps, y0 = max.y - (max.y - min.y) * static_cast<float>(i + 1) / kSteps;
    d->AddRectFilled({sx, y0}, {sx + 14, y1}, IM_COL32(c.r, c.g, c.b, 255));
  }
  if (std::isfinite(lo)) {
    d->AddText({sx + 18, min.y - 2}, p.text, format_si(hi).c_str());
    d->AddText({sx + 18, max.y - font}, p.text, format_si(lo).c_str());
  }
  d->AddText({sx - 4, origin.y + font + 4}, p.dim, h.value_label.c_str());
  d->PopClipRect();
  if (hovered && !hover_text.empty()) ImGui::SetTooltip("%s", hover_text.c_str());
}

}  // namespace frugal::sim::gui
