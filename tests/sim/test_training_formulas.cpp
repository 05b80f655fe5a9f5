// Each formula of the training simulator against a hand-computed case.
#include <gtest/gtest.h>

#include <algorithm>

#include <cmath>

#include "frugal/sim/communication.hpp"
#include "frugal/sim/gemm_model.hpp"
#include "frugal/sim/hardware.hpp"
#include "frugal/sim/pipeline.hpp"
#include "frugal/sim/pipeline_layout.hpp"
#include "frugal/config/json_reader.hpp"
#include "frugal/config/presets.hpp"

namespace frugal::sim {
namespace {

TEST(PipelineBubble, MatchesV3ReportTable2) {
  // PP = 16, F = 1, B = 2, W = 1 (V3 report Table 2 formulas).
  EXPECT_DOUBLE_EQ(bubble_time(PipelineSchedule::one_f_one_b, 16, 1, 1, 2, 1), 15 * 3.0);
  EXPECT_DOUBLE_EQ(bubble_time(PipelineSchedule::interleaved, 16, 2, 1, 2, 1), 15 * 3.0 / 2);
  EXPECT_DOUBLE_EQ(bubble_time(PipelineSchedule::zero_bubble, 16, 1, 1, 2, 1), 15 * (3.0 - 2));
  EXPECT_DOUBLE_EQ(bubble_time(PipelineSchedule::dualpipe, 16, 1, 1, 2, 1), 7 * (3.0 + 2 - 3));
  EXPECT_DOUBLE_EQ(bubble_time(PipelineSchedule::one_f_one_b, 1, 1, 1, 2, 1), 0.0);
}

TEST(PipelineBubble, DualPipeHoldsMoreActivationsAndTwoParameterCopies) {
  EXPECT_EQ(activations_in_flight(PipelineSchedule::dualpipe, 16, 1), 17.0);
  EXPECT_EQ(activations_in_flight(PipelineSchedule::one_f_one_b, 16, 1), 16.0);
  EXPECT_EQ(parameter_copies(PipelineSchedule::dualpipe, 16), 2.0);
  EXPECT_EQ(parameter_copies(PipelineSchedule::zero_bubble, 16), 1.0);
}

// The rank loads as (layers, MTP modules, embeddings, heads), rank by rank.
std::vector<std::vector<double>> loads(const std::string& layout, std::int64_t layers, std::int64_t mtp, std::int64_t pp,
                                       std::int64_t v) {
  std::vector<std::vector<double>> out;
  for (const RankLoad& r : pipeline_rank_loads(layout, layers, mtp, pp, v, "layout"))
    out.push_back({r.layers, r.mtp_modules, r.embeddings, r.heads});
  return out;
}

TEST(PipelineLayout, KeywordsPlaceTheEndsAsMegatronDoes) {
  using V = std::vector<std::vector<double>>;
  // Megatron's default: 8 layers over 4 ranks, the embedding on the first, head (and MTP) on the last.
  EXPECT_EQ(loads("even", 8, 1, 4, 1), (V{{2, 0, 1, 0}, {2, 0, 0, 0}, {2, 0, 0, 0}, {2, 1, 0, 1}}));
  // The embedding and the loss each take a layer's place: (6 + 2) / 4 = 2 units a rank.
  EXPECT_EQ(loads("ends-as-layers", 6, 0, 4, 1), (V{{1, 0, 1, 0}, {2, 0, 0, 0}, {2, 0, 0, 0}, {1, 0, 0, 1}}));
  // With two chunks a rank, (14 + 2) / 8 = 2 units a chunk; only chunk 0 and chunk 7 give one up.
  EXPECT_EQ(loads("ends-as-layers", 14, 0, 4, 2), (V{{3, 0, 1, 0}, {4, 0, 0, 0}, {4, 0, 0, 0}, {3, 0, 0, 1}}));
  // A depth the chunks do not divide is priced as its average.
  EXPECT_EQ(loads("even", 6, 0, 4, 1)[1], (std::vector<double>{1.5, 0, 0, 0}));
}

TEST(PipelineLayout, LayoutStringsUnrollAsMegatronParsesThem) {
  using V = std::vector<std::vector<double>>;
  // Chunk c on rank c mod pp: [Et] [tt] [tt] [mL] over two ranks of two chunks.
  EXPECT_EQ(loads("Et|(tt|)*2mL", 5, 1, 2, 2), (V{{3, 0, 1, 0}, {2, 1, 0, 1}}));
  // Megatron's own example (parse_str_to_list): "Ettt|(tt|)*29,m|L", 32 chunks, 61 layers.
  const V v3 = loads("Ettt|(tt|)*29,m|L", 61, 1, 16, 2);
  EXPECT_EQ(v3.front(), (std::vector<double>{5, 0, 1, 0}));  // chunks 0 (E t t t) and 16 (t t)
  EXPECT_EQ(v3[14], (std::vector<double>{2, 1, 0, 0}));       // chunks 14 (t t) and 30 (m)
  EXPECT_EQ(v3.back(), (std::vector<double>{2, 0, 0, 1}));     // chunks 15 (t t) and 31 (L)
  // Megatron-Bridge's DeepSeek-V3 layout for PP 16: a letter's count inside a repeated group.
  EXPECT_EQ(loads("Et*4|(t*4|)*14tmL", 61, 1, 16, 1).back(), (std::vector<double>{1, 1, 0, 1}));
}

TEST(PipelineLayout, RefusesWhatDoesNotPlaceTheModel) {
  auto refused = [](const std::string& layout, std::int64_t layers, std::int64_t mtp, std::int64_t pp, std::int64_t v,
                    const std::string& why) {
    try {
      pipeline_rank_loads(layout, layers, mtp, pp, v, "parallelism.pipeline_layout");
      ADD_FAILURE() << layout << " accepted";
    } catch (const ConfigError& e) {
      const std::string what = e.what();
      EXPECT_NE(what.find("parallelism.pipeline_layout"), std::string::npos) << what;
      EXPECT_NE(what.find(why), std::string::npos) << what;
    }
  };
  refused("Et|tL", 2, 0, 4, 1, "2 model chunks, not pp x virtual stages = 4");
  refused("Et|tL", 3, 0, 2, 1, "places 2 transformer layers (t), the model has 3");
  refused("Et|tmL", 2, 0, 2, 1, "places 1 MTP modules (m), the model has 0");
  refused("t|tL", 2, 0, 2, 1, "needs one E (embedding) and one L (loss)");
  refused("ends-as-layers", 2, 0, 4, 2, "at least one unit of the split per model chunk");
  for (const char* bad : {"Et|(tt", "Et|x|L", "(tt)", "*3tL", "Et|(tt|)*", "t*99999999L", "((t)*2)*2", "Et)|L"}) {
    std::string why;
    EXPECT_FALSE(pipeline_layout_parses(bad, &why)) << bad;
    EXPECT_FALSE(why.empty()) << bad;
  }
  EXPECT_TRUE(pipeline_layout_parses("even", nullptr));
  EXPECT_TRUE(pipeline_layout_parses("Et*3|(tt|)*29,m|L", nullptr));
}

TEST(AllToAll, NodeLimitedRoutingOfDeepSeekV3) {
  const ModelConfig v3 = preset_model("deepseek-v3");
  // EP 64 on 8-GPU nodes spans 8 nodes; 4 of 8 groups kept -> 4 nodes allowed; 8 experts land on
  // 4 (1 - (3/4)^8) = 3.5995 distinct nodes on average.
  const double nodes = 4.0 * (1.0 - std::pow(0.75, 8));
  EXPECT_NEAR(expected_nodes_per_token(v3, 64, 8), nodes, 1e-12);
  const AllToAllBytes b = all_to_all_bytes_per_token(v3, 64, 8, 1.0);
  // One copy per remote node over IB: (nodes - nodes/8) x 7168 bytes in FP8.
  EXPECT_NEAR(b.scaleout, (nodes - nodes / 8) * 7168, 1e-9);
  // NVLink: the 8 copies, 7 of 8 landing on another GPU of the node.
  EXPECT_NEAR(b.nvlink, 8 * (1.0 - 1.0 / 8) * 7168, 1e-9);
}

// When a node holds several groups, M kept groups reach fewer than M nodes on average:
// deepseek-v3-tiny's 4 groups on 2 nodes (2 groups each), M = 2: both groups on one node with
// probability C(2,2)/C(4,2) = 1/6, so 2 · (1 − 1/6) = 5/3 nodes are allowed, and the 4 experts
// land on 5/3 · (1 − (1 − 3/5)^4) of them. The CPU reference's expert-parallel layer measured
// 0.811 other nodes per token (4 ranks in 2 nodes, core/README.md); this gives 0.812.
TEST(AllToAll, NodesHoldingSeveralGroups) {
  const ModelConfig tiny = preset_model("deepseek-v3-tiny");
  ASSERT_EQ(tiny.moe.groups, 4);
  ASSERT_EQ(tiny.moe.groups_per_token, 2);
  const double allowed = 2.0 * (1.0 - 1.0 / 6.0), nodes = allowed * (1.0 - std::pow(1.0 - 1.0 / allowed, 4));
  EXPECT_NEAR(expected_nodes_per_token(tiny, 4, 2), nodes, 1e-12);
  EXPECT_NEAR(nodes - nodes / 2, 0.812, 0.001);
}

TEST(AllToAll, IntraNodeExpertParallelismUsesNoScaleOut) {
  const ModelConfig v2 = preset_model("deepseek-v2");
  const AllToAllBytes b = all_to_all_bytes_per_token(v2, 8, 8, 2.0);
  EXPECT_EQ(b.scaleout, 0.0);
  EXPECT_NEAR(b.nvlink, 6 * (7.0 / 8) * 5120 * 2, 1e-9);
  EXPECT_EQ(all_to_all_bytes_per_token(v2, 1, 8, 2.0).nvlink, 0.0);
}

// Megatron-Core's "alltoall" dispatcher sends each of the k copies to its expert's GPU: V3 with EP 64
// on 8-GPU nodes sends 8 x 56/64 = 7 copies over IB (the expert sits in another node) and
// 8 x 7/64 = 0.875 over NVLink, where DeepEP sends 3.15 over IB and forwards 7 inside the node.
TEST(AllToAll, PlainAllToAllSendsEveryRemoteCopyOverTheScaleOutNetwork) {
  const ModelConfig v3 = preset_model("deepseek-v3");
  const AllToAllBytes plain = all_to_all_bytes_per_token(v3, 64, 8, 1.0, TokenDispatcher::all_to_all);
  EXPECT_NEAR(plain.scaleout, 7.0 * 7168, 1e-9);
  EXPECT_NEAR(plain.nvlink, 0.875 * 7168, 1e-9);
  const AllToAllBytes deepep = all_to_all_bytes_per_token(v3, 64, 8, 1.0, TokenDispatcher::deepep);
  EXPECT_NEAR(plain.scaleout / deepep.scaleout, 7.0 / (3.5995 * 7.0 / 8.0), 1e-3);
  // Inside one node both send the same bytes.
  const ModelConfig v2 = preset_model("deepseek-v2");
  for (const std::int64_t ep : {2, 4, 8}) {
    const AllToAllBytes x = all_to_all_bytes_per_token(v2, ep, 8, 2.0, TokenDispatcher::all_to_all);
    const AllToAllBytes y = all_to_all_bytes_per_token(v2, ep, 8, 2.0, TokenDispatcher::deepep);
    EXPECT_EQ(x.scaleout, 0.0);
    EXPECT_NEAR(x.nvlink, y.nvlink, 1e-9) << ep;
  }
}

TEST(Collectives, RingTimes) {
  // 8 GB over 4 ranks at 1 GB/s: each rank sends 3/4 of it.
  EXPECT_DOUBLE_EQ(ring_reduce_scatter_time(8e9, 4, 1e9), 6.0);
  EXPECT_DOUBLE_EQ(ring_all_reduce_time(8e9, 4, 1e9), 12.0);
  EXPECT_DOUBLE_EQ(ring_all_reduce_time(8e9, 1, 1e9), 0.0);
}

TEST(Collectives, NodeAwareRingUsesEveryNicOfTheNode) {
  // 8 GB over 16 GPUs, 8 per node, NVLink 400 GB/s, NIC 50 GB/s: inside the node 7/8 of 8 GB over
  // NVLink (17.5 ms); across the 2 nodes each GPU's 1 GB share, half of it over its NIC (10 ms).
  EXPECT_NEAR(node_aware_reduce_scatter_time(8e9, 16, 8, 400e9, 50e9), 8e9 * 7 / 8 / 400e9 + 1e9 / 2 / 50e9, 1e-15);
  // One GPU per node: the plain ring over the scale-out network; all in one node: NVLink only.
  EXPECT_DOUBLE_EQ(node_aware_reduce_scatter_time(8e9, 16, 1, 400e9, 50e9), ring_reduce_scatter_time(8e9, 16, 50e9));
  EXPECT_DOUBLE_EQ(node_aware_reduce_scatter_time(8e9, 4, 8, 400e9, 50e9), ring_reduce_scatter_time(8e9, 4, 400e9));
  EXPECT_EQ(node_aware_reduce_scatter_time(8e9, 1, 8, 400e9, 50e9), 0.0);
}

TEST(Collectives, OverlapLeavesOnlyWhatOutlastsTheComputation) {
  // Prefetched traffic: 8 s of communication behind 5 s of computation shows 3 s; behind 9 s, none.
  EXPECT_DOUBLE_EQ(overlapped_exposed_time(8, 5), 3.0);
  EXPECT_DOUBLE_EQ(overlapped_exposed_time(8, 9), 0.0);
  // Pipelined in 4 chunks: the first 2 s chunk is exposed; the other 6 s hide behind 5 s of GEMMs
  // but for 1 s. With ample computation only the first chunk shows; one chunk hides nothing.
  EXPECT_DOUBLE_EQ(pipelined_exposed_time(8, 5, 4), 2.0 + 1.0);
  EXPECT_DOUBLE_EQ(pipelined_exposed_time(8, 100, 4), 2.0);
  EXPECT_DOUBLE_EQ(pipelined_exposed_time(8, 100, 1), 8.0);
}

TEST(GemmModel, EfficiencyFromWavesAndK) {
  const GpuSpec h800 = find_gpu("H800", "gpu");
  const EfficiencyConstants c;
  // DeepGEMM's 4096 x 7168 x 16384: 32 x 56 = 1792 tiles on 132 SMs -> 14 waves.
  const double waves = 1792.0 / (14 * 132);
  const double k = 16384.0 / (16384 + c.gemm_k_overhead);
  EXPECT_NEAR(gemm_efficiency({4096, 7168, 16384, 1}, GemmPrecision::fp8, h800, c), c.gemm_fp8 * waves * k, 1e-12);
  // 133 tiles need a second, almost empty wave.
  EXPECT_NEAR(gemm_efficiency({128, 133 * 128, 1e9, 1}, GemmPrecision::bf16, h800, c),
              c.gemm_bf16 * c.bf16_matmul_fraction_unmeasured * 133.0 / 264.0 * (1e9 / (1e9 + c.gemm_k_overhead)), 1e-9);
}

// The serving GEMMs against DeepGEMM's own table (deepseek-ai/DeepGEMM README.md, first version
// a6d97a1, 2025-02-25, H800, NVCC 12.8: "all shapes potentially used in DeepSeek-V3/R1 inference"):
// the M = 4096 dense rows and the contiguous grouped rows, TFLOP/s. Only the first row's kernel
// efficiency went into gemm_fp8_deepgemm (efficiency.hpp); the shape factor (waves, K) is the
// training GEMM model's, set without this table. Measured: -17% (K = 512) to +1%, median |error| 6%;
// asserted: each row within 20%, the median within 8%.
TEST(GemmModel, ServingFp8GemmsReproduceDeepGemmsTable) {
  const GpuSpec h800 = find_gpu("H800", "gpu");
  const EfficiencyConstants c;
  struct Row {
    double groups, m, n, k, tflops;
  };
  const Row rows[] = {{1, 4096, 7168, 16384, 1358}, {1, 4096, 2112, 7168, 1058}, {1, 4096, 24576, 1536, 990},
                      {1, 4096, 32768, 512, 590},   {1, 4096, 4096, 7168, 1304},  {1, 4096, 7168, 2048, 1025},
                      {4, 8192, 4096, 7168, 1297},  {4, 8192, 7168, 2048, 1099},  {8, 4096, 4096, 7168, 1288},
                      {8, 4096, 7168, 2048, 1093}};
  std::vector<double> errors;
  for (const Row& r : rows) {
    const double predicted = h800.fp8_flops * c.gemm_fp8_deepgemm * gemm_shape_factor({r.m, r.n, r.k, r.groups}, h800, c) / 1e12;
    const double error = predicted / r.tflops - 1.0;
    EXPECT_LT(std::abs(error), 0.20) << r.m << " x " << r.n << " x " << r.k << ": " << predicted << " vs " << r.tflops;
    errors.push_back(std::abs(error));
  }
  std::sort(errors.begin(), errors.end());
  EXPECT_LT(errors[errors.size() / 2], 0.08);
}

// The decode-sized GEMMs of the same first DeepGEMM README (H800): the twelve dense rows at M = 64
// and 128, and the six masked grouped rows (decode's experts behind DeepEP's low-latency kernels),
// each against serving_gemm_time. The streaming rate gemm_stream_hbm is the median of the dense
// rows' own "Memory bandwidth" column, so the dense rows check the model around it, not apart from
// it; the masked rows set nothing. Measured: dense -52% .. +9%, median |error| 10.5% (the two
// worst, M = 128 against N = 2112 and 4096, are priced too slow: the model's 128-wide tiles leave
// most SMs idle, where DeepGEMM picks narrower blocks, its README's 'Unaligned block sizes');
// masked -9% .. +21%, median 9%.
TEST(GemmModel, DecodeSizedFp8GemmsAgainstDeepGemmsTable) {
  const GpuSpec h800 = find_gpu("H800", "gpu");
  const EfficiencyConstants c;
  struct Row {
    double groups, m, n, k, tflops;
  };
  auto errors_of = [&](const std::vector<Row>& rows) {
    std::vector<double> errors;
    for (const Row& r : rows) {
      const double measured = 2 * r.groups * r.m * r.n * r.k / (r.tflops * 1e12);
      const double predicted = serving_gemm_time({r.m, r.n, r.k, r.groups}, h800.fp8_flops, c.gemm_fp8_deepgemm, 1, h800, c);
      errors.push_back(std::abs(measured / predicted - 1.0));
    }
    std::sort(errors.begin(), errors.end());
    return errors;
  };
  const std::vector<double> dense = errors_of({{1, 64, 2112, 7168, 206},   {1, 64, 24576, 1536, 289}, {1, 64, 32768, 512, 219},
                                               {1, 64, 7168, 16384, 336},  {1, 64, 4096, 7168, 287},  {1, 64, 7168, 2048, 295},
                                               {1, 128, 2112, 7168, 352},  {1, 128, 24576, 1536, 535}, {1, 128, 32768, 512, 358},
                                               {1, 128, 7168, 16384, 645}, {1, 128, 4096, 7168, 533}, {1, 128, 7168, 2048, 510}});
  EXPECT_LT(dense.back(), 0.55);
  EXPECT_LT(0.5 * (dense[5] + dense[6]), 0.12);
  const std::vector<double> masked = errors_of({{1, 1024, 4096, 7168, 1233}, {1, 1024, 7168, 2048, 925}, {2, 512, 4096, 7168, 1040},
                                                {2, 512, 7168, 2048, 916},   {4, 256, 4096, 7168, 932},  {4, 256, 7168, 2048, 815}});
  EXPECT_LT(masked.back(), 0.25);
  EXPECT_LT(0.5 * (masked[2] + masked[3]), 0.12);
}

// A BF16 GEMM reaches gemm_bf16 of the chip's own maximum achievable matmul rate: 271.2 of 312
// TFLOP/s on an A100 SXM, 794.5 of 989 on an H100 SXM (gpus.json, from stas00/ml-engineering's
// MAMF table); a GPU with none published takes bf16_matmul_fraction_unmeasured. FP8 is unchanged.
TEST(GemmModel, BaseEfficiencyIsAShareOfTheChipsAchievableMatmulRate) {
  const EfficiencyConstants c;
  EXPECT_NEAR(gemm_base_efficiency(GemmPrecision::bf16, find_gpu("A100", "gpu"), c), c.gemm_bf16 * 271.2 / 312.0, 1e-12);
  EXPECT_NEAR(gemm_base_efficiency(GemmPrecision::bf16, find_gpu("H100", "gpu"), c), c.gemm_bf16 * 794.5 / 989.5, 1e-12);
  EXPECT_NEAR(gemm_base_efficiency(GemmPrecision::bf16, find_gpu("B200", "gpu"), c), c.gemm_bf16 * 1745.0 / 2250.0, 1e-12);
  // No measurement on file (the H200, which the table calls 'the same' as the H100 without a row):
  // the H100's share.
  EXPECT_NEAR(gemm_base_efficiency(GemmPrecision::bf16, find_gpu("H200", "gpu"), c),
              c.gemm_bf16 * c.bf16_matmul_fraction_unmeasured, 1e-12);
  EXPECT_EQ(gemm_base_efficiency(GemmPrecision::fp8, find_gpu("H100", "gpu"), c), c.gemm_fp8);
  // The A100's GEMMs run 86.9% / 80.3% = 1.08x closer to their peak than the H100's.
  const GemmShape big{8192, 8192, 8192, 1};
  const double a100 = gemm_time(big, GemmPrecision::bf16, find_gpu("A100", "gpu"), c) * 312e12;
  const double h100 = gemm_time(big, GemmPrecision::bf16, find_gpu("H100", "gpu"), c) * 989.5e12;
  EXPECT_GT(h100 / a100, 1.0);
}

TEST(Hardware, AMeasuredMatmulRateAbovePeakIsRefused) {
  const nlohmann::json g = nlohmann::json::parse(R"({"name": "X", "bf16_tflops": 100, "bf16_matmul_tflops": 120,
      "hbm_gb": 10, "hbm_tb_per_s": 1, "nvlink_gb_per_s": 1, "scaleout_gb_per_s": 1, "tdp_watts": 100})");
  try {
    (void)gpu_from_json(g, "gpu.json");
    FAIL();
  } catch (const ConfigError& e) {
    EXPECT_NE(std::string(e.what()).find("bf16_matmul_tflops"), std::string::npos) << e.what();
    EXPECT_NE(std::string(e.what()).find("must not exceed"), std::string::npos) << e.what();
  }
}

TEST(GemmModel, SmallMIsMemoryBound) {
  const GpuSpec h800 = find_gpu("H800", "gpu");
  const EfficiencyConstants c;
  // One token against a 7168 x 7168 BF16 weight: reading the weight dominates.
  const double bytes = (7168.0 + 7168.0 * 7168) * 2 + 7168.0 * 2;
  EXPECT_NEAR(gemm_time({1, 7168, 7168, 1}, GemmPrecision::bf16, h800, c), bytes / (h800.hbm_bandwidth * c.hbm), 1e-15);
}

// GB200 from NVIDIA's NVL72 table: a rack of 72 GPUs gives 360 PFLOPS BF16 and 720 FP8 "with
// sparsity" and 576 TB/s of HBM, so a GPU has (360 / 72) / 2 = 2.5 and 5 dense PFLOPS and 8 TB/s;
// its node is the 72-GPU NVLink domain. DeepSeek-V3 with EP 64 (Megatron-Bridge's GB200 layout)
// then sends nothing across racks, where on 8-GPU B200 nodes the same EP crosses 8 of them.
TEST(Hardware, Gb200IsPricedAsAnNvl72Rack) {
  const GpuSpec gb200 = find_gpu("GB200", "--gpu");
  EXPECT_DOUBLE_EQ(gb200.bf16_flops, 360e15 / 72 / 2);
  EXPECT_DOUBLE_EQ(gb200.fp8_flops, 720e15 / 72 / 2);
  EXPECT_DOUBLE_EQ(gb200.hbm_bandwidth, 576e12 / 72);
  EXPECT_DOUBLE_EQ(gb200.nvlink_bandwidth, 1.8e12 / 2);  // "1.8 TB/s bidirectional per GPU"
  EXPECT_EQ(gb200.gpus_per_node, 72);
  const ModelConfig v3 = preset_model("deepseek-v3");
  const AllToAllBytes rack = all_to_all_bytes_per_token(v3, 64, gb200.gpus_per_node, 1.0);
  EXPECT_EQ(rack.scaleout, 0.0);
  EXPECT_NEAR(rack.nvlink, 8 * (1.0 - 1.0 / 64) * 7168, 1e-9);
  EXPECT_GT(all_to_all_bytes_per_token(v3, 64, find_gpu("B200", "--gpu").gpus_per_node, 1.0).scaleout, 0.0);
}

// Blackwell Ultra from its datasheet's per-GPU columns, printed sparse ("Dense is 1/2 sparse spec
// shown"): GB300 NVL72 5 PFLOPS BF16 and 10 FP8, 279 GB at 8 TB/s, in a rack of 72; HGX B300 4.5 and
// 9, 270 GB at 7.7 TB/s, 8 to a node. Both with ConnectX-8 at 800 Gb/s a GPU.
TEST(Hardware, BlackwellUltraFromItsDatasheet) {
  const GpuSpec gb300 = find_gpu("GB300", "--gpu"), b300 = find_gpu("B300", "--gpu");
  EXPECT_DOUBLE_EQ(gb300.bf16_flops, 5e15 / 2);
  EXPECT_DOUBLE_EQ(gb300.fp8_flops, 10e15 / 2);
  EXPECT_DOUBLE_EQ(b300.bf16_flops, 4.5e15 / 2);
  EXPECT_DOUBLE_EQ(b300.fp8_flops, 9e15 / 2);
  EXPECT_DOUBLE_EQ(gb300.hbm_bandwidth, 8e12);
  EXPECT_DOUBLE_EQ(b300.hbm_bandwidth, 7.7e12);
  EXPECT_EQ(gb300.gpus_per_node, 72);
  EXPECT_EQ(b300.gpus_per_node, 8);
  EXPECT_DOUBLE_EQ(gb300.scaleout_bandwidth, 800e9 / 8);
  EXPECT_DOUBLE_EQ(b300.scaleout_bandwidth, 800e9 / 8);
}

TEST(Hardware, KnownGpusAndErrors) {
  const GpuSpec h800 = find_gpu("h800", "--gpu");
  EXPECT_EQ(h800.name, "H800");
  EXPECT_DOUBLE_EQ(h800.nvlink_bandwidth, 200e9);  // 400 GB/s bidirectional (V3 report §3.2.2)
  EXPECT_EQ(find_gpu("A100", "--gpu").fp8_flops, 0.0);
  for (const char* name : {"H800", "H100", "H200", "A100", "B200", "GB200", "B300", "GB300"}) EXPECT_NO_THROW((void)find_gpu(name, "--gpu"));
  try {
    (void)find_gpu("X100", "--gpu");
    FAIL();
  } catch (const ConfigError& e) {
    EXPECT_EQ(std::string(e.what()).rfind("--gpu: unknown GPU \"X100\" (known: H800, H100, H200, A100, B200, GB200, B300, GB300, A100-40GB, H20, RTX A6000)", 0), 0u)
        << e.what();
  }
}

}  // namespace
}  // namespace frugal::sim
