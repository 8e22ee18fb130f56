// The optimizer-step launchers (core/cuda/optim_step.h) in a build without the CUDA backend.
#include "core/cuda/optim_step.h"
#include "core/cuda/built_without_cuda.h"

namespace recgrad::cuda {

void sgd_step(const Tensor&, const Tensor&, const Tensor&, const SGDStepScalars&) {
  throw_built_without_cuda("sgd_step");
}

void adam_step(const Tensor&, const Tensor&, const Tensor&, const Tensor&, const Tensor&, const AdamStepScalars&) {
  throw_built_without_cuda("adam_step");
}

std::vector<double> power_sums(const std::vector<Tensor>&, double) { throw_built_without_cuda("power_sums"); }

}  // namespace recgrad::cuda
