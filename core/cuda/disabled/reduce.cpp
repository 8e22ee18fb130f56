// The reduce launchers of a build without the CUDA backend (core/cuda/built_without_cuda.h).
#include "core/cuda/reduce.h"
#include "core/cuda/built_without_cuda.h"

namespace recgrad::cuda {

Tensor sum(const Tensor& input, const raw::ReducePlan& /*plan*/) {
  throw_built_without_cuda(detail::concat("sum", " on ", input.device()));
}

Tensor extreme_over_dims(const Tensor& input, const raw::ReducePlan& /*plan*/, bool /*is_max*/, std::string_view op) {
  throw_built_without_cuda(detail::concat(op, " on ", input.device()));
}

raw::ValuesIndices extreme_along_dim(const Tensor& input, int /*dim*/, bool /*keepdim*/, bool /*is_max*/,
                                     std::string_view op) {
  throw_built_without_cuda(detail::concat(op, " on ", input.device()));
}

Tensor var(const Tensor& input, const raw::ReducePlan& /*plan*/, std::int64_t /*correction*/) {
  throw_built_without_cuda(detail::concat("var", " on ", input.device()));
}

Tensor norm(const Tensor& input, const raw::ReducePlan& /*plan*/, double /*p*/) {
  throw_built_without_cuda(detail::concat("norm", " on ", input.device()));
}

Tensor logsumexp(const Tensor& input, const raw::ReducePlan& /*plan*/) {
  throw_built_without_cuda(detail::concat("logsumexp", " on ", input.device()));
}

Tensor scatter_selected(const Tensor& src, const Tensor& /*index*/, const Shape& /*shape*/,
                        const raw::AxisLayout& /*layout*/) {
  throw_built_without_cuda(detail::concat("scatter_selected", " on ", src.device()));
}

Tensor share_among_ties(const Tensor& x, const Tensor& /*selected_kept*/, const Tensor& /*grad_kept*/,
                        const std::vector<std::int64_t>& /*dims*/) {
  throw_built_without_cuda(detail::concat("share_among_ties", " on ", x.device()));
}

Tensor var_backward(const Tensor& x, const Tensor& /*grad_kept*/, const std::vector<std::int64_t>& /*dims*/,
                    std::int64_t /*correction*/) {
  throw_built_without_cuda(detail::concat("var_backward", " on ", x.device()));
}

Tensor norm_backward(const Tensor& x, const Tensor& /*norm_kept*/, const Tensor& /*grad_kept*/, double /*p*/,
                     const std::vector<std::int64_t>& /*dims*/) {
  throw_built_without_cuda(detail::concat("norm_backward", " on ", x.device()));
}

Tensor logsumexp_backward(const Tensor& x, const Tensor& /*lse_kept*/, const Tensor& /*grad_kept*/) {
  throw_built_without_cuda(detail::concat("logsumexp_backward", " on ", x.device()));
}

}  // namespace recgrad::cuda
