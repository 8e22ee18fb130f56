// The gru_cell launchers of a build without the CUDA backend (core/cuda/built_without_cuda.h).
#include "core/cuda/gru_cell.h"
#include "core/cuda/built_without_cuda.h"

namespace recgrad::cuda {

void gru_cell_forward(const Tensor& gi, const Tensor& /*gh*/, const Tensor& /*bias_hh*/, const Tensor& /*h*/,
                      const Tensor& /*mask*/, const Tensor& /*h_next*/, const Tensor& /*gates*/) {
  throw_built_without_cuda(detail::concat("gru_cell_forward", " on ", gi.device()));
}

void gru_cell_backward(const Tensor& grad_h_next, const Tensor& /*grad_extra*/, const Tensor& /*gates*/,
                       const Tensor& /*h*/, const Tensor& /*mask*/, const Tensor& /*grad_gi*/,
                       const Tensor& /*grad_gh*/, const Tensor& /*grad_h*/) {
  throw_built_without_cuda(detail::concat("gru_cell_backward", " on ", grad_h_next.device()));
}

}  // namespace recgrad::cuda
