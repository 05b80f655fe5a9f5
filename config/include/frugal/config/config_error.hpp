// ConfigError: a refused configuration, naming the field path (or the JSON line) and the reason.
// Programs print what() as one line and exit with status 2 (docs/ARCHITECTURE.md, "Errors and bad input").
#pragma once

#include <stdexcept>
#include <string>

namespace frugal {

class ConfigError : public std::runtime_error {
 public:
  ConfigError(std::string path, const std::string& reason)
      : std::runtime_error(path.empty() ? reason : path + ": " + reason), path_(std::move(path)) {}
  const std::string& path() const { return path_; }

 private:
  std::string path_;
};

}  // namespace frugal
