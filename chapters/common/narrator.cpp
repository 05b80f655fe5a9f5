// The chapters' narrator (narrator.hpp).
#include "narrator.hpp"

#include <unistd.h>

#include <cstdlib>
#include <iostream>
#include <sstream>

#include <CLI/CLI.hpp>
#include <fmt/format.h>

namespace frugal::chapters {

ChapterOptions parse_chapter_flags(int argc, char** argv, const std::string& title, const ExtraFlags& extra) {
  CLI::App app{title};
  bool no_pause = false, quick = false;
  app.add_flag("--no-pause", no_pause, "do not wait for Enter between steps");
  app.add_flag("--quick", quick, "short training runs: the whole chapter in seconds");
  if (extra) extra(app);
  try {
    app.parse(argc, argv);
  } catch (const CLI::CallForHelp& e) {
    std::exit(app.exit(e));
  } catch (const CLI::ParseError& e) {
    fmt::print(stderr, "{}: error: {}\n", argv[0], e.what());
    std::exit(2);
  }
  return ChapterOptions{!no_pause, quick};
}

Narrator::Narrator(std::ostream& out, std::istream& in, const ChapterOptions& options, bool interactive)
    : out_(out), in_(in), pause_(options.pause && interactive) {}

void Narrator::title(const std::string& title, const std::string& goal) {
  out_ << "\n" << title << "\n" << std::string(title.size() > 80 ? 80 : title.size(), '=') << "\n";
  say(goal);
}

void Narrator::step(const std::string& heading) {
  if (pause_ && steps_ > 0) {
    out_ << "\n[Enter to continue] " << std::flush;
    std::string line;
    std::getline(in_, line);
  }
  ++steps_;
  out_ << "\n" << steps_ << ". " << heading << "\n";
}

void Narrator::say(const std::string& text) {
  std::istringstream words(text);
  std::string word, line;
  while (words >> word) {
    if (!line.empty() && line.size() + 1 + word.size() > 96) {
      out_ << line << "\n";
      line.clear();
    }
    line += (line.empty() ? "" : " ") + word;
  }
  if (!line.empty()) out_ << line << "\n";
}

void Narrator::show(const std::string& block) {
  out_ << block;
  if (!block.empty() && block.back() != '\n') out_ << "\n";
}

void Narrator::exercises(const std::vector<std::string>& items) {
  out_ << "\nExercises\n";
  for (std::size_t i = 0; i < items.size(); ++i) {
    std::ostringstream one;
    Narrator wrap(one, in_, ChapterOptions{false, false}, false);
    wrap.say(items[i]);
    std::string text = one.str(), indented;
    std::istringstream lines(text);
    bool first = true;
    for (std::string l; std::getline(lines, l); first = false) indented += (first ? fmt::format("  {}. ", i + 1) : "     ") + l + "\n";
    out_ << indented;
  }
}

Narrator console_narrator(const ChapterOptions& options) { return Narrator(std::cout, std::cin, options, isatty(STDIN_FILENO) != 0); }

}  // namespace frugal::chapters
