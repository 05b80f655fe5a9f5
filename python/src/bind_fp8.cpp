// The FP8 utilities from Python (core/fp8_format.hpp, fp8_quantize.hpp, fp8_gemm.hpp): codes and
// values element-wise on numpy arrays, quantisation error per scaling granularity, and the tensor
// core's accumulation error.
#include <fmt/format.h>
#include <pybind11/numpy.h>
#include <pybind11/stl.h>

#include "bindings.hpp"
#include "frugal/config/config_error.hpp"
#include "frugal/core/fp8_format.hpp"
#include "frugal/core/fp8_gemm.hpp"
#include "frugal/core/fp8_quantize.hpp"

namespace frugal::python {

namespace {

using DoubleArray = py::array_t<double, py::array::c_style | py::array::forcecast>;

const core::Fp8Format& format_named(const std::string& name) {
  if (name == "e4m3") return core::kE4M3;
  if (name == "e5m2") return core::kE5M2;
  throw ConfigError("format", "must be e4m3 or e5m2, got '" + name + "'");
}

core::Saturation saturation_from(bool saturate) { return saturate ? core::Saturation::finite : core::Saturation::none; }

// "per-tensor", "1x128", "128x1", "128x128" or (rows, cols) with 0 for a whole dimension.
core::TileShape tile_from(const py::object& tile) {
  if (py::isinstance<py::str>(tile)) {
    const std::string t = tile.cast<std::string>();
    if (t == "per-tensor") return core::kPerTensor;
    if (t == "1x128") return core::kTile1x128;
    if (t == "128x1") return core::kTile128x1;
    if (t == "128x128") return core::kBlock128x128;
    throw ConfigError("tile", "must be per-tensor, 1x128, 128x1, 128x128 or (rows, cols), got '" + t + "'");
  }
  const auto shape = tile.cast<std::pair<core::Index, core::Index>>();
  if (shape.first < 0 || shape.second < 0) throw ConfigError("tile", "sizes must be ≥ 0 (0: the whole dimension)");
  return {shape.first, shape.second};
}

template <class Out, class In, class F>
py::array_t<Out> elementwise(const py::array_t<In, py::array::c_style | py::array::forcecast>& in, F f) {
  py::array_t<Out> out(in.request().shape);
  const In* src = in.data();
  Out* dst = out.mutable_data();
  for (py::ssize_t i = 0; i < in.size(); ++i) dst[i] = f(src[i]);
  return out;
}

}  // namespace

void bind_fp8(py::module_& m) {
  m.def(
      "fp8_format",
      [](const std::string& name) {
        const core::Fp8Format& f = format_named(name);
        return py::dict(py::arg("name") = f.name, py::arg("exponent_bits") = f.exponent_bits, py::arg("mantissa_bits") = f.mantissa_bits,
                        py::arg("bias") = f.bias, py::arg("has_infinity") = f.has_infinity, py::arg("max_finite") = f.max_finite,
                        py::arg("min_normal") = f.min_normal(), py::arg("min_subnormal") = f.min_subnormal());
      },
      py::arg("format") = "e4m3", "The constants of an FP8 format (OCP OFP8): bias, largest finite, smallest normal and subnormal.");

  m.def(
      "fp8_encode",
      [](const DoubleArray& values, const std::string& format, bool saturate) {
        const core::Fp8Format& f = format_named(format);
        return elementwise<std::uint8_t, double>(values, [&](double v) { return core::fp8_encode(v, f, saturation_from(saturate)); });
      },
      py::arg("values"), py::arg("format") = "e4m3", py::arg("saturate") = true,
      "FP8 codes (uint8) of each value, rounded to nearest, ties to even; beyond the range: ±max when saturate, "
      "else NaN (E4M3) or ±Inf (E5M2).");

  m.def(
      "fp8_decode",
      [](const py::array_t<std::uint8_t, py::array::c_style | py::array::forcecast>& codes, const std::string& format) {
        const core::Fp8Format& f = format_named(format);
        return elementwise<double, std::uint8_t>(codes, [&](std::uint8_t c) { return core::fp8_decode(c, f); });
      },
      py::arg("codes"), py::arg("format") = "e4m3", "The value each FP8 code stands for.");

  m.def(
      "fp8_round",
      [](const DoubleArray& values, const std::string& format, bool saturate) {
        const core::Fp8Format& f = format_named(format);
        return elementwise<double, double>(values, [&](double v) { return core::fp8_round(v, f, saturation_from(saturate)); });
      },
      py::arg("values"), py::arg("format") = "e4m3", py::arg("saturate") = true,
      "Each value after a round trip through the format: fp8_decode(fp8_encode(values)).");

  m.def(
      "quantize_error",
      [](const py::array_t<float, py::array::c_style | py::array::forcecast>& x, const py::object& tile, const std::string& format,
         const std::string& scale_format) {
        if (x.ndim() != 2) throw ConfigError("x", fmt::format("must be a 2-D array, got {} dimensions", x.ndim()));
        if (scale_format != "fp32" && scale_format != "ue8m0") throw ConfigError("scale_format", "must be fp32 or ue8m0, got '" + scale_format + "'");
        const core::Matrix<float> matrix = Eigen::Map<const core::Matrix<float>>(x.data(), x.shape(0), x.shape(1));
        const core::QuantizeOptions options{format_named(format), tile_from(tile),
                                            scale_format == "fp32" ? core::ScaleFormat::fp32 : core::ScaleFormat::ue8m0};
        const core::QuantizationError e = core::measure_quantization(matrix, core::quantize(matrix, options));
        return py::dict(py::arg("relative_error") = e.relative_error, py::arg("max_abs_error") = e.max_abs_error,
                        py::arg("underflow_fraction") = e.underflow_fraction, py::arg("saturated_fraction") = e.saturated_fraction);
      },
      py::arg("x"), py::arg("tile") = "1x128", py::arg("format") = "e4m3", py::arg("scale_format") = "fp32",
      "Quantises a matrix to FP8 with one online scale per tile (amax / max_finite) and measures the error: "
      "relative (Frobenius), max absolute, the fraction of non-zeros flushed to zero, the fraction saturated.");

  m.def(
      "accumulation_error",
      [](core::Index m_rows, core::Index n_cols, core::Index k, int fraction_bits, int group, int promotion_interval, std::uint64_t seed,
         const std::string& inputs) {
        if (m_rows < 1 || n_cols < 1 || k < 1) throw ConfigError("m, n, k", "must be positive");
        if (fraction_bits < 1 || fraction_bits > 52) throw ConfigError("fraction_bits", "must be in 1 … 52");
        if (group < 1 || promotion_interval < 0) throw ConfigError("group", "must be positive (promotion_interval ≥ 0)");
        if (inputs != "normal" && inputs != "uniform") throw ConfigError("inputs", "must be normal or uniform, got '" + inputs + "'");
        const core::AccumulationError e =
            core::accumulation_error(m_rows, n_cols, k, {fraction_bits, group, promotion_interval}, seed,
                                     inputs == "normal" ? core::AccumulationInputs::zero_mean : core::AccumulationInputs::positive);
        return py::dict(py::arg("k") = e.k, py::arg("max_relative_error") = e.max_relative_error, py::arg("relative_error") = e.relative_error);
      },
      py::arg("m") = 32, py::arg("n") = 32, py::arg("k") = 4096, py::arg("fraction_bits") = 13, py::arg("group") = 32,
      py::arg("promotion_interval") = 0, py::arg("seed") = 1, py::arg("inputs") = "normal",
      "Error of random E4M3 GEMMs (m × k × n) accumulated as an H800 tensor core does (ISCA25 §3.1.1: groups of 32 "
      "products aligned, 13 fraction bits kept), promoted to FP32 every `promotion_interval` products (0: never; "
      "DeepSeek-V3: 128), against the exact product; inputs \"normal\" (zero-mean N(0, 1)) or \"uniform\" "
      "(positive U[0, 1)).");
}

}  // namespace frugal::python
