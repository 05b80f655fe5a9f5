// frugal-sim calibrate: gpu-check.json measurements turned into efficiencies, checked by hand and
// by running them back through the model; the CLI end to end (--save, train --efficiency) and its
// refusals.
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include <cstdio>
#include <fstream>

#include "frugal/config/config_error.hpp"
#include "frugal/sim/calibration.hpp"
#include "frugal/config/presets.hpp"
#include "frugal/sim/training_sim.hpp"
#include "program_run.hpp"

namespace frugal::sim {
namespace {

// What scripts/gpu-check.sh writes, for an H100 whose copy reaches 3000 GB/s, whose fused gating
// (v2), permute and combine (v2) reach 2400, 2100 and 1800 GB/s, whose cuBLAS reaches 650 TFLOP/s on
// the 8 × 4096-token expert GEMM and cuBLASLt FP8 1200 TFLOP/s at 4096 × 7168 × 16384. Gating v1,
// permute v1, a failed benchmark and the FP8 GEMMs other than cuBLASLt's at that shape must not count.
nlohmann::json h100_report() {
  return nlohmann::json::parse(R"({
    "device": "NVIDIA H100 80GB HBM3, 9.0, 81559 MiB, 550.54", "copy_bandwidth_GB/s": 3000.0,
    "benchmarks": [
      {"name": "BM_DeviceCopy/manual_time", "GB/s": 3000.0, "error": null},
      {"name": "BM_Gating/1/manual_time", "GB/s": 1000.0, "error": null},
      {"name": "BM_Gating/2/manual_time", "GB/s": 2400.0, "error": null},
      {"name": "BM_Permute/1/manual_time", "GB/s": 900.0, "error": null},
      {"name": "BM_Permute/2/manual_time", "GB/s": 2100.0, "error": null},
      {"name": "BM_Combine/2/manual_time", "GB/s": 1800.0, "error": null},
      {"name": "BM_Combine/2/manual_time", "GB/s": 9999.0, "error": "out of memory"},
      {"name": "BM_GroupedGemm/0/4096/manual_time", "TFLOP/s": 650.0, "error": null},
      {"name": "BM_GroupedGemm/2/4096/manual_time", "TFLOP/s": 150.0, "error": null},
      {"name": "BM_Fp8Gemm/1/0/manual_time", "TFLOP/s": 1200.0, "error": null},
      {"name": "BM_Fp8Gemm/1/1/manual_time", "TFLOP/s": 900.0, "error": null},
      {"name": "BM_Fp8Gemm/4/0/manual_time", "TFLOP/s": 300.0, "error": null}]})");
}

TEST(Calibration, MeasurementsByHand) {
  const GpuMeasurements m = measurements_from_gpu_check(h100_report(), "gpu-check.json");
  const GpuSpec h100 = find_gpu("H100", "gpu");
  ASSERT_EQ(gpu_from_device_name(m.device)->name, "H100");
  const Calibration c = calibrate(m, h100);
  EXPECT_NEAR(c.constants.decode_hbm, 3000e9 / h100.hbm_bandwidth, 1e-12);
  EXPECT_NEAR(c.constants.hbm, (2400e9 + 2100e9 + 1800e9) / 3 / h100.hbm_bandwidth, 1e-12);
  // The calibrated GEMM efficiency gives back the measured 650 TFLOP/s on the measured shape.
  const double seconds = gemm_time(m.gemm_shape, GemmPrecision::bf16, h100, c.constants);
  EXPECT_NEAR(2.0 * 8 * 4096 * 7168 * 2048 / seconds, 650e12, 650e12 * 1e-9);
  // And the FP8 one gives back cuBLASLt's 1200 TFLOP/s at M 4096, N 7168, K 16384.
  const double fp8_seconds = gemm_time({4096, 7168, 16384, 1}, GemmPrecision::fp8, h100, c.constants);
  EXPECT_NEAR(2.0 * 4096 * 7168 * 16384 / fp8_seconds, 1200e12, 1200e12 * 1e-9);
  EXPECT_EQ(c.changed.size(), 4u);
}

TEST(Calibration, Fp8UnchangedWhereNotMeasuredOrNoFp8) {
  nlohmann::json report = h100_report();
  report["benchmarks"].erase(report["benchmarks"].size() - 3);  // cuBLASLt at 4096 × 7168 × 16384
  EXPECT_EQ(calibrate(measurements_from_gpu_check(report, "f.json"), find_gpu("H100", "gpu")).constants.gemm_fp8,
            default_efficiency().gemm_fp8);
  const GpuSpec a100 = find_gpu("A100", "gpu");  // no FP8 tensor cores: fp8_flops = 0
  ASSERT_EQ(a100.fp8_flops, 0.0);
  EXPECT_EQ(calibrate(measurements_from_gpu_check(h100_report(), "f.json"), a100).constants.gemm_fp8, default_efficiency().gemm_fp8);
}

TEST(Calibration, RecognisesDevicesAndRefusesEmptyReports) {
  EXPECT_EQ(gpu_from_device_name("NVIDIA H200, 9.0, 143771 MiB")->name, "H200");
  EXPECT_FALSE(gpu_from_device_name("Some GPU 9000").has_value());
  EXPECT_THROW(measurements_from_gpu_check(nlohmann::json::parse(R"({"benchmarks": []})"), "f.json"), ConfigError);
  EXPECT_THROW(measurements_from_gpu_check(nlohmann::json::parse(R"({"tests": []})"), "f.json"), ConfigError);
}

TEST(Calibration, EfficiencyFileReplacesOnlyItsKeys) {
  const EfficiencyConstants c = efficiency_from_json(nlohmann::json::parse(R"({"gpu": "H100", "gemm_bf16": 0.7})"), "cal.json");
  EXPECT_EQ(c.gemm_bf16, 0.7);
  EXPECT_EQ(c.hbm, default_efficiency().hbm);
  EXPECT_THROW(efficiency_from_json(nlohmann::json::parse(R"({"gemm_bf16": 7})"), "cal.json"), ConfigError);
  EXPECT_THROW(efficiency_from_json(nlohmann::json::parse(R"({"gemm_bf16x": 0.5})"), "cal.json"), ConfigError);
}

TEST(Calibration, CliSavesWhatTrainReads) {
  const std::string report = frugal::testing::write_temp(h100_report().dump(), ".gpu-check.json");
  const std::string saved = frugal::testing::temp_path(".calibration.json");
  std::remove(saved.c_str());
  const auto r = frugal::testing::run_program(FRUGAL_SIM_EXE, "calibrate --from " + report + " --save " + saved);
  ASSERT_EQ(r.status, 0) << r.err;
  EXPECT_NE(r.out.find("gemm_bf16"), std::string::npos) << r.out;
  const nlohmann::json file = nlohmann::json::parse(frugal::testing::slurp(saved));
  EXPECT_EQ(file.at("gpu"), "H100");
  const auto t = frugal::testing::run_program(FRUGAL_SIM_EXE, "train --gpu H100 --precision bf16 --no-baselines --format json --efficiency " + saved);
  ASSERT_EQ(t.status, 0) << t.err;
  TrainingRun run = training_run_from_document(find_preset("deepseek-v3").document);
  run.gpu = find_gpu("H100", "gpu");
  run.precision = PrecisionRecipe::bf16;
  const double expected = simulate_training(run, efficiency_from_json(file, saved)).gpu_hours;
  EXPECT_NEAR(nlohmann::json::parse(t.out).at("gpu_hours").get<double>(), expected, expected * 1e-9);
  EXPECT_NE(expected, simulate_training(run).gpu_hours);
}

TEST(Calibration, CliRefusesWithOneLineAndWritesNothing) {
  const std::string saved = frugal::testing::temp_path(".never.json");
  std::remove(saved.c_str());
  const std::string empty = frugal::testing::write_temp(R"({"benchmarks": []})", ".empty.json");
  frugal::testing::expect_refused(frugal::testing::run_program(FRUGAL_SIM_EXE, "calibrate --from " + empty + " --save " + saved),
                                  "no measurement");
  const std::string unknown = frugal::testing::write_temp(
      R"({"device": "Mystery GPU", "copy_bandwidth_GB/s": 100, "benchmarks": []})", ".unknown.json");
  frugal::testing::expect_refused(frugal::testing::run_program(FRUGAL_SIM_EXE, "calibrate --from " + unknown), "--gpu");
  frugal::testing::expect_refused(frugal::testing::run_program(FRUGAL_SIM_EXE, "train --efficiency " + empty), "benchmarks");
  EXPECT_FALSE(std::ifstream(saved).good());
}

}  // namespace
}  // namespace frugal::sim
