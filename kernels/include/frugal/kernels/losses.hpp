// Fused losses over a large vocabulary (V3: 129,280), forward and backward in one call, the
// gradient written over the logits so that no rows × vocab probability matrix is ever stored.
// The CPU twins are core's cross_entropy() and distillation_loss() (core/layers.hpp); the MTP
// loss (V3 §2.2, eq. 24–25) is the cross-entropy with mtp_shifted_targets (loss_targets.hpp) and
// scale λ/D. tests/kernels/test_losses_gpu.cpp checks every version against core.
//
// Cross-entropy, per row r with target y_r (rows whose target is kIgnoreIndex count for nothing):
//   loss_r = LSE(z_r) − z_r[y_r],  LSE(z) = m + log Σ_i exp(z_i − m),  m = max_i z_i
//   ∂(scale · mean loss)/∂z_r = scale · (softmax(z_r) − onehot(y_r)) / valid   (written over z_r)
// Distillation (Hinton, Vinyals & Dean 2015, §2), student z_s, teacher z_t, temperature T, α:
//   soft_r = T² · KL(p_t ‖ p_s) with p = softmax(z / T);  hard_r = LSE(z_s) − z_s[y_r]
//   L = α · mean soft + (1 − α) · mean hard
//   ∂L/∂z_s = [α · T · (p_s − p_t) + (1 − α) · (softmax(z_s) − onehot(y))] / valid  (over z_s)
// KL in one pass: with W = Σ_i e^{z_t,i/T − m_t} · (z_t,i − z_s,i)/T and S_t = Σ_i e^{z_t,i/T − m_t},
//   KL = W / S_t − LSE(z_t/T) + LSE(z_s/T).
//
// Outputs: per-row losses (0 on ignored rows), the rows' log-sum-exps, and the number of valid rows
// (a device int, zeroed and counted by the call); mean_over_valid() on the host turns the per-row
// losses into core's means. Targets must lie in [0, vocab) or be kIgnoreIndex.
// Versions (kLossVersions below; each first counts the valid rows, which every gradient divides by):
//   v1 — statistics with one thread per row (a pass for the max, one for the sums), the gradient
//        with one thread per element. Neighbouring threads read rows 517 KB apart: uncoalesced.
//   v2 — one block per row: a single read pass keeps an online log-sum-exp per thread (running max
//        and sum, rescaled when the max grows: Milakov & Gimelshein 2018), float4 loads, then the
//        block merges the threads' (max, sum) pairs; the gradient pass reads the row again and
//        writes over it. Traffic: two reads and one write of the logits (the minimum is one of
//        each: the row, 517 KB in fp32, does not fit in shared memory). Needs vocab % 4 == 0.
//   v3 (sm_90+) — the minimal traffic: a thread-block cluster of 8 blocks per row holds the row
//        (distillation: the student's and the teacher's) in their shared memory, an eighth each,
//        merges the eight blocks' reductions through distributed shared memory, and writes the
//        gradient from shared memory. Throws std::runtime_error below compute capability 9.0.
#pragma once

#include <cuda_runtime.h>

#include <array>
#include <string>

#include "frugal/kernels/kernel_version.hpp"
#include "frugal/kernels/loss_targets.hpp"

namespace frugal::kernels {

struct LossShape {
  int rows = 0, vocab = 0;
};

struct CrossEntropyOutputs {
  float* row_loss = nullptr;  // rows
  float* row_lse = nullptr;   // rows: LSE(z_r), which the gradient pass reads
  int* valid_rows = nullptr;  // one int
};

void cross_entropy_v1(const LossShape& shape, float* logits, const int* targets, float scale, const CrossEntropyOutputs& out,
                      cudaStream_t stream = nullptr);
void cross_entropy_v2(const LossShape& shape, float* logits, const int* targets, float scale, const CrossEntropyOutputs& out,
                      cudaStream_t stream = nullptr);
void cross_entropy_v3(const LossShape& shape, float* logits, const int* targets, float scale, const CrossEntropyOutputs& out,
                      cudaStream_t stream = nullptr);

struct DistillationOptions {
  float temperature = 2.0f;
  float alpha = 0.5f;
};

struct DistillationOutputs {
  float* row_soft = nullptr;  // T² · KL(p_t ‖ p_s) per row
  float* row_hard = nullptr;  // the hard-label cross-entropy per row
  float* row_lse = nullptr;   // rows × 3: LSE(z_s), LSE(z_s / T), LSE(z_t / T), which the gradient pass reads
  int* valid_rows = nullptr;
};

void distillation_v1(const LossShape& shape, float* student_logits, const float* teacher_logits, const int* targets,
                     const DistillationOptions& options, const DistillationOutputs& out, cudaStream_t stream = nullptr);
void distillation_v2(const LossShape& shape, float* student_logits, const float* teacher_logits, const int* targets,
                     const DistillationOptions& options, const DistillationOutputs& out, cudaStream_t stream = nullptr);
void distillation_v3(const LossShape& shape, float* student_logits, const float* teacher_logits, const int* targets,
                     const DistillationOptions& options, const DistillationOutputs& out, cudaStream_t stream = nullptr);

// The version table (kernel_version.hpp): each version's cross-entropy and distillation.
// Besides the limits, what each version moves through HBM, in rows × vocab × 4 bytes (what
// bench_kernels_losses reports as traffic_GB/s): cross-entropy v1 reads the logits three times and
// writes them once, v2 reads twice, v3 once; distillation v1 reads student and teacher twice for
// the statistics and once more for the gradient, v2 once and once, v3 once — each plus the write.
struct LossVersion {
  int number;
  const char* name;
  decltype(&cross_entropy_v1) cross_entropy;
  decltype(&distillation_v1) distillation;
  GpuFeature needs;
  int vocab_multiple;  // vocab % vocab_multiple == 0
  int cross_entropy_passes, distillation_passes;
};
inline constexpr std::array kLossVersions{
    LossVersion{1, "v1 thread per row", cross_entropy_v1, distillation_v1, GpuFeature::none, 1, 4, 7},
    LossVersion{2, "v2 online, block per row", cross_entropy_v2, distillation_v2, GpuFeature::none, 4, 3, 5},
    LossVersion{3, "v3 cluster of 8 holds the row", cross_entropy_v3, distillation_v3, GpuFeature::thread_block_clusters, 4, 2, 3},
};
inline std::string shape_error(const LossVersion& v, const LossShape& s) {
  if (s.vocab % v.vocab_multiple == 0) return "";
  return "vocab = " + std::to_string(s.vocab) + " is not a multiple of " + std::to_string(v.vocab_multiple) + " (float4 rows)";
}

}  // namespace frugal::kernels
