#include "nn/gru.h"

#include <cmath>
#include <string>

#include "autograd/ops/elementwise.h"
#include "autograd/ops/gru_cell.h"
#include "autograd/ops/index.h"
#include "autograd/ops/matmul.h"
#include "autograd/ops/random.h"
#include "autograd/ops/view.h"
#include "core/factory.h"
#include "core/ops/copy.h"
#include "core/ops/view.h"
#include "nn/init.h"

namespace recgrad::nn {

namespace {

// Checks the weights of every layer against each other and against x's feature size; returns H.
std::int64_t check_layers(const std::vector<GRULayerWeights>& layers, const Tensor& x) {
  RG_CHECK(!layers.empty(), "GRU: no layers given");
  const Tensor& first_hh = layers[0].weight_hh;
  RG_CHECK(first_hh.defined() && first_hh.dim() == 2 && first_hh.size(0) == 3 * first_hh.size(1),
           "GRU: weight_hh_l0 must be [3H, H], got ", first_hh.defined() ? first_hh.shape() : Shape{});
  const std::int64_t hidden = first_hh.size(1);
  for (std::size_t k = 0; k < layers.size(); ++k) {
    const GRULayerWeights& w = layers[k];
    const std::int64_t in = k == 0 ? x.size(-1) : hidden;
    const std::string layer = "_l" + std::to_string(k);
    RG_CHECK(w.weight_ih.defined() && w.weight_ih.shape() == Shape({3 * hidden, in}), "GRU: weight_ih", layer,
             " must be [3H, in] = [", 3 * hidden, ", ", in, "] for an input of shape ", x.shape(), ", got ",
             w.weight_ih.defined() ? w.weight_ih.shape() : Shape{});
    RG_CHECK(w.weight_hh.defined() && w.weight_hh.shape() == Shape({3 * hidden, hidden}), "GRU: weight_hh", layer,
             " must be [", 3 * hidden, ", ", hidden, "], got ", w.weight_hh.defined() ? w.weight_hh.shape() : Shape{});
    for (const Tensor* bias : {&w.bias_ih, &w.bias_hh}) {
      RG_CHECK(!bias->defined() || bias->shape() == Shape({3 * hidden}),
               "GRU: ", bias == &w.bias_ih ? "bias_ih" : "bias_hh", layer, " must be [", 3 * hidden, "], got ",
               bias->shape());
    }
    for (const Tensor* t : {&w.weight_ih, &w.weight_hh, &w.bias_ih, &w.bias_hh}) {
      if (!t->defined()) continue;
      RG_CHECK(t->dtype() == x.dtype() && t->device() == x.device(), "GRU: the weights of layer ", k, " are ",
               t->dtype(), " on ", t->device(), " but the input is ", x.dtype(), " on ", x.device());
    }
  }
  return hidden;
}

}  // namespace

Tensor lengths_to_mask(const Tensor& lengths, std::int64_t steps, Padding padding) {
  RG_CHECK(lengths.dim() == 1 && (lengths.dtype() == DType::i64 || lengths.dtype() == DType::i32),
           "lengths_to_mask: lengths must be a 1-D i64 or i32 tensor, got ", lengths.dtype(), " ", lengths.shape());
  RG_CHECK(steps >= 0, "lengths_to_mask: steps must be >= 0, got ", steps);
  const std::vector<std::int64_t> values = raw::to_device(lengths, Device::cpu()).to_vector<std::int64_t>();
  const std::int64_t batch = lengths.size(0);
  std::vector<bool> mask(static_cast<std::size_t>(batch * steps));
  for (std::int64_t b = 0; b < batch; ++b) {
    const std::int64_t length = values[b];
    RG_CHECK(length >= 0 && length <= steps, "lengths_to_mask: length ", length, " of sequence ", b, " is outside [0, ",
             steps, "]");
    for (std::int64_t t = 0; t < steps; ++t) {
      mask[b * steps + t] = padding == Padding::right ? t < length : t >= steps - length;
    }
  }
  return from_vector(mask, {batch, steps}, lengths.device());
}

GRUOutput gru(const Tensor& x, const Tensor& h0, const Tensor& mask, const std::vector<GRULayerWeights>& layers,
              bool batch_first, double dropout_p, bool training) {
  RG_CHECK(x.defined() && x.dim() == 3, "GRU: expected x [B, T, in] (batch_first) or [T, B, in], got ",
           x.defined() ? x.shape() : Shape{});
  RG_CHECK(is_floating(x.dtype()), "GRU: expected a floating input (f32 or f64), got ", x.dtype(), " ", x.shape());
  RG_CHECK(dropout_p >= 0.0 && dropout_p < 1.0, "GRU: dropout must be in [0, 1), got ", dropout_p);
  const std::int64_t hidden = check_layers(layers, x);
  const std::int64_t num_layers = static_cast<std::int64_t>(layers.size());
  const std::int64_t batch = x.size(batch_first ? 0 : 1), steps = x.size(batch_first ? 1 : 0);
  RG_CHECK(steps > 0, "GRU: the sequence is empty (x ", x.shape(), ")");
  if (h0.defined()) {
    RG_CHECK(h0.shape() == Shape({num_layers, batch, hidden}), "GRU: h0 must be [num_layers, B, H] = [", num_layers,
             ", ", batch, ", ", hidden, "], got ", h0.shape());
    RG_CHECK(h0.dtype() == x.dtype() && h0.device() == x.device(), "GRU: h0 is ", h0.dtype(), " on ", h0.device(),
             " but x is ", x.dtype(), " on ", x.device());
  }
  Tensor steps_mask;  // b8 [T, B], a transposed view of the [B, T] mask
  if (mask.defined()) {
    RG_CHECK(mask.dtype() == DType::b8 && mask.shape() == Shape({batch, steps}), "GRU: mask must be b8 [B, T] = [",
             batch, ", ", steps, "], got ", mask.dtype(), " ", mask.shape());
    RG_CHECK(mask.device() == x.device(), "GRU: mask is on ", mask.device(), " but x is on ", x.device());
    steps_mask = raw::transpose(mask, 0, 1);
  }

  Tensor input = x;  // the current layer's input; time-major above layer 0
  std::vector<Tensor> finals;
  for (std::int64_t k = 0; k < num_layers; ++k) {
    const GRULayerWeights& w = layers[static_cast<std::size_t>(k)];
    // All steps' input projections in one GEMM; a batch-first projection is read through a transposed view.
    Tensor gi = linear(input, w.weight_ih, w.bias_ih);
    if (k == 0 && batch_first) gi = transpose(gi, 0, 1);
    const Tensor layer_h0 = h0.defined() ? select(h0, 0, k) : Tensor();
    const Tensor states = gru_recurrence(gi, layer_h0, w.weight_hh, w.bias_hh, steps_mask);  // [T, B, H]
    finals.push_back(select(states, 0, steps - 1));
    input = states;
    if (k + 1 < num_layers) input = recgrad::dropout(states, dropout_p, training);
  }
  GRUOutput result;
  result.h_n = stack(finals, 0);
  Tensor output = batch_first ? transpose(input, 0, 1) : input;
  if (mask.defined()) {
    const Tensor padded = unsqueeze(logical_not(batch_first ? mask : steps_mask), -1);
    result.output = masked_fill(output, padded, 0.0);
  } else {
    result.output = contiguous(output);
  }
  return result;
}

GRU::GRU(std::int64_t input_size, std::int64_t hidden_size, GRUOptions options)
    : input_size(input_size), hidden_size(hidden_size), options(options) {
  RG_CHECK(input_size > 0 && hidden_size > 0 && options.num_layers > 0,
           "GRU: input_size, hidden_size and num_layers must be positive, got ", input_size, ", ", hidden_size, " and ",
           options.num_layers);
  RG_CHECK(options.dropout >= 0.0 && options.dropout < 1.0, "GRU: dropout must be in [0, 1), got ", options.dropout);
  const double bound = 1.0 / std::sqrt(static_cast<double>(hidden_size));
  for (std::int64_t k = 0; k < options.num_layers; ++k) {
    const std::string suffix = "_l" + std::to_string(k);
    const std::int64_t in = k == 0 ? input_size : hidden_size;
    GRULayerWeights w;
    w.weight_ih = register_parameter("weight_ih" + suffix, empty({3 * hidden_size, in}));
    w.weight_hh = register_parameter("weight_hh" + suffix, empty({3 * hidden_size, hidden_size}));
    if (options.bias) {
      w.bias_ih = register_parameter("bias_ih" + suffix, empty({3 * hidden_size}));
      w.bias_hh = register_parameter("bias_hh" + suffix, empty({3 * hidden_size}));
    }
    layers.push_back(w);
  }
  for (const Tensor& parameter : parameters(false)) init::uniform_(parameter, -bound, bound);
}

GRUOutput GRU::forward(const Tensor& x, const Tensor& h0, const Tensor& mask) const {
  return gru(x, h0, mask, layers, options.batch_first, options.dropout, is_training());
}

}  // namespace recgrad::nn
