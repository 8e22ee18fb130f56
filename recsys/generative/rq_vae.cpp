#include "recsys/generative/rq_vae.h"

#include <algorithm>
#include <numeric>
#include <set>

#include "autograd/grad_mode.h"
#include "autograd/ops.h"
#include "core/factory.h"
#include "core/host_random.h"
#include "core/ops/copy.h"
#include "optim/adamw.h"
#include "recsys/generative/rq_kmeans.h"

namespace recgrad::recsys {
namespace {

Tensor index_tensor(const std::vector<std::int32_t>& codes, std::int64_t rows, std::int64_t levels, std::int64_t level,
                    Device device) {
  std::vector<std::int64_t> picked(static_cast<std::size_t>(rows));
  for (std::int64_t i = 0; i < rows; ++i)
    picked[static_cast<std::size_t>(i)] = codes[static_cast<std::size_t>(i * levels + level)];
  return raw::to_device(from_vector<std::int64_t>(picked, {rows}), device);
}

// An MLP of Linear layers with ReLU between them (none after the last).
Tensor mlp_forward(const nn::ModuleList& layers, const Tensor& x) {
  Tensor h = x;
  for (std::size_t i = 0; i < layers.size(); ++i) {
    h = layers.at<nn::Linear>(i)->forward(h);
    if (i + 1 < layers.size()) h = relu(h);
  }
  return h;
}

}  // namespace

RqVae::RqVae(std::int64_t input_dim, const RqVaeOptions& o) : options(o), codebook_size(o.codebook_size) {
  RG_CHECK(input_dim >= 1 && o.latent >= 1, "RqVae: input_dim and latent must be >= 1, got ", input_dim, " and ",
           o.latent);
  RG_CHECK(o.levels >= 1 && o.levels <= 8, "RqVae: levels must be in 1..8, got ", o.levels);
  RG_CHECK(o.codebook_size >= 1 && o.codebook_size <= kMaxSemanticCode, "RqVae: codebook_size must be in 1..",
           kMaxSemanticCode, ", got ", o.codebook_size);
  RG_CHECK(o.commitment >= 0, "RqVae: commitment must be >= 0, got ", o.commitment);
  for (const std::int64_t width : o.hidden) RG_CHECK(width >= 1, "RqVae: hidden widths must be >= 1, got ", width);
  std::vector<std::int64_t> widths = {input_dim};
  widths.insert(widths.end(), o.hidden.begin(), o.hidden.end());
  widths.push_back(o.latent);
  encoder = register_module("encoder", std::make_shared<nn::ModuleList>());
  decoder = register_module("decoder", std::make_shared<nn::ModuleList>());
  for (std::size_t i = 0; i + 1 < widths.size(); ++i)
    encoder->push_back(std::make_shared<nn::Linear>(widths[i], widths[i + 1]));
  for (std::size_t i = widths.size() - 1; i > 0; --i)
    decoder->push_back(std::make_shared<nn::Linear>(widths[i], widths[i - 1]));
  for (std::int64_t l = 0; l < o.levels; ++l) {
    codebooks.push_back(register_parameter("codebook_" + std::to_string(l), randn({o.codebook_size, o.latent})));
  }
}

Tensor RqVae::encode(const Tensor& x) const { return mlp_forward(*encoder, x); }

Tensor RqVae::decode(const Tensor& z) const { return mlp_forward(*decoder, z); }

std::vector<std::int32_t> RqVae::quantize(const Tensor& z) const {
  NoGradGuard no_grad;
  const std::int64_t rows = z.size(0), levels = options.levels;
  std::vector<std::int32_t> codes(static_cast<std::size_t>(rows * levels));
  Tensor residual = z.detach();
  for (std::int64_t l = 0; l < levels; ++l) {
    const Tensor& book = codebooks[static_cast<std::size_t>(l)];
    // ||r - c||^2 = ||r||^2 - 2 r.c + ||c||^2; ||r||^2 is the same for every c of a row
    const Tensor distance = add(mul(matmul(residual, transpose(book, 0, 1)), -2.0), sum(square(book), {1}));
    const std::vector<std::int64_t> nearest =
        raw::to_device(argmin(distance, 1), Device::cpu()).to_vector<std::int64_t>();
    for (std::int64_t i = 0; i < rows; ++i) {
      codes[static_cast<std::size_t>(i * levels + l)] = static_cast<std::int32_t>(nearest[static_cast<std::size_t>(i)]);
    }
    residual = sub(residual, index_select(book, 0, index_tensor(codes, rows, levels, l, z.device())));
  }
  return codes;
}

RqVaeOutput RqVae::forward(const Tensor& x) const {
  RqVaeOutput out;
  out.z = encode(x);
  out.codes = quantize(out.z);
  const std::int64_t rows = x.size(0), levels = options.levels;
  Tensor residual = out.z, quantized;
  for (std::int64_t l = 0; l < levels; ++l) {
    const Tensor e =
        index_select(codebooks[static_cast<std::size_t>(l)], 0, index_tensor(out.codes, rows, levels, l, x.device()));
    const Tensor codebook_loss = mse_loss(e, residual.detach());
    const Tensor commitment_loss = mse_loss(residual, e.detach());
    out.codebook = out.codebook.defined() ? add(out.codebook, codebook_loss) : codebook_loss;
    out.commitment = out.commitment.defined() ? add(out.commitment, commitment_loss) : commitment_loss;
    quantized = quantized.defined() ? add(quantized, e) : e;
    residual = sub(residual, e.detach());  // the next level quantizes what this one left
  }
  out.codebook = mul(out.codebook, 1.0 / static_cast<double>(levels));
  out.commitment = mul(out.commitment, 1.0 / static_cast<double>(levels));
  out.quantization = add(out.codebook, mul(out.commitment, options.commitment));
  // straight-through: the decoder sees z_q; the gradient it sends back reaches z unchanged
  out.x_hat = decode(add(out.z, sub(quantized, out.z).detach()));
  out.reconstruction = mse_loss(out.x_hat, x);
  out.loss = add(out.reconstruction, out.quantization);
  return out;
}

void RqVae::initialise_codebooks(const Tensor& x, std::uint64_t seed) {
  NoGradGuard no_grad;
  // k-means runs in f32 on the CPU; the centroids return in the codebooks' dtype and device
  Tensor residual = raw::contiguous(raw::to_dtype(raw::to_device(encode(x), Device::cpu()), DType::f32));
  const std::int64_t rows = residual.size(0);
  RG_CHECK(rows >= codebook_size, "RqVae: ", rows, " items cannot initialise a codebook of ", codebook_size);
  for (std::int64_t l = 0; l < options.levels; ++l) {
    const KMeansResult clusters = kmeans(residual, codebook_size, 20, seed + static_cast<std::uint64_t>(l));
    Tensor& book = codebooks[static_cast<std::size_t>(l)];
    raw::copy_(book, raw::to_device(raw::to_dtype(clusters.centroids, book.dtype()), book.device()));
    std::vector<std::int32_t> codes(static_cast<std::size_t>(rows));
    std::copy(clusters.assignment.begin(), clusters.assignment.end(), codes.begin());
    residual = raw::contiguous(
        sub(residual, index_select(clusters.centroids, 0, index_tensor(codes, rows, 1, 0, Device::cpu()))));
  }
}

RqVaeResult train_rq_vae(const Tensor& item_features, const RqVaeOptions& given) {
  RG_CHECK(item_features.dim() == 2 && item_features.size(0) >= 2,
           "train_rq_vae: expected item features [num_items + 1, D], got ", item_features.shape());
  RG_CHECK(given.epochs >= 1 && given.batch_size >= 1 && given.lr > 0,
           "train_rq_vae: epochs and batch_size must be >= 1 "
           "and lr > 0, got ",
           given.epochs, ", ", given.batch_size, ", ", given.lr);
  const std::int64_t items = item_features.size(0) - 1;
  RqVaeOptions options = given;
  options.codebook_size = std::min(options.codebook_size, items);
  const Tensor x = raw::contiguous(narrow(item_features, 0, 1, items));

  manual_seed(options.seed);  // the layers' initialisation
  RqVae model(x.size(1), options);
  model.initialise_codebooks(x, options.seed);
  AdamW optimizer(model.parameters(), AdamWOptions{.lr = options.lr, .weight_decay = 0.0});
  HostRandom random(options.seed, /*stream=*/0x7271766165ULL);  // "rqvae"
  std::vector<std::int64_t> order(static_cast<std::size_t>(items));
  RqVaeResult result;
  for (std::int64_t epoch = 0; epoch < options.epochs; ++epoch) {
    std::iota(order.begin(), order.end(), 0);
    random.shuffle(order);
    std::vector<std::vector<bool>> used(static_cast<std::size_t>(options.levels),
                                        std::vector<bool>(static_cast<std::size_t>(options.codebook_size), false));
    double total = 0;
    std::int64_t batches = 0;
    for (std::int64_t start = 0; start < items; start += options.batch_size) {
      const std::int64_t rows = std::min(options.batch_size, items - start);
      const std::vector<std::int64_t> picked(order.begin() + start, order.begin() + start + rows);
      const Tensor batch = index_select(x, 0, from_vector<std::int64_t>(picked, {rows}));
      optimizer.zero_grad();
      const RqVaeOutput out = model.forward(batch);
      out.loss.backward();
      optimizer.step();
      total += out.loss.item<double>();
      ++batches;
      for (std::int64_t i = 0; i < rows; ++i) {
        for (std::int64_t l = 0; l < options.levels; ++l) {
          used[static_cast<std::size_t>(l)]
              [static_cast<std::size_t>(out.codes[static_cast<std::size_t>(i * options.levels + l)])] = true;
        }
      }
    }
    result.loss_per_epoch.push_back(total / static_cast<double>(batches));
    // Dead codes: a codeword no item chose this epoch moves onto the residual (at its level) of a random item.
    NoGradGuard no_grad;
    Tensor residual = model.encode(x).detach();
    const std::vector<std::int32_t> codes = model.quantize(residual);
    for (std::int64_t l = 0; l < options.levels; ++l) {
      Tensor& book = model.codebooks[static_cast<std::size_t>(l)];
      for (std::int64_t k = 0; k < options.codebook_size; ++k) {
        if (used[static_cast<std::size_t>(l)][static_cast<std::size_t>(k)]) continue;
        const std::int64_t item = random.index(items);
        raw::copy_(select(book, 0, k), select(residual, 0, item));
        ++result.dead_codes_reset;
      }
      residual = sub(residual, index_select(book, 0, index_tensor(codes, items, options.levels, l, residual.device())));
    }
  }
  NoGradGuard no_grad;
  const RqVaeOutput final_pass = model.forward(x);
  result.reconstruction = final_pass.reconstruction.item<double>();
  result.quantization = final_pass.quantization.item<double>();
  result.ids.num_items = items;
  result.ids.codebook_sizes.assign(static_cast<std::size_t>(options.levels), options.codebook_size);
  result.ids.codes.assign(static_cast<std::size_t>((items + 1) * options.levels), 0);
  std::copy(final_pass.codes.begin(), final_pass.codes.end(), result.ids.codes.begin() + options.levels);
  return result;
}

}  // namespace recgrad::recsys
