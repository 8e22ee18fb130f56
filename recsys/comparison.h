// Paired comparison of two optimizers over seeds, and the verdict on a claimed improvement.
//
// Each seed s trains the same model twice, from the same initial weights and batch order: once with the baseline
// (AdamW) and once with the candidate (Muon). Pairing the two runs of a seed removes the seed-to-seed variation
// they share, so the question "is the candidate better?" is asked of the per-seed differences:
//
//   r_s    = (c_s - b_s) / b_s                          the candidate's relative change on seed s
//   mean   = (1/n) sum_s r_s
//   std    = sqrt( sum_s (r_s - mean)^2 / (n - 1) )     the sample standard deviation (n >= 2)
//   CI95   = mean -+ t_{0.975, n-1} * std / sqrt(n)     Student's t interval for the mean of the r_s
//   relative_change_of_means = (mean_s c_s - mean_s b_s) / mean_s b_s
//
// The t interval assumes the r_s are independent draws from a roughly normal distribution; with 3 seeds it is
// wide (t_{0.975,2} = 4.303), which is the honest price of 3 seeds. n = 1 gives no spread estimate: the interval
// is (-inf, +inf), every claim is inconclusive. A pair whose baseline is 0 or whose values are not finite has no
// relative change and is left out (counted in `dropped`).
//
// A claim "the candidate changes the metric by claimed_relative" (e.g. +0.126 for NDCG@10, where higher is better;
// -0.324 for steps to converge, where lower is better) is judged by where the interval lies:
//   holds          the whole interval is on the improving side of 0 (higher_is_better: low > 0; lower: high < 0)
//   does not hold  the whole interval is on the other side of 0, or at 0 (higher_is_better: high <= 0; lower:
//                  low >= 0)
//   inconclusive   the interval contains 0 in its interior (or n < 2)
// and, separately, whether the claimed magnitude lies inside the interval (low <= claimed <= high): a claim can
// hold in direction while the measured effect is clearly smaller than claimed.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace recgrad::recsys {

/// t_{0.975, df}: the 97.5% quantile of Student's t with df degrees of freedom (the two-sided 95% interval's
/// multiplier). df 1..30 from the standard table (t_{0.975,1} = 12.706, t_{0.975,2} = 4.303, t_{0.975,4} = 2.776,
/// ...); beyond, the Cornish-Fisher expansion z + (z^3 + z) / (4 df) + (5 z^5 + 16 z^3 + 3 z) / (96 df^2) around
/// z = 1.959964 (error below 1e-4 for df > 30), which tends to the normal 1.96. Throws for df < 1.
double student_t_975(std::int64_t df);

/// The paired comparison of candidate against baseline (see the top of this file).
struct PairedComparison {
  std::int64_t n = 0;                                // pairs used
  std::int64_t dropped = 0;                          // pairs left out: baseline 0, or a value not finite
  std::vector<double> relative_changes;              // r_s of the pairs used, in input order
  double mean = 0.0;                                 // of r_s (NaN when n = 0)
  double std = 0.0;                                  // sample std of r_s (NaN when n < 2)
  double t_quantile = 0.0;                           // t_{0.975, n-1} (+inf when n < 2)
  double ci_low = 0.0, ci_high = 0.0;                // the 95% interval of the mean (-inf, +inf when n < 2)
  double baseline_mean = 0.0, candidate_mean = 0.0;  // over the pairs used
  double relative_change_of_means = 0.0;             // (candidate_mean - baseline_mean) / baseline_mean
};

/// Compares candidate[s] with baseline[s] for every s (the two runs of one seed). Throws when the lengths differ.
PairedComparison compare_paired(const std::vector<double>& baseline, const std::vector<double>& candidate);

/// Which way a metric improves.
enum class Better { higher, lower };

enum class Verdict { holds, does_not_hold, inconclusive };

/// "holds", "does not hold", "inconclusive".
std::string verdict_name(Verdict verdict);

struct ClaimCheck {
  Verdict verdict = Verdict::inconclusive;
  bool claim_inside_ci = false;  // ci_low <= claimed_relative <= ci_high
};

/// The verdict on the claim "the candidate changes the metric by claimed_relative", where `better` says which way
/// is an improvement (see the top of this file).
ClaimCheck check_claim(const PairedComparison& comparison, double claimed_relative, Better better);

}  // namespace recgrad::recsys
