// Byte copies between host and device memory, and waiting for a device.
//   host -> device:    through pinned staging (core/cuda/pinned.h); returns once the source is read,
//                      the DMA runs asynchronously, ordered before later kernels on the stream
//   device -> host:    through pinned staging, after the kernels already issued; returns when done
//   device -> device:  cudaMemcpyAsync on the stream (same GPU), cudaMemcpyPeer (two GPUs)
#pragma once

#include <cstddef>

#include "core/device.h"

namespace recgrad::cuda {

/// Copies `nbytes` from `src` (on `src_device`) to `dst` (on `dst_device`): host to device, device
/// to host or device to device, as described above. At least one side must be a CUDA device.
/// Errors name `op`.
void copy_bytes(void* dst, Device dst_device, const void* src, Device src_device, std::size_t nbytes, const char* op);

/// Waits until every kernel and copy issued on CUDA device `device` has finished (cudaDeviceSynchronize);
/// throws the error of a failed asynchronous kernel, if any. For benchmarks and timing.
void synchronize(Device device = Device::cuda());

}  // namespace recgrad::cuda
