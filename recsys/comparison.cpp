#include "recsys/comparison.h"

#include <array>
#include <cmath>
#include <limits>

#include "core/error.h"

namespace recgrad::recsys {

double student_t_975(std::int64_t df) {
  RG_CHECK(df >= 1, "student_t_975: degrees of freedom must be >= 1, got ", df);
  // t_{0.975, df} for df = 1..30.
  static constexpr std::array<double, 30> kTable = {
      12.7062047, 4.3026527, 3.1824463, 2.7764451, 2.5705818, 2.4469119, 2.3646243, 2.3060041, 2.2621572, 2.2281389,
      2.2009852,  2.1788128, 2.1603687, 2.1447867, 2.1314495, 2.1199053, 2.1098155, 2.1009220, 2.0930241, 2.0859634,
      2.0796138,  2.0738731, 2.0686576, 2.0638986, 2.0595386, 2.0555294, 2.0518305, 2.0484071, 2.0452296, 2.0422725};
  if (df <= static_cast<std::int64_t>(kTable.size())) return kTable[static_cast<std::size_t>(df - 1)];
  const double z = 1.959963984540054, n = static_cast<double>(df);
  const double z3 = z * z * z, z5 = z3 * z * z;
  return z + (z3 + z) / (4.0 * n) + (5.0 * z5 + 16.0 * z3 + 3.0 * z) / (96.0 * n * n);
}

PairedComparison compare_paired(const std::vector<double>& baseline, const std::vector<double>& candidate) {
  RG_CHECK(baseline.size() == candidate.size(), "compare_paired: ", baseline.size(), " baseline values but ",
           candidate.size(), " candidate values (one of each per seed)");
  constexpr double kInf = std::numeric_limits<double>::infinity();
  constexpr double kNaN = std::numeric_limits<double>::quiet_NaN();
  PairedComparison c;
  double baseline_sum = 0.0, candidate_sum = 0.0;
  for (std::size_t s = 0; s < baseline.size(); ++s) {
    if (!std::isfinite(baseline[s]) || !std::isfinite(candidate[s]) || baseline[s] == 0.0) {
      ++c.dropped;
      continue;
    }
    c.relative_changes.push_back((candidate[s] - baseline[s]) / baseline[s]);
    baseline_sum += baseline[s];
    candidate_sum += candidate[s];
  }
  c.n = static_cast<std::int64_t>(c.relative_changes.size());
  c.std = c.mean = c.baseline_mean = c.candidate_mean = c.relative_change_of_means = kNaN;
  c.t_quantile = kInf;
  c.ci_low = -kInf;
  c.ci_high = kInf;
  if (c.n == 0) return c;
  const double n = static_cast<double>(c.n);
  c.mean = 0.0;
  for (double r : c.relative_changes) c.mean += r;
  c.mean /= n;
  c.baseline_mean = baseline_sum / n;
  c.candidate_mean = candidate_sum / n;
  c.relative_change_of_means = (c.candidate_mean - c.baseline_mean) / c.baseline_mean;
  if (c.n < 2) return c;
  double squares = 0.0;
  for (double r : c.relative_changes) squares += (r - c.mean) * (r - c.mean);
  c.std = std::sqrt(squares / (n - 1.0));
  c.t_quantile = student_t_975(c.n - 1);
  const double half_width = c.t_quantile * c.std / std::sqrt(n);
  c.ci_low = c.mean - half_width;
  c.ci_high = c.mean + half_width;
  return c;
}

std::string verdict_name(Verdict verdict) {
  switch (verdict) {
    case Verdict::holds:
      return "holds";
    case Verdict::does_not_hold:
      return "does not hold";
    case Verdict::inconclusive:
      return "inconclusive";
  }
  return "inconclusive";
}

ClaimCheck check_claim(const PairedComparison& c, double claimed_relative, Better better) {
  ClaimCheck check;
  check.claim_inside_ci = c.n >= 1 && c.ci_low <= claimed_relative && claimed_relative <= c.ci_high;
  if (c.n < 2 || std::isnan(c.ci_low) || std::isnan(c.ci_high)) return check;  // inconclusive
  const bool improving = better == Better::higher ? c.ci_low > 0.0 : c.ci_high < 0.0;
  const bool worsening = better == Better::higher ? c.ci_high <= 0.0 : c.ci_low >= 0.0;
  check.verdict = improving ? Verdict::holds : worsening ? Verdict::does_not_hold : Verdict::inconclusive;
  return check;
}

}  // namespace recgrad::recsys
