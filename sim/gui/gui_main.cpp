// frugal-gui: the interactive cost simulator. Interactive by default; headless with --screenshot:
//   xvfb-run -a frugal-gui --screenshot out.png [--preset NAME | --config F] [--tab NAME] [--frames N]
//            [--state-json FILE] [--drag-price FRACTION] [--sweep INPUT [--sweep-2 INPUT]]
//            [--font-scale S] [--high-contrast]
// --state-json writes the numbers the window shows and every chart drawn (for tests);
// --drag-price moves the price slider with scripted mouse input to that fraction of its width.
// Ctrl + and Ctrl - change the text size, for a projector.
#include <algorithm>
#include <cstdio>
#include <fstream>
#include <string>
#include <vector>

#include <GLFW/glfw3.h>
#include <imgui.h>
#include <backends/imgui_impl_glfw.h>
#include <backends/imgui_impl_opengl3.h>
#include <stb_image_write.h>
#include <CLI/CLI.hpp>
#include <fmt/format.h>

#include "gui_draw.hpp"
#include "gui_state.hpp"

namespace {

constexpr int kNoDisplay = 77;  // ctest's skip code: tests skip without a display

bool write_png(const std::string& file, int width, int height) {
  std::vector<unsigned char> pixels(static_cast<std::size_t>(width) * static_cast<std::size_t>(height) * 3);
  glPixelStorei(GL_PACK_ALIGNMENT, 1);
  glReadBuffer(GL_BACK);
  glReadPixels(0, 0, width, height, GL_RGB, GL_UNSIGNED_BYTE, pixels.data());
  stbi_flip_vertically_on_write(1);
  return stbi_write_png(file.c_str(), width, height, 3, pixels.data(), width * 3) != 0;
}

nlohmann::json state_json(const frugal::sim::gui::GuiState& s, const frugal::sim::gui::DrawContext& ctx, const std::string& tab) {
  nlohmann::json j = {{"tab", tab}, {"preset", s.inputs.preset}, {"price", s.inputs.price}, {"error", s.error},
                      {"font_scale", ctx.font_scale}, {"high_contrast", ctx.high_contrast}, {"charts", ctx.charts}};
  if (s.estimate) {
    j["gpu_hours"] = s.estimate->gpu_hours;
    j["cost_usd"] = s.estimate->cost_usd;
    j["mfu_bf16"] = s.estimate->mfu_bf16;
  }
  j["validation_rows"] = s.validation.size();
  j["serving_points"] = s.serving_by_load.size();
  if (s.finetune) j["finetune_fits"] = s.finetune->fits;
  if (s.distillation) j["distillation_cost_usd"] = s.distillation->total_cost_usd;
  return j;
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"frugal-gui: the interactive cost simulator (Dear ImGui + GLFW)"};
  std::string screenshot, preset = "deepseek-v3", config, tab = "training", state_file;
  int frames = 4;
  double drag_price = -1;
  std::string sweep_input = "GPU count", sweep_input_2;
  float font_scale = 1.0f;
  bool high_contrast = false;
  app.add_option("--screenshot", screenshot, "render headless and write this PNG, then exit");
  app.add_option("--preset", preset, "model preset to open")->capture_default_str();
  app.add_option("--config", config, "config file to open (the JSON frugal-sim reads)");
  app.add_option("--tab", tab, "tab to show")->check(CLI::IsMember({"training", "sweep", "validation", "serving", "advice"}))->capture_default_str();
  app.add_option("--frames", frames, "frames to render before the screenshot")->check(CLI::Range(2, 1000))->capture_default_str();
  app.add_option("--state-json", state_file, "write the numbers the window shows to this file");
  app.add_option("--drag-price", drag_price, "scripted input: drag the price slider to this fraction of its width")
      ->check(CLI::Range(0.0, 1.0));
  app.add_option("--sweep", sweep_input, "the sweep tab's input")->check(CLI::IsMember(frugal::sim::gui::sweep_axes()))->capture_default_str();
  app.add_option("--sweep-2", sweep_input_2, "a second sweep input: a heat map over both")->check(CLI::IsMember(frugal::sim::gui::sweep_axes()));
  app.add_option("--font-scale", font_scale, "text size (Ctrl + and Ctrl - in the window)")->check(CLI::Range(0.75, 2.5))->capture_default_str();
  app.add_flag("--high-contrast", high_contrast, "white on black with strong colours, for a projector");
  try {
    app.parse(argc, argv);
  } catch (const CLI::CallForHelp& e) {
    return app.exit(e);
  } catch (const CLI::ParseError& e) {
    fmt::print(stderr, "frugal-gui: error: {} (see frugal-gui --help)\n", e.what());
    return 2;
  }

  frugal::sim::gui::GuiState state;
  try {
    if (!config.empty()) state.load_file(config);
    else if (preset != "deepseek-v3") state.load_preset(preset);
  } catch (const frugal::ConfigError& e) {
    fmt::print(stderr, "frugal-gui: error: {}\n", e.what());
    return 2;
  }
  const auto& axes = frugal::sim::gui::sweep_axes();
  state.inputs.sweep_axis = static_cast<int>(std::find(axes.begin(), axes.end(), sweep_input) - axes.begin());
  if (!sweep_input_2.empty())
    state.inputs.sweep_axis_2 = static_cast<int>(std::find(axes.begin(), axes.end(), sweep_input_2) - axes.begin());
  if (tab == "sweep") state.start_sweep();
  if (tab == "serving") state.plan_serving();  // as after pressing "Plan": its chart is in --state-json
  if (tab == "advice") {  // the screenshot shows both answers, as after pressing the two buttons
    state.price_finetune();
    state.price_distillation();
  }

  if (!glfwInit()) {
    fmt::print(stderr, "frugal-gui: no display (set DISPLAY, or run under xvfb-run -a)\n");
    return kNoDisplay;
  }
  const bool headless = !screenshot.empty();
  glfwWindowHint(GLFW_CONTEXT_VERSION_MAJOR, 3);
  glfwWindowHint(GLFW_CONTEXT_VERSION_MINOR, 3);
  glfwWindowHint(GLFW_OPENGL_PROFILE, GLFW_OPENGL_CORE_PROFILE);
  if (headless) glfwWindowHint(GLFW_VISIBLE, GLFW_FALSE);
  GLFWwindow* window = glfwCreateWindow(1280, 800, "FrugalLM cost simulator", nullptr, nullptr);
  if (!window) {
    fmt::print(stderr, "frugal-gui: cannot open an OpenGL 3.3 window\n");
    glfwTerminate();
    return kNoDisplay;
  }
  glfwMakeContextCurrent(window);
  glfwSwapInterval(headless ? 0 : 1);
  IMGUI_CHECKVERSION();
  ImGui::CreateContext();
  ImGui::GetIO().IniFilename = nullptr;
  ImGui::StyleColorsDark();
  ImGui_ImplGlfw_InitForOpenGL(window, true);
  ImGui_ImplOpenGL3_Init("#version 330 core");

  frugal::sim::gui::DrawContext ctx;
  ctx.font_scale = font_scale;
  ctx.high_contrast = high_contrast;
  int status = 0;
  for (int frame = 0; !glfwWindowShouldClose(window); ++frame) {
    glfwPollEvents();
    ImGui_ImplOpenGL3_NewFrame();
    ImGui_ImplGlfw_NewFrame();
    ImGuiIO& io = ImGui::GetIO();
    if (headless) {
      // The sweep runs in the background; the screenshot waits for it.
      if (tab == "sweep" && state.sweep_running() && frame == frames - 2) --frame;
      if (drag_price >= 0) {  // press at the slider's left end, drag, release
        const ImVec2 a = ctx.price_slider_min, b = ctx.price_slider_max;
        const float y = 0.5f * (a.y + b.y);
        if (frame == 1) io.MousePos = {a.x + 2, y};
        if (frame == 2) { io.MousePos = {a.x + 2, y}; io.MouseDown[0] = true; }
        if (frame == 3) { io.MousePos = {a.x + static_cast<float>(drag_price) * (b.x - a.x), y}; io.MouseDown[0] = true; }
        if (frame == 4) io.MouseDown[0] = false;
      }
    }
    ctx.select_tab = frame == 0 ? tab : "";
    ImGui::NewFrame();
    if (io.KeyCtrl && (ImGui::IsKeyPressed(GLFW_KEY_EQUAL) || ImGui::IsKeyPressed(GLFW_KEY_KP_ADD)))
      ctx.font_scale = std::min(2.5f, ctx.font_scale + 0.125f);
    if (io.KeyCtrl && (ImGui::IsKeyPressed(GLFW_KEY_MINUS) || ImGui::IsKeyPressed(GLFW_KEY_KP_SUBTRACT)))
      ctx.font_scale = std::max(0.75f, ctx.font_scale - 0.125f);
    frugal::sim::gui::draw(state, ctx);
    ImGui::Render();
    int width = 0, height = 0;
    glfwGetFramebufferSize(window, &width, &height);
    glViewport(0, 0, width, height);
    glClearColor(0.1f, 0.1f, 0.12f, 1.0f);
    glClear(GL_COLOR_BUFFER_BIT);
    ImGui_ImplOpenGL3_RenderDrawData(ImGui::GetDrawData());
    const int last = drag_price >= 0 ? std::max(frames, 7) : frames;
    if (headless && frame >= last - 1) {
      if (!write_png(screenshot, width, height)) {
        fmt::print(stderr, "frugal-gui: cannot write {}\n", screenshot);
        status = 2;
      }
      break;
    }
    glfwSwapBuffers(window);
  }
  if (!state_file.empty()) std::ofstream(state_file) << state_json(state, ctx, tab).dump(2) << "\n";
  ImGui_ImplOpenGL3_Shutdown();
  ImGui_ImplGlfw_Shutdown();
  ImGui::DestroyContext();
  glfwDestroyWindow(window);
  glfwTerminate();
  return status;
}
