// The CUDA runtime as the rest of the library sees it: is a GPU there, how
// many, and the one error message for asking for a GPU that is not there.
// These functions exist in every build; without CUDA compiled in they report
// "built without CUDA". No CUDA header leaks out of this file.
#pragma once

#include <string>

#include "core/device.h"

namespace recgrad::cuda {

/// True when the library was compiled with the CUDA backend (RECGRAD_CUDA=AUTO/ON and nvcc found).
bool cuda_built();
/// True when a CUDA driver is loaded and at least one device is visible. Never throws;
/// the answer is computed once and cached.
bool cuda_available();
/// Number of visible CUDA devices (0 when unavailable).
int cuda_device_count();
/// Why CUDA is unavailable ("built without CUDA", the driver's error name and message, ...);
/// empty when it is available.
std::string cuda_unavailable_reason();

/// Throws recgrad::Error "<op>: CUDA requested (cuda:i) but no CUDA device/driver is available:
/// <reason>" when CUDA is unavailable, or "<op>: cuda:i does not exist (N devices)" for a bad ordinal.
void require_cuda_device(Device device, const char* op);

}  // namespace recgrad::cuda
