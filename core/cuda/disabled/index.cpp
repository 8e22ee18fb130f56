// The index launchers of a build without the CUDA backend (core/cuda/built_without_cuda.h).
#include "core/cuda/index.h"
#include "core/cuda/built_without_cuda.h"

namespace recgrad::cuda {

InvalidIndex first_invalid_index(const Tensor& index, std::int64_t /*bound*/, const char* op) {
  throw_built_without_cuda(detail::concat(op, " on ", index.device()));
}

void cat_into(const Tensor& out, const std::vector<Tensor>& /*inputs*/, int /*dim*/) {
  throw_built_without_cuda(detail::concat("cat_into", " on ", out.device()));
}

Tensor index_select(const Tensor& x, int /*dim*/, const Tensor& /*index*/, const char* op) {
  throw_built_without_cuda(detail::concat(op, " on ", x.device()));
}

void index_add_(const Tensor& dst, int /*dim*/, const Tensor& /*index*/, const Tensor& /*src*/, std::int64_t /*skip*/,
                const char* op) {
  throw_built_without_cuda(detail::concat(op, " on ", dst.device()));
}

Tensor gather(const Tensor& x, int /*dim*/, const Tensor& /*index*/) {
  throw_built_without_cuda(detail::concat("gather", " on ", x.device()));
}

void scatter_add_(const Tensor& dst, int /*dim*/, const Tensor& /*index*/, const Tensor& /*src*/) {
  throw_built_without_cuda(detail::concat("scatter_add_", " on ", dst.device()));
}

}  // namespace recgrad::cuda
