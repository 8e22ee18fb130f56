// train_mlp: the end-to-end example. A 2-layer MLP (Linear-ReLU-Linear)
// learns to imitate a fixed random "teacher" classifier on synthetic data,
// with AdamW, a cosine learning-rate schedule with warmup, gradient clipping
// and a held-out accuracy check; the trained weights can be saved as a
// safetensors checkpoint (written atomically).
//
//   build/tools/train_mlp [--steps 300] [--batch 256] [--seed 0] [--save model.safetensors]
#include <CLI/CLI.hpp>
#include <chrono>
#include <cstdio>

#include "recgrad.h"

using namespace recgrad;

namespace {

constexpr std::int64_t kFeatures = 64, kHidden = 256, kClasses = 32;

// Labels of `x` under the teacher: argmax over classes of tanh(x A) B.
Tensor teacher_labels(const Tensor& x, const Tensor& a, const Tensor& b) {
  return argmax(matmul(tanh(matmul(x, a)), b), -1);
}

// Fraction of rows of `x` the model classifies like the teacher.
double accuracy(nn::Sequential& model, const Tensor& x, const Tensor& labels) {
  NoGradGuard no_grad;
  const auto predicted = argmax(model(x), -1).to_vector<std::int64_t>();
  const auto expected = labels.to_vector<std::int64_t>();
  std::int64_t hits = 0;
  for (std::size_t i = 0; i < predicted.size(); ++i) hits += predicted[i] == expected[i];
  return static_cast<double>(hits) / static_cast<double>(predicted.size());
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"Train a 2-layer MLP on synthetic data with AdamW (recgrad end-to-end example)"};
  std::int64_t steps = 300, batch = 256;
  std::uint64_t seed = 0;
  std::string save_path;
  app.add_option("--steps", steps, "training steps")->check(CLI::PositiveNumber);
  app.add_option("--batch", batch, "examples per step")->check(CLI::PositiveNumber);
  app.add_option("--seed", seed, "random seed (data, initial weights)");
  app.add_option("--save", save_path, "write the trained weights to this safetensors file");
  CLI11_PARSE(app, argc, argv);

  try {
    manual_seed(seed);
    const Tensor teacher_a = randn({kFeatures, kHidden}) * 0.3, teacher_b = randn({kHidden, kClasses});
    const Tensor test_x = randn({4096, kFeatures});
    const Tensor test_labels = teacher_labels(test_x, teacher_a, teacher_b);

    nn::Sequential model(std::make_shared<nn::Linear>(kFeatures, kHidden), std::make_shared<nn::ReLU>(),
                         std::make_shared<nn::Linear>(kHidden, kClasses));
    AdamW optimizer(model.parameters(), AdamWOptions{.lr = 3e-3, .weight_decay = 0.01});
    const std::int64_t warmup = std::max<std::int64_t>(1, steps / 20);

    std::printf("model: %lld parameters; %lld steps of %lld examples\n", static_cast<long long>(model.num_parameters()),
                static_cast<long long>(steps), static_cast<long long>(batch));
    const auto start = std::chrono::steady_clock::now();
    for (std::int64_t step = 1; step <= steps; ++step) {
      const Tensor x = randn({batch, kFeatures});
      const Tensor labels = teacher_labels(x, teacher_a, teacher_b);
      set_lr_factor(optimizer, cosine_schedule(step, warmup, steps, 0.1));
      optimizer.zero_grad();
      Tensor loss = cross_entropy(model(x), labels);
      loss.backward();
      const double norm = clip_grad_norm_(model.parameters(), 1.0);
      optimizer.step();
      if (step == 1 || step % std::max<std::int64_t>(1, steps / 10) == 0 || step == steps) {
        std::printf("step %5lld  loss %.4f  grad-norm %.3f\n", static_cast<long long>(step), loss.item<double>(), norm);
      }
    }
    const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    const double acc = accuracy(model, test_x, test_labels);
    std::printf("held-out accuracy vs teacher: %.3f (chance %.3f); %.2f s, %.2f ms/step\n", acc, 1.0 / kClasses,
                seconds, 1e3 * seconds / static_cast<double>(steps));
    if (!save_path.empty()) {
      model.save(save_path, {{"example", "train_mlp"}});
      std::printf("saved %s\n", save_path.c_str());
    }
  } catch (const Error& error) {
    std::fprintf(stderr, "train_mlp: %s\n", error.what());
    return 1;
  }
  return 0;
}
