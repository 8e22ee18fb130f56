// Trains y = 3x - 1 by gradient descent through the installed recgrad package.
#include <cmath>
#include <cstdio>

#include <recgrad.h>

int main() {
  using namespace recgrad;
  manual_seed(0);
  Tensor x = randn({64, 1});
  Tensor y = x * 3.0 - 1.0;
  Tensor w = zeros({1}).requires_grad_();
  Tensor b = zeros({1}).requires_grad_();
  for (int step = 0; step < 200; ++step) {
    Tensor err = x * w + b - y;
    Tensor loss = mean(err * err);
    loss.backward();
    NoGradGuard no_grad;
    w = (w - w.grad() * 0.1).requires_grad_();
    b = (b - b.grad() * 0.1).requires_grad_();
  }
  const float wv = w.item<float>(), bv = b.item<float>();
  std::printf("consumer: learned w=%.4f b=%.4f\n", wv, bv);
  return std::abs(wv - 3.0f) < 1e-3f && std::abs(bv + 1.0f) < 1e-3f ? 0 : 1;
}
