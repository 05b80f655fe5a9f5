// Chapter 6 · FP8 formats: what E4M3 and E5M2 can hold, how values round and saturate, and why
// DeepSeek-V3 scales per 1×128 tile and 128×128 block rather than per tensor.
#include <fmt/format.h>

#include <cmath>

#include "../common/narrator.hpp"
#include "frugal/core/fp8_format.hpp"
#include "frugal/core/fp8_quantize.hpp"
#include "frugal/core/random.hpp"

using namespace frugal;
using namespace frugal::chapters;
using namespace frugal::core;

namespace {

std::string encoding_table(const std::vector<double>& values, const Fp8Format& f, Saturation saturation) {
  std::string out = fmt::format("  {:>10}  {:>5}  {:<12} {:>12}  {:>11}\n", "value", "code", "bits", "stands for", "rel. error");
  for (double v : values) {
    const std::uint8_t code = fp8_encode(v, f, saturation);
    const double back = fp8_decode(code, f);
    const std::string shown = std::isnan(back) ? "NaN" : std::isinf(back) ? (back > 0 ? "+Inf" : "-Inf") : fmt::format("{:g}", back);
    const std::string error = std::isfinite(back) && v != 0 ? fmt::format("{:+.2e}", (back - v) / v) : "—";
    out += fmt::format("  {:>10g}  0x{:02X}  {:<12} {:>12}  {:>11}\n", v, code, fp8_bits(code, f), shown, error);
  }
  return out;
}

}  // namespace

int main(int argc, char** argv) {
  const ChapterOptions options = parse_chapter_flags(argc, argv, "Chapter 6 · FP8 formats");
  Narrator n = console_narrator(options);
  n.title("Chapter 6 · FP8 formats",
          "Goal: read an FP8 number bit by bit, know what E4M3 and E5M2 can and cannot hold, and see why "
          "DeepSeek-V3 gives every 1×128 tile of activations and every 128×128 block of weights its own scale "
          "(V3 report §3.3.2) instead of one scale per tensor.");

  n.step("Two 8-bit formats");
  n.say("An FP8 number is a sign, an exponent and a mantissa in 8 bits (OCP OFP8 spec). E4M3 spends 4 bits on the "
        "exponent and 3 on the mantissa; E5M2 5 and 2. DeepSeek-V3 uses E4M3 for everything — forward and "
        "backward — and buys the range back with fine-grained scales (§3.3.2); earlier recipes used E5M2 for "
        "gradients.");
  std::string formats;
  for (const Fp8Format* f : {&kE4M3, &kE5M2})
    formats += fmt::format("  {}: bias {:2d}, largest {:>7g}, smallest normal {:.3g}, smallest subnormal {:.3g}, "
                           "range {:.1e}, {} values per binade\n",
                           f->name, f->bias, f->max_finite, f->min_normal(), f->min_subnormal(), f->max_finite / f->min_subnormal(),
                           1 << f->mantissa_bits);
  n.show(formats);

  n.step("Encoding: round to nearest, ties to even");
  n.say("Each value becomes the nearest representable one. With 3 mantissa bits the step between neighbours is "
        "1/8 of the binade, so the relative error of a normal value is at most 2^-4 ≈ 6%; E5M2's is 2^-3 = 12.5%. "
        "Below the smallest normal the step stops shrinking (subnormals): 0.001 keeps one bit, 0.0001 becomes 0.");
  const std::vector<double> values{3.14, 0.1, 1000.0, 448.0, 500.0, 1e-3, 1e-4};
  n.show("  E4M3\n" + encoding_table(values, kE4M3, Saturation::finite));
  n.show("  E5M2\n" + encoding_table(values, kE5M2, Saturation::finite));

  n.step("Beyond the range: saturate, or overflow");
  n.say("1000 is beyond E4M3's 448. A cast that saturates (DeepSeek's, Transformer Engine's) clamps it to 448; one "
        "that does not gives NaN — E4M3 has no infinity, its all-ones exponent still holds finite values.");
  n.show(encoding_table({1000.0, -1000.0}, kE4M3, Saturation::none));

  n.step("Scaling: one outlier, three granularities");
  n.say("Before the cast, values are divided by a scale s = amax / 448, so the largest lands on the format's top. "
        "With one scale for the whole tensor, a single outlier sets s for everyone and pushes ordinary values "
        "down into the subnormals or to zero. With a scale per 1×128 tile only the outlier's own 128 values pay.");
  const Index rows = options.quick ? 64 : 256, cols = 1024;
  Rng rng(6);
  Matrix<float> x(rows, cols);
  fill_normal(x, rng, 1.0);
  std::string table = fmt::format("  {} × {} N(0, 1) values, one of them replaced by the outlier; E4M3 with FP32 scales\n"
                                  "  {:>9}  {:>18}  {:>18}  {:>18}  {:>16}\n",
                                  rows, cols, "outlier", "per tensor", "1×128 tiles", "128×128 blocks", "per-tensor zeros");
  for (double outlier : {1e1, 1e3, 1e5}) {
    Matrix<float> y = x;
    y(0, 0) = static_cast<float>(outlier);
    auto error = [&](TileShape tile) { return measure_quantization(y, quantize(y, {kE4M3, tile, ScaleFormat::fp32})); };
    const auto tensor = error(kPerTensor), tiles = error(kTile1x128), blocks = error(kBlock128x128);
    table += fmt::format("  {:>9g}  {:>17.2f}%  {:>17.2f}%  {:>17.2f}%  {:>15.1f}%\n", outlier, 100 * tensor.relative_error,
                         100 * tiles.relative_error, 100 * blocks.relative_error, 100 * tensor.underflow_fraction);
  }
  n.show(table);
  n.say("The relative error is of the whole matrix, which the outlier's own size dominates; what it hides is the "
        "last column — with one scale per tensor, a 1e5 outlier turns a share of the ordinary values into zeros, "
        "while tiles and blocks keep them. `frugal-fp8 outliers` prints the error of the values outside the "
        "outlier's tile.");

  n.step("Power-of-two scales");
  n.say("DeepSeek-V3.1's checkpoints store scales as UE8M0 — an exponent only, so rescaling is an exponent add and "
        "loses nothing. The scale rounds up to the next power of two, so values use a little less of the range:");
  std::string scales;
  for (double s : {0.0123, 1.0, 3.0, 448.0 / 1000.0})
    scales += fmt::format("  scale {:>8.4g} → UE8M0 code {:3d} = {:g}\n", s, ue8m0_encode_up(s), ue8m0_decode(ue8m0_encode_up(s)));
  n.show(scales);

  n.exercises({"Encode 0.3 in E4M3 by hand: sign, exponent (with its bias 7) and the 3 mantissa bits. Check with "
               "`frugal-fp8 encode 0.3`.",
               "How many distinct finite E4M3 values are there? (`frugal-fp8 table` lists all 256 codes.)",
               "Why does a 1×128 tile along the token's row suit activations, and a 128×128 block suit weights? "
               "Think of where outliers live in each (V3 §3.3.2).",
               "Run `frugal-fp8 delayed`: what happens to per-tensor delayed scaling when activations jump 30×, and why "
               "does V3 compute its scales online instead?"});
  return 0;
}
