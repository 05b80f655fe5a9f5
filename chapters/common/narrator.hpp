// What every chapter program shares: its flags and a narrator that prints a walk step by step.
//   chapter-NN [--no-pause] [--quick] [the chapter's own flags]
// Interactive (stdin a terminal, no --no-pause): the narrator waits for Enter before each step
// after the first. --quick shrinks the training runs so the chapter finishes in seconds (the
// tests use it). Every number a chapter prints comes from a core/ or sim/ call — the narrator
// only formats.
#pragma once

#include <functional>
#include <iosfwd>
#include <string>
#include <vector>

namespace CLI {
class App;
}

namespace frugal::chapters {

struct ChapterOptions {
  bool pause = true;
  bool quick = false;
};

// A chapter's own flags, added to the common ones (e.g. chapter 12's --config FILE).
using ExtraFlags = std::function<void(CLI::App&)>;

// Parses the flags; prints --help or a bad flag's one-line error and exits (status 0 or 2).
ChapterOptions parse_chapter_flags(int argc, char** argv, const std::string& title, const ExtraFlags& extra = {});

class Narrator {
 public:
  Narrator(std::ostream& out, std::istream& in, const ChapterOptions& options, bool interactive);

  // "Chapter 2 · MoE routing" and what the reader will be able to do at the end.
  void title(const std::string& title, const std::string& goal);
  // A numbered step: waits for Enter first (interactive, from the second step on), then a heading.
  void step(const std::string& heading);
  // A paragraph, wrapped at 96 columns.
  void say(const std::string& text);
  // Preformatted lines (tables, bit patterns), printed as they are.
  void show(const std::string& block);
  void exercises(const std::vector<std::string>& items);

 private:
  std::ostream& out_;
  std::istream& in_;
  bool pause_;
  int steps_ = 0;
};

// A narrator on stdout/stdin that pauses only when stdin is a terminal and --no-pause is absent.
Narrator console_narrator(const ChapterOptions& options);

}  // namespace frugal::chapters
