// The reduce launchers of a build without the CUDA backend (core/cuda/built_without_cuda.h).
#include "core/cuda/reduce.h"
#include "core/cuda/built_without_cuda.h"

namespace recgrad::cuda {

Tensor sum(const Tensor& /*input*/, const raw::ReducePlan& /*plan*/) { throw_built_without_cuda("sum"); }

Tensor extreme_over_dims(const Tensor& /*input*/, const raw::ReducePlan& /*plan*/, bool /*is_max*/,
                         std::string_view op) {
  throw_built_without_cuda(op);
}

raw::ValuesIndices extreme_along_dim(const Tensor& /*input*/, int /*dim*/, bool /*keepdim*/, bool /*is_max*/,
                                     std::string_view op) {
  throw_built_without_cuda(op);
}

Tensor var(const Tensor& /*input*/, const raw::ReducePlan& /*plan*/, std::int64_t /*correction*/) {
  throw_built_without_cuda("var");
}

Tensor norm(const Tensor& /*input*/, const raw::ReducePlan& /*plan*/, double /*p*/) {
  throw_built_without_cuda("norm");
}

Tensor logsumexp(const Tensor& /*input*/, const raw::ReducePlan& /*plan*/) { throw_built_without_cuda("logsumexp"); }

Tensor scatter_selected(const Tensor& /*src*/, const Tensor& /*index*/, const Shape& /*shape*/,
                        const raw::AxisLayout& /*layout*/) {
  throw_built_without_cuda("scatter_selected");
}

Tensor share_among_ties(const Tensor& /*x*/, const Tensor& /*selected_kept*/, const Tensor& /*grad_kept*/,
                        const std::vector<std::int64_t>& /*dims*/) {
  throw_built_without_cuda("share_among_ties");
}

Tensor var_backward(const Tensor& /*x*/, const Tensor& /*grad_kept*/, const std::vector<std::int64_t>& /*dims*/,
                    std::int64_t /*correction*/) {
  throw_built_without_cuda("var_backward");
}

Tensor norm_backward(const Tensor& /*x*/, const Tensor& /*norm_kept*/, const Tensor& /*grad_kept*/, double /*p*/,
                     const std::vector<std::int64_t>& /*dims*/) {
  throw_built_without_cuda("norm_backward");
}

Tensor logsumexp_backward(const Tensor& /*x*/, const Tensor& /*lse_kept*/, const Tensor& /*grad_kept*/) {
  throw_built_without_cuda("logsumexp_backward");
}

}  // namespace recgrad::cuda
