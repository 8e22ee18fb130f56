#include "recsys/comparison.h"

#include <gtest/gtest.h>

#include <cmath>

#include "core/error.h"

namespace recgrad::recsys {
namespace {

TEST(StudentT, MatchesKnownQuantiles) {
  EXPECT_NEAR(student_t_975(1), 12.706, 5e-4);
  EXPECT_NEAR(student_t_975(2), 4.303, 5e-4);
  EXPECT_NEAR(student_t_975(3), 3.182, 5e-4);
  EXPECT_NEAR(student_t_975(4), 2.776, 5e-4);
  EXPECT_NEAR(student_t_975(9), 2.262, 5e-4);
  EXPECT_NEAR(student_t_975(30), 2.042, 5e-4);
  // beyond the table: the expansion around the normal quantile
  EXPECT_NEAR(student_t_975(31), 2.0395, 2e-4);
  EXPECT_NEAR(student_t_975(60), 2.0003, 2e-4);
  EXPECT_NEAR(student_t_975(120), 1.9799, 2e-4);
  EXPECT_NEAR(student_t_975(1000000), 1.96, 1e-3);
  for (std::int64_t df = 1; df < 200; ++df) EXPECT_GT(student_t_975(df), student_t_975(df + 1)) << df;
  EXPECT_THROW(student_t_975(0), Error);
}

TEST(PairedComparison, ThreeSeedsByHand) {
  // r = (0.11 - 0.10) / 0.10 = 0.1, (0.19 - 0.20) / 0.20 = -0.05, (0.44 - 0.40) / 0.40 = 0.1
  const PairedComparison c = compare_paired({0.10, 0.20, 0.40}, {0.11, 0.19, 0.44});
  EXPECT_EQ(c.n, 3);
  EXPECT_EQ(c.dropped, 0);
  ASSERT_EQ(c.relative_changes.size(), 3u);
  EXPECT_NEAR(c.relative_changes[0], 0.1, 1e-12);
  EXPECT_NEAR(c.relative_changes[1], -0.05, 1e-12);
  EXPECT_NEAR(c.relative_changes[2], 0.1, 1e-12);
  EXPECT_NEAR(c.mean, 0.05, 1e-12);
  // deviations 0.05, -0.1, 0.05: sum of squares 0.015, / (n - 1) = 0.0075
  EXPECT_NEAR(c.std, std::sqrt(0.0075), 1e-12);
  EXPECT_NEAR(c.t_quantile, 4.3026527, 1e-7);
  // std / sqrt(3) = 0.05 exactly, so the half width is t * 0.05
  EXPECT_NEAR(c.ci_low, 0.05 - 4.3026527 * 0.05, 1e-9);
  EXPECT_NEAR(c.ci_high, 0.05 + 4.3026527 * 0.05, 1e-9);
  EXPECT_NEAR(c.baseline_mean, 0.7 / 3, 1e-12);
  EXPECT_NEAR(c.candidate_mean, 0.74 / 3, 1e-12);
  EXPECT_NEAR(c.relative_change_of_means, 0.04 / 0.7, 1e-12);
}

TEST(PairedComparison, StepsByHand) {
  // r = -0.4, -0.25, -0.25: mean -0.3, std sqrt(0.0075), interval -0.3 -+ 4.3026527 * 0.05
  const PairedComparison c = compare_paired({100, 200, 400}, {60, 150, 300});
  EXPECT_NEAR(c.mean, -0.3, 1e-12);
  EXPECT_NEAR(c.ci_low, -0.51513264, 1e-7);
  EXPECT_NEAR(c.ci_high, -0.08486737, 1e-7);
  EXPECT_NEAR(c.relative_change_of_means, (510.0 - 700.0) / 700.0, 1e-12);
  const ClaimCheck check = check_claim(c, -0.324, Better::lower);
  EXPECT_EQ(check.verdict, Verdict::holds);
  EXPECT_TRUE(check.claim_inside_ci);
}

TEST(PairedComparison, OneSeedIsInconclusive) {
  const PairedComparison c = compare_paired({0.2}, {0.3});
  EXPECT_EQ(c.n, 1);
  EXPECT_NEAR(c.mean, 0.5, 1e-12);
  EXPECT_TRUE(std::isnan(c.std));
  EXPECT_TRUE(std::isinf(c.ci_low) && c.ci_low < 0);
  EXPECT_TRUE(std::isinf(c.ci_high) && c.ci_high > 0);
  const ClaimCheck check = check_claim(c, 0.126, Better::higher);
  EXPECT_EQ(check.verdict, Verdict::inconclusive);
  EXPECT_TRUE(check.claim_inside_ci);
}

TEST(PairedComparison, DropsPairsWithoutARelativeChange) {
  const PairedComparison c = compare_paired({0.0, 0.2, NAN, 0.4}, {0.1, 0.3, 0.5, 0.2});
  EXPECT_EQ(c.n, 2);
  EXPECT_EQ(c.dropped, 2);
  EXPECT_NEAR(c.mean, (0.5 - 0.5) / 2, 1e-12);
  const PairedComparison none = compare_paired({}, {});
  EXPECT_EQ(none.n, 0);
  EXPECT_TRUE(std::isnan(none.mean));
  EXPECT_EQ(check_claim(none, 0.126, Better::higher).verdict, Verdict::inconclusive);
  EXPECT_FALSE(check_claim(none, 0.126, Better::higher).claim_inside_ci);
  EXPECT_THROW(compare_paired({1.0, 2.0}, {1.0}), Error);
}

TEST(ClaimCheck, EachVerdict) {
  // higher is better, r = 0.10, 0.12, 0.14: interval 0.12 -+ 4.303 * 0.02 / sqrt(3) = [0.0703, 0.1697]
  const PairedComparison better = compare_paired({1, 1, 1}, {1.10, 1.12, 1.14});
  EXPECT_NEAR(better.ci_low, 0.12 - 4.3026527 * 0.02 / std::sqrt(3.0), 1e-9);
  EXPECT_EQ(check_claim(better, 0.126, Better::higher).verdict, Verdict::holds);
  EXPECT_TRUE(check_claim(better, 0.126, Better::higher).claim_inside_ci);
  EXPECT_FALSE(check_claim(better, 0.5, Better::higher).claim_inside_ci);  // holds, but smaller than claimed
  EXPECT_EQ(check_claim(better, 0.5, Better::higher).verdict, Verdict::holds);
  // the same numbers are a worsening when lower is better
  EXPECT_EQ(check_claim(better, -0.324, Better::lower).verdict, Verdict::does_not_hold);
  EXPECT_FALSE(check_claim(better, -0.324, Better::lower).claim_inside_ci);

  const PairedComparison worse = compare_paired({1, 1, 1}, {0.90, 0.88, 0.86});
  EXPECT_EQ(check_claim(worse, 0.126, Better::higher).verdict, Verdict::does_not_hold);
  EXPECT_EQ(check_claim(worse, -0.324, Better::lower).verdict, Verdict::holds);

  // an interval at 0 exactly: no change, so no improvement
  const PairedComparison same = compare_paired({1, 2, 3}, {1, 2, 3});
  EXPECT_EQ(same.ci_low, 0.0);
  EXPECT_EQ(same.ci_high, 0.0);
  EXPECT_EQ(check_claim(same, 0.126, Better::higher).verdict, Verdict::does_not_hold);
  EXPECT_EQ(check_claim(same, -0.324, Better::lower).verdict, Verdict::does_not_hold);

  // an interval across 0
  const PairedComparison mixed = compare_paired({0.10, 0.20, 0.40}, {0.11, 0.19, 0.44});
  EXPECT_EQ(check_claim(mixed, 0.126, Better::higher).verdict, Verdict::inconclusive);
  EXPECT_TRUE(check_claim(mixed, 0.126, Better::higher).claim_inside_ci);
  EXPECT_EQ(check_claim(mixed, -0.324, Better::lower).verdict, Verdict::inconclusive);
  EXPECT_FALSE(check_claim(mixed, -0.324, Better::lower).claim_inside_ci);

  EXPECT_EQ(verdict_name(Verdict::holds), "holds");
  EXPECT_EQ(verdict_name(Verdict::does_not_hold), "does not hold");
  EXPECT_EQ(verdict_name(Verdict::inconclusive), "inconclusive");
}

}  // namespace
}  // namespace recgrad::recsys
