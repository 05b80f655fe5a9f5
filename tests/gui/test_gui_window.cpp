// frugal-gui in a real window under Xvfb: a screenshot of every tab shows content and the same
// cost as frugal-sim; a scripted drag of the price slider changes the cost as the library says;
// the charts each tab draws (--state-json "charts") show what frugal-sim computes.
#include <gtest/gtest.h>
#include <sys/wait.h>

#include <cstdlib>
#include <fstream>
#include <sstream>
#include <string>

#include <nlohmann/json.hpp>
#include <stb_image.h>

namespace {

std::string temp(const std::string& name) { return ::testing::TempDir() + "/frugal_gui_" + name; }

int run(const std::string& command) {
  const int rc = std::system(command.c_str());
  return WIFEXITED(rc) ? WEXITSTATUS(rc) : -1;
}

nlohmann::json read_json(const std::string& file) {
  std::ifstream in(file);
  return nlohmann::json::parse(in);
}

// Runs frugal-gui headless; skips the test when no X server can be started here.
int gui(const std::string& args) {
  if (run("command -v xvfb-run >/dev/null 2>&1") != 0) return -77;
  return run("xvfb-run -a -s '-screen 0 1280x800x24' " + std::string(FRUGAL_GUI_EXE) + " " + args + " 2>" + temp("stderr"));
}

// The image has real content: many distinct colours, not one flat fill.
void expect_not_blank(const std::string& png) {
  int w = 0, h = 0, n = 0;
  unsigned char* pixels = stbi_load(png.c_str(), &w, &h, &n, 3);
  ASSERT_NE(pixels, nullptr) << png;
  EXPECT_EQ(w, 1280);
  EXPECT_EQ(h, 800);
  long bright = 0;
  for (int i = 0; i < w * h; ++i)
    if (pixels[3 * i] > 150 && pixels[3 * i + 1] > 150 && pixels[3 * i + 2] > 150) ++bright;  // text
  stbi_image_free(pixels);
  EXPECT_GT(bright, 2000) << png;
}

class GuiTab : public ::testing::TestWithParam<const char*> {};

TEST_P(GuiTab, ScreenshotShowsTheCliCost) {
  const std::string tab = GetParam();
  const std::string png = temp(tab + ".png"), state = temp(tab + ".json");
  const int rc = gui("--screenshot " + png + " --tab " + tab + " --state-json " + state);
  if (rc == -77 || rc == 77) GTEST_SKIP() << "no display: xvfb-run or an X server is not available";
  ASSERT_EQ(rc, 0);
  expect_not_blank(png);
  const nlohmann::json shown = read_json(state);
  ASSERT_EQ(run(std::string(FRUGAL_SIM_EXE) + " train --no-baselines --format json > " + temp("cli.json")), 0);
  const nlohmann::json cli = read_json(temp("cli.json"));
  EXPECT_NEAR(shown["gpu_hours"].get<double>() / cli["gpu_hours"].get<double>(), 1.0, 1e-12);
  EXPECT_NEAR(shown["cost_usd"].get<double>() / cli["cost_usd"].get<double>(), 1.0, 1e-12);
}

INSTANTIATE_TEST_SUITE_P(EveryTab, GuiTab, ::testing::Values("training", "sweep", "validation", "serving", "advice"));

TEST(GuiInput, DraggingThePriceSliderChangesTheCost) {
  const std::string state = temp("drag.json");
  const int rc = gui("--screenshot " + temp("drag.png") + " --drag-price 0.8 --state-json " + state);
  if (rc == -77 || rc == 77) GTEST_SKIP() << "no display: xvfb-run or an X server is not available";
  ASSERT_EQ(rc, 0);
  const nlohmann::json shown = read_json(state);
  const double price = shown["price"].get<double>();
  EXPECT_GT(price, 6.0);  // 80% along a $0.50-$10 slider
  EXPECT_LT(price, 9.5);
  // The library: cost = GPU-hours x price, GPU-hours unchanged by the price.
  EXPECT_NEAR(shown["cost_usd"].get<double>(), shown["gpu_hours"].get<double>() * price, 1e-3 * shown["cost_usd"].get<double>());
}

// The charts a tab drew, read from --state-json; skips the test without a display.
nlohmann::json charts_of(const std::string& name, const std::string& args) {
  const std::string state = temp(name + ".json");
  const int rc = gui("--screenshot " + temp(name + ".png") + " " + args + " --state-json " + state);
  if (rc == -77 || rc == 77) return nullptr;
  EXPECT_EQ(rc, 0);
  return read_json(state)["charts"];
}

const nlohmann::json* chart_titled(const nlohmann::json& charts, const std::string& start) {
  for (const auto& c : charts)
    if (c["title"].get<std::string>().rfind(start, 0) == 0) return &c;
  return nullptr;
}

class GuiChartsOfTab : public ::testing::TestWithParam<const char*> {};

TEST_P(GuiChartsOfTab, AreLabelledWithTicksAndNeverQ) {
  const nlohmann::json charts = charts_of(std::string("labels_") + GetParam(), std::string("--tab ") + GetParam());
  if (charts.is_null()) GTEST_SKIP() << "no display: xvfb-run or an X server is not available";
  ASSERT_FALSE(charts.empty());
  for (const auto& c : charts) {
    EXPECT_FALSE(c["title"].get<std::string>().empty());
    EXPECT_FALSE(c["x_label"].get<std::string>().empty()) << c["title"];
    EXPECT_FALSE(c["y_label"].get<std::string>().empty()) << c["title"];
    EXPECT_GE(c["x_ticks"].size(), 2u) << c["title"];
    EXPECT_GE(c["y_ticks"].size(), 2u) << c["title"];
    for (const auto& t : c["y_ticks"]) EXPECT_EQ(t.get<std::string>().find('Q'), std::string::npos) << c["title"];
    EXPECT_FALSE(c["series"].empty()) << c["title"];
  }
}

INSTANTIATE_TEST_SUITE_P(EveryChartTab, GuiChartsOfTab, ::testing::Values("training", "sweep", "validation", "serving"));

TEST(GuiCharts, StepTimeBarsStackToTheCliStepTime) {
  const nlohmann::json charts = charts_of("step", "--tab training");
  if (charts.is_null()) GTEST_SKIP() << "no display: xvfb-run or an X server is not available";
  const nlohmann::json* step = chart_titled(charts, "Step time per stage");
  ASSERT_NE(step, nullptr);
  ASSERT_EQ(run(std::string(FRUGAL_SIM_EXE) + " train --no-baselines --format json > " + temp("step_cli.json")), 0);
  const nlohmann::json cli = read_json(temp("step_cli.json"));
  ASSERT_EQ((*step)["x_ticks"].size(), cli["stages"].size());
  for (std::size_t i = 0; i < cli["stages"].size(); ++i) {
    double stacked = 0;  // compute + exposed communication + bubble + optimizer
    for (const auto& s : (*step)["series"]) stacked += s["points"][i][1].get<double>();
    EXPECT_EQ((*step)["x_ticks"][i], cli["stages"][i]["name"]);
    EXPECT_NEAR(stacked / cli["stages"][i]["step_time_s"].get<double>(), 1.0, 1e-9) << i;
  }
}

TEST(GuiCharts, ValidationPlotsEveryCorpusRowAsFrugalSimPredictsIt) {
  const nlohmann::json charts = charts_of("validation_points", "--tab validation");
  if (charts.is_null()) GTEST_SKIP() << "no display: xvfb-run or an X server is not available";
  const nlohmann::json* scatter = chart_titled(charts, "Predicted vs published");
  ASSERT_NE(scatter, nullptr);
  EXPECT_TRUE((*scatter)["x_log"].get<bool>());
  EXPECT_EQ((*scatter)["bands"], nlohmann::json::array({0.10, 0.25}));
  ASSERT_EQ(run(std::string(FRUGAL_SIM_EXE) + " validate --corpus --format json > " + temp("corpus.json")), 0);
  const nlohmann::json corpus = read_json(temp("corpus.json"));
  std::size_t plotted = 0, predicted = 0;
  for (const auto& s : (*scatter)["series"]) plotted += s["points"].size();
  for (const auto& row : corpus["rows"]) {
    if (!(row["predicted"].is_number() && row["predicted"].get<double>() > 0)) continue;
    ++predicted;
    bool found = false;  // the row's (published, predicted) in the series of its class
    for (const auto& s : (*scatter)["series"])
      if (s["name"] == row["class"])
        for (const auto& pt : s["points"])
          found |= pt[0].get<double>() == row["published"].get<double>() &&
                   std::abs(pt[1].get<double>() / row["predicted"].get<double>() - 1) < 1e-9;
    EXPECT_TRUE(found) << row["name"];
  }
  EXPECT_EQ(plotted, predicted);
}

TEST(GuiCharts, TwoSweepInputsDrawAHeatMapOfEveryPair) {
  const nlohmann::json charts = charts_of("heat", "--tab sweep --sweep \"routed experts\" --sweep-2 \"GPU count\"");
  if (charts.is_null()) GTEST_SKIP() << "no display: xvfb-run or an X server is not available";
  const nlohmann::json* heat = chart_titled(charts, "Training cost over routed experts and GPU count");
  ASSERT_NE(heat, nullptr);
  EXPECT_EQ((*heat)["x_ticks"], nlohmann::json::array({"256", "512", "1024", "2048", "4096", "8192", "16384"}));
  EXPECT_EQ((*heat)["y_ticks"], nlohmann::json::array({"16", "32", "64", "128", "256", "512"}));
  const auto& s = (*heat)["series"][0];
  const std::size_t invalid = s.contains("invalid") ? s["invalid"].size() : 0;
  EXPECT_EQ(s["points"].size() + invalid, 42u);  // 6 expert counts x 7 GPU counts
  EXPECT_GT(s["points"].size(), 0u);
}

// The projector mode: white on black, bigger text, as --state-json reports and the image shows.
TEST(GuiPresenting, HighContrastIsBlackAndTheTextScaleIsKept) {
  const std::string plain = temp("plain.png"), bold = temp("contrast.png"), state = temp("contrast.json");
  int rc = gui("--screenshot " + plain + " --tab serving");
  if (rc == -77 || rc == 77) GTEST_SKIP() << "no display: xvfb-run or an X server is not available";
  ASSERT_EQ(rc, 0);
  ASSERT_EQ(gui("--screenshot " + bold + " --tab serving --high-contrast --font-scale 1.5 --state-json " + state), 0);
  const nlohmann::json shown = read_json(state);
  EXPECT_TRUE(shown["high_contrast"].get<bool>());
  EXPECT_FLOAT_EQ(shown["font_scale"].get<float>(), 1.5f);
  auto black = [](const std::string& png) {
    int w = 0, h = 0, n = 0;
    unsigned char* px = stbi_load(png.c_str(), &w, &h, &n, 3);
    long count = 0;
    for (int i = 0; px && i < w * h; ++i) count += px[3 * i] == 0 && px[3 * i + 1] == 0 && px[3 * i + 2] == 0;
    stbi_image_free(px);
    return count;
  };
  EXPECT_GT(black(bold), 5 * black(plain) + 10000);
}

}  // namespace
