// Fused cross-entropy and distillation losses (losses.hpp).
#include <cooperative_groups.h>

#include <stdexcept>
#include <string>
#include <utility>

#include "frugal/kernels/cuda_check.hpp"
#include "frugal/kernels/device.hpp"
#include "frugal/kernels/losses.hpp"
#include "frugal/kernels/online_softmax.hpp"
#include "shared_memory.cuh"

namespace frugal::kernels {

namespace {

constexpr int kThreads = 256;
constexpr float kNegativeInfinity = -__builtin_huge_valf();

int blocks_for(long long n) { return static_cast<int>((n + kThreads - 1) / kThreads); }

// v2 and v3 read rows as float4: their rows of kLossVersions say vocab % 4 == 0.
void require_float4_rows(const char* kernel, const LossShape& shape) {
  static_assert(kLossVersions[1].vocab_multiple == 4 && kLossVersions[2].vocab_multiple == 4);
  const std::string broken = shape_error(kLossVersions[1], shape);
  if (!broken.empty()) throw std::invalid_argument(std::string(kernel) + ": " + broken);
}

// The rows whose target counts, which every gradient divides by: counted before the statistics,
// so that the gradient pass (or, in v3, the same kernel) finds the total ready.
__global__ void count_valid_rows_kernel(int rows, const int* targets, int* valid) {
  int mine = 0;
  for (int r = threadIdx.x; r < rows; r += blockDim.x) mine += targets[r] != kIgnoreIndex;
  for (int offset = 16; offset > 0; offset /= 2) mine += __shfl_xor_sync(0xffffffffu, mine, offset);
  if (threadIdx.x % 32 == 0) atomicAdd(valid, mine);
}

void count_valid_rows(const LossShape& shape, const int* targets, int* valid, cudaStream_t stream) {
  CUDA_CHECK(cudaMemsetAsync(valid, 0, sizeof(int), stream));
  count_valid_rows_kernel<<<1, 1024, 0, stream>>>(shape.rows, targets, valid);
  CUDA_CHECK(cudaGetLastError());
}

// ---- v1: a thread per row (statistics), a thread per element (gradient) ------------------------

// loss_r = LSE(z_r) − z_r[y_r]: one pass for the max, one for Σ exp(z − max).
__global__ void cross_entropy_stats_per_row(LossShape s, const float* logits, const int* targets, float* row_loss, float* row_lse) {
  const int r = blockIdx.x * blockDim.x + threadIdx.x;
  if (r >= s.rows) return;
  const float* z = logits + static_cast<long long>(r) * s.vocab;
  float m = kNegativeInfinity, sum = 0.0f;
  for (int i = 0; i < s.vocab; ++i) m = fmaxf(m, z[i]);
  for (int i = 0; i < s.vocab; ++i) sum += expf(z[i] - m);
  const float lse = m + logf(sum);
  row_lse[r] = lse;
  const int y = targets[r];
  row_loss[r] = y == kIgnoreIndex ? 0.0f : lse - z[y];
}

// z_r,i ← scale · (softmax(z_r)_i − [i = y_r]) / valid, 0 on ignored rows.
__global__ void cross_entropy_gradient_per_element(LossShape s, float* logits, const int* targets, const float* row_lse, float scale,
                                                   const int* valid) {
  const long long e = static_cast<long long>(blockIdx.x) * blockDim.x + threadIdx.x;
  if (e >= static_cast<long long>(s.rows) * s.vocab) return;
  const int r = static_cast<int>(e / s.vocab), i = static_cast<int>(e % s.vocab), y = targets[r];
  logits[e] = y == kIgnoreIndex ? 0.0f : scale * (expf(logits[e] - row_lse[r]) - (i == y ? 1.0f : 0.0f)) / static_cast<float>(*valid);
}

// Distillation statistics, a thread per row: maxima first, then the four sums (losses.hpp).
__global__ void distillation_stats_per_row(LossShape s, const float* student, const float* teacher, const int* targets,
                                           DistillationOptions o, DistillationOutputs out) {
  const int r = blockIdx.x * blockDim.x + threadIdx.x;
  if (r >= s.rows) return;
  const long long base = static_cast<long long>(r) * s.vocab;
  const float *zs = student + base, *zt = teacher + base, t = o.temperature;
  float ms = kNegativeInfinity, mt = kNegativeInfinity;
  for (int i = 0; i < s.vocab; ++i) {
    ms = fmaxf(ms, zs[i]);
    mt = fmaxf(mt, zt[i]);
  }
  float s_student = 0, s_student_t = 0, s_teacher_t = 0, weighted = 0;
  for (int i = 0; i < s.vocab; ++i) {
    s_student += expf(zs[i] - ms);
    s_student_t += expf((zs[i] - ms) / t);
    const float e = expf((zt[i] - mt) / t);
    s_teacher_t += e;
    weighted += e * (zt[i] - zs[i]) / t;
  }
  const float lse_s = ms + logf(s_student), lse_s_t = ms / t + logf(s_student_t), lse_t_t = mt / t + logf(s_teacher_t);
  out.row_lse[3 * r] = lse_s;
  out.row_lse[3 * r + 1] = lse_s_t;
  out.row_lse[3 * r + 2] = lse_t_t;
  const int y = targets[r];
  const bool counted = y != kIgnoreIndex;
  out.row_hard[r] = counted ? lse_s - zs[y] : 0.0f;
  out.row_soft[r] = counted ? t * t * (weighted / s_teacher_t - lse_t_t + lse_s_t) : 0.0f;
}

// ∂L/∂z_s = [α·T·(p_s − p_t) + (1 − α)·(softmax(z_s) − onehot(y))] / valid, written over z_s.
__device__ __forceinline__ float distillation_gradient(float zs, float zt, bool is_target, const float* lse, DistillationOptions o,
                                                       float inverse_valid) {
  const float t = o.temperature;
  const float soft = o.alpha * t * (expf(zs / t - lse[1]) - expf(zt / t - lse[2]));
  const float hard = (1.0f - o.alpha) * (expf(zs - lse[0]) - (is_target ? 1.0f : 0.0f));
  return (soft + hard) * inverse_valid;
}

__global__ void distillation_gradient_per_element(LossShape s, float* student, const float* teacher, const int* targets,
                                                  DistillationOptions o, const float* row_lse, const int* valid) {
  const long long e = static_cast<long long>(blockIdx.x) * blockDim.x + threadIdx.x;
  if (e >= static_cast<long long>(s.rows) * s.vocab) return;
  const int r = static_cast<int>(e / s.vocab), i = static_cast<int>(e % s.vocab), y = targets[r];
  student[e] = y == kIgnoreIndex ? 0.0f : distillation_gradient(student[e], teacher[e], i == y, row_lse + 3 * r, o, 1.0f / static_cast<float>(*valid));
}

// ---- v2: a block per row, online log-sum-exp, float4 ---------------------------------------------

// Warp shuffles of the running reductions (online_softmax.hpp), field by field.
__device__ OnlineSoftmax shuffled(const OnlineSoftmax& v, int offset) {
  return {__shfl_xor_sync(0xffffffffu, v.max, offset), __shfl_xor_sync(0xffffffffu, v.sum, offset),
          __shfl_xor_sync(0xffffffffu, v.sum_tempered, offset)};
}
__device__ OnlineTeacher shuffled(const OnlineTeacher& v, int offset) {
  return {__shfl_xor_sync(0xffffffffu, v.max, offset), __shfl_xor_sync(0xffffffffu, v.sum, offset),
          __shfl_xor_sync(0xffffffffu, v.weighted, offset)};
}

// One float4 of a row folded into the running reductions (v2, v3).
__device__ __forceinline__ void fold(OnlineSoftmax& mine, float4 v) {
  mine.add(v.x, 1.0f);
  mine.add(v.y, 1.0f);
  mine.add(v.z, 1.0f);
  mine.add(v.w, 1.0f);
}
__device__ __forceinline__ void fold(OnlineSoftmax& student, OnlineTeacher& teacher, float4 a, float4 b, float inverse_t) {
  for (const auto [x, y] : {float2{a.x, b.x}, float2{a.y, b.y}, float2{a.z, b.z}, float2{a.w, b.w}}) {
    student.add(x, inverse_t);
    teacher.add(y * inverse_t, (y - x) * inverse_t);
  }
}

// The gradients of one float4 of a row, elements 4q … 4q + 3 (y: the target column).
__device__ __forceinline__ float4 cross_entropy_gradient(float4 v, int q, int y, float lse, float factor) {
  return {factor * (expf(v.x - lse) - (4 * q == y ? 1.0f : 0.0f)), factor * (expf(v.y - lse) - (4 * q + 1 == y ? 1.0f : 0.0f)),
          factor * (expf(v.z - lse) - (4 * q + 2 == y ? 1.0f : 0.0f)), factor * (expf(v.w - lse) - (4 * q + 3 == y ? 1.0f : 0.0f))};
}
__device__ __forceinline__ float4 distillation_gradient(float4 a, float4 b, int q, int y, const float* lse, DistillationOptions o,
                                                        float inverse_valid) {
  return {distillation_gradient(a.x, b.x, 4 * q == y, lse, o, inverse_valid), distillation_gradient(a.y, b.y, 4 * q + 1 == y, lse, o, inverse_valid),
          distillation_gradient(a.z, b.z, 4 * q + 2 == y, lse, o, inverse_valid), distillation_gradient(a.w, b.w, 4 * q + 3 == y, lse, o, inverse_valid)};
}

// Every thread of the block gets the merge of all threads' values: warp shuffles, then one value
// per warp through shared memory. All threads must call it.
template <class Online>
__device__ Online block_merge(Online v, float inverse_t) {
  for (int offset = 16; offset > 0; offset /= 2) v.merge(shuffled(v, offset), inverse_t);
  __shared__ alignas(Online) unsigned char storage[sizeof(Online) * (kThreads / 32)];  // raw: no constructor runs on shared memory
  Online* per_warp = reinterpret_cast<Online*>(storage);
  __syncthreads();  // a previous call's readers are done with per_warp
  if (threadIdx.x % 32 == 0) per_warp[threadIdx.x / 32] = v;
  __syncthreads();
  Online all = per_warp[0];
  for (int w = 1; w < kThreads / 32; ++w) all.merge(per_warp[w], inverse_t);
  return all;
}

__global__ void __launch_bounds__(kThreads) cross_entropy_stats_per_block(LossShape s, const float* logits, const int* targets,
                                                                          float* row_loss, float* row_lse) {
  const int r = blockIdx.x;
  const float4* z = reinterpret_cast<const float4*>(logits + static_cast<long long>(r) * s.vocab);
  OnlineSoftmax mine;
  for (int q = threadIdx.x; q < s.vocab / 4; q += kThreads) {
    fold(mine, z[q]);
  }
  const OnlineSoftmax row = block_merge(mine, 1.0f);
  if (threadIdx.x != 0) return;
  const float lse = row.lse();
  row_lse[r] = lse;
  const int y = targets[r];
  row_loss[r] = y == kIgnoreIndex ? 0.0f : lse - logits[static_cast<long long>(r) * s.vocab + y];
}

__global__ void __launch_bounds__(kThreads) cross_entropy_gradient_per_block(LossShape s, float* logits, const int* targets,
                                                                             const float* row_lse, float scale, const int* valid) {
  const int r = blockIdx.x, y = targets[r];
  float4* z = reinterpret_cast<float4*>(logits + static_cast<long long>(r) * s.vocab);
  const float lse = row_lse[r], factor = y == kIgnoreIndex ? 0.0f : scale / static_cast<float>(*valid);
  for (int q = threadIdx.x; q < s.vocab / 4; q += kThreads) {
    z[q] = cross_entropy_gradient(z[q], q, y, lse, factor);
  }
}

__global__ void __launch_bounds__(kThreads) distillation_stats_per_block(LossShape s, const float* student, const float* teacher,
                                                                         const int* targets, DistillationOptions o, DistillationOutputs out) {
  const int r = blockIdx.x;
  const long long base = static_cast<long long>(r) * s.vocab;
  const float4* zs = reinterpret_cast<const float4*>(student + base);
  const float4* zt = reinterpret_cast<const float4*>(teacher + base);
  const float inverse_t = 1.0f / o.temperature;
  OnlineSoftmax mine;
  OnlineTeacher theirs;
  for (int q = threadIdx.x; q < s.vocab / 4; q += kThreads) {
    const float4 a = zs[q], b = zt[q];
    fold(mine, theirs, a, b, inverse_t);
  }
  const OnlineSoftmax st = block_merge(mine, inverse_t);
  const OnlineTeacher te = block_merge(theirs, 0.0f);
  if (threadIdx.x != 0) return;
  const float lse_s = st.lse(), lse_s_t = st.lse_tempered(inverse_t), lse_t_t = te.lse();
  out.row_lse[3 * r] = lse_s;
  out.row_lse[3 * r + 1] = lse_s_t;
  out.row_lse[3 * r + 2] = lse_t_t;
  const int y = targets[r];
  const bool counted = y != kIgnoreIndex;
  out.row_hard[r] = counted ? lse_s - student[base + y] : 0.0f;
  out.row_soft[r] = counted ? o.temperature * o.temperature * te.kl(lse_s_t) : 0.0f;
}

__global__ void __launch_bounds__(kThreads) distillation_gradient_per_block(LossShape s, float* student, const float* teacher,
                                                                            const int* targets, DistillationOptions o,
                                                                            const float* row_lse, const int* valid) {
  const int r = blockIdx.x, y = targets[r];
  const long long base = static_cast<long long>(r) * s.vocab;
  float4* zs = reinterpret_cast<float4*>(student + base);
  const float4* zt = reinterpret_cast<const float4*>(teacher + base);
  const float* lse = row_lse + 3 * r;
  const float inverse_valid = y == kIgnoreIndex ? 0.0f : 1.0f / static_cast<float>(*valid);
  for (int q = threadIdx.x; q < s.vocab / 4; q += kThreads) {
    zs[q] = distillation_gradient(zs[q], zt[q], q, y, lse, o, inverse_valid);
  }
}

// ---- v3: a cluster of 8 blocks per row, the row held in their shared memory (sm_90) ------------
// v2 reads each row twice because 517 KB does not fit in one block's shared memory. Eight blocks of
// a thread-block cluster hold an eighth each (65 KB at V3's vocabulary): each loads its slice once,
// folding it into its online (max, sum) on the way, publishes that pair in its shared memory, and
// after a cluster barrier reads the other seven through distributed shared memory (Hopper's
// DSMEM) to get the row's LSE; then it writes the gradient of its slice from shared memory. The
// logits cross HBM once each way — the minimal traffic.
constexpr int kClusterBlocks = 8;  // the portable maximum cluster size


// The float4s [q0, q1) of a row that block `rank` of its cluster holds.
struct ClusterSlice {
  int q0, q1;
};
__device__ ClusterSlice cluster_slice(int vocab) {
  const int rank = static_cast<int>(blockIdx.x % kClusterBlocks), quads = vocab / 4, per_block = (quads + kClusterBlocks - 1) / kClusterBlocks;
  return {rank * per_block, min((rank + 1) * per_block, quads)};
}

// The merge of the cluster's eight block totals, in every thread: each block publishes its total
// in its own shared memory, a cluster barrier, then all eight read through distributed shared
// memory in rank order; a second barrier keeps each block's shared memory alive until the others
// have read it.
template <class Online>
__device__ Online cluster_merge(const Online& block_total, float inverse_t) {
  Online all;
#if defined(__CUDA_ARCH__) && __CUDA_ARCH__ >= 900
  namespace cg = cooperative_groups;
  const cg::cluster_group cluster = cg::this_cluster();
  __shared__ alignas(Online) unsigned char storage[sizeof(Online)];
  Online* published = reinterpret_cast<Online*>(storage);
  if (threadIdx.x == 0) *published = block_total;
  cluster.sync();
  for (int r = 0; r < kClusterBlocks; ++r) all.merge(*cluster.map_shared_rank(published, r), inverse_t);
  cluster.sync();
#else
  __trap();  // never launched there: the v3 launchers refuse devices below 9.0
#endif
  return all;
}

__global__ void __launch_bounds__(kThreads) cross_entropy_cluster_per_row(LossShape s, float* logits, const int* targets, float scale,
                                                                          float* row_loss, float* row_lse, const int* valid) {
  extern __shared__ float4 slice[];
  const int row = blockIdx.x / kClusterBlocks;
  const ClusterSlice mine_only = cluster_slice(s.vocab);
  const int q0 = mine_only.q0, q1 = mine_only.q1;
  float4* z = reinterpret_cast<float4*>(logits + static_cast<long long>(row) * s.vocab);

  OnlineSoftmax mine;
  for (int q = q0 + threadIdx.x; q < q1; q += kThreads) {
    const float4 v = z[q];
    slice[q - q0] = v;
    fold(mine, v);
  }
  const float lse = cluster_merge(block_merge(mine, 1.0f), 1.0f).lse();  // the barriers also publish this block's slice
  const int y = targets[row];
  const bool first = blockIdx.x % kClusterBlocks == 0;
  if (threadIdx.x == 0) {
    if (first) row_lse[row] = lse;
    if (y == kIgnoreIndex && first) row_loss[row] = 0.0f;
    if (y != kIgnoreIndex && y / 4 >= q0 && y / 4 < q1) row_loss[row] = lse - reinterpret_cast<const float*>(slice)[y - 4 * q0];
  }
  const float factor = y == kIgnoreIndex ? 0.0f : scale / static_cast<float>(*valid);
  for (int q = q0 + threadIdx.x; q < q1; q += kThreads) {
    z[q] = cross_entropy_gradient(slice[q - q0], q, y, lse, factor);
  }
}

// Distillation the same way: each block holds its slice of the student's and the teacher's row.
__global__ void __launch_bounds__(kThreads) distillation_cluster_per_row(LossShape s, float* student, const float* teacher,
                                                                         const int* targets, DistillationOptions o, DistillationOutputs out,
                                                                         const int* valid) {
  extern __shared__ float4 slices[];
  const int row = blockIdx.x / kClusterBlocks;
  const ClusterSlice mine_only = cluster_slice(s.vocab);
  const int q0 = mine_only.q0, q1 = mine_only.q1, per_block = (s.vocab / 4 + kClusterBlocks - 1) / kClusterBlocks;
  float4* student_slice = slices;
  float4* teacher_slice = slices + per_block;
  const long long base = static_cast<long long>(row) * s.vocab;
  float4* zs = reinterpret_cast<float4*>(student + base);
  const float4* zt = reinterpret_cast<const float4*>(teacher + base);
  const float inverse_t = 1.0f / o.temperature;

  OnlineSoftmax mine;
  OnlineTeacher theirs;
  for (int q = q0 + threadIdx.x; q < q1; q += kThreads) {
    const float4 a = zs[q], b = zt[q];
    student_slice[q - q0] = a;
    teacher_slice[q - q0] = b;
    fold(mine, theirs, a, b, inverse_t);
  }
  const OnlineSoftmax st = cluster_merge(block_merge(mine, inverse_t), inverse_t);
  const OnlineTeacher te = cluster_merge(block_merge(theirs, 0.0f), 0.0f);
  const float lse[3] = {st.lse(), st.lse_tempered(inverse_t), te.lse()};
  const int y = targets[row];
  const bool first = blockIdx.x % kClusterBlocks == 0, counted = y != kIgnoreIndex;
  if (threadIdx.x == 0) {
    if (first) {
      for (int i = 0; i < 3; ++i) out.row_lse[3 * row + i] = lse[i];
      out.row_soft[row] = counted ? o.temperature * o.temperature * te.kl(lse[1]) : 0.0f;
      if (!counted) out.row_hard[row] = 0.0f;
    }
    if (counted && y / 4 >= q0 && y / 4 < q1) out.row_hard[row] = lse[0] - reinterpret_cast<const float*>(student_slice)[y - 4 * q0];
  }
  const float inverse_valid = counted ? 1.0f / static_cast<float>(*valid) : 0.0f;
  for (int q = q0 + threadIdx.x; q < q1; q += kThreads) {
    zs[q] = distillation_gradient(student_slice[q - q0], teacher_slice[q - q0], q, y, lse, o, inverse_valid);
  }
}

// Launches `kernel` with a cluster of 8 blocks per row and `slices` row slices of shared memory
// per block, after counting the valid rows.
template <class... Parameters, class... Arguments>
void launch_cluster_per_row(const char* name, void (*kernel)(Parameters...), const LossShape& shape, int slices, const int* targets, int* valid,
                            cudaStream_t stream, Arguments&&... arguments) {
  require_float4_rows(name, shape);
  std::string why;
  if (!thread_block_clusters_available(&why)) throw std::runtime_error(std::string(name) + ": " + why);
  const std::size_t per_block = static_cast<std::size_t>((shape.vocab / 4 + kClusterBlocks - 1) / kClusterBlocks);
  const std::size_t bytes = static_cast<std::size_t>(slices) * per_block * sizeof(float4);
  allow_dynamic_shared_memory(kernel, bytes, name);  // every call: the bytes follow the vocabulary
  count_valid_rows(shape, targets, valid, stream);
  cudaLaunchConfig_t config{};
  config.gridDim = dim3(static_cast<unsigned>(shape.rows) * kClusterBlocks);
  config.blockDim = dim3(kThreads);
  config.dynamicSmemBytes = bytes;
  config.stream = stream;
  cudaLaunchAttribute cluster{};
  cluster.id = cudaLaunchAttributeClusterDimension;
  cluster.val.clusterDim.x = kClusterBlocks;
  cluster.val.clusterDim.y = 1;
  cluster.val.clusterDim.z = 1;
  config.attrs = &cluster;
  config.numAttrs = 1;
  CUDA_CHECK(cudaLaunchKernelEx(&config, kernel, std::forward<Arguments>(arguments)...));
}


}  // namespace

void cross_entropy_v1(const LossShape& shape, float* logits, const int* targets, float scale, const CrossEntropyOutputs& out,
                      cudaStream_t stream) {
  count_valid_rows(shape, targets, out.valid_rows, stream);
  cross_entropy_stats_per_row<<<blocks_for(shape.rows), kThreads, 0, stream>>>(shape, logits, targets, out.row_loss, out.row_lse);
  CUDA_CHECK(cudaGetLastError());
  cross_entropy_gradient_per_element<<<blocks_for(static_cast<long long>(shape.rows) * shape.vocab), kThreads, 0, stream>>>(
      shape, logits, targets, out.row_lse, scale, out.valid_rows);
  CUDA_CHECK(cudaGetLastError());
}

void cross_entropy_v2(const LossShape& shape, float* logits, const int* targets, float scale, const CrossEntropyOutputs& out,
                      cudaStream_t stream) {
  require_float4_rows("cross_entropy_v2", shape);
  count_valid_rows(shape, targets, out.valid_rows, stream);
  cross_entropy_stats_per_block<<<shape.rows, kThreads, 0, stream>>>(shape, logits, targets, out.row_loss, out.row_lse);
  CUDA_CHECK(cudaGetLastError());
  cross_entropy_gradient_per_block<<<shape.rows, kThreads, 0, stream>>>(shape, logits, targets, out.row_lse, scale, out.valid_rows);
  CUDA_CHECK(cudaGetLastError());
}

void distillation_v1(const LossShape& shape, float* student_logits, const float* teacher_logits, const int* targets,
                     const DistillationOptions& options, const DistillationOutputs& out, cudaStream_t stream) {
  count_valid_rows(shape, targets, out.valid_rows, stream);
  distillation_stats_per_row<<<blocks_for(shape.rows), kThreads, 0, stream>>>(shape, student_logits, teacher_logits, targets, options, out);
  CUDA_CHECK(cudaGetLastError());
  distillation_gradient_per_element<<<blocks_for(static_cast<long long>(shape.rows) * shape.vocab), kThreads, 0, stream>>>(
      shape, student_logits, teacher_logits, targets, options, out.row_lse, out.valid_rows);
  CUDA_CHECK(cudaGetLastError());
}

void distillation_v2(const LossShape& shape, float* student_logits, const float* teacher_logits, const int* targets,
                     const DistillationOptions& options, const DistillationOutputs& out, cudaStream_t stream) {
  require_float4_rows("distillation_v2", shape);
  count_valid_rows(shape, targets, out.valid_rows, stream);
  distillation_stats_per_block<<<shape.rows, kThreads, 0, stream>>>(shape, student_logits, teacher_logits, targets, options, out);
  CUDA_CHECK(cudaGetLastError());
  distillation_gradient_per_block<<<shape.rows, kThreads, 0, stream>>>(shape, student_logits, teacher_logits, targets, options,
                                                                       out.row_lse, out.valid_rows);
  CUDA_CHECK(cudaGetLastError());
}

void cross_entropy_v3(const LossShape& shape, float* logits, const int* targets, float scale, const CrossEntropyOutputs& out,
                      cudaStream_t stream) {
  launch_cluster_per_row("cross_entropy_v3", cross_entropy_cluster_per_row, shape, 1, targets, out.valid_rows, stream, shape, logits, targets,
                         scale, out.row_loss, out.row_lse, static_cast<const int*>(out.valid_rows));
}

void distillation_v3(const LossShape& shape, float* student_logits, const float* teacher_logits, const int* targets,
                     const DistillationOptions& options, const DistillationOutputs& out, cudaStream_t stream) {
  launch_cluster_per_row("distillation_v3", distillation_cluster_per_row, shape, 2, targets, out.valid_rows, stream, shape, student_logits,
                         teacher_logits, targets, options, out, static_cast<const int*>(out.valid_rows));
}

}  // namespace frugal::kernels
