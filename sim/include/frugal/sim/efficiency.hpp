// The one documented set of efficiency constants every training estimate uses. No run has a
// constant of its own: a published run the model does not explain is reported as unexplained.
// Each value says where it comes from; "assumed" marks those no primary source pins down.
#pragma once

namespace frugal::sim {

struct EfficiencyConstants {
  // --- GEMMs (gemm_model.hpp) --------------------------------------------------------------
  // Fraction of the dense peak a large, well-shaped GEMM reaches before wave and K effects.
  // FP8 in training: FITTED on the corpus (corpus_fit.hpp): 0.68. The corpus's FP8 rows ran three
  // kinds of kernel: DeepSeek's block-scaled CUTLASS-3.6 kernels (DeepSeek-V3 rows), Transformer
  // Engine's per-tensor scaled cuBLASLt GEMMs (NeMo and Megatron-Bridge FP8 / FP8-CS rows on
  // H100, MPT-3B amp_fp8) and MXFP8 on B200, B300, GB200 and GB300. Bounds from the sources: DeepGEMM reaches 1358 TFLOPS
  // at M=4096 N=7168 K=16384 on an H800 (1979 peak; DeepGEMM README, first table): 0.686 of peak =
  // 0.75 x wave utilisation 0.97 x K factor 0.94, and the same README puts DeepGEMM 1.1-1.2x ahead
  // of the CUTLASS-3.6 kernels DeepSeek trained with: 0.75 / 1.2 = 0.625 for those. The fit lands
  // between the two. A user's measurement replaces it (frugal-sim calibrate, cuBLASLt).
  double gemm_fp8 = 0.68;
  // FP8 GEMMs in serving: DeepGEMM itself, the kernels DeepSeek's inference and SGLang run ("we
  // tested all shapes potentially used in DeepSeek-V3/R1 inference", DeepGEMM README; the LMSYS
  // blog: "full functionality of DeepEP, DeepGEMM"), so 0.75, before the shape factor. With the
  // shape factor below it gives DeepGEMM's H800 table for DeepSeek-V3's own shapes at M = 4096 and
  // in the contiguous grouped layout within -17% to +1% (tests/sim/test_serving.cpp).
  double gemm_fp8_deepgemm = 0.75;
  // BF16: the share of the chip's maximum achievable matmul rate (gpus.json bf16_matmul_tflops,
  // measured at the chip's best shape) that a large training GEMM reaches. A chip reaches its own
  // share of its peak: 86.9% on an A100 SXM, 80.3% on an H100 SXM, 77.6% on a B200 SXM
  // (stas00/ml-engineering, compute/accelerator/README.md, "Maximum Achievable Matmul FLOPS
  // comparison table", BF16).
  // FITTED on the corpus (corpus_fit.hpp): 0.93, i.e. 0.93 x 794.5 = 739 TFLOP/s on an H100 SXM.
  // A user's measurement replaces it (frugal-sim calibrate).
  double gemm_bf16 = 0.93;
  // The share of peak taken for a GPU with no published MAMF: the H100 SXM's measured 794.5 / 989
  // (the same table), the GPU most of the corpus ran on.
  double bf16_matmul_fraction_unmeasured = 0.803;
  int gemm_tile = 128;           // output tile edge of Hopper GEMM kernels (DeepGEMM, CUTLASS)
  // K elements' worth of prologue/epilogue: efficiency x K/(K + 1024). Assumed, and NOT what an
  // isolated GEMM shows: the H100 (sm_90) table of measured cuBLAS BF16 GEMMs that XLA's cost
  // model ships (OpenXLA xla/service/gpu/model/matmul_interpolator_data.h) has, at M = N = 4096,
  // 783 TFLOP/s at K = 4096, 620 at K = 512 (batch 4) and 504 at K = 256 (batch 4): K/(K + 160).
  // Set to 160 (and the four fitted constants refitted), the corpus's out-of-sample median goes
  // from 8.5% to 8.7% (mean 11.6% to 12.0%); at 2048 to 9.4%. FP8 GEMMs want more than BF16 ones:
  // DeepGEMM's H800 table (README, first table) has 1025 TFLOP/s at K = 2048 against 1358 at
  // K = 16384 (N = 7168), which K/(K + 800) reproduces; 160 for BF16 and 1024 for FP8 gave 10.5%.
  // One value for both is a compromise; 1024 is left, not fitted.
  double gemm_k_overhead = 1024;
  // A grouped (expert) GEMM pays a fixed time per expert on top of its FLOPs: each expert is a
  // problem of its own to schedule (Transformer Engine's GroupedLinear runs "a per-expert loop of
  // cuBLASLt GEMMs across multiple CUDA streams", NVIDIA/TransformerEngine PR #3134). FITTED on the
  // corpus (corpus_fit.hpp): 25 us. An independent check of its size, in the same PR's table: 8
  // experts x 128 tokens, N = K = 2048, take 0.267 ms through that loop on a B200 (33 us an expert)
  // and 0.069 ms in one CUTLASS launch.
  double grouped_gemm_per_expert_s = 25e-6;
  // --- attention core (FlashAttention-style kernels, BF16) ---------------------------------
  // FlashAttention-2, the kernel of the 2023-24 runs validated here, "achieves only 35%
  // utilization on H100" (FlashAttention-3, arXiv 2407.08608, abstract); its backward is assumed
  // slower still. FlashAttention-3 reaches 75% forward: raise these for a run that uses it.
  double attention_fwd = 0.35;
  double attention_bwd = 0.25;
  // Hopper-native attention (AttentionKernel::hopper_fused): cuDNN's fused attention, the kernel
  // Transformer Engine runs on Hopper, reaches 518-529 TFLOPS forward (causal) and 499-518
  // backward at 4K-8K tokens, head dim 128, on an H100 SXM5 (989 peak): FlashAttention-3, arXiv
  // 2407.08608, Figs. 5-6, read off the bars. FlashAttention-3 itself is 10% faster still.
  double attention_fwd_hopper = 0.53;
  double attention_bwd_hopper = 0.51;
  // FlashAttention-1 (AttentionKernel::flash_attention_1: flash-attn 1.x, or the Triton port of
  // its algorithm): FlashAttention-2 "is around 2x faster than FlashAttention and FlashAttention in
  // xformers ... around 1.3-1.5x faster than FlashAttention in Triton in the forward pass and around
  // 2x faster in the backward pass" (FlashAttention-2, arXiv 2307.08691, §4.1, A100). The same
  // ratio is taken on every GPU: FlashAttention-2's efficiency divided by 2, forward and backward.
  double flash_attention_2_speedup_over_1 = 2.0;
  // --- memory-bound kernels ------------------------------------------------------------------
  double hbm = 0.60;  // fraction of HBM bandwidth unfused element-wise kernels reach (assumed)
  // --- links ---------------------------------------------------------------------------------
  // DeepEP normal kernels on H800: 153-158 GB/s of NVLink's 200, 43-47 GB/s of IB's 50
  // (deepseek-ai/DeepEP README).
  double nvlink = 0.78;
  double scaleout = 0.90;
  double collective_latency_s = 10e-6;  // per all-to-all or collective launch (ISCA25 Table 5: 3-4 us links)
  // Overlap hides less than the schedule allows: NCCL's kernels hold SMs and HBM bandwidth while
  // they run, so the computation they overlap slows, and dependencies serialise part of the rest.
  // Charged as this share of the communication an overlap could hide (TP with comm overlap,
  // FSDP/ZeRO gathers and reductions, ring attention; DualPipe gives communication SMs of its
  // own, dualpipe_comm_sms, and is not charged). FITTED on the corpus (corpus_fit.hpp): 0.625 --
  // large for contention alone; it also carries what the model lacks about overlap.
  double overlap_shortfall = 0.625;
  // --- overlap and scheduling ---------------------------------------------------------------
  // DualPipe overlaps all-to-all and PP traffic with computation but gives communication 20 of
  // the H800's 132 SMs (V3 report §3.2.2): computation runs on the rest.
  double dualpipe_comm_sms = 20;
  // Expert-load imbalance in training: the busiest GPU's routed tokens over the mean. Assumed 1.2
  // (a batch MaxVio of 0.2) with DeepSeek-style balancing, whose bias keeps adjusting as training
  // runs; the whole step waits for the busiest GPU.
  double moe_load_imbalance = 1.20;
  // Serving, whose router no longer adjusts: the spread of the routed experts' loads, as a
  // coefficient of variation (expert_placement.hpp draws the loads from it). NVIDIA counted
  // DeepSeek-R1's routed tokens per expert slot on 32 GPUs without EPLB (TensorRT-LLM EP blog,
  // Table 1, one machine-translation dataset): mean 128, standard deviation 164.1, so 1.28. The
  // same table's per-GPU figures (2.56x the mean without EPLB, 1.11x with 32 redundant slots) are
  // what the placement model is checked against (serve --validate), not set from.
  double expert_load_cv = 164.1 / 128.0;
  // Fixed cost of one MoE layer's forward and backward per micro-batch beyond its kernels' work:
  // a dropless dispatcher copies the tokens-per-expert counts to the host to size the all-to-all
  // and waits for them, so the GPU idles while the host launches what follows; permutation and
  // router kernels too short to fill the GPU. FITTED on the corpus (corpus_fit.hpp): 0.55 ms.
  double moe_layer_fixed_s = 0.55e-3;
  // --- serving (serving.hpp) ------------------------------------------------------------------
  // Streaming weights and KV cache in decode: FlashMLA reaches 3000 GB/s of the H800's 3350
  // (deepseek-ai/FlashMLA README) = 0.89.
  double decode_hbm = 0.89;
  // MLA decode attention when compute-bound: FlashMLA's dense decoding kernel reaches "660 TFLOPS
  // in computation-bound configuration on H800 SXM5" (deepseek-ai/FlashMLA README) of 989.5.
  double decode_attention = 0.667;
  // Decode dispatch and combine through the NIC (DeepEP's low-latency kernels): 39 GB/s of the
  // CX7's ~50 at EP128 with 128 tokens (deepseek-ai/DeepEP README, low-latency table, pure RDMA);
  // the node's own share rides NVLink at `nvlink` since DeepEP's 2025-06-05 change (serving.hpp).
  double decode_all_to_all = 0.78;
  // A memory-bound GEMM (decode's few rows against a whole weight matrix) streams its operands at
  // this share of the HBM bandwidth: DeepGEMM's FP8 GEMMs at M = 64 and 128, "all shapes potentially
  // used in DeepSeek-V3/R1 inference", moved 1509-2668 GB/s of the H800's 3350, median 2298.5 over
  // the twelve rows (deepseek-ai/DeepGEMM README, first version, 'Normal GEMMs for dense models';
  // bytes as it counts them: A, B and the BF16 output). FlashMLA's 0.89 (decode_hbm) is an attention
  // kernel reading the KV cache, not a GEMM streaming weights.
  double gemm_stream_hbm = 2298.5 / 3350.0;
  // Fixed cost of one engine iteration (scheduling, launches under CUDA graphs); assumed.
  double serving_iteration_overhead_s = 0.5e-3;
  // --- memory --------------------------------------------------------------------------------
  // HBM kept free for the CUDA context, communication buffers and allocator fragmentation.
  double memory_reserve_fraction = 0.08;
};

inline const EfficiencyConstants& default_efficiency() {
  static const EfficiencyConstants constants;
  return constants;
}

}  // namespace frugal::sim
