// RG_CUDA_CHECK: the checked form of every CUDA runtime call and kernel launch.
// Private to the library's CUDA sources (it includes cuda_runtime.h).
#pragma once

#include <cuda_runtime.h>

#include "core/error.h"

/// Evaluates `call` (a cudaError_t expression); on failure throws recgrad::Error
/// "<op>: <call> failed: <cudaErrorName>: <cudaErrorString>".
#define RG_CUDA_CHECK(call, op)                                                                              \
  do {                                                                                                       \
    const cudaError_t rg_cuda_status_ = (call);                                                              \
    if (rg_cuda_status_ != cudaSuccess) {                                                                    \
      throw ::recgrad::Error(::recgrad::detail::concat(op, ": ", #call,                                      \
                                                       " failed: ", cudaGetErrorName(rg_cuda_status_), ": ", \
                                                       cudaGetErrorString(rg_cuda_status_)));                \
    }                                                                                                        \
  } while (false)

/// Checks the launch just made (configuration errors) with the op name.
#define RG_CUDA_CHECK_LAUNCH(op) RG_CUDA_CHECK(cudaGetLastError(), op)

namespace recgrad::cuda {

/// The stream every recgrad kernel, copy and cuBLAS call is issued on: the legacy default stream, so
/// operations run in the order they were issued and host code sees a consistent order without events.
inline cudaStream_t stream() { return cudaStreamLegacy; }

/// Makes `device` the current CUDA device for a scope and restores the previous one on exit.
class DeviceGuard {
 public:
  DeviceGuard(int device, const char* op) {
    RG_CUDA_CHECK(cudaGetDevice(&previous_), op);
    if (previous_ != device) RG_CUDA_CHECK(cudaSetDevice(device), op);
  }
  ~DeviceGuard() { cudaSetDevice(previous_); }
  DeviceGuard(const DeviceGuard&) = delete;
  DeviceGuard& operator=(const DeviceGuard&) = delete;

 private:
  int previous_ = 0;
};

}  // namespace recgrad::cuda
