// Whether operations record the autograd graph. On by default; NoGradGuard
// switches it off for a scope (evaluation, optimizer steps, backward itself).
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

}  // namespace recgrad
