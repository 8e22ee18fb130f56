// The host allocator's block cache (core/cpu/host_allocator.h) on the allocation pattern of MiniOneRec's beam
// search: per decoding level, every layer's keys and values are reordered by the beams' parents (index_select)
// and extended by one position (cat), and the previous copies are freed; chunks of rows differ in prompt length.
//   BM_kv_cache_decoding/1  the cache as recgrad runs it (1 GiB)
//   BM_kv_cache_decoding/0  its peer in the same process: the cache off, so every large block comes from glibc,
//                           which maps fresh pages and has the kernel zero them, and goes back to it
// The ratio of the two is what the cache saves on this pattern.
#include <benchmark/benchmark.h>

#include <numeric>

#include "core/cpu/host_allocator.h"
#include "recgrad.h"

namespace {

using namespace recgrad;

constexpr std::int64_t kLayers = 4, kBeams = 640, kHeads = 4, kHeadDim = 32, kLevels = 4, kChunks = 4;

void BM_kv_cache_decoding(benchmark::State& state) {
  const std::size_t default_limit = std::size_t{1} << 30;
  cpu::host_set_cache_limit(state.range(0) == 1 ? default_limit : 0);
  std::vector<std::int64_t> order(kBeams);
  std::iota(order.rbegin(), order.rend(), std::int64_t{0});  // every beam moves
  const Tensor parents = from_vector(order, {kBeams});
  const Tensor new_position = zeros({kBeams, kHeads, 1, kHeadDim});
  for (auto _ : state) {
    for (std::int64_t chunk = 0; chunk < kChunks; ++chunk) {
      const std::int64_t prompt = 36 + 4 * chunk;  // tokens of the chunk's longest prompt
      std::vector<Tensor> caches(2 * kLayers, zeros({kBeams, kHeads, prompt, kHeadDim}));
      for (std::int64_t level = 1; level <= kLevels; ++level) {
        for (Tensor& cache : caches) cache = cat({index_select(cache, 0, parents), new_position}, 2);
      }
      benchmark::DoNotOptimize(caches.back().data<float>());
    }
  }
  cpu::host_set_cache_limit(default_limit);
  cpu::host_empty_cache();
}
BENCHMARK(BM_kv_cache_decoding)->Arg(1)->Arg(0)->Unit(benchmark::kMillisecond);

}  // namespace
