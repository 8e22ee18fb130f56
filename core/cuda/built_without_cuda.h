// The one error of a build without the CUDA backend (-DRECGRAD_CUDA=OFF, or AUTO without nvcc).
//
// Such a build compiles core/cuda/disabled/<family>.cpp instead of core/cuda/<family>.cu (and instead of
// the runtime's core/cuda/*.cpp): the same launchers, each of which calls throw_built_without_cuda. A
// raw op reaches them only for a CUDA tensor, which such a build cannot create (allocation throws
// first), so they are a safety net that reads the same for every op.
#pragma once

#include <string_view>

namespace recgrad::cuda {

/// Throws recgrad::Error "<op>: this build of recgrad has no CUDA backend (configure with -DRECGRAD_CUDA=ON)".
[[noreturn]] void throw_built_without_cuda(std::string_view op);

}  // namespace recgrad::cuda
