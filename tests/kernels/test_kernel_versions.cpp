// The kernel families' version tables (kernel_version.hpp), on any machine with the CUDA toolkit
// (no GPU needed: nothing here launches). Each table: versions numbered 1, 2, … in order, each
// name "v<number> …" and unique (also as a test name), every launcher present; and the questions a
// caller asks of a row — the shape limits, the lookup by number — answered as the headers state
// them (grouped_gemm.hpp: v3 needs K % 32, N % 64, rows % 64; v4 K % 64, N % 128, rows % 64 and
// wgmma; losses.hpp: v3 clusters; fp8_gemm.hpp: v2 FP8 tensor cores, v3 wgmma).
#include <gtest/gtest.h>

#include <set>
#include <string>

#include "frugal/kernels/dispatch.hpp"
#include "frugal/kernels/fp8_gemm.hpp"
#include "frugal/kernels/fp8_quantize.hpp"
#include "frugal/kernels/gating.hpp"
#include "frugal/kernels/grouped_gemm.hpp"
#include "frugal/kernels/kernel_version.hpp"
#include "frugal/kernels/losses.hpp"

namespace frugal::kernels {
namespace {

// has_launchers(row): every function pointer of the row is set.
template <class Table, class HasLaunchers>
void check_table(const Table& table, HasLaunchers has_launchers) {
  ASSERT_FALSE(table.empty());
  std::set<std::string> names, identifiers;
  for (std::size_t i = 0; i < table.size(); ++i) {
    const auto& v = table[i];
    SCOPED_TRACE(v.name);
    EXPECT_EQ(v.number, static_cast<int>(i) + 1) << "versions are numbered 1, 2, … in table order";
    std::string prefix(1, 'v');  // "v<number> " (appended: GCC 12's -Wrestrict misfires on "v" + std::to_string)
    prefix += std::to_string(v.number);
    prefix += ' ';
    EXPECT_EQ(std::string(v.name).substr(0, prefix.size()), prefix) << "a name starts with its number";
    EXPECT_GT(std::string(v.name).size(), prefix.size()) << "and says what the version does";
    EXPECT_TRUE(names.insert(v.name).second) << "duplicate name";
    EXPECT_TRUE(identifiers.insert(identifier(v.name)).second) << "two names give the same test name";
    EXPECT_TRUE(has_launchers(v)) << "a row without its launcher";
  }
}

TEST(KernelVersionTables, GatingTable) {
  check_table(kGatingVersions, [](const GatingVersion& v) { return v.launch != nullptr; });
}

TEST(KernelVersionTables, DispatchTable) {
  check_table(kDispatchVersions, [](const DispatchVersion& v) {
    return v.permute != nullptr && v.combine != nullptr && v.permute_backward != nullptr && v.combine_backward != nullptr;
  });
}

TEST(KernelVersionTables, GroupedGemmTable) {
  check_table(kGroupedGemmVersions, [](const GroupedGemmVersion& v) { return v.launch != nullptr; });
}

TEST(KernelVersionTables, Fp8QuantizeTable) {
  check_table(kFp8QuantizeVersions, [](const Fp8QuantizeVersion& v) { return v.launch != nullptr; });
}

TEST(KernelVersionTables, Fp8GemmTable) {
  check_table(kFp8GemmVersions, [](const Fp8GemmVersion& v) { return v.launch != nullptr; });
}

TEST(KernelVersionTables, LossTable) {
  check_table(kLossVersions, [](const LossVersion& v) { return v.cross_entropy != nullptr && v.distillation != nullptr; });
}

// The limits grouped_gemm.hpp's comment gives each version, asked through its row.
TEST(KernelVersionTables, GroupedGemmShapeLimitsAreTheDocumentedOnes) {
  const GroupedGemmShape v3_shape{8, 8 * 64, 7168, 2048};  // V3's expert GEMM, 64-row segments
  EXPECT_EQ(shape_error(kGroupedGemmVersions[0], GroupedGemmShape{6, 37, 5, 3}), "");  // v1: anything
  EXPECT_EQ(shape_error(kGroupedGemmVersions[2], v3_shape), "");
  EXPECT_EQ(shape_error(kGroupedGemmVersions[3], v3_shape), "");
  EXPECT_NE(shape_error(kGroupedGemmVersions[2], GroupedGemmShape{2, 96, 128, 128}), "");   // rows not a multiple of 64
  EXPECT_NE(shape_error(kGroupedGemmVersions[3], GroupedGemmShape{2, 128, 128, 192}), "");  // N not a multiple of 128
  EXPECT_EQ(shape_error(kGroupedGemmVersions[2], GroupedGemmShape{2, 128, 128, 192}), "");  // …which v3 takes
  EXPECT_NE(shape_error(kGroupedGemmVersions[3], GroupedGemmShape{2, 128, 96, 128}), "");   // K not a multiple of 64
  EXPECT_EQ(kGroupedGemmVersions[3].needs, GpuFeature::wgmma);
}

TEST(KernelVersionTables, FeaturesTheHeadersName) {
  EXPECT_EQ(kFp8GemmVersions[0].needs, GpuFeature::none);
  EXPECT_EQ(kFp8GemmVersions[1].needs, GpuFeature::fp8_tensor_cores);
  EXPECT_EQ(kFp8GemmVersions[2].needs, GpuFeature::wgmma);
  EXPECT_EQ(kLossVersions[2].needs, GpuFeature::thread_block_clusters);
  for (const GatingVersion& v : kGatingVersions) EXPECT_EQ(v.needs, GpuFeature::none) << v.name;
}

// GatingShape's limits (gating.hpp): experts ≤ 1024, groups ≤ 32 dividing them, top_k ≤ 32 and ≤
// the experts of the kept groups. DeepSeek-V3's shape (config_671B.json: 256 experts, 8 groups,
// 4 kept, top-8) is inside them.
TEST(KernelVersionTables, GatingShapeLimits) {
  EXPECT_EQ(gating_shape_error({16384, 256, 8, 4, 8}), "");
  EXPECT_NE(gating_shape_error({1, 2048, 8, 4, 8}), "");
  EXPECT_NE(gating_shape_error({1, 256, 7, 4, 8}), "");   // 7 does not divide 256
  EXPECT_NE(gating_shape_error({1, 256, 8, 1, 33}), "");  // 33 > 32 experts of one group
  EXPECT_NE(gating_shape_error({1, 256, 8, 9, 8}), "");   // more groups kept than there are
}

TEST(KernelVersionTables, LookupByNumber) {
  EXPECT_EQ(version_numbered(kGroupedGemmVersions, 4, "grouped GEMM").number, 4);
  EXPECT_TRUE(version_numbered(kGroupedGemmVersions, 4, "grouped GEMM").launch == &grouped_gemm_v4);
  EXPECT_THROW(version_numbered(kGroupedGemmVersions, 0, "grouped GEMM"), std::invalid_argument);
  EXPECT_THROW(version_numbered(kGroupedGemmVersions, static_cast<int>(kGroupedGemmVersions.size()) + 1, "grouped GEMM"),
               std::invalid_argument);
}

TEST(KernelVersionTables, NamesAsIdentifiers) {
  EXPECT_EQ(identifier("v3 wmma, shared-memory tiles"), "v3_wmma_shared_memory_tiles");
  EXPECT_EQ(identifier("v2 mma.sync"), "v2_mma_sync");
  EXPECT_EQ(identifier("v1 naive"), "v1_naive");
}

}  // namespace
}  // namespace frugal::kernels
