// Where a tensor's storage lives. The CUDA value exists from the start so that
// the GPU backend slots in without changing any caller.
#pragma once

#include <ostream>

namespace recgrad {

enum class DeviceType { CPU, CUDA };

/// A device: its type and, for CUDA, the ordinal of the GPU.
struct Device {
  DeviceType type = DeviceType::CPU;
  int index = 0;

  static constexpr Device cpu() { return {DeviceType::CPU, 0}; }
  static constexpr Device cuda(int index = 0) { return {DeviceType::CUDA, index}; }
  constexpr bool is_cpu() const { return type == DeviceType::CPU; }
  constexpr bool is_cuda() const { return type == DeviceType::CUDA; }
  friend constexpr bool operator==(Device, Device) = default;
};

inline std::ostream& operator<<(std::ostream& out, Device device) {
  if (device.is_cpu()) return out << "cpu";
  return out << "cuda:" << device.index;
}

}  // namespace recgrad
