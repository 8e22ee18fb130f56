// Fused attention on CUDA, FlashAttention-2 style (core/ops/flash_attention.h has the formulas). The
// scores s = scale q k^T are never stored: each kernel streams tiles of rows through shared memory and
// recomputes what it needs.
//
// Work split (the same pattern in all three kernels). A block of kWarps warps owns kRowsPerBlock "own"
// rows (query rows in the forward and dq kernels, key rows in the dk/dv kernel), kRowsPerWarp per warp,
// and streams tiles of kTile = 32 "other" rows (keys, or queries) through shared memory:
//   * scores: lane t computes s(own row r, other row t) for each of its warp's rows: a dot product over
//     the head dim, its other row read from a padded shared tile (odd row stride: the 32 lanes hit 32
//     banks) and the own row read as a broadcast;
//   * accumulation: lane t owns head-dim columns d = t, t + 32, t + 64, t + 96 (kChunks of them) of each
//     own row's accumulator, and adds sum_j w_j * tile[j][d] over the tile, w_j fetched from lane j by a
//     shuffle. Registers per thread: kRowsPerWarp * kChunks floats per accumulator (16 at D = 128).
//
// Forward (one block per batch, query head, 16 query rows), online softmax per query row i:
//   for each key tile: m' = max(m, max_j s_ij),  l = l exp(m - m') + sum_j exp(s_ij - m'),
//                      acc = acc exp(m - m') + sum_j exp(s_ij - m') v_j,  m = m'
//   out_i = acc / l,  lse_i = m + log l   (no visible key: out_i = 0, lse_i = -inf).
// Backward, with p_ij = exp(s_ij - lse_i) recomputed (0 when masked or lse_i = -inf):
//   D_i = dout_i . out_i                              (row_dot_kernel, a warp per row)
//   ds_ij = p_ij (dout_i . v_j - D_i)
//   dk_j = scale sum_i ds_ij q_i,  dv_j = sum_i p_ij dout_i
//       (one block per batch, kv head, 16 key rows; loops over the query heads of the group, then over
//        query tiles, in a fixed order: grouped-query sums need no atomics)
//   dq_i = scale sum_j ds_ij k_j                      (one block per batch, query head, 16 query rows)
// Every sum runs in a fixed order, so results are bit-identical from run to run. Causal masks let the
// kernels skip whole tiles: a query block stops at the last key its last row sees, and a key block starts
// at the first query tile that sees its first key.
#include <cmath>
#include <cstdint>
#include <limits>
#include <type_traits>

#include "core/cuda/flash_attention.h"
#include "core/cuda/kernel_utils.cuh"
#include "core/cuda/runtime_check.h"

namespace recgrad::cuda {
namespace {

constexpr int kWarps = 4;
constexpr int kThreadsPerBlock = kWarps * kWarpSize;
/// Own rows (queries or keys) per warp and per block.
constexpr int kRowsPerWarp = 4;
constexpr int kRowsPerBlock = kWarps * kRowsPerWarp;
/// Other rows (keys or queries) per streamed tile: one per lane.
constexpr int kTile = kWarpSize;
/// Head-dim columns per lane: up to 4 chunks of 32 columns (D <= 128).
constexpr int kMaxChunks = static_cast<int>(raw::kFlashAttentionMaxHeadDim) / kWarpSize;
/// Dynamic shared memory beyond this needs an opt-in per kernel.
constexpr std::size_t kDefaultSharedBytes = 48 * 1024;
constexpr unsigned kFullWarp = 0xffffffffu;

/// Sizes and masks of one call, passed to the kernels by value.
struct Problem {
  int heads = 0, kv_heads = 0, query_len = 0, key_len = 0;
  int head_dim = 0, value_dim = 0;
  float scale = 1.0f;
  bool causal = false;
  std::int64_t causal_offset = 0;
  const bool* key_padding = nullptr;  // [B, Tk], true = masked; null when absent
};

/// Whether query i (< Tq) of batch b attends key j: j < Tk, not causally hidden (j <= i + causal_offset),
/// and not padding.
__device__ __forceinline__ bool key_visible(const Problem& p, int b, int i, int j) {
  if (j >= p.key_len) return false;
  if (p.causal && static_cast<std::int64_t>(j) > i + p.causal_offset) return false;
  return p.key_padding == nullptr || !p.key_padding[static_cast<std::int64_t>(b) * p.key_len + j];
}

/// Row stride of a shared tile whose rows are read one per lane: odd, so that the 32 lanes reading
/// column d of 32 different rows hit 32 different banks.
__host__ __device__ constexpr int lane_row_stride(int width) { return width | 1; }

/// Copies rows [first, first + rows) of a dense [total_rows, width] matrix into a shared tile with row
/// stride `stride`; rows at or past total_rows become zeros. All threads of the block take part.
__device__ __forceinline__ void load_tile(float* tile, int stride, const float* src, int first, int rows,
                                          int total_rows, int width) {
  for (int e = threadIdx.x; e < rows * width; e += blockDim.x) {
    const int r = e / width, c = e % width;
    const int row = first + r;
    tile[r * stride + c] = row < total_rows ? src[static_cast<std::int64_t>(row) * width + c] : 0.0f;
  }
}

/// The (own-row tile, batch, head) a block works on: blockIdx.x = (b * heads + head) * tiles + tile.
struct BlockTask {
  int tile;
  int batch;
  int head;
  std::int64_t batch_head;  // b * heads + head
};

__device__ __forceinline__ BlockTask block_task(int tiles, int heads) {
  const std::int64_t index = blockIdx.x;
  const std::int64_t batch_head = index / tiles;
  return {static_cast<int>(index % tiles), static_cast<int>(batch_head / heads), static_cast<int>(batch_head % heads),
          batch_head};
}

/// One past the last key that any query in [0, last_query] sees (all keys when not causal).
__device__ __forceinline__ int key_end_for(const Problem& p, int last_query) {
  if (!p.causal) return p.key_len;
  const std::int64_t end = static_cast<std::int64_t>(last_query) + p.causal_offset + 1;
  return static_cast<int>(end < 0 ? 0 : (end > p.key_len ? p.key_len : end));
}

__host__ __device__ constexpr int ceil_div(int a, int b) { return (a + b - 1) / b; }

// ---- forward --------------------------------------------------------------------------------------

/// out [B, H, Tq, Dv], lse [B, H, Tq]. Shared: q_tile [16][D], k_tile [32][D | 1], v_tile [32][Dv].
template <int kChunks>
__global__ void __launch_bounds__(kThreadsPerBlock)
    flash_forward_kernel(Problem p, const float* __restrict__ q, const float* __restrict__ k,
                         const float* __restrict__ v, float* __restrict__ out, float* __restrict__ lse) {
  extern __shared__ float shared[];
  const int dim = p.head_dim, value_dim = p.value_dim, k_stride = lane_row_stride(dim);
  float* q_tile = shared;
  float* k_tile = q_tile + kRowsPerBlock * dim;
  float* v_tile = k_tile + kTile * k_stride;

  const BlockTask task = block_task(ceil_div(p.query_len, kRowsPerBlock), p.heads);
  const std::int64_t kv = static_cast<std::int64_t>(task.batch) * p.kv_heads + task.head / (p.heads / p.kv_heads);
  const float* keys = k + kv * p.key_len * dim;
  const float* values = v + kv * p.key_len * value_dim;
  const int first_row = task.tile * kRowsPerBlock;
  const int warp = threadIdx.x / kWarpSize, lane = threadIdx.x % kWarpSize;
  const int warp_row = warp * kRowsPerWarp;  // the warp's first row within the block

  load_tile(q_tile, dim, q + task.batch_head * p.query_len * dim, first_row, kRowsPerBlock, p.query_len, dim);

  // Online-softmax state of the warp's rows: running max m, running sum l, unnormalised output acc.
  float row_max[kRowsPerWarp], row_sum[kRowsPerWarp], acc[kRowsPerWarp][kChunks];
#pragma unroll
  for (int r = 0; r < kRowsPerWarp; ++r) {
    row_max[r] = -INFINITY;
    row_sum[r] = 0.0f;
#pragma unroll
    for (int c = 0; c < kChunks; ++c) acc[r][c] = 0.0f;
  }

  const int key_end = key_end_for(p, min(first_row + kRowsPerBlock, p.query_len) - 1);
  for (int first_key = 0; first_key < key_end; first_key += kTile) {
    __syncthreads();  // the previous tile has been read (and the first time: q_tile is complete)
    load_tile(k_tile, k_stride, keys, first_key, kTile, p.key_len, dim);
    load_tile(v_tile, value_dim, values, first_key, kTile, p.key_len, value_dim);
    __syncthreads();
    const int keys_here = min(kTile, key_end - first_key);
    const int key = first_key + lane;  // this lane's key

    float score[kRowsPerWarp] = {};  // q_i . k_key for the warp's rows
    for (int d = 0; d < dim; ++d) {
      const float kd = k_tile[lane * k_stride + d];
#pragma unroll
      for (int r = 0; r < kRowsPerWarp; ++r) score[r] += q_tile[(warp_row + r) * dim + d] * kd;
    }

    // Online-softmax update of each row's max and sum; prob = exp(s - new max) of this lane's key.
    float prob[kRowsPerWarp];
    bool any_row = false;  // some row of the warp sees a key of this tile (warp-uniform)
#pragma unroll
    for (int r = 0; r < kRowsPerWarp; ++r) {
      const int query = first_row + warp_row + r;
      const bool visible = query < p.query_len && lane < keys_here && key_visible(p, task.batch, query, key);
      const float s = visible ? score[r] * p.scale : -INFINITY;
      const float tile_max = warp_max(s);
      prob[r] = 0.0f;
      if (tile_max == -INFINITY) continue;  // no visible key in this tile: the row's state stays
      const float new_max = fmaxf(row_max[r], tile_max);
      const float rescale = expf(row_max[r] - new_max);  // 0 while nothing was visible before (m = -inf)
      prob[r] = visible ? expf(s - new_max) : 0.0f;
      row_sum[r] = row_sum[r] * rescale + warp_sum(prob[r]);
      row_max[r] = new_max;
#pragma unroll
      for (int c = 0; c < kChunks; ++c) acc[r][c] *= rescale;
      any_row = true;
    }
    if (!any_row) continue;
    // acc += sum_j prob_j v_j: each value read from shared memory once serves the warp's rows.
    for (int j = 0; j < keys_here; ++j) {
      float value[kChunks];
#pragma unroll
      for (int c = 0; c < kChunks; ++c) {
        const int d = lane + c * kWarpSize;
        value[c] = d < value_dim ? v_tile[j * value_dim + d] : 0.0f;
      }
#pragma unroll
      for (int r = 0; r < kRowsPerWarp; ++r) {
        const float prob_j = __shfl_sync(kFullWarp, prob[r], j);
#pragma unroll
        for (int c = 0; c < kChunks; ++c) acc[r][c] += prob_j * value[c];
      }
    }
  }

#pragma unroll
  for (int r = 0; r < kRowsPerWarp; ++r) {
    const int query = first_row + warp_row + r;
    if (query >= p.query_len) continue;
    const std::int64_t row = task.batch_head * p.query_len + query;
    const bool attended = row_sum[r] > 0.0f;  // some key was visible (the max term alone adds exp(0) = 1)
    const float inv_sum = attended ? 1.0f / row_sum[r] : 0.0f;
#pragma unroll
    for (int c = 0; c < kChunks; ++c) {
      const int d = lane + c * kWarpSize;
      if (d < value_dim) out[row * value_dim + d] = acc[r][c] * inv_sum;
    }
    if (lane == 0) lse[row] = attended ? row_max[r] + logf(row_sum[r]) : -INFINITY;
  }
}

// ---- backward ---------------------------------------------------------------------------------------

/// delta[r] = sum_d grad_out[r, d] * out[r, d] over `rows` dense rows of `width`: a warp per row.
__global__ void __launch_bounds__(kThreadsPerBlock)
    row_dot_kernel(const float* __restrict__ grad_out, const float* __restrict__ out, float* __restrict__ delta,
                   std::int64_t rows, int width) {
  const std::int64_t row = static_cast<std::int64_t>(blockIdx.x) * kWarps + threadIdx.x / kWarpSize;
  if (row >= rows) return;  // the whole warp leaves together
  const int lane = threadIdx.x % kWarpSize;
  float total = 0.0f;
  for (int d = lane; d < width; d += kWarpSize) total += grad_out[row * width + d] * out[row * width + d];
  total = warp_sum(total);
  if (lane == 0) delta[row] = total;
}

/// grad_k [B, Hkv, Tk, D] and grad_v [B, Hkv, Tk, Dv]; one block per (batch, kv head, 16 keys), lane t of
/// a warp takes query t of the streamed tile. Shared: k_tile [16][D], v_tile [16][Dv],
/// q_tile [32][D | 1], g_tile [32][Dv | 1] (rows of grad_out), lse_tile [32], delta_tile [32].
template <int kChunks>
__global__ void __launch_bounds__(kThreadsPerBlock)
    flash_backward_kv_kernel(Problem p, const float* __restrict__ q, const float* __restrict__ k,
                             const float* __restrict__ v, const float* __restrict__ grad_out,
                             const float* __restrict__ lse, const float* __restrict__ delta, float* __restrict__ grad_k,
                             float* __restrict__ grad_v) {
  extern __shared__ float shared[];
  const int dim = p.head_dim, value_dim = p.value_dim;
  const int q_stride = lane_row_stride(dim), g_stride = lane_row_stride(value_dim);
  float* k_tile = shared;
  float* v_tile = k_tile + kRowsPerBlock * dim;
  float* q_tile = v_tile + kRowsPerBlock * value_dim;
  float* g_tile = q_tile + kTile * q_stride;
  float* lse_tile = g_tile + kTile * g_stride;
  float* delta_tile = lse_tile + kTile;

  const BlockTask task = block_task(ceil_div(p.key_len, kRowsPerBlock), p.kv_heads);  // task.head: the kv head
  const int first_key = task.tile * kRowsPerBlock;
  const int warp = threadIdx.x / kWarpSize, lane = threadIdx.x % kWarpSize;
  const int warp_row = warp * kRowsPerWarp;
  load_tile(k_tile, dim, k + task.batch_head * p.key_len * dim, first_key, kRowsPerBlock, p.key_len, dim);
  load_tile(v_tile, value_dim, v + task.batch_head * p.key_len * value_dim, first_key, kRowsPerBlock, p.key_len,
            value_dim);

  float grad_key[kRowsPerWarp][kChunks] = {}, grad_value[kRowsPerWarp][kChunks] = {};

  // The first query that sees any key of this block is i = first_key - causal_offset; start at its tile.
  int first_query = 0;
  if (p.causal) {
    const std::int64_t first = static_cast<std::int64_t>(first_key) - p.causal_offset;
    first_query = static_cast<int>(first < 0 ? 0 : (first > p.query_len ? p.query_len : first));
    first_query = first_query / kTile * kTile;
  }
  const int group = p.heads / p.kv_heads;
  for (int member = 0; member < group; ++member) {  // the query heads reading this kv head, in order
    const std::int64_t batch_head = static_cast<std::int64_t>(task.batch) * p.heads + task.head * group + member;
    const float* q_rows = q + batch_head * p.query_len * dim;
    const float* g_rows = grad_out + batch_head * p.query_len * value_dim;
    for (int first_q = first_query; first_q < p.query_len; first_q += kTile) {
      __syncthreads();  // the previous tile has been read (and the first time: k_tile, v_tile are complete)
      load_tile(q_tile, q_stride, q_rows, first_q, kTile, p.query_len, dim);
      load_tile(g_tile, g_stride, g_rows, first_q, kTile, p.query_len, value_dim);
      if (threadIdx.x < kTile) {
        const int query = first_q + threadIdx.x;
        lse_tile[threadIdx.x] = query < p.query_len ? lse[batch_head * p.query_len + query] : -INFINITY;
        delta_tile[threadIdx.x] = query < p.query_len ? delta[batch_head * p.query_len + query] : 0.0f;
      }
      __syncthreads();
      const int queries_here = min(kTile, p.query_len - first_q);
      const int query = first_q + lane;  // this lane's query
      const float query_lse = lse_tile[lane], query_delta = delta_tile[lane];

      float score[kRowsPerWarp] = {}, grad_prob[kRowsPerWarp] = {};  // q . k_key and dout . v_key
      for (int d = 0; d < dim; ++d) {
        const float qd = q_tile[lane * q_stride + d];
#pragma unroll
        for (int r = 0; r < kRowsPerWarp; ++r) score[r] += qd * k_tile[(warp_row + r) * dim + d];
      }
      for (int d = 0; d < value_dim; ++d) {
        const float gd = g_tile[lane * g_stride + d];
#pragma unroll
        for (int r = 0; r < kRowsPerWarp; ++r) grad_prob[r] += gd * v_tile[(warp_row + r) * value_dim + d];
      }

      float prob[kRowsPerWarp], grad_score[kRowsPerWarp];  // p and ds of (this lane's query, key r)
      bool any_visible = false;                            // warp-uniform
#pragma unroll
      for (int r = 0; r < kRowsPerWarp; ++r) {
        const int key = first_key + warp_row + r;
        const bool visible = lane < queries_here && query_lse != -INFINITY && key_visible(p, task.batch, query, key);
        prob[r] = visible ? expf(score[r] * p.scale - query_lse) : 0.0f;
        grad_score[r] = prob[r] * (grad_prob[r] - query_delta);
        any_visible = any_visible || __any_sync(kFullWarp, visible);
      }
      if (!any_visible) continue;  // no query of this tile sees the warp's keys
      // dv += sum_i p_i dout_i and dk += sum_i ds_i q_i: each shared value read once serves the warp's keys.
      for (int i = 0; i < queries_here; ++i) {
        float grad_row[kChunks], query_row[kChunks];
#pragma unroll
        for (int c = 0; c < kChunks; ++c) {
          const int d = lane + c * kWarpSize;
          grad_row[c] = d < value_dim ? g_tile[i * g_stride + d] : 0.0f;
          query_row[c] = d < dim ? q_tile[i * q_stride + d] : 0.0f;
        }
#pragma unroll
        for (int r = 0; r < kRowsPerWarp; ++r) {
          const float prob_i = __shfl_sync(kFullWarp, prob[r], i);
          const float grad_score_i = __shfl_sync(kFullWarp, grad_score[r], i);
#pragma unroll
          for (int c = 0; c < kChunks; ++c) {
            grad_value[r][c] += prob_i * grad_row[c];
            grad_key[r][c] += grad_score_i * query_row[c];
          }
        }
      }
    }
  }

#pragma unroll
  for (int r = 0; r < kRowsPerWarp; ++r) {
    const int key = first_key + warp_row + r;
    if (key >= p.key_len) continue;
    const std::int64_t row = task.batch_head * p.key_len + key;
#pragma unroll
    for (int c = 0; c < kChunks; ++c) {
      const int d = lane + c * kWarpSize;
      if (d < dim) grad_k[row * dim + d] = grad_key[r][c] * p.scale;
      if (d < value_dim) grad_v[row * value_dim + d] = grad_value[r][c];
    }
  }
}

/// grad_q [B, H, Tq, D]; one block per (batch, query head, 16 queries), lane t of a warp takes key t of the
/// streamed tile. Shared: q_tile [16][D], g_tile [16][Dv], k_tile [32][D | 1], v_tile [32][Dv | 1].
template <int kChunks>
__global__ void __launch_bounds__(kThreadsPerBlock)
    flash_backward_q_kernel(Problem p, const float* __restrict__ q, const float* __restrict__ k,
                            const float* __restrict__ v, const float* __restrict__ grad_out,
                            const float* __restrict__ lse, const float* __restrict__ delta,
                            float* __restrict__ grad_q) {
  extern __shared__ float shared[];
  const int dim = p.head_dim, value_dim = p.value_dim;
  const int k_stride = lane_row_stride(dim), v_stride = lane_row_stride(value_dim);
  float* q_tile = shared;
  float* g_tile = q_tile + kRowsPerBlock * dim;
  float* k_tile = g_tile + kRowsPerBlock * value_dim;
  float* v_tile = k_tile + kTile * k_stride;

  const BlockTask task = block_task(ceil_div(p.query_len, kRowsPerBlock), p.heads);
  const std::int64_t kv = static_cast<std::int64_t>(task.batch) * p.kv_heads + task.head / (p.heads / p.kv_heads);
  const float* keys = k + kv * p.key_len * dim;
  const float* values = v + kv * p.key_len * value_dim;
  const int first_row = task.tile * kRowsPerBlock;
  const int warp = threadIdx.x / kWarpSize, lane = threadIdx.x % kWarpSize;
  const int warp_row = warp * kRowsPerWarp;

  load_tile(q_tile, dim, q + task.batch_head * p.query_len * dim, first_row, kRowsPerBlock, p.query_len, dim);
  load_tile(g_tile, value_dim, grad_out + task.batch_head * p.query_len * value_dim, first_row, kRowsPerBlock,
            p.query_len, value_dim);
  float query_lse[kRowsPerWarp], query_delta[kRowsPerWarp], grad_query[kRowsPerWarp][kChunks] = {};
#pragma unroll
  for (int r = 0; r < kRowsPerWarp; ++r) {
    const int query = first_row + warp_row + r;
    const std::int64_t row = task.batch_head * p.query_len + query;
    query_lse[r] = query < p.query_len ? lse[row] : -INFINITY;
    query_delta[r] = query < p.query_len ? delta[row] : 0.0f;
  }

  const int key_end = key_end_for(p, min(first_row + kRowsPerBlock, p.query_len) - 1);
  for (int first_key = 0; first_key < key_end; first_key += kTile) {
    __syncthreads();  // the previous tile has been read (and the first time: q_tile, g_tile are complete)
    load_tile(k_tile, k_stride, keys, first_key, kTile, p.key_len, dim);
    load_tile(v_tile, v_stride, values, first_key, kTile, p.key_len, value_dim);
    __syncthreads();
    const int keys_here = min(kTile, key_end - first_key);
    const int key = first_key + lane;  // this lane's key

    float score[kRowsPerWarp] = {}, grad_prob[kRowsPerWarp] = {};  // q_i . k_key and dout_i . v_key
    for (int d = 0; d < dim; ++d) {
      const float kd = k_tile[lane * k_stride + d];
#pragma unroll
      for (int r = 0; r < kRowsPerWarp; ++r) score[r] += q_tile[(warp_row + r) * dim + d] * kd;
    }
    for (int d = 0; d < value_dim; ++d) {
      const float vd = v_tile[lane * v_stride + d];
#pragma unroll
      for (int r = 0; r < kRowsPerWarp; ++r) grad_prob[r] += g_tile[(warp_row + r) * value_dim + d] * vd;
    }

    float grad_score[kRowsPerWarp];  // ds of (row r, this lane's key)
    bool any_visible = false;        // warp-uniform
#pragma unroll
    for (int r = 0; r < kRowsPerWarp; ++r) {
      const int query = first_row + warp_row + r;
      const bool visible = query < p.query_len && lane < keys_here && query_lse[r] != -INFINITY &&
                           key_visible(p, task.batch, query, key);
      const float prob = visible ? expf(score[r] * p.scale - query_lse[r]) : 0.0f;
      grad_score[r] = prob * (grad_prob[r] - query_delta[r]);
      any_visible = any_visible || __any_sync(kFullWarp, visible);
    }
    if (!any_visible) continue;  // the warp's rows see no key of this tile
    // dq += sum_j ds_j k_j: each key value read from shared memory once serves the warp's rows.
    for (int j = 0; j < keys_here; ++j) {
      float key_row[kChunks];
#pragma unroll
      for (int c = 0; c < kChunks; ++c) {
        const int d = lane + c * kWarpSize;
        key_row[c] = d < dim ? k_tile[j * k_stride + d] : 0.0f;
      }
#pragma unroll
      for (int r = 0; r < kRowsPerWarp; ++r) {
        const float grad_score_j = __shfl_sync(kFullWarp, grad_score[r], j);
#pragma unroll
        for (int c = 0; c < kChunks; ++c) grad_query[r][c] += grad_score_j * key_row[c];
      }
    }
  }

#pragma unroll
  for (int r = 0; r < kRowsPerWarp; ++r) {
    const int query = first_row + warp_row + r;
    if (query >= p.query_len) continue;
    const std::int64_t row = task.batch_head * p.query_len + query;
#pragma unroll
    for (int c = 0; c < kChunks; ++c) {
      const int d = lane + c * kWarpSize;
      if (d < dim) grad_q[row * dim + d] = grad_query[r][c] * p.scale;
    }
  }
}

// ---- host side --------------------------------------------------------------------------------------

Problem problem_of(const Tensor& q, const Tensor& k, const Tensor& v, const raw::FlashAttentionOptions& options) {
  Problem p;
  p.heads = static_cast<int>(q.size(1));
  p.kv_heads = static_cast<int>(k.size(1));
  p.query_len = static_cast<int>(q.size(2));
  p.key_len = static_cast<int>(k.size(2));
  p.head_dim = static_cast<int>(q.size(3));
  p.value_dim = static_cast<int>(v.size(3));
  p.scale = static_cast<float>(options.scale);
  p.causal = options.causal;
  p.causal_offset = options.causal_offset;
  if (options.key_padding_mask.defined()) {
    p.key_padding = static_cast<const bool*>(options.key_padding_mask.device_pointer());
  }
  return p;
}

/// Calls launch(std::integral_constant<int, chunks>) with chunks = ceil(width / 32) in 1..4.
template <typename Launch>
void with_chunks(int width, Launch&& launch) {
  switch (ceil_div(width, kWarpSize)) {
    case 1:
      launch(std::integral_constant<int, 1>{});
      break;
    case 2:
      launch(std::integral_constant<int, 2>{});
      break;
    case 3:
      launch(std::integral_constant<int, 3>{});
      break;
    default:
      launch(std::integral_constant<int, kMaxChunks>{});
      break;
  }
}

/// Blocks of a grid with `tiles` tiles of own rows for each of `batch_heads` (batch, head) pairs.
unsigned grid_of(std::int64_t tiles, std::int64_t batch_heads, const char* op) {
  const std::int64_t blocks = tiles * batch_heads;
  RG_CHECK(blocks <= std::numeric_limits<int>::max(), op, ": ", blocks, " blocks exceed one CUDA grid");
  return static_cast<unsigned>(blocks);
}

/// Lets `kernel` use `bytes` of dynamic shared memory (more than 48 KiB needs an opt-in).
template <typename Kernel>
void allow_shared_bytes(Kernel* kernel, std::size_t bytes, const char* op) {
  if (bytes > kDefaultSharedBytes) {
    RG_CUDA_CHECK(cudaFuncSetAttribute(kernel, cudaFuncAttributeMaxDynamicSharedMemorySize, static_cast<int>(bytes)),
                  op);
  }
}

}  // namespace

void flash_attention_forward(const Tensor& q, const Tensor& k, const Tensor& v,
                             const raw::FlashAttentionOptions& options, const Tensor& out, const Tensor& lse) {
  const Problem p = problem_of(q, k, v, options);
  const std::int64_t batch_heads = q.size(0) * p.heads;
  if (batch_heads == 0 || p.query_len == 0) return;
  const DeviceGuard guard(q.device().index, "flash_attention");
  const unsigned blocks = grid_of(ceil_div(p.query_len, kRowsPerBlock), batch_heads, "flash_attention");
  const std::size_t shared_bytes =
      sizeof(float) * (kRowsPerBlock * p.head_dim + kTile * lane_row_stride(p.head_dim) + kTile * p.value_dim);
  with_chunks(std::max(p.head_dim, p.value_dim), [&](auto chunks) {
    constexpr int kChunks = decltype(chunks)::value;
    allow_shared_bytes(flash_forward_kernel<kChunks>, shared_bytes, "flash_attention");
    flash_forward_kernel<kChunks><<<blocks, kThreadsPerBlock, shared_bytes, stream()>>>(
        p, static_cast<const float*>(q.device_pointer()), static_cast<const float*>(k.device_pointer()),
        static_cast<const float*>(v.device_pointer()), static_cast<float*>(out.device_pointer()),
        static_cast<float*>(lse.device_pointer()));
    RG_CUDA_CHECK_LAUNCH("flash_attention (CUDA kernel launch)");
  });
}

void flash_attention_backward(const Tensor& grad_out, const Tensor& q, const Tensor& k, const Tensor& v,
                              const Tensor& out, const Tensor& lse, const raw::FlashAttentionOptions& options,
                              const Tensor& grad_q, const Tensor& grad_k, const Tensor& grad_v) {
  const Problem p = problem_of(q, k, v, options);
  const std::int64_t batch = q.size(0);
  if (batch == 0 || p.heads == 0) return;
  const DeviceGuard guard(q.device().index, "flash_attention_backward");
  const char* op = "flash_attention_backward (CUDA kernel launch)";
  const float* q_data = static_cast<const float*>(q.device_pointer());
  const float* k_data = static_cast<const float*>(k.device_pointer());
  const float* v_data = static_cast<const float*>(v.device_pointer());
  const float* grad_out_data = static_cast<const float*>(grad_out.device_pointer());
  const float* lse_data = static_cast<const float*>(lse.device_pointer());

  // D_i = dout_i . out_i for every query row.
  const std::int64_t rows = batch * p.heads * p.query_len;
  const Tensor delta = Tensor::empty({rows}, DType::f32, q.device());
  if (rows > 0) {
    row_dot_kernel<<<static_cast<unsigned>((rows + kWarps - 1) / kWarps), kThreadsPerBlock, 0, stream()>>>(
        grad_out_data, static_cast<const float*>(out.device_pointer()), static_cast<float*>(delta.device_pointer()),
        rows, p.value_dim);
    RG_CUDA_CHECK_LAUNCH(op);
  }
  const float* delta_data = static_cast<const float*>(delta.device_pointer());

  with_chunks(std::max(p.head_dim, p.value_dim), [&](auto chunks) {
    constexpr int kChunks = decltype(chunks)::value;
    if (p.key_len > 0) {  // dk, dv: every key row is written (zeros where no query sees it)
      const unsigned blocks = grid_of(ceil_div(p.key_len, kRowsPerBlock), batch * p.kv_heads, op);
      const std::size_t shared_bytes =
          sizeof(float) * (kRowsPerBlock * (p.head_dim + p.value_dim) + kTile * lane_row_stride(p.head_dim) +
                           kTile * lane_row_stride(p.value_dim) + 2 * kTile);
      allow_shared_bytes(flash_backward_kv_kernel<kChunks>, shared_bytes, op);
      flash_backward_kv_kernel<kChunks><<<blocks, kThreadsPerBlock, shared_bytes, stream()>>>(
          p, q_data, k_data, v_data, grad_out_data, lse_data, delta_data, static_cast<float*>(grad_k.device_pointer()),
          static_cast<float*>(grad_v.device_pointer()));
      RG_CUDA_CHECK_LAUNCH(op);
    }
    if (p.query_len > 0) {  // dq: every query row is written (zeros on rows with no visible key)
      const unsigned blocks = grid_of(ceil_div(p.query_len, kRowsPerBlock), batch * p.heads, op);
      const std::size_t shared_bytes =
          sizeof(float) * (kRowsPerBlock * (p.head_dim + p.value_dim) + kTile * lane_row_stride(p.head_dim) +
                           kTile * lane_row_stride(p.value_dim));
      allow_shared_bytes(flash_backward_q_kernel<kChunks>, shared_bytes, op);
      flash_backward_q_kernel<kChunks><<<blocks, kThreadsPerBlock, shared_bytes, stream()>>>(
          p, q_data, k_data, v_data, grad_out_data, lse_data, delta_data, static_cast<float*>(grad_q.device_pointer()));
      RG_CUDA_CHECK_LAUNCH(op);
    }
  });
}

}  // namespace recgrad::cuda
