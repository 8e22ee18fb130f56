// The Newton-Schulz iteration that Muon uses to orthogonalize an update
// matrix: given G = U S V^T (its SVD), it returns approximately U V^T (every
// singular value pushed towards 1) using only matrix products, which is why it
// runs well on a GPU. As in the reference Muon (KellerJordan/Muon, muon.py):
//
//   X = G / (||G||_F + eps)                  so every singular value is <= 1
//   X = X^T                                  when rows > cols (X X^T is then the small Gram matrix)
//   repeat `steps` times, step k using coefficients (a_k, b_k, c_k):
//     A = X X^T
//     B = b_k A + c_k A A
//     X = a_k X + B X                        i.e. X <- p(X) with p(s) = a s + b s^3 + c s^5 on each singular value
//   X = X^T                                  (undo the transpose)
//
// The default (3.4445, -4.7750, 2.0315), five steps, is the reference's
// quintic: its slope at 0 is large so small singular values grow fast; it
// does not converge to exactly 1 but leaves the singular values in roughly
// [0.7, 1.2], which is all Muon needs. Other schedules (e.g. a different
// triple per step, as in "Polar Express") are a parameter.
#pragma once

#include <string>
#include <vector>

#include "core/tensor.h"

namespace recgrad {

/// One step's polynomial p(s) = a s + b s^3 + c s^5.
struct NewtonSchulzCoefficients {
  double a, b, c;
};

/// The precision of the matrix products.
///   kInputDtype: the input's dtype throughout (f32 or f64).
///   kBFloat16:   X, A and B are stored in bf16, each product accumulates in f32 (like the
///                reference on a GPU). On CUDA these are real bf16 GEMMs (cuBLAS); on the CPU
///                they are f32 GEMMs whose results are rounded to bf16, which emulates the same
///                arithmetic up to the order of the sums.
///   kAuto:       kBFloat16 on CUDA, kInputDtype on the CPU.
enum class NewtonSchulzPrecision { kAuto, kInputDtype, kBFloat16 };

/// "auto", "input_dtype", "bf16".
std::string to_string(NewtonSchulzPrecision precision);

struct NewtonSchulzOptions {
  /// Step k uses coefficients[min(k, size - 1)]: one triple repeats for every step.
  std::vector<NewtonSchulzCoefficients> coefficients = {{3.4445, -4.7750, 2.0315}};
  int steps = 5;
  double eps = 1e-7;  // added to ||G||_F before dividing
  NewtonSchulzPrecision precision = NewtonSchulzPrecision::kAuto;
};

/// Approximately U V^T for a 2-D floating matrix g = U S V^T (f32 or f64, any
/// device, any strides), by the iteration above. Returns a new contiguous tensor
/// of g's shape, dtype and device; g is not changed. A zero matrix gives zeros.
/// Throws recgrad::Error for a non-2-D or non-floating input, an empty
/// coefficient list or a negative step count.
Tensor newton_schulz(const Tensor& g, const NewtonSchulzOptions& options = {});

/// The orthogonality error of an (approximately) orthogonalized matrix X [r, c]:
/// ||Y Y^T - I||_F / sqrt(n) with Y = X (r <= c) or X^T (r > c) and n = min(r, c),
/// i.e. the root-mean-square deviation of the Gram matrix from the identity
/// (0 for an exact U V^T). Computed in X's dtype; returns a double (reads the result to the host).
double orthogonality_error(const Tensor& x);

}  // namespace recgrad
