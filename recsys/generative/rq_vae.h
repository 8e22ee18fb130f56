// RQ-VAE (Zeghidour et al. 2021; TIGER's semantic-ID quantizer, as MiniOneRec's rq/ code trains it): an MLP
// autoencoder whose latent is quantized by residual quantization, so that each item gets one code per level.
//
//   z = encoder(x)                                       MLP D -> hidden... -> latent, ReLU between layers
//   r_0 = z;  c_l = argmin_k ||r_l - C_l[k]||^2;  e_l = C_l[c_l];  r_{l+1} = r_l - e_l      (l = 0..L-1)
//   z_q = sum_l e_l
//   x_hat = decoder(z + sg(z_q - z))                     the straight-through estimator: the forward pass uses
//                                                        z_q, the backward pass hands dL/dz_q to z unchanged
//   loss = ||x_hat - x||^2 (mean)  +  mean_l [ ||sg(r_l) - e_l||^2 + beta ||r_l - sg(e_l)||^2 ]  (means over
//          items and dimensions; beta = 0.25, the commitment weight)
//
// The codebook term pulls each used codeword toward the residuals assigned to it, the commitment term keeps the
// encoder's residuals near their codewords; the sum over levels is a mean, as in MiniOneRec's rq.py. Each
// level's codebook starts as k-means of that level's residuals over all items (recsys/generative/rq_kmeans.h),
// and after every epoch a codeword no item chose is moved onto the residual of a random item (dead-code reset),
// so the codebooks do not collapse.
#pragma once

#include <cstdint>
#include <memory>
#include <vector>

#include "nn/linear.h"
#include "nn/module.h"
#include "nn/module_list.h"
#include "recsys/generative/semantic_ids.h"

namespace recgrad::recsys {

struct RqVaeOptions {
  std::vector<std::int64_t> hidden = {128, 64};  // encoder widths after the input (the decoder mirrors them)
  std::int64_t latent = 32;
  std::int64_t levels = 3;
  std::int64_t codebook_size = 256;  // capped at the number of items
  double commitment = 0.25;          // beta
  double lr = 1e-3;                  // AdamW, no weight decay
  std::int64_t epochs = 300;
  std::int64_t batch_size = 1024;
  std::uint64_t seed = 0;
};

/// The losses of one forward pass.
struct RqVaeOutput {
  Tensor loss;                      // reconstruction + quantization (a scalar)
  Tensor reconstruction;            // mean squared error of x_hat (a scalar)
  Tensor quantization;              // mean over levels of codebook + beta commitment (a scalar)
  Tensor codebook;                  // mean over levels of ||sg(r_l) - e_l||^2: reaches the codebooks only
  Tensor commitment;                // mean over levels of ||r_l - sg(e_l)||^2: reaches the encoder only
  Tensor x_hat;                     // [N, D]
  Tensor z;                         // [N, latent]: the encoder's output
  std::vector<std::int32_t> codes;  // [N x levels], row-major
};

class RqVae : public nn::Module {
 public:
  RqVae(std::int64_t input_dim, const RqVaeOptions& options);

  /// z [N, latent] of items x [N, D].
  Tensor encode(const Tensor& x) const;
  /// x_hat [N, D] of latents [N, latent].
  Tensor decode(const Tensor& z) const;
  /// The codes [N x levels] of latents z (nearest codeword, level by level, no gradient).
  std::vector<std::int32_t> quantize(const Tensor& z) const;
  /// The whole pass (see the top of this file).
  RqVaeOutput forward(const Tensor& x) const;
  /// Sets every level's codebook to k-means of that level's residuals of encode(x) (items x [N, D]).
  void initialise_codebooks(const Tensor& x, std::uint64_t seed);

  RqVaeOptions options;
  std::int64_t codebook_size = 0;
  std::shared_ptr<nn::ModuleList> encoder, decoder;  // Linear layers; ReLU between them
  std::vector<Tensor> codebooks;                     // per level [K, latent], parameters "codebook_<l>"
};

/// What training produced.
struct RqVaeResult {
  SemanticIds ids;                              // without the deduplication level
  std::vector<double> loss_per_epoch;           // the mean training loss of each epoch
  double reconstruction = 0, quantization = 0;  // of the final model over all items
  std::int64_t dead_codes_reset = 0;            // codewords moved onto residuals over the whole training
};

/// Trains an RQ-VAE on item features [num_items + 1, D] (row 0, padding, ignored) and returns every item's codes.
RqVaeResult train_rq_vae(const Tensor& item_features, const RqVaeOptions& options = {});

}  // namespace recgrad::recsys
