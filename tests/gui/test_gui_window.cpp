// frugal-gui in a real window under Xvfb: a screenshot of every tab shows content and the same
// cost as frugal-sim; a scripted drag of the price slider changes the cost as the library says.
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

}  // namespace
