// frugal-fp8: FP8 by hand, for the chapters.
//   frugal-fp8 encode 3.14 1000 1e-4 [--format e5m2] [--no-saturate]   bits, code, value, error
//   frugal-fp8 encode -- -2.5                                          negative values after --
//   frugal-fp8 decode 0x7E 0b00111000 56 [--format e4m3]
//   frugal-fp8 table [--format e5m2]                                    all 256 codes
//   frugal-fp8 quantize [--input matrix.json | --rows 256 --cols 1024] [--outlier 1e4]
//   frugal-fp8 outliers                                                per-tensor vs tiles as an outlier grows
//   frugal-fp8 delayed [--history 16]                                  delayed vs online scaling when activations jump
//   frugal-fp8 accumulation [--k 256,1024,4096,16384] [--inputs both]  tensor-core accumulation, with/without promotion,
//                                                                      zero-mean and positive inputs
// Bad input: one line naming what is wrong on stderr, exit status 2.
#include <cmath>
#include <cstdio>
#include <stdexcept>
#include <string>
#include <vector>

#include <CLI/CLI.hpp>
#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "frugal/config/config_error.hpp"
#include "frugal/config/json_reader.hpp"
#include "frugal/core/fp8_gemm.hpp"
#include "frugal/core/random.hpp"

namespace frugal::core::cli {
namespace {

Fp8Format format_named(const std::string& name) {
  if (name == "e4m3") return kE4M3;
  if (name == "e5m2") return kE5M2;
  throw ConfigError("--format", "unknown format \"" + name + "\" (known: e4m3, e5m2)");
}

double parse_number(const std::string& text) {
  std::size_t used = 0;
  double v = 0;
  try {
    v = std::stod(text, &used);
  } catch (const std::exception&) {
    used = 0;
  }
  if (used == 0 || used != text.size()) throw ConfigError(text, "not a number");
  return v;
}

// 0x7E, 0b01111110 or 126.
std::uint8_t parse_code(const std::string& text) {
  int base = 10;
  std::string digits = text;
  if (text.rfind("0x", 0) == 0 || text.rfind("0X", 0) == 0) base = 16, digits = text.substr(2);
  else if (text.rfind("0b", 0) == 0) base = 2, digits = text.substr(2);
  std::size_t used = 0;
  long v = -1;
  try {
    v = std::stol(digits, &used, base);
  } catch (const std::exception&) {
    used = 0;
  }
  if (used == 0 || used != digits.size() || v < 0 || v > 255) throw ConfigError(text, "not an 8-bit code (0x00–0xFF, 0b…, 0–255)");
  return static_cast<std::uint8_t>(v);
}

std::string describe_value(double v) {
  if (std::isnan(v)) return "NaN";
  if (std::isinf(v)) return v > 0 ? "+Inf" : "-Inf";
  return fmt::format("{:.10g}", v);
}

int encode(const std::vector<std::string>& values, const Fp8Format& f, bool saturate) {
  std::vector<double> numbers;
  for (const std::string& text : values) numbers.push_back(parse_number(text));  // refuse before printing
  fmt::print("{:>14}  {:>5}  {:<12} {:>14}  {:>10}\n", "value", "code", "bits", f.name, "rel. error");
  for (std::size_t i = 0; i < values.size(); ++i) {
    const std::string& text = values[i];
    const double v = numbers[i];
    const std::uint8_t code = fp8_encode(v, f, saturate ? Saturation::finite : Saturation::none);
    const double back = fp8_decode(code, f);
    const std::string error = std::isfinite(back) && v != 0 ? fmt::format("{:+.3e}", (back - v) / v) : std::string("—");
    fmt::print("{:>14}  0x{:02X}  {:<12} {:>14}  {:>10}\n", text, code, fp8_bits(code, f), describe_value(back), error);
  }
  return 0;
}

int decode(const std::vector<std::string>& texts, const Fp8Format& f) {
  std::vector<std::uint8_t> codes;
  for (const std::string& text : texts) codes.push_back(parse_code(text));  // refuse before printing
  for (const std::uint8_t code : codes) {
    fmt::print("0x{:02X}  {:<12} {}\n", code, fp8_bits(code, f), describe_value(fp8_decode(code, f)));
  }
  return 0;
}

int table(const Fp8Format& f) {
  fmt::print("{} (bias {}, max {:g}, smallest normal {:g}, smallest subnormal {:g})\n", f.name, f.bias, f.max_finite,
             f.min_normal(), f.min_subnormal());
  for (int code = 0; code < 256; ++code)
    fmt::print("0x{:02X}  {:<12} {}\n", code, fp8_bits(static_cast<std::uint8_t>(code), f),
               describe_value(fp8_decode(static_cast<std::uint8_t>(code), f)));
  return 0;
}

Matrix<float> random_matrix(Index rows, Index cols, std::uint64_t seed) {
  Rng rng(seed);
  Matrix<float> m(rows, cols);
  fill_normal(m, rng, 1.0);
  return m;
}

// A JSON array of equal-length arrays of numbers.
Matrix<float> read_matrix(const std::string& file) {
  const nlohmann::json doc = read_json_file(file);
  if (!doc.is_array() || doc.empty() || !doc[0].is_array() || doc[0].empty())
    throw ConfigError(file, "must be a JSON array of rows, each an array of numbers");
  Matrix<float> m(static_cast<Index>(doc.size()), static_cast<Index>(doc[0].size()));
  for (std::size_t r = 0; r < doc.size(); ++r) {
    if (!doc[r].is_array() || doc[r].size() != doc[0].size())
      throw ConfigError(fmt::format("{}: row {}", file, r), fmt::format("must hold {} numbers like row 0", doc[0].size()));
    for (std::size_t c = 0; c < doc[r].size(); ++c) {
      if (!doc[r][c].is_number()) throw ConfigError(fmt::format("{}: row {}, column {}", file, r, c), "not a number");
      m(static_cast<Index>(r), static_cast<Index>(c)) = doc[r][c].get<float>();
    }
  }
  return m;
}

int quantize_report(const Matrix<float>& x, const Fp8Format& f) {
  fmt::print("{} × {} matrix, amax {:.4g}, quantised to {}\n\n", x.rows(), x.cols(), x.cwiseAbs().maxCoeff(), f.name);
  fmt::print("{:<26} {:>8} {:>12} {:>12} {:>11} {:>10}\n", "granularity", "scales", "rel. error", "max |error|", "underflow", "saturated");
  struct Row {
    const char* name;
    TileShape tile;
    ScaleFormat scale;
  };
  for (const Row& row : {Row{"per tensor", kPerTensor, ScaleFormat::fp32}, Row{"1×128 tiles (activations)", kTile1x128, ScaleFormat::fp32},
                         Row{"1×128 tiles, UE8M0 scales", kTile1x128, ScaleFormat::ue8m0},
                         Row{"128×128 blocks (weights)", kBlock128x128, ScaleFormat::fp32}}) {
    const Fp8Matrix q = quantize(x, {f, row.tile, row.scale});
    const QuantizationError e = measure_quantization(x, q);
    fmt::print("{:<26} {:>8} {:>11.3f}% {:>12.4g} {:>10.2f}% {:>9.2f}%\n", row.name, q.scales.size(), 100 * e.relative_error,
               e.max_abs_error, 100 * e.underflow_fraction, 100 * e.saturated_fraction);
  }
  return 0;
}

// One outlier of growing size in an N(0, 1) matrix: the relative error of everything *outside* the
// outlier's own tile, per-tensor against 1×128 tiles (V3 report §3.3.2, Figure 7a).
int outliers(Index rows, Index cols) {
  fmt::print("{} × {} N(0, 1) matrix with one outlier; E4M3 relative error of the other values\n\n", rows, cols);
  fmt::print("{:>10} {:>16} {:>16} {:>20}\n", "outlier", "per tensor", "1×128 tiles", "per-tensor underflow");
  for (double outlier : {1e1, 1e2, 1e3, 1e4, 1e5, 1e6}) {
    Matrix<float> x = random_matrix(rows, cols, 1);
    x(0, 0) = static_cast<float>(outlier);
    Matrix<float> elsewhere = x;
    elsewhere.block(0, 0, 1, std::min<Index>(128, cols)).setZero();
    auto error_elsewhere = [&](TileShape tile) {
      Matrix<float> err = dequantize(quantize(x, {kE4M3, tile, ScaleFormat::fp32})) - x;
      err.block(0, 0, 1, std::min<Index>(128, cols)).setZero();
      return err.norm() / elsewhere.norm();
    };
    const auto e = measure_quantization(x, quantize(x, {kE4M3, kPerTensor, ScaleFormat::fp32}));
    fmt::print("{:>10g} {:>15.2f}% {:>15.2f}% {:>19.1f}%\n", outlier, 100 * error_elsewhere(kPerTensor), 100 * error_elsewhere(kTile1x128),
               100 * e.underflow_fraction);
  }
  fmt::print("\nE4M3 spans 448 / 2^-9 ≈ 2.3e5: once the outlier sets the scale, ordinary values fall into\n"
             "the subnormals and then to zero. A 1×128 tile confines that to the outlier's own 128 values.\n");
  return 0;
}

// Delayed (amax-history) per-tensor scaling against online scaling over a run of steps whose
// activations suddenly grow (Transformer Engine's DelayedScaling against V3's online scaling, §3.3.2).
int delayed(int history) {
  fmt::print("Per-tensor E4M3 scaling over 12 steps of 64 × 1024 N(0, σ²) activations; σ jumps from 1 to 30 at step 8.\n"
             "Delayed: scale from the largest amax of the last {} steps. Online: from this step's amax.\n\n", history);
  fmt::print("{:>5} {:>6} {:>16} {:>16} {:>16}\n", "step", "σ", "delayed error", "delayed sat.", "online error");
  DelayedScaling scaling(history);
  for (int step = 1; step <= 12; ++step) {
    const double sigma = step < 8 ? 1.0 : 30.0;
    const Matrix<float> x = random_matrix(64, 1024, static_cast<std::uint64_t>(step)) * static_cast<float>(sigma);
    const auto d = measure_quantization(x, quantize_with_scale(x, scaling.scale(), kE4M3));
    const auto o = measure_quantization(x, quantize(x, {kE4M3, kPerTensor, ScaleFormat::fp32}));
    fmt::print("{:>5} {:>6g} {:>15.2f}% {:>15.2f}% {:>15.2f}%\n", step, sigma, 100 * d.relative_error, 100 * d.saturated_fraction,
               100 * o.relative_error);
    scaling.record(x.cwiseAbs().maxCoeff());
  }
  fmt::print("\nStep 1 has no history (scale 1). At the jump, the delayed scale still reflects σ = 1 and the\n"
             "large values saturate at ±448·scale for one step, until the history has seen the new amax;\n"
             "online scaling never saturates.\n");
  return 0;
}

// Which input distributions `accumulation` shows: "normal" (zero-mean), "uniform" (positive) or both.
std::vector<AccumulationInputs> inputs_named(const std::string& name) {
  if (name == "normal") return {AccumulationInputs::zero_mean};
  if (name == "uniform") return {AccumulationInputs::positive};
  return {AccumulationInputs::zero_mean, AccumulationInputs::positive};
}

const char* describe_inputs(AccumulationInputs inputs) {
  return inputs == AccumulationInputs::zero_mean ? "zero-mean N(0, 1)" : "positive U[0, 1)";
}

// The V3 report's measurement (§3.3.2: "Taking GEMM operations of two random matrices with K = 4096
// for example, ... a maximum relative error of nearly 2%", H800, no promotion; the matrices'
// distribution is not given) beside this model's at the same K, for both input distributions.
// "Matches" means within 1%–3%, the reading of "nearly 2%" that tests/core/test_fp8_accumulation.cpp uses.
void compare_with_report(Index m, Index n, const AccumulatorModel& model) {
  const double zero_mean = accumulation_error(m, n, 4096, model, 1, AccumulationInputs::zero_mean).max_relative_error;
  const double positive = accumulation_error(m, n, 4096, model, 1, AccumulationInputs::positive).max_relative_error;
  auto matches = [](double e) { return e >= 0.01 && e <= 0.03; };
  std::string verdict;
  if (matches(positive) && !matches(zero_mean)) verdict = "positive inputs reproduce it, zero-mean inputs do not.";
  else if (matches(zero_mean) && !matches(positive)) verdict = "zero-mean inputs reproduce it, positive inputs do not.";
  else if (matches(zero_mean) && matches(positive)) verdict = "both input distributions reproduce it.";
  else if (zero_mean < 0.01 && positive > 0.03)
    verdict = "the report's figure lies between the two; neither distribution alone reproduces it with this accumulator.";
  else verdict = "neither input distribution reproduces it with this accumulator.";
  fmt::print("\nThe V3 report (§3.3.2) measured a maximum relative error of \"nearly 2%\" at K = 4096 without promotion\n"
             "on H800, for \"two random matrices\" of unnamed distribution. This model at K = 4096, no promotion:\n"
             "{:.2f}% with zero-mean inputs, {:.2f}% with positive inputs:\n{}\n",
             100 * zero_mean, 100 * positive, verdict);
}

int accumulation(const std::vector<Index>& ks, Index m, Index n, int bits, int group, const std::string& inputs_name) {
  const std::vector<AccumulationInputs> inputs = inputs_named(inputs_name);
  const AccumulatorModel none{bits, group, 0}, promoted{bits, group, 128};
  fmt::print("Random {}×K×{} E4M3 GEMMs; tensor-core accumulation modelled as in ISCA'25 §3.1.1: groups of {}\n"
             "products aligned to their largest exponent (the register's included), {} fraction bits kept\n"
             "(truncated), FP22 register. Errors against the exact product of the same FP8 inputs.\n\n", m, n, group, bits);
  if (inputs.size() == 1) {
    fmt::print("{} inputs\n", describe_inputs(inputs[0]));
    fmt::print("{:>7} {:>22} {:>22} {:>22} {:>22}\n", "K", "max rel. err, no prom.", "max rel. err, N_C=128", "Frobenius, no prom.",
               "Frobenius, N_C=128");
    for (Index k : ks) {
      const auto a = accumulation_error(m, n, k, none, 1, inputs[0]), b = accumulation_error(m, n, k, promoted, 1, inputs[0]);
      fmt::print("{:>7} {:>21.3f}% {:>21.3f}% {:>21.3f}% {:>21.3f}%\n", k, 100 * a.max_relative_error, 100 * b.max_relative_error,
                 100 * a.relative_error, 100 * b.relative_error);
    }
  } else {
    std::string labels = fmt::format("{:7} {:^30} {:^30}", "", describe_inputs(inputs[0]), describe_inputs(inputs[1]));
    labels.erase(labels.find_last_not_of(' ') + 1);
    fmt::print("Maximum relative error, inputs:\n{}\n", labels);
    fmt::print("{:>7} {:>14} {:>14}   {:>14} {:>14}\n", "K", "no prom.", "N_C=128", "no prom.", "N_C=128");
    for (Index k : ks) {
      std::string row = fmt::format("{:>7}", k);
      for (AccumulationInputs in : inputs)
        row += fmt::format(" {:>13.3f}% {:>13.3f}% ", 100 * accumulation_error(m, n, k, none, 1, in).max_relative_error,
                           100 * accumulation_error(m, n, k, promoted, 1, in).max_relative_error);
      row.pop_back();
      fmt::print("{}\n", row);
    }
  }
  fmt::print("\nmax rel. err: over outputs at least as large as their RMS. Zero-mean inputs: the partial sum wanders\n"
             "like √k and few bits fall off. Positive inputs: it grows like k, every product is aligned to its\n"
             "exponent and the truncated bits are lost in the same direction every time. N_C = 128 is the fix.\n");
  compare_with_report(m, n, none);
  return 0;
}

}  // namespace
}  // namespace frugal::core::cli

int main(int argc, char** argv) {
  using namespace frugal::core::cli;
  CLI::App app{"frugal-fp8: FP8 formats, scaling granularities and accumulation precision, by hand."};
  app.require_subcommand(1, 1);
  std::string format = "e4m3";
  bool no_saturate = false;
  std::vector<std::string> values, codes;
  auto* encode_app = app.add_subcommand("encode", "encode values: code, bits, the value it stands for, the rounding error");
  encode_app->add_option("values", values, "numbers")->required();
  encode_app->add_option("--format", format, "e4m3 (default) or e5m2");
  encode_app->add_flag("--no-saturate", no_saturate, "overflow to Inf (E5M2) or NaN (E4M3) instead of ±max");
  auto* decode_app = app.add_subcommand("decode", "decode 8-bit codes (0x7E, 0b01111110 or 126)");
  decode_app->add_option("codes", codes, "codes")->required();
  decode_app->add_option("--format", format, "e4m3 (default) or e5m2");
  auto* table_app = app.add_subcommand("table", "all 256 codes of a format");
  table_app->add_option("--format", format, "e4m3 (default) or e5m2");
  std::string input;
  frugal::core::Index rows = 256, cols = 1024;
  double outlier = 0;
  std::uint64_t seed = 1;
  auto* quantize_app = app.add_subcommand("quantize", "quantise a matrix at each granularity and print the error");
  quantize_app->add_option("--input", input, "a JSON array of rows (default: an N(0, 1) matrix)");
  quantize_app->add_option("--rows", rows, "rows of the random matrix")->check(CLI::PositiveNumber);
  quantize_app->add_option("--cols", cols, "columns of the random matrix")->check(CLI::PositiveNumber);
  quantize_app->add_option("--seed", seed, "seed of the random matrix");
  quantize_app->add_option("--outlier", outlier, "set element (0, 0) to this value");
  quantize_app->add_option("--format", format, "e4m3 (default) or e5m2");
  auto* outliers_app = app.add_subcommand("outliers", "per-tensor against tile-wise scaling as one outlier grows");
  int history = 16;
  auto* delayed_app = app.add_subcommand("delayed", "delayed (amax-history) against online scaling when activations jump");
  delayed_app->add_option("--history", history, "amax history length (Transformer Engine's amax_history_len)")->check(CLI::Range(1, 1024));
  std::vector<frugal::core::Index> ks{256, 1024, 4096, 16384};
  frugal::core::Index m = 32, n = 32;
  int bits = 13, group = 32;
  auto* accumulation_app = app.add_subcommand("accumulation", "limited-precision accumulation, with and without promotion");
  accumulation_app->add_option("--k", ks, "inner dimensions")->delimiter(',')->check(CLI::PositiveNumber);
  accumulation_app->add_option("--m", m, "rows of A")->check(CLI::PositiveNumber);
  accumulation_app->add_option("--n", n, "columns of B")->check(CLI::PositiveNumber);
  accumulation_app->add_option("--bits", bits, "fraction bits the accumulator keeps (13: ISCA'25)")->check(CLI::Range(1, 52));
  accumulation_app->add_option("--group", group, "products aligned together (32: one FP8 WGMMA k-step)")->check(CLI::Range(1, 64));
  std::string inputs = "both";
  accumulation_app->add_option("--inputs", inputs, "normal (zero-mean N(0, 1)), uniform (positive U[0, 1)) or both (default)")
      ->check(CLI::IsMember({"normal", "uniform", "both"}));

  try {
    app.parse(argc, argv);
  } catch (const CLI::CallForHelp& e) {
    return app.exit(e);
  } catch (const CLI::ParseError& e) {
    fmt::print(stderr, "frugal-fp8: error: {} (see frugal-fp8 --help)\n", e.what());
    return 2;
  }
  try {
    if (encode_app->parsed()) return encode(values, format_named(format), !no_saturate);
    if (decode_app->parsed()) return decode(codes, format_named(format));
    if (table_app->parsed()) return table(format_named(format));
    if (quantize_app->parsed()) {
      const auto f = format_named(format);
      frugal::core::Matrix<float> x = input.empty() ? random_matrix(rows, cols, seed) : read_matrix(input);
      if (quantize_app->count("--outlier")) x(0, 0) = static_cast<float>(outlier);
      return quantize_report(x, f);
    }
    if (outliers_app->parsed()) return outliers(64, 1024);
    if (delayed_app->parsed()) return delayed(history);
    return accumulation(ks, m, n, bits, group, inputs);
  } catch (const frugal::ConfigError& e) {
    fmt::print(stderr, "frugal-fp8: error: {}\n", e.what());
    return 2;
  }
}
