#include "nn/conv.h"

#include <cmath>

#include "core/factory.h"
#include "nn/init.h"

namespace recgrad::nn {

namespace {

/// Checks the channel counts of a convolution layer named `layer`.
void check_channels(std::int64_t in_channels, std::int64_t out_channels, std::int64_t groups, const char* layer) {
  RG_CHECK(in_channels > 0 && out_channels > 0 && groups > 0 && in_channels % groups == 0 && out_channels % groups == 0,
           layer, ": in_channels (", in_channels, ") and out_channels (", out_channels,
           ") must be positive and divisible by groups (", groups, ")");
}

/// Registers weight (PyTorch's kaiming_uniform_(a = sqrt(5))) and, when asked, bias U(-1/sqrt(fan_in), ...).
void init_conv_parameters(Module& layer, Tensor& weight, Tensor& bias, const Shape& weight_shape,
                          std::int64_t out_channels, bool with_bias) {
  weight = layer.register_parameter("weight", empty(weight_shape));
  init::kaiming_uniform_(weight, std::sqrt(5.0));
  if (with_bias) {
    const double bound = 1.0 / std::sqrt(static_cast<double>(init::compute_fans(weight).fan_in));
    bias = layer.register_parameter("bias", empty({out_channels}));
    init::uniform_(bias, -bound, bound);
  }
}

}  // namespace

Conv2d::Conv2d(std::int64_t in_channels, std::int64_t out_channels, std::array<std::int64_t, 2> kernel_size,
               Conv2dOptions options, bool bias)
    : in_channels(in_channels), out_channels(out_channels), kernel_size(kernel_size), options(options) {
  check_channels(in_channels, out_channels, options.groups, "Conv2d");
  RG_CHECK(kernel_size[0] > 0 && kernel_size[1] > 0, "Conv2d: kernel_size must be positive, got (", kernel_size[0],
           ", ", kernel_size[1], ")");
  init_conv_parameters(*this, weight, this->bias,
                       {out_channels, in_channels / options.groups, kernel_size[0], kernel_size[1]}, out_channels,
                       bias);
}

Tensor Conv2d::forward(const Tensor& x) const { return conv2d(x, weight, bias, options); }

Conv1d::Conv1d(std::int64_t in_channels, std::int64_t out_channels, std::int64_t kernel_size, Conv1dOptions options,
               bool bias)
    : in_channels(in_channels), out_channels(out_channels), kernel_size(kernel_size), options(options) {
  check_channels(in_channels, out_channels, options.groups, "Conv1d");
  RG_CHECK(kernel_size > 0, "Conv1d: kernel_size must be positive, got ", kernel_size);
  init_conv_parameters(*this, weight, this->bias, {out_channels, in_channels / options.groups, kernel_size},
                       out_channels, bias);
}

Tensor Conv1d::forward(const Tensor& x) const { return conv1d(x, weight, bias, options); }

}  // namespace recgrad::nn
