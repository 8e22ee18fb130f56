#include "autograd/ops/conv.h"

#include "autograd/function.h"
#include "autograd/ops/view.h"

namespace recgrad {

Tensor conv2d(const Tensor& x, const Tensor& weight, const Tensor& bias, const Conv2dOptions& options) {
  RG_CHECK(x.dim() == 3 || x.dim() == 4, "conv2d: expected an input [B, C, H, W] or [C, H, W], got ", x.shape(),
           " (weight ", weight.shape(), ")");
  if (x.dim() == 3) return squeeze(conv2d(unsqueeze(x, 0), weight, bias, options), 0);
  const bool need_x = x.requires_grad(), need_weight = weight.requires_grad();
  const bool need_bias = bias.defined() && bias.requires_grad();
  return record("conv2d", raw::conv2d(x, weight, bias, options), {x, weight, bias},
                [saved_x = SavedTensor(x), saved_weight = SavedTensor(weight), options, need_x, need_weight,
                 need_bias](const Tensor& g) -> std::vector<Tensor> {
                  raw::Conv2dGrads grads =
                      raw::conv2d_backward(g, saved_x.unpack("conv2d"), saved_weight.unpack("conv2d"), options, need_x,
                                           need_weight, need_bias);
                  return {grads.x, grads.weight, grads.bias};
                });
}

Tensor conv1d(const Tensor& x, const Tensor& weight, const Tensor& bias, const Conv1dOptions& options) {
  RG_CHECK((x.dim() == 2 || x.dim() == 3) && weight.dim() == 3, "conv1d: expected an input [B, C, L] or [C, L] and ",
           "a weight [O, C/groups, k], got ", x.shape(), " and ", weight.shape());
  const Conv2dOptions options2d{.stride = {1, options.stride},
                                .padding = {0, options.padding},
                                .dilation = {1, options.dilation},
                                .groups = options.groups};
  const std::int64_t height_dim = x.dim() - 1;  // insert H = 1 before L
  return squeeze(conv2d(unsqueeze(x, height_dim), unsqueeze(weight, 2), bias, options2d), height_dim);
}

}  // namespace recgrad
