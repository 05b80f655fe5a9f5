// frugal-sim presets: the model presets, one line each.
#include <iostream>
#include <memory>

#include <fmt/format.h>

#include "commands.hpp"
#include "frugal/sim/model_accountant.hpp"
#include "frugal/config/presets.hpp"
#include "frugal/sim/text_table.hpp"
#include "frugal/sim/format.hpp"

namespace frugal::sim::cli {

namespace {

class PresetsCommand : public Command {
 public:
  explicit PresetsCommand(CLI::App& parent) {
    app_ = parent.add_subcommand("presets", "list the model presets");
  }
  CLI::App* app() const override { return app_; }
  int run() override {
    TextTable t({"preset", "total", "activated", "description"});
    t.set_left_aligned({3});
    for (const Preset& p : model_presets()) {
      const ModelAccount a = account_model(preset_model(p.name));
      t.add_row({p.name, format_count(a.total_params), format_count(a.active_params), p.description});
    }
    std::cout << t.render("");
    return 0;
  }

 private:
  CLI::App* app_ = nullptr;
};

}  // namespace

std::unique_ptr<Command> make_presets_command(CLI::App& parent) { return std::make_unique<PresetsCommand>(parent); }

}  // namespace frugal::sim::cli
