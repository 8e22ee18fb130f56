#include "autograd/ops/attention.h"

#include <cmath>

#include "autograd/ops/binary.h"
#include "autograd/ops/elementwise.h"
#include "autograd/ops/flash_attention.h"
#include "autograd/ops/masked_softmax.h"
#include "autograd/ops/matmul.h"
#include "autograd/ops/random.h"
#include "autograd/ops/softmax.h"
#include "autograd/ops/view.h"
#include "core/factory.h"
#include "core/ops/binary.h"
#include "core/ops/compare.h"
#include "core/ops/copy.h"
#include "core/ops/reduce.h"
#include "core/ops/view.h"

namespace recgrad {
namespace {

/// a | b for b8 masks (broadcasting): where(a, true, b).
Tensor mask_or(const Tensor& a, const Tensor& b) {
  if (!a.defined()) return b;
  if (!b.defined()) return a;
  return raw::where(a, scalar_tensor(1.0, {DType::b8, a.device()}), b);
}

void check_mask(const Tensor& mask, const char* role) {
  RG_CHECK(mask.dtype() == DType::b8, "scaled_dot_product_attention: ", role,
           " must be a bool (b8) tensor with true = masked, got ", mask.dtype(), " of shape ", mask.shape());
}

}  // namespace

Tensor attention_mask(const AttentionOptions& options, std::int64_t batch, std::int64_t query_len, std::int64_t key_len,
                      Device device) {
  Tensor mask;
  if (options.causal) {
    // masked where j - i > causal_offset; built on the host (Tq x Tk booleans) and copied once
    const Tensor i = raw::unsqueeze(arange(0.0, static_cast<double>(query_len), 1.0, {DType::i64}), 1);
    const Tensor j = raw::unsqueeze(arange(0.0, static_cast<double>(key_len), 1.0, {DType::i64}), 0);
    mask = raw::to_device(raw::gt(raw::sub(j, i), static_cast<double>(options.causal_offset)), device);
  }
  if (options.key_padding_mask.defined()) {
    const Tensor& padding = options.key_padding_mask;
    check_mask(padding, "key_padding_mask");
    RG_CHECK(padding.shape() == Shape({batch, key_len}),
             "scaled_dot_product_attention: key_padding_mask must be [B, Tk] = [", batch, ", ", key_len, "], got ",
             padding.shape());
    mask = mask_or(mask, raw::view(raw::contiguous(padding), {batch, 1, 1, key_len}));
  }
  if (options.attn_mask.defined()) {
    check_mask(options.attn_mask, "attn_mask");
    mask = mask_or(mask, options.attn_mask);
  }
  return mask;
}

Tensor repeat_kv_heads(const Tensor& kv, std::int64_t groups) {
  RG_CHECK(kv.dim() == 4 && groups >= 1, "repeat_kv_heads: expected [B, Hkv, T, D] and groups >= 1, got ", kv.shape(),
           " and ", groups);
  if (groups == 1) return kv;
  const std::int64_t b = kv.size(0), h = kv.size(1), t = kv.size(2), d = kv.size(3);
  return reshape(expand(unsqueeze(kv, 2), {b, h, groups, t, d}), {b, h * groups, t, d});
}

Tensor scaled_dot_product_attention(const Tensor& q, const Tensor& k, const Tensor& v,
                                    const AttentionOptions& options) {
  RG_CHECK(q.dim() == 4 && k.dim() == 4 && v.dim() == 4,
           "scaled_dot_product_attention: expected q [B, H, Tq, D], k [B, Hkv, Tk, D], v [B, Hkv, Tk, Dv], got ",
           q.shape(), ", ", k.shape(), ", ", v.shape());
  const std::int64_t batch = q.size(0), heads = q.size(1), query_len = q.size(2), head_dim = q.size(3);
  const std::int64_t kv_heads = k.size(1), key_len = k.size(2);
  RG_CHECK(k.size(0) == batch && v.size(0) == batch && v.size(1) == kv_heads && v.size(2) == key_len &&
               k.size(3) == head_dim && kv_heads > 0 && heads % kv_heads == 0,
           "scaled_dot_product_attention: shapes do not fit: q ", q.shape(), ", k ", k.shape(), ", v ", v.shape(),
           " (batch and key length must agree, k's head dim must equal q's, and H must be a multiple of Hkv)");
  const double scale = options.scale.value_or(1.0 / std::sqrt(static_cast<double>(head_dim)));
  // On CUDA the fused kernel (online softmax, no [Tq, Tk] scores in memory) does the masks it knows.
  const bool dropout_active = options.training && options.dropout > 0.0;
  if (!options.bias.defined() && !options.attn_mask.defined() && !dropout_active && flash_attention_supports(q, k, v)) {
    return flash_attention(q, k, v, {scale, options.causal, options.causal_offset, options.key_padding_mask});
  }

  const std::int64_t groups = heads / kv_heads;
  const Tensor keys = repeat_kv_heads(k, groups), values = repeat_kv_heads(v, groups);

  Tensor scores = mul(matmul(q, transpose(keys, -2, -1)), scale);  // [B, H, Tq, Tk]
  if (options.bias.defined()) scores = add(scores, options.bias);

  const Tensor mask = attention_mask(options, batch, query_len, key_len, q.device());
  if (!mask.defined()) {
    Tensor probs = dropout(softmax(scores, -1), options.dropout, options.training, options.generator);
    return matmul(probs, values);
  }
  RG_CHECK(mask.dim() <= 4, "scaled_dot_product_attention: attn_mask must broadcast to [B, H, Tq, Tk], got ",
           mask.shape());
  Tensor probs = masked_softmax(scores, mask);  // fully masked rows -> zeros, never NaN
  probs = dropout(probs, options.dropout, options.training, options.generator);
  return matmul(probs, values);
}

}  // namespace recgrad
