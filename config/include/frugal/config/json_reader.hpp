// JsonObjectReader: reads one JSON object field by field, keeping the path of each field so that
// every refusal names it ("model.moe.top_k: ..."), and refusing keys nobody asked for.
// Parsing itself is nlohmann-json's; this only checks types, ranges and unknown keys.
#pragma once

#include <cmath>
#include <cstdint>
#include <fstream>
#include <initializer_list>
#include <optional>
#include <set>
#include <sstream>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include <nlohmann/json.hpp>

#include "frugal/config/config_error.hpp"

namespace frugal {

class JsonObjectReader {
 public:
  JsonObjectReader(const nlohmann::json& object, std::string path) : j_(object), path_(std::move(path)) {
    if (!j_.is_object()) throw ConfigError(path_.empty() ? "(top level)" : path_, "must be a JSON object");
  }

  const std::string& path() const { return path_; }
  std::string path_of(std::string_view key) const {
    return path_.empty() ? std::string(key) : path_ + "." + std::string(key);
  }

  // A key counts as present only when it is there and not null (Hugging Face writes
  // "q_lora_rank": null for "none").
  bool has(std::string_view key) const {
    auto it = j_.find(std::string(key));
    return it != j_.end() && !it->is_null();
  }

  std::int64_t integer(std::string_view key, std::optional<std::int64_t> fallback = std::nullopt) {
    const nlohmann::json* v = take(key);
    if (!v) return required_or(key, fallback);
    if (v->is_number_integer()) return v->get<std::int64_t>();
    if (v->is_number_float()) {
      const double d = v->get<double>();
      if (std::floor(d) == d && std::fabs(d) < 9.0e15) return static_cast<std::int64_t>(d);
    }
    throw ConfigError(path_of(key), "must be an integer, got " + v->dump());
  }

  double number(std::string_view key, std::optional<double> fallback = std::nullopt) {
    const nlohmann::json* v = take(key);
    if (!v) return required_or(key, fallback);
    if (!v->is_number()) throw ConfigError(path_of(key), "must be a number, got " + v->dump());
    return v->get<double>();
  }

  bool boolean(std::string_view key, std::optional<bool> fallback = std::nullopt) {
    const nlohmann::json* v = take(key);
    if (!v) return required_or(key, fallback);
    if (!v->is_boolean()) throw ConfigError(path_of(key), "must be true or false, got " + v->dump());
    return v->get<bool>();
  }

  std::string string(std::string_view key, std::optional<std::string> fallback = std::nullopt) {
    const nlohmann::json* v = take(key);
    if (!v) return required_or(key, std::move(fallback));
    if (!v->is_string()) throw ConfigError(path_of(key), "must be a string, got " + v->dump());
    return v->get<std::string>();
  }

  // One of a fixed set of words, e.g. "mla" for attention.kind.
  template <class E>
  E choice(std::string_view key, std::initializer_list<std::pair<const char*, E>> options,
           std::optional<E> fallback = std::nullopt) {
    if (!has(key)) {
      (void)take(key);
      return required_or(key, fallback);
    }
    const std::string word = string(key);
    std::string known;
    for (const auto& [name, value] : options) {
      if (word == name) return value;
      known += (known.empty() ? "" : ", ") + std::string(name);
    }
    throw ConfigError(path_of(key), "unknown value \"" + word + "\" (known: " + known + ")");
  }

  // A nested object, or nullptr when absent.
  const nlohmann::json* object(std::string_view key) {
    const nlohmann::json* v = take(key);
    if (v && !v->is_object()) throw ConfigError(path_of(key), "must be a JSON object, got " + v->dump());
    return v;
  }

  // A nested array, or nullptr when absent.
  const nlohmann::json* array(std::string_view key) {
    const nlohmann::json* v = take(key);
    if (v && !v->is_array()) throw ConfigError(path_of(key), "must be a JSON array, got " + v->dump());
    return v;
  }

  // The value of `key` whatever its type, or nullptr when absent, for fields that accept more than
  // one type (a token count as 14.8e12 or "14.8T").
  const nlohmann::json* value(std::string_view key) { return take(key); }

  // Keys that are understood but do not change anything this reader's caller computes.
  void ignore(std::initializer_list<std::string_view> keys) {
    for (auto k : keys) {
      used_.insert(std::string(k));
      ignored_.insert(std::string(k));
    }
  }

  // The keys of this object that ignore() named and nothing read, with their paths, for a
  // program to list once ("not used: ...").
  std::vector<std::string> ignored_present() const {
    std::vector<std::string> out;
    for (auto it = j_.begin(); it != j_.end(); ++it)
      if (ignored_.count(it.key()) && !read_.count(it.key()) && !it->is_null()) out.push_back(path_of(it.key()));
    return out;
  }

  // Refuses any key that no call above asked for.
  void finish() const {
    for (auto it = j_.begin(); it != j_.end(); ++it)
      if (!used_.count(it.key())) throw ConfigError(path_of(it.key()), "unknown key");
  }

 private:
  const nlohmann::json* take(std::string_view key) {
    used_.insert(std::string(key));
    read_.insert(std::string(key));
    auto it = j_.find(std::string(key));
    if (it == j_.end() || it->is_null()) return nullptr;
    return &*it;
  }
  template <class T>
  T required_or(std::string_view key, std::optional<T> fallback) const {
    if (!fallback) throw ConfigError(path_of(key), "missing (required)");
    return *fallback;
  }

  const nlohmann::json& j_;
  std::string path_;
  std::set<std::string> used_;
  std::set<std::string> ignored_;
  std::set<std::string> read_;
};

// Reads and parses a JSON file. A malformed file is refused with "FILE:LINE:COLUMN: ...".
inline nlohmann::json read_json_file(const std::string& file) {
  std::ifstream in(file, std::ios::binary);
  if (!in) throw ConfigError(file, "cannot open file");
  std::stringstream buffer;
  buffer << in.rdbuf();
  const std::string text = buffer.str();
  try {
    return nlohmann::json::parse(text);
  } catch (const nlohmann::json::parse_error& e) {
    // Locate the byte nlohmann stopped at as line:column, and keep only its reason.
    std::size_t line = 1, column = 1;
    const std::size_t stop = std::min<std::size_t>(e.byte > 0 ? e.byte - 1 : 0, text.size());
    for (std::size_t i = 0; i < stop; ++i) {
      if (text[i] == '\n') { ++line; column = 1; } else { ++column; }
    }
    std::string reason = e.what();
    if (auto pos = reason.find("column "); pos != std::string::npos)
      if (auto colon = reason.find(": ", pos); colon != std::string::npos) reason = reason.substr(colon + 2);
    throw ConfigError(file + ":" + std::to_string(line) + ":" + std::to_string(column), "malformed JSON: " + reason);
  }
}

}  // namespace frugal
