#include "frugal/sim/pipeline_layout.hpp"

#include <cctype>
#include <string_view>

#include "frugal/config/json_reader.hpp"

namespace frugal::sim {

namespace {

// A layout string expands to at most this many letters; a longer one is refused, not built.
constexpr std::size_t kMaxExpandedLength = 1'000'000;

struct Expanded {
  std::string text;
  std::string error;  // empty when it parsed
};

// The digits after a '*' at s[i], as a repetition count (i moves past them); -1 if none or too many.
long long repetition_at(std::string_view s, std::size_t& i) {
  if (i >= s.size() || s[i] != '*') return -1;
  ++i;
  long long n = 0;
  std::size_t digits = 0;
  while (i < s.size() && std::isdigit(static_cast<unsigned char>(s[i]))) {
    n = n * 10 + (s[i] - '0');
    if (++digits > 7) return -1;
    ++i;
  }
  return digits == 0 ? -1 : n;
}

bool append_repeated(std::string& out, std::string_view piece, long long n, std::string& error) {
  if (static_cast<double>(piece.size()) * static_cast<double>(n) + static_cast<double>(out.size()) >
      static_cast<double>(kMaxExpandedLength)) {
    error = "expands to more than " + std::to_string(kMaxExpandedLength) + " letters";
    return false;
  }
  for (long long k = 0; k < n; ++k) out.append(piece);
  return true;
}

// Megatron-Core's PipelineParallelLayerLayout.parse_str_to_list, in its order: commas are cosmetic;
// first every "(...)*n" repeats its group's text (groups do not nest), then every "x*n" one letter.
Expanded expand(std::string_view layout) {
  Expanded r;
  std::string groups;
  for (std::size_t i = 0; i < layout.size();) {
    const char ch = layout[i];
    if (ch == ',') {
      ++i;
    } else if (ch == '(') {
      const std::size_t close = layout.find(')', i);
      if (close == std::string_view::npos) return {"", "has an unclosed '('"};
      const std::string_view group = layout.substr(i + 1, close - i - 1);
      if (group.empty() || group.find('(') != std::string_view::npos) return {"", "has an empty or nested '( )' group"};
      std::size_t j = close + 1;
      const long long n = repetition_at(layout, j);
      if (n < 0) return {"", "needs '*n' (n a count) after each ')'"};
      std::string text;
      for (char g : group)
        if (g != ',') text += g;
      if (!append_repeated(groups, text, n, r.error)) return r;
      i = j;
    } else if (ch == ')') {
      return {"", "has a ')' without its '('"};
    } else {
      groups += ch;
      ++i;
    }
  }
  for (std::size_t i = 0; i < groups.size();) {
    const char ch = groups[i];
    if (ch == '*') return {"", "has a '*' without a letter before it"};
    std::size_t j = i + 1;
    const long long n = j < groups.size() && groups[j] == '*' ? repetition_at(groups, j) : 1;
    if (n < 0) return {"", "needs a count after '*'"};
    if (!append_repeated(r.text, std::string_view(&groups[i], 1), n, r.error)) return r;
    i = j;
  }
  for (char ch : r.text)
    if (ch != '|' && ch != 'E' && ch != 't' && ch != 'm' && ch != 'L')
      return {"", std::string("has '") + ch + "', not one of E, t, m, L, |"};
  return r;
}

}  // namespace

bool pipeline_layout_parses(const std::string& layout, std::string* reason) {
  if (layout == "even" || layout == "ends-as-layers") return true;
  const Expanded e = expand(layout);
  if (e.error.empty()) return true;
  if (reason) *reason = e.error;
  return false;
}

std::vector<RankLoad> pipeline_rank_loads(const std::string& layout, std::int64_t num_layers, std::int64_t mtp_modules,
                                          std::int64_t pp, std::int64_t virtual_stages, const std::string& field) {
  std::vector<RankLoad> ranks(static_cast<std::size_t>(pp));
  const double chunks = static_cast<double>(pp * virtual_stages);
  const double layers = static_cast<double>(num_layers);
  if (layout == "even" || layout == "ends-as-layers") {
    // Every chunk takes its share; with ends-as-layers the embedding and the loss are one unit of
    // the split each, so the first and last chunks give a layer's place to them.
    const bool ends = layout == "ends-as-layers";
    const double per_chunk = (layers + (ends ? 2.0 : 0.0)) / chunks;
    if (ends && per_chunk < 1.0)
      throw ConfigError(field, "ends-as-layers needs at least one unit of the split per model chunk: (" +
                                   std::to_string(num_layers) + " layers + 2) over " + std::to_string(pp * virtual_stages) +
                                   " chunks");
    for (RankLoad& r : ranks) r.layers = per_chunk * static_cast<double>(virtual_stages);
    RankLoad& first = ranks.front();
    RankLoad& last = ranks.back();  // the last chunk, pp * v - 1, runs on rank pp - 1
    first.embeddings = 1;
    last.heads = 1;
    last.mtp_modules = static_cast<double>(mtp_modules);
    if (ends) {
      first.layers -= 1.0;
      last.layers -= 1.0;
    }
    return ranks;
  }
  const Expanded e = expand(layout);
  if (!e.error.empty()) throw ConfigError(field, "\"" + layout + "\" " + e.error);
  std::int64_t count = 1;
  for (char ch : e.text) count += ch == '|' ? 1 : 0;
  if (count != pp * virtual_stages)
    throw ConfigError(field, "\"" + layout + "\" has " + std::to_string(count) + " model chunks, not pp x virtual stages = " +
                                 std::to_string(pp * virtual_stages));
  std::int64_t chunk = 0, t = 0, m = 0, embeddings = 0, heads = 0;
  for (char ch : e.text) {
    if (ch == '|') {
      ++chunk;
      continue;
    }
    RankLoad& r = ranks[static_cast<std::size_t>(chunk % pp)];
    if (ch == 't') ++t, r.layers += 1;
    if (ch == 'm') ++m, r.mtp_modules += 1;
    if (ch == 'E') ++embeddings, r.embeddings += 1;
    if (ch == 'L') ++heads, r.heads += 1;
  }
  if (t != num_layers)
    throw ConfigError(field, "\"" + layout + "\" places " + std::to_string(t) + " transformer layers (t), the model has " +
                                 std::to_string(num_layers));
  if (m != mtp_modules)
    throw ConfigError(field, "\"" + layout + "\" places " + std::to_string(m) + " MTP modules (m), the model has " +
                                 std::to_string(mtp_modules));
  if (embeddings != 1 || heads != 1)
    throw ConfigError(field, "\"" + layout + "\" needs one E (embedding) and one L (loss), has " +
                                 std::to_string(embeddings) + " and " + std::to_string(heads));
  return ranks;
}

}  // namespace frugal::sim
