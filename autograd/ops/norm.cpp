#include "autograd/ops/norm.h"

#include "autograd/function.h"
#include "core/ops/norm.h"

namespace recgrad {

namespace {
// Keeps the saved statistics (and the tensors they were computed from) for backward.
struct SavedNorm {
  SavedTensor x, weight, mean, rstd;
};
}  // namespace

Tensor layer_norm(const Tensor& x, const Shape& normalized_shape, const Tensor& weight, const Tensor& bias,
                  double eps) {
  raw::NormForward forward = raw::layer_norm(x, normalized_shape, weight, bias, eps);
  const bool need_x = x.requires_grad(), need_w = weight.defined() && weight.requires_grad();
  const bool need_b = bias.defined() && bias.requires_grad();
  SavedNorm saved{SavedTensor(x), SavedTensor(weight), SavedTensor(forward.mean), SavedTensor(forward.rstd)};
  return record(
      "layer_norm", std::move(forward.output), {x, weight, bias},
      [saved = std::move(saved), normalized_shape, need_x, need_w, need_b](const Tensor& g) -> std::vector<Tensor> {
        raw::NormForward stats{Tensor(), saved.mean.unpack("layer_norm"), saved.rstd.unpack("layer_norm")};
        raw::NormGrads grads =
            raw::layer_norm_backward(g, saved.x.unpack("layer_norm"), stats, saved.weight.unpack("layer_norm"),
                                     normalized_shape, need_x, need_w, need_b);
        return {grads.x, grads.weight, grads.bias};
      });
}

Tensor rms_norm(const Tensor& x, const Shape& normalized_shape, const Tensor& weight, double eps) {
  raw::NormForward forward = raw::rms_norm(x, normalized_shape, weight, eps);
  const bool need_x = x.requires_grad(), need_w = weight.defined() && weight.requires_grad();
  SavedNorm saved{SavedTensor(x), SavedTensor(weight), SavedTensor(), SavedTensor(forward.rstd)};
  return record("rms_norm", std::move(forward.output), {x, weight},
                [saved = std::move(saved), normalized_shape, need_x, need_w](const Tensor& g) -> std::vector<Tensor> {
                  raw::NormForward stats{Tensor(), Tensor(), saved.rstd.unpack("rms_norm")};
                  raw::NormGrads grads =
                      raw::rms_norm_backward(g, saved.x.unpack("rms_norm"), stats, saved.weight.unpack("rms_norm"),
                                             normalized_shape, need_x, need_w);
                  return {grads.x, grads.weight};
                });
}

}  // namespace recgrad
