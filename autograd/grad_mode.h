// Whether operations record the autograd graph. On by default; NoGradGuard
// switches it off for a scope (evaluation, optimizer steps, backward itself);
// GradModeGuard sets it either way for a scope.
#pragma once

namespace recgrad {

/// The thread-local switch that ops consult before recording a graph node.
class GradMode {
 public:
  static bool is_enabled();
  static void set_enabled(bool enabled);
};

/// Disables graph recording until the guard leaves scope, then restores the previous mode.
class NoGradGuard {
 public:
  NoGradGuard() : previous_(GradMode::is_enabled()) { GradMode::set_enabled(false); }
  ~NoGradGuard() { GradMode::set_enabled(previous_); }
  NoGradGuard(const NoGradGuard&) = delete;
  NoGradGuard& operator=(const NoGradGuard&) = delete;

 private:
  bool previous_;
};

/// Sets graph recording to `enabled` until the guard leaves scope, then restores the previous mode
/// (e.g. GradModeGuard(true) inside a no-grad region, for a closure that must record a graph).
class GradModeGuard {
 public:
  explicit GradModeGuard(bool enabled) : previous_(GradMode::is_enabled()) { GradMode::set_enabled(enabled); }
  ~GradModeGuard() { GradMode::set_enabled(previous_); }
  GradModeGuard(const GradModeGuard&) = delete;
  GradModeGuard& operator=(const GradModeGuard&) = delete;

 private:
  bool previous_;
};

}  // namespace recgrad
